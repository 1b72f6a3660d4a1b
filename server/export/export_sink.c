/* export_sink.c - the flow-export sink: collectors from the directives, the batch timer, INFO, shutdown (loop thread). */
#include "server/export/export_sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_writer.h"
#include "server/core/config.h"
#include "server/core/sink.h"
#include "server/export/export_event.h"
#include "server/export/export_sender.h"

#define FLUSH_MS 1000                /* a partly filled message waits at most this long */
#define SHUTDOWN_POLL_MS 20
#define SHUTDOWN_WAIT_MS 2000        /* for TCP collectors to take what is queued */
#define QUEUE_MAX (4u << 20)         /* bytes of messages waiting per collector */
#define RETRY_MS 1000                /* UDP pause after a refusal, first TCP reconnect delay */

struct export_sink {
    uv_loop_t *loop;
    uv_timer_t timer;                /* flushes every FLUSH_MS; at shutdown, polls the queues */
    uv_check_t check;                /* after each loop iteration's I/O: lets held messages go */
    int held;                        /* export_sink_hold is on until the check runs */
    struct export_sender *x;
    int n;
    int open;                        /* handles still closing at shutdown */
    int shutting;
    uint64_t flows, bad_events, shutdown_deadline;
    int64_t wall_off;                /* wall clock minus uv_now(), ms: set at each flush */
    struct export_event_cache cache; /* what reading flow.end events remembers */
    enum export_protocol protocol;
    enum export_transport transport;
    void (*done)(void *arg);
    void *done_arg;
};

/* The wall clock in ms, as of the loop's last tick: a clock read per flow showed in profiles. */
static uint64_t sink_now(const struct export_sink *s)
{
    return (uint64_t)((int64_t)uv_now(s->loop) + s->wall_off);
}

static void flush_all(struct export_sink *s)
{
    uint64_t now = export_wall_ms();
    s->wall_off = (int64_t)now - (int64_t)uv_now(s->loop);
    for (int i = 0; i < s->n; i++)
        export_sender_flush(&s->x[i], now);
}

static void flush_cb(uv_timer_t *t)
{
    flush_all(t->data);
}

/* The loop iteration's events are read: what they finished goes, every collector's messages
 * together (one event drain hands over several events: their datagrams share system calls). */
static void check_cb(uv_check_t *c)
{
    struct export_sink *s = c->data;
    if (s->held) {
        s->held = 0;
        export_sink_hold(s, 0);
    }
}

struct export_sink *export_sink_create(uv_loop_t *loop, const struct fc_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    err[0] = '\0';
    if (cfg->nexport == 0)
        return NULL;
    if (cfg->export_protocol == EXPORT_NETFLOW9 && cfg->export_transport == EXPORT_TCP) {
        snprintf(err, errlen, "export-transport tcp needs export-protocol ipfix (NetFlow v9 goes over UDP)");
        return NULL;
    }
    for (int i = 0; i < cfg->nexport; i++)   /* every address first: a bad one leaves nothing open */
        if (export_target_resolve(cfg->export_to[i], (enum export_transport)cfg->export_transport, &ss,
                                  err, errlen) != 0)
            return NULL;
    struct export_sink *s = calloc(1, sizeof(*s));
    if (!s || !(s->x = calloc((size_t)cfg->nexport, sizeof(*s->x)))) {
        free(s);
        snprintf(err, errlen, "out of memory creating the flow exporter");
        return NULL;
    }
    s->loop = loop;
    s->protocol = (enum export_protocol)cfg->export_protocol;
    s->transport = (enum export_transport)cfg->export_transport;
    uint64_t now = export_wall_ms();
    s->wall_off = (int64_t)now - (int64_t)uv_now(loop);
    for (int i = 0; i < cfg->nexport; i++) {
        struct export_sender_opts o = {
            .target = cfg->export_to[i], .transport = s->transport, .protocol = s->protocol,
            .domain = (uint32_t)cfg->export_observation_domain,
            .refresh_s = (uint32_t)cfg->export_template_refresh,
            .refresh_msgs = (uint32_t)cfg->export_template_refresh_packets,
            .queue_max = QUEUE_MAX, .retry_ms = RETRY_MS,
        };
        if (export_sender_open(&s->x[i], loop, &o, now, err, errlen) != 0)
            return NULL;             /* resolved above: only a socket error gets here, at start-up */
        s->x[i].owner = s;
        s->n++;
    }
    uv_check_init(loop, &s->check);
    s->check.data = s;
    uv_check_start(&s->check, check_cb);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, flush_cb, FLUSH_MS, FLUSH_MS);
    return s;
}

void export_sink_flow(struct export_sink *s, const struct export_record *r)
{
    if (s->shutting)
        return;
    uint64_t now = sink_now(s);
    s->flows++;
    for (int i = 0; i < s->n; i++)
        export_sender_add(&s->x[i], r, now);
}

void export_sink_hold(struct export_sink *s, int on)
{
    for (int i = 0; i < s->n; i++)
        export_sender_hold(&s->x[i], on);
}

static const char *link_name(enum export_link l)
{
    return l == EXPORT_LINK_UP ? "up" : l == EXPORT_LINK_CONNECTING ? "connecting" : "down";
}

void export_sink_info(struct export_sink *s, struct sbuf *b)
{
    uint64_t records = 0, drops = 0;
    for (int i = 0; i < s->n; i++) {
        records += s->x[i].st.records;
        drops += s->x[i].st.drops;
    }
    sbuf_printf(b, "export_collectors:%d\r\nexport_protocol:%s\r\nexport_transport:%s\r\n", s->n,
                s->protocol == EXPORT_IPFIX ? "ipfix" : "netflow9", s->transport == EXPORT_TCP ? "tcp" : "udp");
    sbuf_printf(b, "export_flows:%" PRIu64 "\r\nexport_records:%" PRIu64 "\r\nexport_drops:%" PRIu64
                   "\r\nexport_bad_events:%" PRIu64 "\r\n", s->flows, records, drops, s->bad_events);
    for (int i = 0; i < s->n; i++) {
        const struct export_sender *x = &s->x[i];
        sbuf_printf(b, "export_collector%d:target=%s,link=%s,records=%" PRIu64 ",drops=%" PRIu64
                       ",messages=%" PRIu64 ",bytes=%" PRIu64 ",queued_bytes=%zu,reconnects=%" PRIu64 "\r\n",
                    i, x->target, link_name(x->st.link), x->st.records, x->st.drops, x->st.messages,
                    x->st.bytes, x->st.queued_bytes, x->st.reconnects);
    }
}

/* ---- shutdown ---- */

static void handle_closed(struct export_sink *s)
{
    if (--s->open == 0 && s->done)
        s->done(s->done_arg);
}

static void own_handle_closed_cb(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void sender_closed(struct export_sender *x)
{
    handle_closed(x->owner);
}

static void close_all(struct export_sink *s)
{
    s->open = s->n + 2;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, own_handle_closed_cb);
    uv_check_stop(&s->check);
    uv_close((uv_handle_t *)&s->check, own_handle_closed_cb);
    for (int i = 0; i < s->n; i++)
        export_sender_close(&s->x[i], sender_closed);
}

static void drain_cb(uv_timer_t *t)
{
    struct export_sink *s = t->data;
    size_t pending = 0;
    for (int i = 0; i < s->n; i++)           /* a collector that is down will not take them in time */
        if (s->x[i].st.link != EXPORT_LINK_DOWN)
            pending += export_sender_pending(&s->x[i]);
    if (pending == 0 || uv_now(s->loop) >= s->shutdown_deadline)
        close_all(s);
}

void export_sink_shutdown(struct export_sink *s, void (*done)(void *arg), void *arg)
{
    if (!s || s->shutting) {
        if (done)
            done(arg);
        return;
    }
    s->shutting = 1;
    s->done = done;
    s->done_arg = arg;
    check_cb(&s->check);             /* what is held goes first */
    flush_all(s);
    s->shutdown_deadline = uv_now(s->loop) + SHUTDOWN_WAIT_MS;
    uv_timer_stop(&s->timer);
    uv_timer_start(&s->timer, drain_cb, 0, SHUTDOWN_POLL_MS);
}

void export_sink_destroy(struct export_sink *s)
{
    if (!s)
        return;
    free(s->x);
    free(s);
}

/* ---- the event sink ---- */

static uint32_t export_wanted_cb(void *arg)
{
    (void)arg;
    return 1u << EV_FLOW_END;
}

static void export_event_cb(void *arg, const struct event *ev)
{
    struct export_sink *s = arg;
    struct export_record r;
    size_t off = 0, len = 0;
    const void *rec;
    if (ev->channel != EV_FLOW_END)
        return;
    if (!ev->raw_len) {              /* made before the sink read records (or by a test) */
        if (export_record_from_event(ev, &r, &s->cache) == 0)
            export_sink_flow(s, &r);
        else
            s->bad_events++;
        return;
    }
    if (!s->held) {                  /* the messages go together after the drain (check_cb) */
        s->held = 1;
        export_sink_hold(s, 1);
    }
    while ((rec = event_raw_next(ev, &off, &len)) != NULL) {
        if (export_record_from_rec(rec, len, &r) == 0)
            export_sink_flow(s, &r);
        else
            s->bad_events++;
    }
}

static void export_info_cb(void *arg, struct sbuf *b) { export_sink_info(arg, b); }
static void export_shutdown_cb(void *arg, void (*done)(void *), void *da) { export_sink_shutdown(arg, done, da); }
static void export_destroy_cb(void *arg) { export_sink_destroy(arg); }

int export_sink_register(struct sink_registry *reg, uv_loop_t *loop, const struct fc_config *cfg,
                         char *err, size_t errlen)
{
    struct export_sink *s = export_sink_create(loop, cfg, err, errlen);
    if (!s)
        return err[0] ? -1 : 0;
    const struct sink sk = {
        .name = "export", .wanted = export_wanted_cb, .reads_raw = 1, .on_event = export_event_cb, .info = export_info_cb,
        .shutdown = export_shutdown_cb, .destroy = export_destroy_cb, .arg = s,
    };
    if (sink_register(reg, &sk) != 0) {
        snprintf(err, errlen, "too many event sinks");
        return -1;                   /* start-up fails: the open handles go with the loop */
    }
    return 0;
}
