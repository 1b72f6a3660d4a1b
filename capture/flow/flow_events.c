/* flow_events.c - formats a capture thread's events as JSON and queues them for the loop thread (capture thread). */
#include "capture/flow/flow_events.h"

#include "capture/cache/names.h"
#include "capture/flow/fields.h"
#include "capture/flow/l7.h"
#include "dissectors/dns.h"
#include "dissectors/radius.h"
#include "resp/resp_writer.h"

/* Queues b's text on channel ch (unless building it ran out of memory), then
 * frees b. */
static void emit(struct event_queue *q, enum event_channel ch, struct sbuf *b)
{
    if (!b->oom) {
        struct event *ev = event_new(ch, b->buf, b->len);
        if (ev)
            event_queue_push(q, ev);
    }
    sbuf_free(b);
}

/* ---- flows ---- */

void flow_events_flow_new(struct event_queue *q, const struct flow_key *k, uint64_t first_us)
{
    if (!event_wanted(EV_FLOW_NEW))
        return;
    char name[FLOW_KEY_NAME_MAX], a[ADDR_STR_MAX], t[32], nb[4];
    struct sbuf b;
    sbuf_init(&b);
    flow_key_format(k, name);
    json_begin(&b);
    json_field_str(&b, "key", name);
    json_field_str(&b, "proto", l4_proto_name(k->l4proto, nb));
    addr_format(k->ipver, k->cli, a);
    json_field_str(&b, "cli.ip", a);
    json_field_u64(&b, "cli.port", k->cport);
    addr_format(k->ipver, k->srv, a);
    json_field_str(&b, "srv.ip", a);
    json_field_u64(&b, "srv.port", k->sport);
    json_field_u64(&b, "vlan", k->vlan);
    json_field(&b, "first.seen", t, time_format(first_us, t), 1);
    json_end(&b);
    emit(q, EV_FLOW_NEW, &b);
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

void flow_events_flow_end(struct event_queue *q, struct cache *c, const struct flow *f,
                          enum flow_end_reason reason)
{
    if (!event_wanted(EV_FLOW_END))
        return;
    char name[FLOW_KEY_NAME_MAX];
    struct sbuf b;
    sbuf_init(&b);
    flow_key_format(&f->key, name);
    json_begin(&b);
    json_field_str(&b, "key", name);
    json_field_str(&b, "reason", end_reason_name(reason));
    flow_fields_each(f, json_field_cb, &b);
    char user[NAME_USER_MAX];
    if (names_user_of(c, f->key.ipver, f->key.cli, user, sizeof(user)) == 0 ||
        names_user_of(c, f->key.ipver, f->key.srv, user, sizeof(user)) == 0)
        json_field_str(&b, "user", user);
    json_end(&b);
    emit(q, EV_FLOW_END, &b);
}

void flow_events_flow_expired(struct event_queue *q, const struct flow_key *k)
{
    if (!event_wanted(EV_KEY_EXPIRED))
        return;
    char name[FLOW_KEY_NAME_MAX];
    struct event *ev = event_new(EV_KEY_EXPIRED, name, flow_key_format(k, name));
    if (ev)
        event_queue_push(q, ev);
}

/* ---- hosts ---- */

void flow_events_host_expired(struct event_queue *q, uint8_t ipver, const uint8_t *addr)
{
    if (!event_wanted(EV_KEY_EXPIRED))
        return;
    char name[ADDR_STR_MAX + 3] = "ip.";
    struct event *ev = event_new(EV_KEY_EXPIRED, name, 3 + addr_format(ipver, addr, name + 3));
    if (ev)
        event_queue_push(q, ev);
}

void flow_events_host_new(struct event_queue *q, uint8_t ipver, const uint8_t *addr,
                          const struct decoded_pkt *p, int is_src)
{
    if (!event_wanted(EV_HOST_NEW))
        return;
    char a[ADDR_STR_MAX], m[18];
    struct sbuf b;
    sbuf_init(&b);
    json_begin(&b);
    addr_format(ipver, addr, a);
    json_field_str(&b, "ip", a);
    if (p->has_mac) {
        mac_format(is_src ? p->src_mac : p->dst_mac, m);
        json_field_str(&b, "mac", m);
    }
    json_field_u64(&b, "vlan", p->vlan);
    json_end(&b);
    emit(q, EV_HOST_NEW, &b);
}

/* ---- what the dissectors found ---- */

/* Starts a transaction event of the flow: {"client":...,"server":... */
static void event_begin_flow(struct sbuf *b, const struct app_actions *acts)
{
    char cli[ADDR_STR_MAX], srv[ADDR_STR_MAX];
    addr_format(acts->key.ipver, acts->key.cli, cli);
    addr_format(acts->key.ipver, acts->key.srv, srv);
    sbuf_init(b);
    json_begin(b);
    json_field_str(b, "client", cli);
    json_field_str(b, "server", srv);
}

void flow_events_dns(struct event_queue *q, const struct app_actions *acts, const struct app_action *a)
{
    if (!event_wanted(EV_DNS))
        return;
    char tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    struct sbuf b;
    event_begin_flow(&b, acts);
    json_field_str(&b, "qname", a->name);
    json_field_str(&b, "qtype", dns_qtype_name(a->qtype, tb));
    json_field_str(&b, "rcode", a->kind == ACT_DNS_TIMEOUT ? "TIMEOUT" : dns_rcode_name((uint8_t)a->rcode, rb));
    if (a->has_rtt)
        json_field_u64(&b, "rtt.us", a->rtt_us);
    json_field_u64(&b, "txid", a->txid);
    json_end(&b);
    emit(q, EV_DNS, &b);
}

void flow_events_http(struct event_queue *q, const struct app_actions *acts, const struct app_action *a)
{
    if (!event_wanted(EV_HTTP))
        return;
    struct sbuf b;
    event_begin_flow(&b, acts);
    json_field_str(&b, "method", a->method);
    json_field_str(&b, "host", a->name);
    json_field_str(&b, "url", a->url);
    json_field_u64(&b, "status", a->status);
    json_field_str(&b, "ua", a->ua);
    json_end(&b);
    emit(q, EV_HTTP, &b);
}

void flow_events_user(struct event_queue *q, const struct app_action *a, const char *ip)
{
    enum event_channel ch = a->acct_status == RADIUS_ACCT_STOP ? EV_USER_LOGOUT : EV_USER_LOGIN;
    if (a->acct_status == RADIUS_ACCT_INTERIM || !event_wanted(ch))
        return;
    char nas[ADDR_STR_MAX] = "";
    struct sbuf b;
    if (a->has_nas)
        addr_format(a->nas_ver, a->nas, nas);
    sbuf_init(&b);
    json_begin(&b);
    json_field_str(&b, "user", a->name);
    json_field_str(&b, "ip", ip);
    json_field_str(&b, "nas", nas);
    json_field_str(&b, "session", a->session);
    json_end(&b);
    emit(q, ch, &b);
}

void flow_events_alert(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                       const char *dns_query)
{
    if (!event_wanted(EV_ALERT_WATCHLIST))
        return;
    char key[FLOW_KEY_NAME_MAX];
    struct sbuf b;
    flow_key_format(&acts->key, key);
    sbuf_init(&b);
    json_begin(&b);
    json_field_str(&b, "ip", a->name);
    json_field_str(&b, "peer", a->url);
    json_field_str(&b, "match", a->ua);
    json_field_str(&b, "key", key);
    json_field_str(&b, "l7", l7_name(acts->l7));
    if (dns_query)
        json_field_str(&b, "dns.query", dns_query);
    json_end(&b);
    emit(q, EV_ALERT_WATCHLIST, &b);
}
