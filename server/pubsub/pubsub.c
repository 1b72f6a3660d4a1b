/* pubsub.c - channel and pattern subscriptions, message delivery and slow-subscriber limits (loop thread). */
#include "server/pubsub/pubsub.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/events/events.h"
#include "resp/glob.h"
#include "server/core/client.h"
#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/pubsub/subs.h"

/* The index, made on first use. NULL when memory runs out. */
static struct subs *index_of(struct server *s)
{
    if (!s->subs)
        s->subs = subs_new();
    return s->subs;
}

/* The probe channels subscribers listen to, directly or through a pattern: pub/sub's wishes as a sink. */
static uint32_t pubsub_sink_wanted(void *arg)
{
    struct server *s = arg;
    uint32_t mask = subs_probe_wanted(s->subs);
    const char *nke = s->cfg->notify_keyspace_events;
    int expired_on = nke && strchr(nke, 'E') && (strchr(nke, 'x') || strchr(nke, 'A'));
    if (!expired_on)
        mask &= ~(1u << EV_KEY_EXPIRED);     /* Redis publishes it only when configured */
    return mask;
}

void pubsub_wanted_update(struct server *s)
{
    sink_wanted_update(&s->sinks);
}

static void reply_sub_count(struct client *c, const char *kind, const char *name, size_t len)
{
    client_push_begin(c);
    resp_push(&c->out, 3, c->proto);
    resp_bulks(&c->out, kind);
    if (name)
        resp_bulk(&c->out, name, len);
    else
        resp_null(&c->out, c->proto);
    resp_int(&c->out, c->nsubs + c->npsubs);
    client_push_end(c);
}

static void sub_cmd(struct client *c, int argc, struct resp_arg *argv, enum subs_kind k)
{
    struct subs *x = index_of(c->srv);
    int *count = k == SUBS_CHANNEL ? &c->nsubs : &c->npsubs;
    for (int i = 1; i < argc; i++) {
        if (x && subs_add(x, k, c, argv[i].ptr, argv[i].len) == 1)
            (*count)++;
        reply_sub_count(c, k == SUBS_CHANNEL ? "subscribe" : "psubscribe", argv[i].ptr, argv[i].len);
    }
    pubsub_wanted_update(c->srv);
}

void pubsub_cmd_subscribe(struct client *c, int argc, struct resp_arg *argv)
{
    sub_cmd(c, argc, argv, SUBS_CHANNEL);
}

void pubsub_cmd_psubscribe(struct client *c, int argc, struct resp_arg *argv)
{
    sub_cmd(c, argc, argv, SUBS_PATTERN);
}

struct unsub_all_ctx {
    struct client *c;
    int *count;
    const char *kind;
};

static void unsub_all_one(void *arg, const char *name, size_t len)
{
    struct unsub_all_ctx *u = arg;
    (*u->count)--;
    reply_sub_count(u->c, u->kind, name, len);
}

static void unsub_cmd(struct client *c, int argc, struct resp_arg *argv, enum subs_kind k)
{
    struct subs *x = c->srv->subs;
    int *count = k == SUBS_CHANNEL ? &c->nsubs : &c->npsubs;
    const char *kind = k == SUBS_CHANNEL ? "unsubscribe" : "punsubscribe";
    if (argc == 1) {
        struct unsub_all_ctx u = { c, count, kind };
        if (subs_del_client(x, k, c, unsub_all_one, &u) == 0)
            reply_sub_count(c, kind, NULL, 0);
    } else {
        for (int i = 1; i < argc; i++) {
            if (subs_del(x, k, c, argv[i].ptr, argv[i].len))
                (*count)--;
            reply_sub_count(c, kind, argv[i].ptr, argv[i].len);
        }
    }
    pubsub_wanted_update(c->srv);
}

void pubsub_cmd_unsubscribe(struct client *c, int argc, struct resp_arg *argv)
{
    unsub_cmd(c, argc, argv, SUBS_CHANNEL);
}

void pubsub_cmd_punsubscribe(struct client *c, int argc, struct resp_arg *argv)
{
    unsub_cmd(c, argc, argv, SUBS_PATTERN);
}

void pubsub_client_gone(struct server *s, struct client *c)
{
    if (c->nsubs == 0 && c->npsubs == 0)
        return;
    subs_del_client(s->subs, SUBS_CHANNEL, c, NULL, NULL);
    subs_del_client(s->subs, SUBS_PATTERN, c, NULL, NULL);
    c->nsubs = c->npsubs = 0;
    pubsub_wanted_update(s);
}

size_t pubsub_count(const struct server *s, int patterns)
{
    return subs_all(s->subs, patterns ? SUBS_PATTERN : SUBS_CHANNEL)->n;
}

size_t pubsub_numsub(const struct server *s, const char *name, size_t len)
{
    const struct subs_name *nm = subs_find(s->subs, SUBS_CHANNEL, name, len);
    return nm ? nm->subs.n : 0;
}

/* Frees every subscription: pub/sub's destroy as a sink (at exit). */
static void pubsub_sink_destroy(void *arg)
{
    struct server *s = arg;
    subs_free(s->subs);
    s->subs = NULL;
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

/* One publication being delivered. */
struct delivery {
    struct server *s;
    const char *channel, *payload;
    size_t clen, len;
    int receivers, nkill;
    struct client *kill[KILL_BATCH];
};

/* Delivers d to every subscriber of nm: `message` for a channel, `pmessage` for a pattern. */
static void deliver_to(struct delivery *d, const struct subs_name *nm)
{
    int pattern = nm->kind == SUBS_PATTERN;
    for (size_t i = 0; i < nm->subs.n; i++) {
        struct client *c = ((struct subs_link *)nm->subs.v[i])->c;
        if (!deliver_allowed(d->s, c, d->kill, &d->nkill)) {
            d->s->st.pubsub_messages_dropped++;
            continue;
        }
        client_push_begin(c);
        resp_push(&c->out, pattern ? 4 : 3, c->proto);
        resp_bulks(&c->out, pattern ? "pmessage" : "message");
        if (pattern)
            resp_bulk(&c->out, nm->name, nm->len);
        resp_bulk(&c->out, d->channel, d->clen);
        resp_bulk(&c->out, d->payload, d->len);
        client_push_end(c);
        client_reply_ready(c);
        d->receivers++;
    }
}

/* The probe channel named channel, or -1. */
static int probe_channel_of(const char *channel, size_t clen)
{
    for (int ch = 0; ch < EV_CHANNELS; ch++) {
        const char *pn = event_channel_name((enum event_channel)ch);
        if (pn == channel || (strlen(pn) == clen && memcmp(pn, channel, clen) == 0))
            return ch;
    }
    return -1;
}

/* A probe channel's subscribers are found without looking at anybody else's subscriptions
 * (the patterns that match it are listed when they are subscribed); any other channel is
 * matched against every pattern, as Redis does. */
int pubsub_publish(struct server *s, const char *channel, const char *payload, size_t len)
{
    struct delivery d = { .s = s, .channel = channel, .payload = payload, .clen = strlen(channel), .len = len };
    const struct subs *x = s->subs;
    int ch = probe_channel_of(channel, d.clen);
    const struct subs_name *nm = ch >= 0 ? subs_probe_channel(x, (enum event_channel)ch)
                                         : subs_find(x, SUBS_CHANNEL, channel, d.clen);
    if (nm)
        deliver_to(&d, nm);
    const struct subs_vec *pats = ch >= 0 ? subs_probe_patterns(x, (enum event_channel)ch)
                                          : subs_all(x, SUBS_PATTERN);
    for (size_t i = 0; i < pats->n; i++) {
        const struct subs_name *p = pats->v[i];
        if (ch >= 0 || glob_match(p->name, p->len, channel, d.clen, 0))
            deliver_to(&d, p);
    }
    for (int k = 0; k < d.nkill; k++) {
        s->st.pubsub_clients_dropped++;
        client_close(d.kill[k]);
    }
    s->st.pubsub_messages += (uint64_t)d.receivers;
    return d.receivers;
}

/* Publishes ev's text on its channel (the drain made it, as pub/sub wants the text of the channels
 * somebody listens to), unless a sink holds it to publish later (ev->held, struct sink holds). */
static void pubsub_sink_event(void *arg, const struct event *ev)
{
    struct server *s = arg;
    if (ev->text && !ev->held)
        pubsub_publish(s, event_channel_name(ev->channel), ev->text, ev->text_len);
}

int pubsub_sink_register(struct server *s)
{
    const struct sink sk = { .name = "pubsub", .wanted = pubsub_sink_wanted, .wants_text = 1,
                             .on_event = pubsub_sink_event, .destroy = pubsub_sink_destroy, .arg = s };
    return sink_register(&s->sinks, &sk);
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
        resp_int(&c->out, (long long)pubsub_count(s, 1));
    } else if (!strcasecmp(sub, "numsub")) {
        resp_map(&c->out, argc - 2, c->proto);
        for (int i = 2; i < argc; i++) {
            resp_bulk(&c->out, argv[i].ptr, argv[i].len);
            resp_int(&c->out, (long long)pubsub_numsub(s, argv[i].ptr, argv[i].len));
        }
    } else if (!strcasecmp(sub, "channels") && argc <= 3) {
        const struct subs_vec *all = subs_all(s->subs, SUBS_CHANNEL);
        size_t n = 0;
        const struct subs_name **names = calloc(all->n + 1, sizeof(*names));
        for (size_t k = 0; names && k < all->n; k++) {
            const struct subs_name *nm = all->v[k];
            if (argc < 3 || glob_match(argv[2].ptr, argv[2].len, nm->name, nm->len, 0))
                names[n++] = nm;
        }
        resp_array(&c->out, (long long)n);
        for (size_t j = 0; j < n; j++)
            resp_bulk(&c->out, names[j]->name, names[j]->len);
        free(names);
    } else {
        char msg[200];
        snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.128s'. Try PUBSUB HELP.", sub);
        resp_error(&c->out, msg);        /* CR/LF of the argument become spaces */
    }
}
