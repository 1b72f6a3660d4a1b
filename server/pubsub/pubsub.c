/* pubsub.c - channel and pattern subscriptions, message delivery and slow-subscriber limits (loop thread). */
#include "server/pubsub/pubsub.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/events/events.h"
#include "resp/glob.h"
#include "server/core/client.h"
#include "server/core/server.h"

static int sub_add(struct sub_list *l, struct client *c, const char *name, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].c == c && l->v[i].len == len && memcmp(l->v[i].name, name, len) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        struct sub *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    char *dup = malloc(len + 1);
    if (!dup)
        return -1;
    memcpy(dup, name, len);
    dup[len] = '\0';
    l->v[l->n++] = (struct sub){ dup, len, c };
    return 1;
}

/* Removes c's entry for name; returns 1 when it existed. */
static int sub_del(struct sub_list *l, struct client *c, const char *name, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].c == c && l->v[i].len == len && memcmp(l->v[i].name, name, len) == 0) {
            free(l->v[i].name);
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
            l->n--;
            return 1;
        }
    return 0;
}

/* Recomputes which probe channels anybody listens to (capture threads read it). */
void pubsub_wanted_update(struct server *s)
{
    uint32_t mask = s->cloud_wanted;
    for (int ch = 0; ch < EV_CHANNELS; ch++) {
        const char *name = event_channel_name((enum event_channel)ch);
        size_t nl = strlen(name);
        for (size_t i = 0; i < s->channels.n && !(mask >> ch & 1); i++)
            if (s->channels.v[i].len == nl && memcmp(s->channels.v[i].name, name, nl) == 0)
                mask |= 1u << ch;
        for (size_t i = 0; i < s->patterns.n && !(mask >> ch & 1); i++)
            if (glob_match(s->patterns.v[i].name, s->patterns.v[i].len, name, nl, 0))
                mask |= 1u << ch;
    }
    const char *nke = s->cfg->notify_keyspace_events;
    int expired_on = nke && strchr(nke, 'E') && (strchr(nke, 'x') || strchr(nke, 'A'));
    if (!expired_on)
        mask &= ~(1u << EV_KEY_EXPIRED);     /* Redis publishes it only when configured */
    atomic_store_explicit(&event_wanted_mask, mask, memory_order_relaxed);
}

static void reply_sub_count(struct client *c, const char *kind, const char *name, size_t len)
{
    resp_push(&c->out, 3, c->proto);
    resp_bulks(&c->out, kind);
    if (name)
        resp_bulk(&c->out, name, len);
    else
        resp_null(&c->out, c->proto);
    resp_int(&c->out, c->nsubs + c->npsubs);
}

void pubsub_cmd_subscribe(struct client *c, int argc, struct resp_arg *argv)
{
    struct server *s = c->srv;
    for (int i = 1; i < argc; i++) {
        if (sub_add(&s->channels, c, argv[i].ptr, argv[i].len) == 1)
            c->nsubs++;
        reply_sub_count(c, "subscribe", argv[i].ptr, argv[i].len);
    }
    pubsub_wanted_update(s);
}

void pubsub_cmd_psubscribe(struct client *c, int argc, struct resp_arg *argv)
{
    struct server *s = c->srv;
    for (int i = 1; i < argc; i++) {
        if (sub_add(&s->patterns, c, argv[i].ptr, argv[i].len) == 1)
            c->npsubs++;
        reply_sub_count(c, "psubscribe", argv[i].ptr, argv[i].len);
    }
    pubsub_wanted_update(s);
}

/* Unsubscribes c from everything in l (replying per entry). */
static void unsub_all(struct client *c, struct sub_list *l, int *count, const char *kind)
{
    int any = 0;
    for (size_t i = 0; i < l->n;) {
        if (l->v[i].c != c) {
            i++;
            continue;
        }
        char *name = l->v[i].name;
        size_t len = l->v[i].len;
        memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
        l->n--;
        (*count)--;
        reply_sub_count(c, kind, name, len);
        free(name);
        any = 1;
    }
    if (!any)
        reply_sub_count(c, kind, NULL, 0);
}

static void unsub_cmd(struct client *c, int argc, struct resp_arg *argv, struct sub_list *l,
                      int *count, const char *kind)
{
    if (argc == 1) {
        unsub_all(c, l, count, kind);
    } else {
        for (int i = 1; i < argc; i++) {
            if (sub_del(l, c, argv[i].ptr, argv[i].len))
                (*count)--;
            reply_sub_count(c, kind, argv[i].ptr, argv[i].len);
        }
    }
    pubsub_wanted_update(c->srv);
}

void pubsub_cmd_unsubscribe(struct client *c, int argc, struct resp_arg *argv)
{
    unsub_cmd(c, argc, argv, &c->srv->channels, &c->nsubs, "unsubscribe");
}

void pubsub_cmd_punsubscribe(struct client *c, int argc, struct resp_arg *argv)
{
    unsub_cmd(c, argc, argv, &c->srv->patterns, &c->npsubs, "punsubscribe");
}

void pubsub_client_gone(struct server *s, struct client *c)
{
    if (c->nsubs == 0 && c->npsubs == 0)
        return;
    struct sub_list *lists[2] = { &s->channels, &s->patterns };
    for (int k = 0; k < 2; k++) {
        struct sub_list *l = lists[k];
        size_t j = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i].c == c)
                free(l->v[i].name);
            else
                l->v[j++] = l->v[i];
        }
        l->n = j;
    }
    c->nsubs = c->npsubs = 0;
    pubsub_wanted_update(s);
}

enum { KILL_BATCH = 64 };

/* A subscriber over the hard output limit gets no more messages; it is
 * closed after the delivery loop (closing edits the lists being walked). */
static int deliver_allowed(struct server *s, struct client *c, struct client **kill, int *nkill)
{
    if (c->closing || c->kill_pending)
        return 0;
    if (client_output_pending(c) > s->cfg->client_output_pubsub_hard) {
        if (*nkill < KILL_BATCH) {
            c->kill_pending = 1;
            kill[(*nkill)++] = c;
        }
        return 0;
    }
    return 1;
}

int pubsub_publish(struct server *s, const char *channel, const char *payload, size_t len)
{
    size_t clen = strlen(channel);
    int receivers = 0, nkill = 0;
    struct client *kill[KILL_BATCH];
    for (size_t i = 0; i < s->channels.n; i++) {
        struct sub *sb = &s->channels.v[i];
        if (sb->len != clen || memcmp(sb->name, channel, clen) != 0)
            continue;
        struct client *c = sb->c;
        if (!deliver_allowed(s, c, kill, &nkill)) {
            s->st.pubsub_messages_dropped++;
            continue;
        }
        resp_push(&c->out, 3, c->proto);
        resp_bulks(&c->out, "message");
        resp_bulk(&c->out, channel, clen);
        resp_bulk(&c->out, payload, len);
        client_reply_ready(c);
        receivers++;
    }
    for (size_t i = 0; i < s->patterns.n; i++) {
        struct sub *sb = &s->patterns.v[i];
        if (!glob_match(sb->name, sb->len, channel, clen, 0))
            continue;
        struct client *c = sb->c;
        if (!deliver_allowed(s, c, kill, &nkill)) {
            s->st.pubsub_messages_dropped++;
            continue;
        }
        resp_push(&c->out, 4, c->proto);
        resp_bulks(&c->out, "pmessage");
        resp_bulk(&c->out, sb->name, sb->len);
        resp_bulk(&c->out, channel, clen);
        resp_bulk(&c->out, payload, len);
        client_reply_ready(c);
        receivers++;
    }
    for (int k = 0; k < nkill; k++) {
        s->st.pubsub_clients_dropped++;
        client_close(kill[k]);
    }
    s->st.pubsub_messages += (uint64_t)receivers;
    return receivers;
}

void pubsub_enforce_limits(struct server *s)
{
    uint64_t now = server_mstime();
    struct client *c = s->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->nsubs + c->npsubs == 0)
            continue;
        uint64_t pending = client_output_pending(c);
        if (pending <= s->cfg->client_output_pubsub_soft) {
            c->soft_over_since_ms = 0;
            continue;
        }
        if (!c->soft_over_since_ms)
            c->soft_over_since_ms = now;
        if (pending > s->cfg->client_output_pubsub_hard ||
            now - c->soft_over_since_ms > s->cfg->client_output_pubsub_soft_s * 1000) {
            s->st.pubsub_clients_dropped++;
            client_close(c);
        }
    }
}

void pubsub_cmd_publish(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc;
    char *chan = argv[1].ptr;            /* NUL-terminated by the reader */
    int n = (strlen(chan) == argv[1].len) ? pubsub_publish(c->srv, chan, argv[2].ptr, argv[2].len) : 0;
    resp_int(&c->out, n);
}

void pubsub_cmd_pubsub(struct client *c, int argc, struct resp_arg *argv)
{
    struct server *s = c->srv;
    const char *sub = argv[1].ptr;
    if (!strcasecmp(sub, "numpat") && argc == 2) {
        resp_int(&c->out, (long long)s->patterns.n);
    } else if (!strcasecmp(sub, "numsub")) {
        resp_map(&c->out, argc - 2, c->proto);
        for (int i = 2; i < argc; i++) {
            long long n = 0;
            for (size_t k = 0; k < s->channels.n; k++)
                n += s->channels.v[k].len == argv[i].len &&
                     memcmp(s->channels.v[k].name, argv[i].ptr, argv[i].len) == 0;
            resp_bulk(&c->out, argv[i].ptr, argv[i].len);
            resp_int(&c->out, n);
        }
    } else if (!strcasecmp(sub, "channels") && argc <= 3) {
        size_t n = 0;
        const char **names = calloc(s->channels.n + 1, sizeof(*names));
        size_t *lens = calloc(s->channels.n + 1, sizeof(*lens));
        for (size_t k = 0; names && lens && k < s->channels.n; k++) {
            struct sub *sb = &s->channels.v[k];
            int seen = 0;
            for (size_t j = 0; j < n && !seen; j++)
                seen = lens[j] == sb->len && memcmp(names[j], sb->name, sb->len) == 0;
            if (!seen && (argc < 3 || glob_match(argv[2].ptr, argv[2].len, sb->name, sb->len, 0))) {
                names[n] = sb->name;
                lens[n++] = sb->len;
            }
        }
        resp_array(&c->out, (long long)n);
        for (size_t j = 0; j < n; j++)
            resp_bulk(&c->out, names[j], lens[j]);
        free(names);
        free(lens);
    } else {
        sbuf_printf(&c->out, "-ERR unknown subcommand '%.128s'. Try PUBSUB HELP.\r\n", sub);
    }
}
