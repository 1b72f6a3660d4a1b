/* cloud_dns.c - matches DNS queries and answers seen by different probes with a function in the cloud; deferred verdicts (loop thread). */
#include "server/replication/cloud_dns.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log/log.h"
#include "server/replication/cloud_send.h"

enum {
    VERDICTS_MAX = 1 << 18,          /* sightings awaiting their verdict; past it the oldest is undecided */
    KEY_MARGIN_S = 30,               /* a waiting key outlives its verdict by this much (queue delays) */
    TICK_MS = 1000,
    ASK_TRIES = 10,                  /* ticks a held query's verdict may wait to be asked */
};

/*
 * flowcached_dns_match2, a function of the probe's library (FCALL; cloud_dns_library). It is also registered
 * under the earlier version's name, flowcached_dns_match: probes of that version keep working with this
 * library, and this version's calls reach a node that still has the earlier library as "Function not
 * found", which loads this one (the earlier function neither kept the merged event nor answered a verdict). keys[1] the waiting
 * key, keys[2] dns.<qname>. args: side (q: a query alone, r: an answer alone, v: a verdict), the sighting's
 * packet time (us), the waiting key's TTL, dns.<qname>'s TTL (0: none), the event's JSON, the probe id,
 * and the qtype (q), rcode (r) or the side judged (v). A waiting key holds s (side), t (time), p (probe),
 * j (JSON), and for each query matched there m.<query's probe>.<query's time> (the merged event, until that
 * probe's verdict takes it). Returns 1 when a sighting matched, 0 when it waits; a verdict returns the event
 * the query's probe publishes on its own channel (the merged one, or its TIMEOUT as the cloud published it)
 * or 0 (nothing waits: judged already, or never arrived).
 */
const char cloud_dns_library[] =
    "local function dns_match(keys, args)\n"
    "local k,d,side,t,ttl=keys[1],keys[2],args[1],args[2],tonumber(args[4])\n"
    "local js,probe,what=args[5],args[6],args[7]\n"
    "local o=redis.call('HMGET',k,'s','t','p','j')\n"
    "if side=='v' then\n"
    " local mf='m.'..probe..'.'..t\n"
    " local m=what=='q' and redis.call('HGET',k,mf)\n"
    " if m then redis.call('HDEL',k,mf) return m end\n"
    " if o[1]==what and o[2]==t and o[3]==probe then\n"
    "  redis.call('HDEL',k,'s','t','p','j') redis.call('PUBLISH','dns',o[4]) return o[4] end\n"
    " return 0\n"
    "end\n"
    "if side=='q' then\n"
    " redis.call('HINCRBY',d,'queries',1) redis.call('HINCRBY',d,'qtype.'..what,1)\n"
    "else\n"
    " redis.call('HINCRBY',d,'responses',1) redis.call('HINCRBY',d,'rcode.'..what,1)\n"
    " if what=='NXDOMAIN' then redis.call('HINCRBY',d,'nxdomain',1) end\n"
    "end\n"
    "if ttl>0 then redis.call('EXPIRE',d,ttl) end\n"
    "if not o[1] then\n"
    " redis.call('HSET',k,'s',side,'t',t,'p',probe,'j',js) redis.call('EXPIRE',k,args[3]) return 0\n"
    "end\n"
    "if o[1]==side then return 0 end\n"
    "local qt,rt,rj,qp\n"
    "if side=='q' then qt,rt,rj,qp=t,o[2],o[4],probe else qt,rt,rj,qp=o[2],t,js,o[3] end\n"
    "local us=tonumber(rt)-tonumber(qt) if us<0 then us=0 end\n"
    "local le='inf'\n"
    "for _,b in ipairs({1,2,5,10,20,50,100,200,500,1000,2000,5000}) do\n"
    " if us<=b*1000 then le=tostring(b) break end end\n"
    "local s=string.format('%d',us)\n"
    "redis.call('HINCRBY',d,'rtt.us.sum',s) redis.call('HINCRBY',d,'rtt.count',1)\n"
    "redis.call('HINCRBY',d,'rtt.le.'..le,1) redis.call('HDEL',k,'s','t','p','j')\n"
    "local i=string.find(rj,',\"ts\":',1,true) or #rj\n"
    "local m=string.sub(rj,1,i-1)..',\"rtt.us\":'..s..',\"rtt.le\":\"'..le..\n"
    " '\",\"query.probe\":'..cjson.encode(qp)..string.sub(rj,i)\n"
    "redis.call('PUBLISH','dns',m)\n"
    "redis.call('HSET',k,'m.'..qp..'.'..qt,m) redis.call('EXPIRE',k,args[3])\n"
    "return 1\n"
    "end\n"
    "redis.register_function('flowcached_dns_match2', dns_match)\n"
    "redis.register_function('flowcached_dns_match', dns_match)\n";

#define DNS_MATCH "flowcached_dns_match2"

/* A one-sided sighting read from a `dns` event. */
struct sighting {
    char side;                       /* 'q' or 'r' */
    const char *what;                /* its qtype (q) or rcode (r), the event's */
    char key[1400], dkey[1100], t[24];
};

/* A sighting of this probe waiting in the cloud, judged at due_ms. */
struct verdict {
    struct verdict *next;
    uint64_t due_ms;
    struct cloud_dns *d;
    char *json;                      /* a query's own TIMEOUT event, held from the probe's channel, or NULL */
    size_t json_len;
    char side;                       /* 'q' or 'r' */
    uint8_t tries;                   /* asks of the verdict that could not be sent */
    char t[24];                      /* its packet time, as the function stored it */
    char keys[];                     /* the waiting key, NUL, dns.<qname>, NUL */
};

struct cloud_dns {
    struct cloud_engine *eng;
    uv_timer_t timer;
    char probe[256];
    uint64_t window_s;
    struct verdict *head, *tail;
    size_t waiting;
    int stopped;
    void (*local)(void *arg, const char *channel, const char *json, size_t len);
    void *local_arg;
    size_t asking;                   /* verdicts asked, answer not yet in */
    uint64_t sightings, undecided, local_merged, local_timeouts, local_unverified;
};

/* FCALL flowcached_dns_match2: side, t, the two keys, dns.<qname>'s TTL, the JSON and what. */
static void match_send(struct cloud_dns *d, const char *key, const char *dkey, char side, const char *t,
                        uint64_t host_ttl, const char *json, size_t json_len, const char *what)
{
    char s[2] = { side, 0 }, kttl[24], dttl[24];
    snprintf(kttl, sizeof(kttl), "%" PRIu64, d->window_s + KEY_MARGIN_S);
    snprintf(dttl, sizeof(dttl), "%" PRIu64, host_ttl);
    const char *argv[] = { "FCALL", DNS_MATCH, "2", key, dkey, s, t, kttl, dttl, json, d->probe, what };
    size_t lens[sizeof(argv) / sizeof(argv[0])];
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        lens[i] = argv[i] == json ? json_len : strlen(argv[i]);
    cloud_engine_send(d->eng, (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
}

static void verdict_free(struct verdict *v)
{
    if (v) {
        free(v->json);
        free(v);
    }
}

/* The verdict of v sent through the data connection, its answer not read (an answer alone, or a query
 * whose verdict could not be asked). */
static void verdict_send(struct cloud_dns *d, struct verdict *v)
{
    const char *dkey = v->keys + strlen(v->keys) + 1;
    char side[2] = { v->side, 0 };
    match_send(d, v->keys, dkey, 'v', v->t, 0, "", 0, side);
}

/* A held query the cloud could not judge: published on the probe's channel as this probe saw it. */
static void verdict_unverified(struct cloud_dns *d, struct verdict *v)
{
    d->local_unverified++;
    d->local(d->local_arg, "dns", v->json, v->json_len);
}

/* The cloud's verdict of a held query: the merged event or its TIMEOUT, published on the probe's channel;
 * no answer: the verdict goes again through the data connection and the probe's own TIMEOUT out. */
static void verdict_answer_cb(void *arg, const char *val, size_t len, int status)
{
    struct verdict *v = arg;
    struct cloud_dns *d = v->d;
    d->asking--;
    if (d->stopped || cloud_engine_finished(d->eng)) {
        verdict_free(v);                        /* shutting down: no subscriber is left */
        return;
    }
    if (status == 0 && val && len > 0) {
        if (memmem(val, len, "\"query.probe\":", 14))
            d->local_merged++;
        else
            d->local_timeouts++;
        d->local(d->local_arg, "dns", val, len);
    } else {
        verdict_send(d, v);
        verdict_unverified(d, v);
    }
    verdict_free(v);
}

/* Asks the cloud for the verdict of a held query (the function's reply). Returns 0 when asked (v is the
 * answer's), -1 when it could not be sent now (v stays the caller's). */
static int verdict_ask(struct cloud_dns *d, struct verdict *v)
{
    const char *dkey = v->keys + strlen(v->keys) + 1;
    const char *argv[] = { "FCALL", DNS_MATCH, "2", v->keys, dkey, "v", v->t, "0", "0", "", d->probe, "q" };
    d->asking++;
    if (cloud_engine_ask(d->eng, (int)(sizeof(argv) / sizeof(argv[0])), argv, verdict_answer_cb, v) == 0)
        return 0;
    d->asking--;
    return -1;
}

/* Takes the oldest verdict (the caller frees it), or NULL when none waits. */
static struct verdict *verdict_take(struct cloud_dns *d)
{
    struct verdict *v = d->head;
    if (v) {
        d->head = v->next;
        d->tail = d->head ? d->tail : NULL;
        d->waiting--;
    }
    return v;
}

/* Puts v back in front (its ask is tried again at the next tick). */
static void verdict_requeue(struct cloud_dns *d, struct verdict *v)
{
    v->next = d->head;
    d->head = v;
    d->tail = d->tail ? d->tail : v;
    d->waiting++;
}

/* Sends the verdicts due by now. A held query's verdict is asked (its answer is published on the
 * probe's channel); one that cannot be asked waits for the next tick, ASK_TRIES times at most. */
static void verdicts_due(struct cloud_dns *d, uint64_t now)
{
    while (d->head && d->head->due_ms <= now) {
        struct verdict *v = verdict_take(d);
        if (v->json && !d->stopped && verdict_ask(d, v) == 0)
            continue;
        if (v->json && !d->stopped && ++v->tries < ASK_TRIES) {
            verdict_requeue(d, v);
            return;
        }
        verdict_send(d, v);
        if (v->json && !d->stopped)
            verdict_unverified(d, v);
        verdict_free(v);
    }
}

static void tick_cb(uv_timer_t *t)
{
    struct cloud_dns *d = t->data;
    verdicts_due(d, cloud_wall_ms());
}

/* Remembers a sighting sent to the cloud, to judge it after the window; json (NULL: none) is a query's own
 * event held from the probe's channel until then. Returns 0, or -1 when memory ran out (nothing kept). */
static int verdict_queue(struct cloud_dns *d, const struct sighting *sg, const char *json, size_t json_len)
{
    size_t kl = strlen(sg->key) + 1, dl = strlen(sg->dkey) + 1;
    struct verdict *v = calloc(1, sizeof(*v) + kl + dl);
    if (!v || (json && !(v->json = malloc(json_len)))) {
        free(v);
        return -1;
    }
    if (json)
        memcpy(v->json, json, json_len);
    v->json_len = json_len;
    v->d = d;
    v->due_ms = cloud_wall_ms() + d->window_s * 1000;
    v->side = sg->side;
    snprintf(v->t, sizeof(v->t), "%s", sg->t);
    memcpy(v->keys, sg->key, kl);
    memcpy(v->keys + kl, sg->dkey, dl);
    if (d->waiting >= VERDICTS_MAX) {           /* the oldest goes undecided */
        struct verdict *old = verdict_take(d);
        if (old->json)
            verdict_unverified(d, old);
        verdict_free(old);
        d->undecided++;
    }
    if (d->tail)
        d->tail->next = v;
    else
        d->head = v;
    d->tail = v;
    d->waiting++;
    return 0;
}

/* The sighting's packet time in microseconds: the query's (query.ts) for a TIMEOUT, else the event's. */
static int sighting_time(const struct event *ev, char side, uint64_t *us)
{
    if (side == 'r') {
        *us = ev->ts_us;
        return ev->ts_us != 0;
    }
    const struct event_field *f = event_field_get(ev, "query.ts");
    if (!f || f->type != EVF_TIME)
        return 0;
    *us = f->v.u;
    return 1;
}

/* Fills *sg from a `dns` event. Returns 1 when it is a one-sided sighting the cloud can match, else 0. */
static int sighting_of(const struct event *ev, struct sighting *sg)
{
    const char *rcode = event_get_str(ev, "rcode"), *q = event_get_str(ev, "qname");
    const char *cli = event_get_str(ev, "client"), *srv = event_get_str(ev, "server");
    const char *qtype = event_get_str(ev, "qtype");
    uint64_t txid, us, rtt;
    if (ev->channel != EV_DNS || !ev->text || !rcode || !q || !*q || !cli || !srv || !qtype ||
        event_get_uint(ev, "rtt.us", &rtt) || !event_get_uint(ev, "txid", &txid) || strpbrk(q, "{}"))
        return 0;                               /* seen whole, or not matchable */
    sg->side = strcmp(rcode, "TIMEOUT") == 0 ? 'q' : 'r';
    sg->what = sg->side == 'q' ? qtype : rcode;
    if (!sighting_time(ev, sg->side, &us) ||
        snprintf(sg->dkey, sizeof(sg->dkey), "dns.%s", q) >= (int)sizeof(sg->dkey) ||
        snprintf(sg->key, sizeof(sg->key), "dnstx.%s.%s.%" PRIu64 ".{%s}", cli, srv, txid, sg->dkey) >=
            (int)sizeof(sg->key))
        return 0;
    snprintf(sg->t, sizeof(sg->t), "%" PRIu64, us);
    return 1;
}

int cloud_dns_holds(const struct cloud_dns *d, const struct event *ev)
{
    struct sighting sg;
    return d && d->local && !d->stopped && sighting_of(ev, &sg) && sg.side == 'q';
}

int cloud_dns_on_event(struct cloud_dns *d, const struct event *ev, uint64_t host_ttl)
{
    struct sighting sg;
    if (!d || !sighting_of(ev, &sg))
        return 0;
    match_send(d, sg.key, sg.dkey, sg.side, sg.t, host_ttl, ev->text, ev->text_len, sg.what);
    d->sightings++;
    int held = ev->held;                        /* cloud_dns_holds, asked once by sink_deliver */
    if (d->stopped) {                           /* shutting down: no verdict will follow */
        d->undecided++;
    } else if (verdict_queue(d, &sg, held ? ev->text : NULL, ev->text_len) < 0) {
        d->undecided++;
        if (held) {                             /* the probe's channel gets it as it was seen */
            d->local_unverified++;
            d->local(d->local_arg, "dns", ev->text, ev->text_len);
        }
    }
    return 1;
}

struct cloud_dns *cloud_dns_create(uv_loop_t *loop, struct cloud_engine *eng, const char *probe_id,
                                   uint64_t window_s,
                                   void (*local)(void *arg, const char *channel, const char *json, size_t len),
                                   void *local_arg)
{
    struct cloud_dns *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->eng = eng;
    d->local = local;
    d->local_arg = local_arg;
    snprintf(d->probe, sizeof(d->probe), "%s", probe_id ? probe_id : "probe");
    cloud_dns_set_window(d, window_s);
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, tick_cb, TICK_MS, TICK_MS);
    return d;
}

void cloud_dns_set_window(struct cloud_dns *d, uint64_t window_s)
{
    if (d)
        d->window_s = window_s ? window_s : 1;
}

void cloud_dns_info(const struct cloud_dns *d, struct sbuf *b)
{
    if (!d)
        return;
    sbuf_printf(b, "cloud_dns_sightings:%" PRIu64 "\r\ncloud_dns_verdicts_waiting:%zu\r\ncloud_dns_undecided:%" PRIu64
                   "\r\ncloud_dns_local_merged:%" PRIu64 "\r\ncloud_dns_local_timeouts:%" PRIu64
                   "\r\ncloud_dns_local_unverified:%" PRIu64 "\r\n",
                d->sightings, d->waiting + d->asking, d->undecided, d->local_merged, d->local_timeouts,
                d->local_unverified);
}

void cloud_dns_shutdown(struct cloud_dns *d)
{
    if (!d || d->stopped)
        return;
    d->stopped = 1;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, NULL);
    verdicts_due(d, cloud_wall_ms());                 /* what is due goes out with the last batch */
    if (d->waiting)
        log_msg(LL_WARNING, "cloud: %zu DNS sightings left undecided (their verdict was not due)", d->waiting);
    d->undecided += d->waiting;
}

void cloud_dns_destroy(struct cloud_dns *d)
{
    if (!d)
        return;
    while (d->head)
        verdict_free(verdict_take(d));
    free(d);
}
