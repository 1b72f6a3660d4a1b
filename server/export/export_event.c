/* export_event.c - a flow.end event as an export record: from its binary record, or in one pass over its typed fields (loop thread). */
#include "server/export/export_event.h"

#include <arpa/inet.h>
#include <string.h>

#include "capture/flow/flow_end_rec.h"
#include "capture/flow/l7.h"

/* What the record takes from each field of flow.end (fields.c, flow_events.c). */
enum ev_slot {
    S_PROTO, S_CLI_IP, S_CLI_PORT, S_SRV_IP, S_SRV_PORT, S_VLAN, S_L7, S_BYTES_C2S, S_BYTES_S2C,
    S_PKTS_C2S, S_PKTS_S2C, S_FIRST, S_LAST, S_TCP_FLAGS, S_REASON, S_DNS_QUERY, S_HTTP_HOST,
    S_HTTP_URL, S_HTTP_STATUS, S_TLS_SNI, S_USER, S_RTT, S_RTT_SERVER, S_RTT_CLIENT, S_HTTP_SVC, S_TLS_HS,
    S_DNS_RTT, S_SLOTS
};

static const char *const slot_names[S_SLOTS] = {
    "proto", "cli.ip", "cli.port", "srv.ip", "srv.port", "vlan", "l7", "bytes.c2s", "bytes.s2c",
    "pkts.c2s", "pkts.s2c", "first.seen", "last.seen", "tcp.flags", "reason", "dns.query", "http.host",
    "http.url", "http.status", "tls.sni", "user", "rtt.us", "rtt.server.us", "rtt.client.us", "http.service.us",
    "tls.handshake.us", "dns.rtt.us",
};

/* Fields every flow.end carries. */
#define REQUIRED ((1u << S_PROTO) | (1u << S_CLI_IP) | (1u << S_SRV_IP) | (1u << S_BYTES_C2S) | \
                  (1u << S_BYTES_S2C) | (1u << S_PKTS_C2S) | (1u << S_PKTS_S2C) | (1u << S_FIRST) | \
                  (1u << S_LAST) | (1u << S_L7))

static int slot_of(const char *name)
{
    for (int i = 0; i < S_SLOTS; i++)
        if (name[0] == slot_names[i][0] && strcmp(name, slot_names[i]) == 0)
            return i;
    return -1;
}

static uint8_t proto_number(const char *s)
{
    static const struct { const char *name; uint8_t n; } names[] = {
        { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmp6", 58 }, { "sctp", 132 }, { "gre", 47 },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].n;
    unsigned n = 0;                  /* other protocols are shown as their number */
    for (; *s >= '0' && *s <= '9' && n < 256; s++)
        n = n * 10 + (unsigned)(*s - '0');
    return (uint8_t)n;
}

static uint8_t tcp_flags_bits(const char *s)
{
    static const char letters[] = "FSRPAUEC";
    uint8_t bits = 0;
    for (; *s; s++) {
        const char *p = strchr(letters, *s);
        if (p)
            bits |= (uint8_t)(1u << (p - letters));
    }
    return bits;
}

static uint8_t end_reason(const char *s)
{
    if (strcmp(s, "idle") == 0) return EXPORT_END_IDLE;
    if (strcmp(s, "lifetime") == 0) return EXPORT_END_ACTIVE;
    if (strcmp(s, "tcp-close") == 0) return EXPORT_END_FIN;
    return EXPORT_END_FORCED;
}

/* An address in the text form of KEYSPACE.md; sets the record's family. */
static int addr_parse(struct export_record *r, const char *s, uint8_t *out)
{
    int v6 = strchr(s, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, s, out) != 1)
        return -1;
    if (r->ipver && r->ipver != (v6 ? 6 : 4))
        return -1;
    r->ipver = v6 ? 6 : 4;
    return 0;
}

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* nDPI's id of an application name, through the cache (-1 unknown: 0 is used). */
static uint16_t app_id(struct export_event_cache *c, struct export_str name)
{
    if (name.len > EXPORT_APP_NAME_MAX) {    /* longer than a cache slot: ask every time */
        int id = l7_id_by_name(name.s, name.len);
        return (uint16_t)(id < 0 ? 0 : id);
    }
    size_t n = name.len;
    struct export_app_entry *e = &c->apps[fnv1a(name.s, n) % EXPORT_APP_CACHE];
    if (!(e->name[0] && strlen(e->name) == n && memcmp(e->name, name.s, n) == 0)) {
        memcpy(e->name, name.s, n);
        e->name[n] = '\0';
        e->id = l7_id_by_name(name.s, name.len);
    }
    return (uint16_t)(e->id < 0 ? 0 : e->id);
}

static struct export_str str_field(const struct event *ev, const struct event_field *f)
{
    size_t len = 0;
    const char *s = event_field_str(ev, f, &len);
    return (struct export_str){ s, (uint16_t)(len > 0xffff ? 0xffff : len) };
}

/* A latency field (S_RTT .. S_DNS_RTT) into the record. */
static void take_latency(struct export_record *r, int slot, uint64_t u)
{
    static const uint8_t bit[EXPORT_LATS] = { EXPORT_LAT_RTT, EXPORT_LAT_RTT_SERVER, EXPORT_LAT_RTT,
                                              EXPORT_LAT_HTTP, EXPORT_LAT_TLS, EXPORT_LAT_DNS };
    r->lat |= bit[slot - S_RTT];     /* the slots are in enum export_lat_value's order */
    r->lat_us[slot - S_RTT] = u;
}

/* One field into the record; -1 when its value is not of the expected type. */
static int take(struct export_record *r, const struct event *ev, const struct event_field *f, int slot,
                struct export_event_cache *cache)
{
    int is_str = f->type == EVF_STR, is_num = f->type == EVF_UINT || f->type == EVF_TIME;
    const char *s = is_str ? event_field_str(ev, f, NULL) : NULL;
    uint64_t u = f->v.u;
    switch (slot) {
    case S_PROTO: if (!s) return -1; r->proto = proto_number(s); return 0;
    case S_CLI_IP: return s ? addr_parse(r, s, r->cli) : -1;
    case S_SRV_IP: return s ? addr_parse(r, s, r->srv) : -1;
    case S_TCP_FLAGS: if (!s) return -1; r->tcp_flags = tcp_flags_bits(s); return 0;
    case S_REASON: if (!s) return -1; r->end_reason = end_reason(s); return 0;
    case S_L7: {
        if (!s) return -1;
        r->app_name = str_field(ev, f);
        r->app_id = app_id(cache, r->app_name);
        return 0;
    }
    case S_DNS_QUERY: case S_HTTP_HOST: case S_HTTP_URL: case S_TLS_SNI: case S_USER: {
        if (!is_str) return -1;
        struct export_str v = str_field(ev, f);
        if (slot == S_DNS_QUERY) r->dns_qname = v;
        else if (slot == S_HTTP_HOST) r->http_host = v;
        else if (slot == S_HTTP_URL) r->http_url = v;
        else if (slot == S_TLS_SNI) r->tls_sni = v;
        else r->user = v;
        return 0;
    }
    default: break;
    }
    if (!is_num)
        return -1;
    switch (slot) {
    case S_CLI_PORT: r->cli_port = (uint16_t)u; break;
    case S_SRV_PORT: r->srv_port = (uint16_t)u; break;
    case S_VLAN: r->vlan = (uint16_t)u; break;
    case S_BYTES_C2S: r->octets[0] = u; break;
    case S_BYTES_S2C: r->octets[1] = u; break;
    case S_PKTS_C2S: r->packets[0] = u; break;
    case S_PKTS_S2C: r->packets[1] = u; break;
    case S_FIRST: r->start_ms = u / 1000; break;
    case S_LAST: r->end_ms = u / 1000; break;
    case S_HTTP_STATUS: r->http_status = (uint16_t)u; break;
    default: take_latency(r, slot, u); break;
    }
    return 0;
}

/* The slot of a field name, through the cache (open addressing; a name too
 * long for an entry, or a full table, is looked up each time). */
static int slot_cached(struct export_event_cache *c, const char *name)
{
    size_t n = strlen(name);
    if (n >= sizeof(c->fields[0].name))
        return slot_of(name);
    uint32_t h = fnv1a(name, n);
    for (unsigned probe = 0; probe < 8; probe++) {
        struct export_field_entry *e = &c->fields[(h + probe) % EXPORT_FIELD_CACHE];
        if (!e->name[0]) {
            memcpy(e->name, name, n + 1);
            e->slot = (int8_t)slot_of(name);
            return e->slot;
        }
        if (memcmp(e->name, name, n + 1) == 0)
            return e->slot;
    }
    return slot_of(name);
}

int export_record_from_event(const struct event *ev, struct export_record *r, struct export_event_cache *cache)
{
    uint32_t seen = 0;
    memset(r, 0, sizeof(*r));
    if (ev->channel != EV_FLOW_END)
        return -1;
    r->end_reason = EXPORT_END_FORCED;
    for (unsigned i = 0; i < ev->nfields; i++) {
        int slot = slot_cached(cache, event_field_name(ev, &ev->f[i]));
        if (slot < 0 || (seen >> slot) & 1)  /* a field the record does not carry, or a repeat */
            continue;
        if (take(r, ev, &ev->f[i], slot, cache) != 0)
            return -1;
        seen |= 1u << slot;
    }
    return (seen & REQUIRED) == REQUIRED ? 0 : -1;
}

_Static_assert(EXPORT_DNS_QNAME_MAX <= FLOW_END_STR_MAX && EXPORT_HTTP_HOST_MAX <= FLOW_END_STR_MAX &&
               EXPORT_HTTP_URL_MAX <= FLOW_END_STR_MAX && EXPORT_TLS_SNI_MAX <= FLOW_END_STR_MAX &&
               EXPORT_USER_MAX <= FLOW_END_STR_MAX, "the binary record keeps what the export sends");

static struct export_str rec_str(const struct flow_end_rec *fe, size_t len, enum flow_end_str k)
{
    size_t n = 0;
    const char *s = flow_end_rec_str(fe, len, k, &n);
    return (struct export_str){ s, (uint16_t)(s ? n : 0) };
}

_Static_assert((int)FEL_RTT_SERVER == (int)EXPORT_LAT_RTT_SERVER && (int)FEL_RTT == (int)EXPORT_LAT_RTT &&
               (int)FEL_HTTP == (int)EXPORT_LAT_HTTP && (int)FEL_TLS == (int)EXPORT_LAT_TLS &&
               (int)FEL_DNS == (int)EXPORT_LAT_DNS && (int)FEV_N == (int)EXPORT_LATS &&
               (int)FEV_DNS_RTT == (int)EXPORT_DNS_RTT && (int)FEV_HTTP_SVC == (int)EXPORT_HTTP_SVC,
               "one set of latency bits and values");

static const uint8_t rec_end_reason[] = {
    [FER_IDLE] = EXPORT_END_IDLE, [FER_LIFETIME] = EXPORT_END_ACTIVE,
    [FER_TCP] = EXPORT_END_FIN, [FER_SHUTDOWN] = EXPORT_END_FORCED,
};

int export_record_from_rec(const void *raw, size_t len, struct export_record *r)
{
    const struct flow_end_rec *fe = raw;
    if (!raw || len < sizeof(*fe) || (fe->key.ipver != 4 && fe->key.ipver != 6)) {
        memset(r, 0, sizeof(*r));
        return -1;
    }
    /* every field of r is set below, no memset first: this runs once per exported flow */
    r->ipver = fe->key.ipver;
    r->proto = fe->key.l4proto;
    r->tcp_flags = fe->tcp_flags;
    r->end_reason = fe->reason < sizeof(rec_end_reason) ? rec_end_reason[fe->reason] : EXPORT_END_FORCED;
    r->vlan = fe->key.vlan;
    r->cli_port = fe->key.cport;
    r->srv_port = fe->key.sport;
    memcpy(r->cli, fe->key.cli, 16);
    memcpy(r->srv, fe->key.srv, 16);
    memcpy(r->octets, fe->bytes, sizeof(r->octets));
    memcpy(r->packets, fe->pkts, sizeof(r->packets));
    r->start_ms = fe->first_us / 1000;
    r->end_ms = fe->last_us / 1000;
    r->ingress_if = fe->ingress_if;
    r->obs_point = fe->obs_point;
    const char *app = l7_name(fe->l7);
    r->app_name = (struct export_str){ app, (uint16_t)strlen(app) };
    r->app_id = fe->l7 < l7_count() ? fe->l7 : 0;
    r->http_status = fe->http_status;
    /* the latencies the record says were measured (a value not measured is 0 in both) */
    r->lat = fe->lat & (FEL_RTT_SERVER | FEL_RTT | FEL_HTTP | FEL_TLS | FEL_DNS);
    memcpy(r->lat_us, fe->lat_us, sizeof(r->lat_us));
    r->dns_qname = rec_str(fe, len, FES_DNS_QUERY);
    r->http_host = rec_str(fe, len, FES_HTTP_HOST);
    r->http_url = rec_str(fe, len, FES_HTTP_URL);
    r->tls_sni = rec_str(fe, len, FES_TLS_SNI);
    r->user = rec_str(fe, len, FES_USER);
    return 0;
}
