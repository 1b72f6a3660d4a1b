/* server.c - the libuv loop thread: listeners, signals, cron, the drain of capture events, shutdown. */
#include "server/core/server.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "server/core/client.h"
#include "server/log/log.h"

enum { EVENT_BATCH = 1024, EVENTS_PER_WAKE = 65536, CRON_MS = 100 };

/* ---- events from capture threads ---- */

static void events_drain(struct server *s)
{
    struct event *batch[EVENT_BATCH];
    size_t total = 0;
    sink_wanted_update(&s->sinks);
    int nw = s->cap ? capture_worker_count(s->cap) : 0;
    for (int i = 0; i < nw; i++) {
        struct worker *w = capture_worker(s->cap, i);
        size_t n;
        while ((n = event_queue_pop_many(&w->events, batch, EVENT_BATCH)) > 0) {
            for (size_t j = 0; j < n; j++) {
                batch[j]->probe = s->cfg->probe_id;    /* where it was seen */
                sink_deliver(&s->sinks, batch[j]);
                s->st.events_published++;
                event_free(batch[j]);
            }
            total += n;
            if (total >= EVENTS_PER_WAKE) {
                uv_async_send(&s->events_async);   /* let clients in, come back */
                client_flush_pending(s);
                return;
            }
        }
    }
    client_flush_pending(s);
}

static void events_async_cb(uv_async_t *h)
{
    events_drain(h->data);
}

void server_events_notify(void *arg)
{
    uv_async_send(&((struct server *)arg)->events_async);
}

static void done_async_cb(uv_async_t *h)
{
    struct server *s = h->data;
    events_drain(s);
    if (s->cfg->pcap_end == PCAP_END_EXIT)
        server_shutdown(s, 0);
}

void server_capture_done(void *arg)
{
    uv_async_send(&((struct server *)arg)->done_async);
}

/* ---- cron, signals, shutdown ---- */

/* At loglevel debug, every 5 s, a line of figures, as redis-server's cron logs its clients and keys. */
static void cron_debug_line(struct server *s, uint64_t now_ms)
{
    if (!log_level_enabled(LL_DEBUG) || now_ms - s->debug_line_ms < 5000)
        return;
    s->debug_line_ms = now_ms;
    struct cache_counts n;
    cache_counts_get(s->cache, &n);
    log_msg(LL_DEBUG, "%llu clients connected, %llu flows and %llu hosts in the cache, %llu events published",
            (unsigned long long)s->nclients, (unsigned long long)n.flows_active,
            (unsigned long long)n.hosts_active,
            (unsigned long long)s->st.events_published);
}

static void cron_cb(uv_timer_t *t)
{
    struct server *s = t->data;
    uint64_t now = server_mstime();
    client_close_slow_subscribers(s);
    client_close_idle(s, now);
    events_drain(s);
    cache_memory_trim(s->cache);     /* pool chunks empty for a second go back to the system */
    cron_debug_line(s, now);
}

/* capture_end_flows' drain: the flow.end events of each batch leave the queue. */
static void events_drain_cb(void *arg)
{
    events_drain(arg);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void server_shutdown(struct server *s, int exit_code)
{
    if (s->shutting_down)
        return;
    s->shutting_down = 1;
    s->exit_code = exit_code;
    capture_stop(s->cap);
    capture_end_flows(s->cap, events_drain_cb, s);   /* live flows end now, reason shutdown */
    events_drain(s);
    while (s->clients)
        client_close(s->clients);
    /* sinks flush what they hold (replication: bounded by a timeout), then server_shutdown_finish runs */
    sink_shutdown_all(&s->sinks, server_shutdown_finish, s);
}

void server_shutdown_finish(void *arg)
{
    struct server *s = arg;
    uv_walk(s->loop, close_walk_cb, NULL);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    log_msg(LL_WARNING, "received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    server_shutdown(s, 0);
}

static void sighup_cb(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    char err[512];
    (void)signum;
    if (log_reopen(err, sizeof(err)) != 0)      /* after logrotate moved the file away */
        log_msg(LL_WARNING, "SIGHUP: %s (still logging to the old file)", err);
    if (watchlist_load(&s->wl, err, sizeof(err)) != 0)
        log_msg(LL_WARNING, "SIGHUP: %s (the previous watchlist stays)", err);
    else
        log_msg(LL_NOTICE, "SIGHUP: watchlist reloaded, %zu entries", watchlist_size(&s->wl));
}

static int listen_on(struct server *s, const char *host)
{
    struct sockaddr_storage sa;
    if (uv_ip4_addr(host, s->cfg->port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(host, s->cfg->port, (struct sockaddr_in6 *)&sa) != 0) {
        log_msg(LL_WARNING, "bad bind address '%s'", host);
        return -1;
    }
    uv_tcp_t *l = &s->listeners[s->nlisteners];
    uv_tcp_init(s->loop, l);
    l->data = s;
    /* an IPv6 socket takes IPv6 only (IPV6_V6ONLY, as Redis sets): `bind 0.0.0.0 ::` is two sockets */
    int rc = uv_tcp_bind(l, (struct sockaddr *)&sa, sa.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)l, 511, client_connection_cb);
    if (rc != 0) {
        log_msg(LL_WARNING, "cannot listen on %s:%d: %s", host, s->cfg->port, uv_strerror(rc));
        uv_close((uv_handle_t *)l, NULL);
        return -1;
    }
    s->nlisteners++;
    return 0;
}

/* Descriptors kept beside the clients' (Redis's CONFIG_MIN_RESERVED_FDS), on top of those open now
 * (capture files, the watchlist's directory, the log). */
enum { NOFILE_RESERVED = 32 };

static rlim_t fds_open_now(void)
{
    rlim_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n ? n - 1 : 0;                /* less the directory's own descriptor */
}

/* Room for maxclients connections in the open files limit (Redis's adjustOpenFilesLimit). */
int server_nofile_room(uint64_t maxclients, uint64_t *fits, int talk)
{
    struct rlimit rl;
    rlim_t reserve = NOFILE_RESERVED + fds_open_now();
    rlim_t want = (rlim_t)maxclients + reserve;
    *fits = maxclients;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return 0;
    rlim_t was = rl.rlim_cur;
    struct rlimit up = { want, rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? rl.rlim_max : want };
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
        if (talk)
            log_msg(LL_NOTICE, "raised the open files limit to %llu (was %llu) for maxclients %llu",
                    (unsigned long long)want, (unsigned long long)was, (unsigned long long)maxclients);
        return 0;
    }
    int why = errno;
    rlim_t got = was;
    if (rl.rlim_max > was && setrlimit(RLIMIT_NOFILE, &(struct rlimit){ rl.rlim_max, rl.rlim_max }) == 0)
        got = rl.rlim_max;
    if (got <= reserve) {
        *fits = 0;
        if (talk)
            log_msg(LL_WARNING, "the open files limit %llu leaves no room for clients (%llu kept for "
                    "other files): raise 'ulimit -n' to at least %llu", (unsigned long long)got,
                    (unsigned long long)reserve, (unsigned long long)want);
        return -1;
    }
    if (talk)
        log_msg(LL_WARNING, "maxclients %llu needs %llu open files but the limit is %llu (%s): maxclients "
                "lowered to %llu; raise 'ulimit -n' for more", (unsigned long long)maxclients,
                (unsigned long long)want, (unsigned long long)got, strerror(why), (unsigned long long)(got - reserve));
    *fits = got - reserve;
    return 0;
}

int server_start(struct server *s)
{
    s->start_ms = server_mstime();
    snprintf(s->run_id, sizeof(s->run_id), "%016llx%016llx%08x",
             (unsigned long long)s->start_ms * 2654435761ULL, (unsigned long long)(uintptr_t)s,
             (unsigned)getpid());
    uv_async_init(s->loop, &s->events_async, events_async_cb);
    s->events_async.data = s;
    uv_async_init(s->loop, &s->done_async, done_async_cb);
    s->done_async.data = s;
    uv_signal_init(s->loop, &s->sig_term);
    s->sig_term.data = s;
    uv_signal_start(&s->sig_term, signal_cb, SIGTERM);
    uv_signal_init(s->loop, &s->sig_int);
    s->sig_int.data = s;
    uv_signal_start(&s->sig_int, signal_cb, SIGINT);
    uv_signal_init(s->loop, &s->sig_hup);
    s->sig_hup.data = s;
    uv_signal_start(&s->sig_hup, sighup_cb, SIGHUP);
    client_io_init(s);
    sink_wanted_update(&s->sinks);
    uv_timer_init(s->loop, &s->cron);
    s->cron.data = s;
    uv_timer_start(&s->cron, cron_cb, CRON_MS, CRON_MS);
    uint64_t fits = s->cfg->maxclients;
    if (s->cfg->port > 0 && server_nofile_room(s->cfg->maxclients, &fits, 1) != 0)
        return -1;
    s->cfg->maxclients = fits;
    if (s->cfg->port > 0)
        for (int i = 0; i < s->cfg->nbind && i < 16; i++)
            if (listen_on(s, s->cfg->bind[i]) != 0)
                return -1;
    return 0;
}
