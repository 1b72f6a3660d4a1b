/* flow_events.c - builds a capture thread's events as typed fields and queues them for the loop thread (capture thread). */
#include "capture/flow/flow_events.h"

#include <string.h>

#include "capture/cache/latency.h"
#include "capture/cache/names.h"
#include "capture/flow/fields.h"
#include "capture/flow/flow_end_rec.h"
#include "capture/flow/l7.h"
#include "dissectors/dns.h"
#include "dissectors/radius.h"
#include "dissectors/snmp.h"

/* ---- flows ---- */

/* Adds the address addr of version ipver as a string field. */
static void add_addr(struct event_builder *b, const char *name, uint8_t ipver, const uint8_t *addr)
{
    char a[ADDR_STR_MAX];
    event_add_strn(b, name, a, addr_format(ipver, addr, a));
}

static void add_flow_key(struct event_builder *b, const struct flow_key *k)
{
    char name[FLOW_KEY_NAME_MAX];
    event_add_strn(b, "key", name, flow_key_format(k, name));
}

void flow_events_flow_new(struct event_queue *q, const struct flow_key *k, uint64_t first_us)
{
    if (!event_wanted(EV_FLOW_NEW))
        return;
    char nb[4];
    struct event_builder b;
    event_build_begin(&b, EV_FLOW_NEW, first_us);
    add_flow_key(&b, k);
    event_add_str(&b, "proto", l4_proto_name(k->l4proto, nb));
    add_addr(&b, "cli.ip", k->ipver, k->cli);
    event_add_uint(&b, "cli.port", k->cport);
    add_addr(&b, "srv.ip", k->ipver, k->srv);
    event_add_uint(&b, "srv.port", k->sport);
    event_add_uint(&b, "vlan", k->vlan);
    event_add_time(&b, "first.seen", first_us);
    event_queue_push_built(q, &b);
}

static const char *end_reason_name(enum flow_end_reason r)
{
    switch (r) {
    case FLOW_END_IDLE: return "idle";
    case FLOW_END_LIFETIME: return "lifetime";
    case FLOW_END_TCP: return "tcp-close";
    default: return "shutdown";
    }
}

/* A field_visitor adding each field of a flow to the builder in arg. */
static void build_str(void *arg, const char *name, const char *s, size_t len)
{
    event_add_strn(arg, name, s, len);
}

static void build_uint(void *arg, const char *name, uint64_t v)
{
    event_add_uint(arg, name, v);
}

static void build_time(void *arg, const char *name, uint64_t us)
{
    event_add_time(arg, name, us);
}

_Static_assert((int)FER_IDLE == (int)FLOW_END_IDLE && (int)FER_LIFETIME == (int)FLOW_END_LIFETIME &&
               (int)FER_TCP == (int)FLOW_END_TCP && (int)FER_SHUTDOWN == (int)FLOW_END_SHUTDOWN,
               "flow_end_rec.h restates enum flow_end_reason");

/* The binary record of f (flow_end_rec.h) into r (FLOW_END_REC_MAX bytes); returns its size. */
static size_t flow_end_rec_make(const struct cache *c, const struct flow *f, enum flow_end_reason reason,
                                const char *user, struct flow_end_rec *r)
{
    size_t len = sizeof(*r);
    memset(r, 0, sizeof(*r));
    r->key = f->key;
    r->reason = (uint8_t)reason;
    r->tcp_flags = f->tcp_flags;
    r->l7 = f->l7;
    r->obs_point = f->src;
    if (f->src)
        r->ingress_if = atomic_load_explicit(&c->src_ifindex[f->src - 1], memory_order_relaxed);
    memcpy(r->bytes, f->bytes, sizeof(r->bytes));
    memcpy(r->pkts, f->pkts, sizeof(r->pkts));
    r->first_us = f->first_us;
    r->last_us = f->last_us;
    if (f->hs >= FLOW_HS_SYNACK) {   /* as flow_fields_visit shows them */
        r->lat |= FEL_RTT_SERVER;
        r->lat_us[FEV_RTT_SERVER] = f->rtt_server_us;
    }
    if (f->hs == FLOW_HS_DONE) {
        r->lat |= FEL_RTT;
        r->lat_us[FEV_RTT_CLIENT] = f->hs_mark;
        r->lat_us[FEV_RTT] = (uint64_t)f->rtt_server_us + f->hs_mark;
    }
    app_flow_end_rec(f->ext, r, &len);   /* the application's fields, as the hash shows them */
    if (user)
        flow_end_rec_put(r, &len, FES_USER, user, strlen(user));
    return len;
}

/* cli.mac / srv.mac and the packet time each was seen, of the flow's hosts that show one. */
static void add_end_macs(struct event_builder *b, const struct flow_end_macs *macs)
{
    static const char *const names[2][2] = { { "cli.mac", "cli.mac.seen.us" }, { "srv.mac", "srv.mac.seen.us" } };
    char m[18];
    for (int i = 0; macs && i < 2; i++) {
        if (!macs->has[i])
            continue;
        mac_format(macs->mac[i], m);
        event_add_str(b, names[i][0], m);
        event_add_uint(b, names[i][1], macs->seen_us[i]);
    }
}

void flow_events_flow_end(struct event_queue *q, struct cache *c, struct names_user_memo *users,
                          const struct flow *f, enum flow_end_reason reason, uint64_t ts,
                          const struct flow_end_macs *macs)
{
    if (!event_wanted(EV_FLOW_END))
        return;
    /* The user as of the packet time the flow ended at: when it was due (a sweep, or a packet, may
     * come later, and other workers' logins with it), or ts for a flow cut before (end of a file). */
    char user[NAME_USER_MAX];
    uint64_t due = flow_expire_at(&c->cfg, f), user_at = due < ts ? due : ts;
    int has_user =
        names_user_of_memo(c, users, f->key.ipver, f->key.cli, f->first_us, user_at, user, sizeof(user)) == 0 ||
        names_user_of_memo(c, users, f->key.ipver, f->key.srv, f->first_us, user_at, user, sizeof(user)) == 0;
    if (!event_wants_fields(EV_FLOW_END)) {  /* records only: into the open batch, no text at all */
        void *at = event_queue_batch_room(q, EV_FLOW_END, ts, FLOW_END_REC_MAX);
        if (at)
            event_queue_batch_commit(q, flow_end_rec_make(c, f, reason, has_user ? user : NULL, at));
        return;
    }
    struct event_builder b;
    const struct field_visitor v = { build_str, build_uint, build_time, &b };
    event_build_begin(&b, EV_FLOW_END, ts);
    add_flow_key(&b, &f->key);
    event_add_str(&b, "reason", end_reason_name(reason));
    flow_fields_visit(f, &v);
    if (has_user)
        event_add_str(&b, "user", user);
    add_end_macs(&b, macs);
    if (!event_wants_raw(EV_FLOW_END)) {
        event_queue_push_built(q, &b);
        return;
    }
    _Alignas(8) char rec[EVENT_RAW_HDR + FLOW_END_REC_MAX + 8];   /* one framed record */
    size_t len = flow_end_rec_make(c, f, reason, has_user ? user : NULL,
                                   (struct flow_end_rec *)(rec + EVENT_RAW_HDR));
    event_queue_push_built_raw(q, &b, rec, event_raw_frame_close(rec, len), 0);
}

void flow_events_flow_expired(struct event_queue *q, const struct flow_key *k, uint64_t ts)
{
    if (!event_wanted(EV_KEY_EXPIRED))
        return;
    struct event_builder b;
    event_build_begin(&b, EV_KEY_EXPIRED, ts);
    add_flow_key(&b, k);
    event_queue_push_built(q, &b);
}

/* ---- hosts ---- */

void flow_events_host_expired(struct event_queue *q, uint8_t ipver, const uint8_t *addr, uint64_t ts)
{
    if (!event_wanted(EV_KEY_EXPIRED))
        return;
    char name[ADDR_STR_MAX + 3] = "ip.";
    struct event_builder b;
    event_build_begin(&b, EV_KEY_EXPIRED, ts);
    event_add_strn(&b, "key", name, 3 + addr_format(ipver, addr, name + 3));
    event_queue_push_built(q, &b);
}

void flow_events_mac(struct event_queue *q, const struct flow_events_mac *r, uint64_t ts)
{
    if (!event_wanted(EV_MAC))
        return;
    char m[18];
    struct event_builder b;
    event_build_begin(&b, EV_MAC, ts);
    mac_format(r->mac, m);
    event_add_str(&b, "mac", m);
    event_add_uint(&b, "bytes.sent", r->bytes_sent);
    event_add_uint(&b, "bytes.rcvd", r->bytes_rcvd);
    event_add_uint(&b, "pkts.sent", r->pkts_sent);
    event_add_uint(&b, "pkts.rcvd", r->pkts_rcvd);
    event_add_time(&b, "first.seen", r->first_us);
    event_add_time(&b, "last.seen", r->last_us);
    if (r->ip) {
        add_addr(&b, "ip", r->ipver, r->ip);
        event_add_uint(&b, "ip.seen.us", r->ip_us);
    }
    event_queue_push_built(q, &b);
}

void flow_events_host_new(struct event_queue *q, uint8_t ipver, const uint8_t *addr,
                          const struct decoded_pkt *p, int is_src, uint64_t ts)
{
    if (!event_wanted(EV_HOST_NEW))
        return;
    char m[18];
    struct event_builder b;
    event_build_begin(&b, EV_HOST_NEW, ts);
    add_addr(&b, "ip", ipver, addr);
    if (p->has_mac) {
        mac_format(is_src ? p->src_mac : p->dst_mac, m);
        event_add_str(&b, "mac", m);
    }
    event_add_uint(&b, "vlan", p->vlan);
    event_queue_push_built(q, &b);
}

/* ---- what the dissectors found ---- */

/* Starts a transaction event of the flow: client, server. */
static void event_begin_flow(struct event_builder *b, enum event_channel ch, const struct app_actions *acts,
                             uint64_t ts)
{
    event_build_begin(b, ch, ts);
    add_addr(b, "client", acts->key.ipver, acts->key.cli);
    add_addr(b, "server", acts->key.ipver, acts->key.srv);
}

void flow_events_dns(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                     uint64_t ts)
{
    if (!event_wanted(EV_DNS))
        return;
    char tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    struct event_builder b;
    event_begin_flow(&b, EV_DNS, acts, ts);
    event_add_str(&b, "qname", a->name);
    event_add_str(&b, "qtype", dns_qtype_name(a->qtype, tb));
    event_add_str(&b, "rcode", a->kind == ACT_DNS_TIMEOUT ? "TIMEOUT" : dns_rcode_name((uint8_t)a->rcode, rb));
    if (a->has_rtt) {                /* the sample, and the bucket it counts in on dns.<qname> */
        event_add_uint(&b, "rtt.us", a->rtt_us);
        event_add_str(&b, "rtt.le", lat_bucket_name(lat_bucket_of(a->rtt_us)));
    }
    event_add_uint(&b, "txid", a->txid);
    if (a->kind == ACT_DNS_TIMEOUT)  /* the query's own time: the cloud matches it with another probe's answer */
        event_add_time(&b, "query.ts", a->query_us);
    event_queue_push_built(q, &b);
}

void flow_events_http(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                      uint64_t ts)
{
    if (!event_wanted(EV_HTTP))
        return;
    struct event_builder b;
    event_begin_flow(&b, EV_HTTP, acts, ts);
    event_add_str(&b, "method", a->method);
    event_add_str(&b, "host", a->name);
    event_add_str(&b, "url", a->url);
    event_add_uint(&b, "status", a->status);
    event_add_str(&b, "ua", a->ua);
    if (a->has_rtt) {                /* the sample, and the bucket it counts in on http.<host> */
        event_add_uint(&b, "service.us", a->rtt_us);
        event_add_str(&b, "service.le", lat_bucket_name(lat_bucket_of(a->rtt_us)));
    }
    event_queue_push_built(q, &b);
}

void flow_events_user(struct event_queue *q, const struct app_action *a, const char *ip, uint64_t ts)
{
    enum event_channel ch = a->acct_status == RADIUS_ACCT_STOP ? EV_USER_LOGOUT : EV_USER_LOGIN;
    if (!event_wanted(ch))
        return;
    struct event_builder b;
    event_build_begin(&b, ch, ts);
    event_add_str(&b, "user", a->name);
    event_add_str(&b, "ip", ip);
    if (a->has_nas)
        add_addr(&b, "nas", a->nas_ver, a->nas);
    else
        event_add_str(&b, "nas", "");
    event_add_str(&b, "session", a->session);
    if (a->acct_status == RADIUS_ACCT_INTERIM)  /* an Interim-Update: the user is still there */
        event_add_str(&b, "acct", "interim");
    event_queue_push_built(q, &b);
}

void flow_events_alert(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                       const char *dns_query, uint64_t ts)
{
    if (!event_wanted(EV_ALERT_WATCHLIST))
        return;
    struct event_builder b;
    event_build_begin(&b, EV_ALERT_WATCHLIST, ts);
    event_add_str(&b, "ip", a->name);
    event_add_str(&b, "peer", a->url);
    event_add_str(&b, "match", a->ua);
    add_flow_key(&b, &acts->key);
    event_add_str(&b, "l7", l7_name(acts->l7));
    if (dns_query)
        event_add_str(&b, "dns.query", dns_query);
    event_queue_push_built(q, &b);
}

/* ---- SIP calls and SNMP transactions ---- */

void flow_events_sip(struct event_queue *q, const char *call_id, const struct sip_call *call, uint64_t ts)
{
    if (!event_wanted(EV_SIP))
        return;
    struct event_builder b;
    const struct field_visitor v = { build_str, build_uint, build_time, &b };
    event_build_begin(&b, EV_SIP, ts);
    event_add_str(&b, "call-id", call_id);
    sip_call_fields_visit(call, &v);
    event_queue_push_built(q, &b);
}

void flow_events_snmp(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                      uint64_t ts)
{
    if (!event_wanted(EV_SNMP))
        return;
    const struct app_snmp *m = &a->u.snmp;
    const struct flow_key *k = &acts->key;
    struct event_builder b;
    event_build_begin(&b, EV_SNMP, ts);
    add_addr(&b, "agent", k->ipver, m->agent_srv ? k->srv : k->cli);
    add_addr(&b, "manager", k->ipver, m->agent_srv ? k->cli : k->srv);
    int matched = m->kind == SNMPA_TIMEOUT || (m->kind == SNMPA_RESPONSE && a->has_rtt);
    event_add_str(&b, "pdu", snmp_pdu_name(matched ? m->req_pdu : m->pdu));
    event_add_uint(&b, "version", m->version == SNMP_V1 ? 1 : m->version == SNMP_V2C ? 2 : 3);
    event_add_int(&b, "request-id", m->request_id);
    if (m->kind == SNMPA_TIMEOUT)
        event_add_str(&b, "error", "timeout");
    else if (m->kind == SNMPA_RESPONSE)
        event_add_str(&b, "error", snmp_error_name(m->error_status));
    if (a->has_rtt) {                /* the sample, and the bucket it counts in on snmp.<agent> */
        event_add_uint(&b, "rtt.us", a->rtt_us);
        event_add_str(&b, "rtt.le", lat_bucket_name(lat_bucket_of(a->rtt_us)));
    }
    event_queue_push_built(q, &b);
}
