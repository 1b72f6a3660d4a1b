/* worker_app.c - applies what the dissectors found: name tables, host fields, users, their events; watchlist alerts (capture thread). */
#include "capture/flow/worker.h"
#include "capture/flow/worker_int.h"

#include <stdio.h>
#include <string.h>

#include "capture/cache/names.h"
#include "capture/cache/watchlist.h"
#include "capture/flow/flow_events.h"
#include "dissectors/http.h"
#include "dissectors/radius.h"

enum { RCODE_NXDOMAIN = 3 };

static int action_name_kind(const struct app_action *a);

/* worker_name_update with the name's hash when the caller has it (hash:
 * name_hash(k, name), else NULL). */
static int name_update_hashed(struct worker *w, enum name_kind k, const char *name, uint64_t ts, int create,
                              worker_name_fn fn, const struct app_action *a, void *arg, const uint64_t *hash)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    uint64_t h = hash ? *hash : name_hash(k, name, len);
    struct cache_shard *s = cache_shard_for(w->cache->names, h);
    lock_acquire(&s->lock);
    struct name_entry *e = names_find(w->cache, s, h, k, name, len, create, ts, w->group);
    if (e && !create && !name_alive(&w->cache->cfg, e, cache_now(w->cache)))
        e = NULL;                    /* expired, waiting for the sweeper */
    if (e) {
        if (ts > e->last_us)
            e->last_us = ts;
        fn(e, a, arg);
        shard_touch(s, &e->link);
    }
    lock_release(&s->lock);
    return e != NULL;
}

int worker_name_update(struct worker *w, enum name_kind k, const char *name, uint64_t ts, int create,
                       worker_name_fn fn, const struct app_action *a, void *arg)
{
    return name_update_hashed(w, k, name, ts, create, fn, a, arg, NULL);
}

static void name_update(struct worker *w, enum name_kind k, const char *name, uint64_t ts, worker_name_fn fn,
                        const struct app_action *a, void *arg)
{
    name_update_hashed(w, k, name, ts, 1, fn, a, arg, NULL);
}

/* ---- DNS ---- */

static void dns_qtype_count(struct dns_stats *d, uint16_t qtype)
{
    for (unsigned i = 0; i < d->nqtypes; i++)
        if (d->qtype[i] == qtype) {
            d->qtype_n[i]++;
            return;
        }
    if (d->nqtypes < DNS_QTYPES_MAX) {
        d->qtype[d->nqtypes] = qtype;
        d->qtype_n[d->nqtypes++] = 1;
    }
}

static void dns_name_query(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)arg;
    e->u.dns.queries++;
    dns_qtype_count(&e->u.dns, a->qtype);
}

static void dns_name_response(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)arg;
    struct dns_stats *d = &e->u.dns;
    d->responses++;
    if (a->rcode >= 0 && a->rcode < DNS_RCODES)
        d->rcode[a->rcode]++;
    if (a->rcode == RCODE_NXDOMAIN)
        d->nxdomain++;
    if (a->has_rtt)
        lat_hist_add(&d->rtt, a->rtt_us);
}

/* ---- HTTP ---- */

static void http_name_request(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)a; (void)arg;
    e->u.http.requests++;
}

static void http_name_response(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)arg;
    unsigned cls = a->status / 100;
    if (cls >= 2 && cls <= 5)
        e->u.http.status[cls]++;
    if (a->has_rtt)
        lat_hist_add(&e->u.http.service, a->rtt_us);
}

/* ---- TLS ---- */

static void tls_name(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)arg;
    if (a->kind == ACT_TLS_SNI)
        e->u.tls.flows++;
    e->u.tls.bytes += a->bytes;
}

/* ---- RADIUS ---- */

struct user_ctx { struct worker *w; uint64_t ts; char ipbuf[ADDR_STR_MAX]; };

static void user_apply(struct name_entry *e, const struct app_action *a, void *arg)
{
    struct user_ctx *x = arg;
    struct user_info *u = &e->u.user;
    if (a->has_ip) {
        u->has_ip = 1;
        u->ipver = a->ipver;
        memcpy(u->ip, a->ip, 16);
    }
    if (a->has_nas) {
        u->has_nas = 1;
        u->nas_ver = a->nas_ver;
        memcpy(u->nas, a->nas, 16);
    }
    if (a->session[0])
        snprintf(u->session, sizeof(u->session), "%s", a->session);
    if (a->acct_status == RADIUS_ACCT_STOP) {
        u->logout_us = x->ts;
        u->delete_at_us = x->ts + x->w->user_grace_us;
    } else {
        if (a->acct_status == RADIUS_ACCT_START || !u->login_us)
            u->login_us = x->ts;
        u->logout_us = 0;
        u->delete_at_us = 0;
    }
}

/* A new mapping of the entry's address begins at ts: the one it replaces is kept as the entry's
 * prev, for a flow another worker ends at a packet time before ts (names_user_of_memo). */
static void ipuser_begin(struct name_entry *e, const char *user, uint64_t ts)
{
    struct ipuser_prev *p = &e->u.ipuser.prev;
    size_t n = strlen(e->u.ipuser.user);
    p->user[0] = '\0';
    if (n && n < sizeof(p->user)) {  /* a longer name is not kept: such a flow gets none */
        memcpy(p->user, e->u.ipuser.user, n + 1);
        p->login_us = e->u.ipuser.login_us;
        p->logout_us = e->u.ipuser.logout_us;
        p->delete_at_us = e->u.ipuser.delete_at_us;
    }
    snprintf(e->u.ipuser.user, sizeof(e->u.ipuser.user), "%.*s", NAME_USER_MAX - 1, user);
    e->u.ipuser.login_us = ts;
}

static void ipuser_apply(struct name_entry *e, const struct app_action *a, void *arg)
{
    struct user_ctx *x = arg;
    if (a->acct_status == RADIUS_ACCT_STOP) {
        if (strcmp(e->u.ipuser.user, a->name) == 0 || !e->u.ipuser.user[0]) {
            if (!e->u.ipuser.user[0])    /* a logout of a login not seen: a mapping from here on */
                ipuser_begin(e, a->name, x->ts);
            e->u.ipuser.delete_at_us = x->ts + x->w->user_grace_us;
            e->u.ipuser.logout_us = x->ts;  /* flows starting later are not this user's */
            e->u.ipuser.learnt = 0;
        }
        return;
    }
    /* A Start or Interim-Update: the same user, still logged in, goes on; anything else begins anew. */
    if (!e->u.ipuser.user[0] || e->u.ipuser.logout_us || strcmp(e->u.ipuser.user, a->name) != 0)
        ipuser_begin(e, a->name, x->ts);
    e->u.ipuser.delete_at_us = 0;
    e->u.ipuser.logout_us = 0;
    e->u.ipuser.learnt = 0;
}

static void radius_apply(struct worker *w, const struct app_action *a, uint64_t ts)
{
    struct user_ctx x = { w, ts, "" };
    name_update(w, NK_USER, a->name, ts, user_apply, a, &x);
    if (a->has_ip) {
        addr_format(a->ipver, a->ip, x.ipbuf);
        name_update(w, NK_IPUSER, x.ipbuf, ts, ipuser_apply, a, &x);
    }
    flow_events_user(&w->events, a, x.ipbuf, ts);
}

static void watch_dns_query(struct worker *w, const struct app_actions *acts, const char *qname, uint64_t ts);

void worker_apply_actions(struct worker *w, const struct app_actions *acts, uint64_t ts,
                          const uint64_t *hashes)
{
    const char *dns_query = NULL;
    for (int i = 0; i < acts->n; i++) {
        const struct app_action *a = &acts->a[i];
        const uint64_t *h = hashes && action_name_kind(a) >= 0 ? &hashes[i] : NULL;
        switch (a->kind) {
        case ACT_DNS_QUERY:
            dns_query = a->name;
            name_update_hashed(w, NK_DNS, a->name, ts, 1, dns_name_query, a, NULL, h);
            watch_dns_query(w, acts, a->name, ts);
            break;
        case ACT_DNS_RESPONSE:
            name_update_hashed(w, NK_DNS, a->name, ts, 1, dns_name_response, a, NULL, h);
            if (!a->late)            /* its transaction was reported at its eviction */
                flow_events_dns(&w->events, acts, a, ts);
            break;
        case ACT_DNS_TIMEOUT:
            flow_events_dns(&w->events, acts, a, ts);
            break;
        case ACT_HTTP_REQUEST:
            name_update_hashed(w, NK_HTTP, a->name, ts, 1, http_name_request, a, NULL, h);
            break;
        case ACT_HTTP_RESPONSE:
            name_update_hashed(w, NK_HTTP, a->name, ts, 1, http_name_response, a, NULL, h);
            flow_events_http(&w->events, acts, a, ts);
            break;
        case ACT_TLS_SNI:
        case ACT_TLS_BYTES:
            name_update_hashed(w, NK_TLS, a->name, ts, 1, tls_name, a, NULL, h);
            break;
        case ACT_RADIUS:
            radius_apply(w, a, ts);
            break;
        case ACT_WATCH_ALERT:
            flow_events_alert(&w->events, acts, a, dns_query, ts);
            break;
        case ACT_SIP: case ACT_RTP: case ACT_SNMP:
            worker_voip_apply(w, acts, a, ts);
            break;
        default:
            break;
        }
    }
}

/* The name table an action updates first, or -1. */
static int action_name_kind(const struct app_action *a)
{
    switch (a->kind) {
    case ACT_DNS_QUERY: case ACT_DNS_RESPONSE: return NK_DNS;
    case ACT_HTTP_REQUEST: case ACT_HTTP_RESPONSE: return NK_HTTP;
    case ACT_TLS_SNI: case ACT_TLS_BYTES: return NK_TLS;
    case ACT_RADIUS: return NK_USER;
    default: return -1;
    }
}

void worker_prefetch_actions(struct worker *w, const struct app_actions *acts, uint64_t *hashes)
{
    for (int i = 0; i < acts->n; i++) {
        int k = action_name_kind(&acts->a[i]);
        size_t len = k >= 0 ? strlen(acts->a[i].name) : 0;
        hashes[i] = 0;
        if (len == 0 || len > NAME_MAX_LEN)
            continue;
        uint64_t h = name_hash((enum name_kind)k, acts->a[i].name, len);
        const struct cache_shard *s = cache_shard_for(w->cache->names, h);
        __builtin_prefetch(&s->buckets[cache_bucket_of(s, h)]);
        __builtin_prefetch(&s->lock, 1);   /* and the lock, for writing: it is taken next */
        hashes[i] = h;
    }
}

/* What acts teach about the flow's server h: its round trips and answer times. */
static void host_apply_server(struct host_app *h, const struct app_actions *acts)
{
    for (int i = 0; i < acts->n; i++) {
        const struct app_action *a = &acts->a[i];
        if (!a->has_rtt)
            continue;
        if (a->kind == ACT_TCP_RTT) {
            h->rtt_sum_us += a->rtt_us;
            h->rtt_n++;
        } else if (a->kind == ACT_HTTP_RESPONSE || a->kind == ACT_DNS_RESPONSE) {
            h->svc_sum_us += a->rtt_us;
            h->svc_n++;
        }
    }
}

void worker_host_apply_actions(struct host_app *h, const struct app_actions *acts, int client, uint64_t ts)
{
    if (!client) {
        host_apply_server(h, acts);
        return;
    }
    for (int i = 0; i < acts->n; i++) {
        const struct app_action *a = &acts->a[i];
        if (a->kind == ACT_DNS_QUERY) {
            h->dns_queries++;
        } else if (a->kind == ACT_DNS_RESPONSE) {
            if (a->rcode == RCODE_NXDOMAIN)
                h->dns_nxdomain++;
        } else if (a->kind == ACT_HTTP_REQUEST) {
            h->http_requests++;
            const char *os = a->ua[0] ? http_ua_os(a->ua) : NULL;
            if (os && ts >= h->os_us) {
                h->os = os;
                h->os_us = ts;
            }
        }
    }
}

void worker_host_app_add(struct host_app *to, const struct host_app *from)
{
    to->dns_queries += from->dns_queries;
    to->dns_nxdomain += from->dns_nxdomain;
    to->http_requests += from->http_requests;
    to->rtt_sum_us += from->rtt_sum_us;
    to->rtt_n += from->rtt_n;
    to->svc_sum_us += from->svc_sum_us;
    to->svc_n += from->svc_n;
    if (from->os && from->os_us >= to->os_us) {
        to->os = from->os;
        to->os_us = from->os_us;
    }
}

/* ---- watchlist ---- */

/* Does flow key k touch a listed address? Fills a (an ACT_WATCH_ALERT: name the listed address, url
 * its peer, ua the entry) and returns 1, else 0. */
static int watch_hit(struct watchlist *wl, const struct flow_key *k, struct app_action *a)
{
    char match[WATCH_TEXT_MAX];
    const uint8_t *hit = NULL, *peer = NULL;
    if (watchlist_match(wl, k->ipver, k->cli, match)) {
        hit = k->cli;
        peer = k->srv;
    } else if (watchlist_match(wl, k->ipver, k->srv, match)) {
        hit = k->srv;
        peer = k->cli;
    }
    if (!hit)
        return 0;
    memset(a, 0, sizeof(*a));
    a->kind = ACT_WATCH_ALERT;
    addr_format(k->ipver, hit, a->name);
    addr_format(k->ipver, peer, a->url);
    snprintf(a->ua, sizeof(a->ua), "%s", match);
    return 1;
}

/* A new flow touching a listed address raises one alert (applied with the
 * packet's other actions, so a DNS query's name rides along). */
void watch_check(struct worker *w, struct pkt_result *r)
{
    struct app_action a;
    if (!w->wl || r->acts.n >= APP_ACTIONS_MAX || !watch_hit(w->wl, &r->key, &a))
        return;
    r->acts.a[r->acts.n++] = a;
}

/* Every DNS query from or to a listed address is an alert of its own, with its name (the first one
 * of a new flow rides on the flow's alert, which is among acts). */
static void watch_dns_query(struct worker *w, const struct app_actions *acts, const char *qname, uint64_t ts)
{
    struct app_action a;
    if (!w->wl || !event_wanted(EV_ALERT_WATCHLIST))
        return;
    for (int i = 0; i < acts->n; i++)
        if (acts->a[i].kind == ACT_WATCH_ALERT)
            return;
    if (watch_hit(w->wl, &acts->key, &a))
        flow_events_alert(&w->events, acts, &a, qname, ts);
}
