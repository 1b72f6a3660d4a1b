/* cloud.c - replication of probe events to cloud Redis nodes: each event mapped to the commands it implies,
 * and the heartbeat; users are cloud_users.c's, the shared watchlist cloud_watch.c's, delivery
 * cloud_engine.c's (loop thread).
 *
 * flow.end adds a flow's counters to flow.<key> (HINCRBY), copies its descriptive fields (HSET), merges its
 * times and TCP flags with other probes' (cloud_merge.c) and adds to
 * the hosts' ip.<addr> (the server's handshake round trip too) and the aggregates proto.<l7>, vlan.<id>,
 * tls.<sni>, port.<l4>.<port>; dns and http events count per name, with their latency histograms, and add
 * their answer time to the server's ip.<addr>; mac events (a MAC's counters since the probe's previous
 * report) add up on mac.<mac>, and the hosts' MACs ride on flow.end to ip.<addr> mac.
 * Every event is also PUBLISHed. Users (RADIUS events, the lookup of a flow's client in the cloud's
 * ipuser.<addr>) are cloud_users.c's.
 */
#include "server/replication/cloud.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dissectors/http.h"
#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_dns.h"
#include "server/replication/cloud_engine.h"
#include "server/replication/cloud_merge.h"
#include "server/replication/cloud_send.h"
#include "server/replication/cloud_sub.h"
#include "server/replication/cloud_users.h"
#include "server/replication/cloud_voip.h"
#include "server/replication/cloud_watch.h"

enum { WATCH_POLL_MS = 500 };           /* the shared watchlist is read back this often */

struct cloud {
    struct cloud_engine *eng;
    struct cloud_dns *dns;             /* DNS transactions split across probes (cloud_dns.c) */
    char *functions;                   /* the function library the engine loads on the nodes */
    uv_timer_t beat_timer;
    char beat_key[300];                /* probe.<id> */
    const char *version;
    void (*probe_stats)(void *arg, struct cloud_probe_stats *out);
    void *probe_stats_arg;
    uint64_t flow_ttl, host_ttl, user_grace, start_ms;
    struct cloud_users *users;         /* user lookups and RADIUS (cloud_users.c) */
    struct cloud_voip_lookup media;    /* sipmedia.<ep> answers go there (cloud_voip.c) */
    struct cloud_watch *watch;         /* the shared watchlist (cloud_watch.c), NULL when not shared */
    struct cloud_sub *sub;             /* user.logout heard from the cloud (cloud_sub.c), or NULL */
    int shutting;
    uint64_t bad_events;
};

/* ------------------------------------------------------------------ event fields
 * The one place that reads an event's fields (typed, looked up by name: capture/events/events.h); the
 * mapping below asks for a field by name or walks them all. */

/* The string field name (NUL-terminated), or NULL when the event has none. */
static const char *ev_str(const struct event *ev, const char *name)
{
    return event_get_str(ev, name);
}

/* The unsigned field name, or 0 when the event has none (*has says which, when has is not NULL). */
static uint64_t ev_uint(const struct event *ev, const char *name, int *has)
{
    uint64_t v = 0;
    int ok = event_get_uint(ev, name, &v);
    if (has)
        *has = ok;
    return v;
}

/* ------------------------------------------------------------------ commands */

/* Fields of flow.end that are not the flow's own: its hosts' MACs (cli.mac, cli.mac.seen.us, srv.mac...),
 * which go to ip.<addr>. */
static int is_host_mac(const char *name)
{
    return (strncmp(name, "cli.mac", 7) == 0 || strncmp(name, "srv.mac", 7) == 0) &&
           (name[7] == '\0' || name[7] == '.');
}

static int is_counter(const char *name)
{
    return is_host_mac(name) || strcmp(name, "key") == 0 || strcmp(name, "reason") == 0 || strcmp(name, "bytes.c2s") == 0 ||
           strcmp(name, "bytes.s2c") == 0 || strcmp(name, "pkts.c2s") == 0 || strcmp(name, "pkts.s2c") == 0 ||
           cloud_merge_field(name);
}

/* HSET key of every descriptive field (all but the key, reason, counters and the merged times and flags:
 * cloud_merge.c). */
static void hset_fields(struct cloud *cl, const char *key, const struct event *ev)
{
    cloud_send_hset_event(cl->eng, key, ev, is_counter, NULL, NULL);
}

/* Counters of one endpoint: sent = its direction, rcvd = the other; rtt: the flow's handshake round trip
 * when the endpoint is its server and the probe saw it, else NULL. */
static void host_counters(struct cloud *cl, const char *ip, uint64_t bs, uint64_t ps, uint64_t br, uint64_t pr,
                          const char *role, const uint64_t *rtt)
{
    char key[128];
    if (snprintf(key, sizeof(key), "ip.%s", ip) >= (int)sizeof(key))
        return;
    cloud_send_hincrby(cl->eng, key, "bytes.sent", bs);
    cloud_send_hincrby(cl->eng, key, "pkts.sent", ps);
    cloud_send_hincrby(cl->eng, key, "bytes.rcvd", br);
    cloud_send_hincrby(cl->eng, key, "pkts.rcvd", pr);
    cloud_send_hincrby(cl->eng, key, role, 1);
    if (rtt)                            /* the server's handshake round trips: rtt.us.sum, rtt.count */
        cloud_send_latency(cl->eng, key, "rtt", *rtt, NULL);
    cloud_send_expire(cl->eng, key, cl->host_ttl);
}

/* The rest of a flow's endpoint ip.<addr>, as the probe keeps it: first.seen / last.seen and its MAC (from,
 * "cli.mac" or "srv.mac": the newest by packet time wins) through the merge function (the earliest and the
 * latest across flows and probes) and, for a tagged flow, its counters on vlan.<id>.* (an untagged flow,
 * vlan 0, has none there). */
static void host_flow_end(struct cloud *cl, const char *ip, const char *from, const struct event *ev,
                          uint64_t vlan, uint64_t bs, uint64_t ps, uint64_t br, uint64_t pr)
{
    static const char *const what[] = { "bytes.sent", "pkts.sent", "bytes.rcvd", "pkts.rcvd" };
    const uint64_t by[] = { bs, ps, br, pr };
    char key[128], field[48];
    if (!ip || snprintf(key, sizeof(key), "ip.%s", ip) >= (int)sizeof(key))
        return;
    cloud_merge_host(cl->eng, key, ev, from, "mac");
    for (int i = 0; vlan && i < 4; i++) {
        snprintf(field, sizeof(field), "vlan.%" PRIu64 ".%s", vlan, what[i]);
        cloud_send_hincrby(cl->eng, key, field, by[i]);
    }
}

/* An HTTP request's client on ip.<addr>: http.requests and, from its User-Agent, os (the latest wins, as
 * on the probe). */
static void host_http(struct cloud *cl, const char *ip, const char *ua)
{
    char key[128];
    const char *os = ua && *ua ? http_ua_os(ua) : NULL;
    if (!ip || snprintf(key, sizeof(key), "ip.%s", ip) >= (int)sizeof(key))
        return;
    cloud_send_hincrby(cl->eng, key, "http.requests", 1);
    if (os) {
        const char *argv[] = { "HSET", key, "os", os };
        cloud_send_args(cl->eng, 4, argv);
    }
    cloud_send_expire(cl->eng, key, cl->host_ttl);
}

/* bytes / pkts (with_pkts) / flows of an aggregate key (proto.<l7>, vlan.<id>, tls.<sni>, port.<l4>.<port>). */
static void aggregate(struct cloud *cl, const char *prefix, const char *name, uint64_t bytes, uint64_t pkts,
                      int with_pkts)
{
    char key[320];
    if (!name || !*name || snprintf(key, sizeof(key), "%s%s", prefix, name) >= (int)sizeof(key))
        return;
    cloud_send_hincrby(cl->eng, key, "bytes", bytes);
    if (with_pkts)
        cloud_send_hincrby(cl->eng, key, "pkts", pkts);
    cloud_send_hincrby(cl->eng, key, "flows", 1);
    cloud_send_expire(cl->eng, key, cl->host_ttl);
}

/* port.<l4>.<server port> of a flow whose protocol has ports (tcp, udp, sctp). */
static void port_aggregate(struct cloud *cl, const struct event *ev, uint64_t bytes, uint64_t pkts)
{
    const char *l4 = ev_str(ev, "proto");
    int has_port;
    uint64_t port = ev_uint(ev, "srv.port", &has_port);
    char name[32];
    if (!l4 || !has_port || (strcmp(l4, "tcp") != 0 && strcmp(l4, "udp") != 0 && strcmp(l4, "sctp") != 0) ||
        snprintf(name, sizeof(name), "%s.%" PRIu64, l4, port) >= (int)sizeof(name))
        return;
    aggregate(cl, "port.", name, bytes, pkts, 1);
}

/* A transaction's answer time on its server's ip.<addr> (service.us.sum, service.count). */
static void server_service(struct cloud *cl, const struct event *ev, uint64_t us)
{
    const char *srv = ev_str(ev, "server");
    char key[128];
    if (!srv || snprintf(key, sizeof(key), "ip.%s", srv) >= (int)sizeof(key))
        return;
    cloud_send_latency(cl->eng, key, "service", us, NULL);
    cloud_send_expire(cl->eng, key, cl->host_ttl);
}

/* The client's side of a DNS sighting on ip.<client>, as the probe counts it: dns.queries for a query it
 * saw, dns.nxdomain for an NXDOMAIN answer it saw. */
static void dns_client(struct cloud *cl, const struct event *ev, int query, int nxdomain)
{
    const char *cli = ev_str(ev, "client");
    char key[128];
    if (!cli || (!query && !nxdomain) || snprintf(key, sizeof(key), "ip.%s", cli) >= (int)sizeof(key))
        return;
    if (query)
        cloud_send_hincrby(cl->eng, key, "dns.queries", 1);
    if (nxdomain)
        cloud_send_hincrby(cl->eng, key, "dns.nxdomain", 1);
    cloud_send_expire(cl->eng, key, cl->host_ttl);
}

/* One `dns` event. A query counts where it was seen (queries, qtype.<TYPE>), an answer where it was seen
 * (responses, nxdomain, rcode.<NAME>), so probes that each saw one side add up to the truth. A transaction
 * this probe saw whole adds its rtt.* here; one it saw one side of is cloud_dns.c's (counted and matched
 * with the other side by a function in the cloud, published there): returns 1 then, 0 when the caller
 * publishes the event. */
static int on_dns(struct cloud *cl, const struct event *ev)
{
    const char *q = ev_str(ev, "qname"), *qtype = ev_str(ev, "qtype"), *rcode = ev_str(ev, "rcode");
    int has_rtt;
    uint64_t rtt = ev_uint(ev, "rtt.us", &has_rtt);
    int timeout = rcode && strcmp(rcode, "TIMEOUT") == 0, answer = rcode && !timeout;
    char key[320], field[96];
    dns_client(cl, ev, timeout || has_rtt, answer && strcmp(rcode, "NXDOMAIN") == 0);
    if (cloud_dns_on_event(cl->dns, ev, cl->host_ttl))
        return 1;
    if (!q || !*q || snprintf(key, sizeof(key), "dns.%s", q) >= (int)sizeof(key))
        return 0;
    if (timeout || has_rtt) {           /* this probe saw the query */
        cloud_send_hincrby(cl->eng, key, "queries", 1);
        if (qtype && *qtype && snprintf(field, sizeof(field), "qtype.%s", qtype) < (int)sizeof(field))
            cloud_send_hincrby(cl->eng, key, field, 1);
    }
    if (answer) {
        cloud_send_hincrby(cl->eng, key, "responses", 1);
        if (strcmp(rcode, "NXDOMAIN") == 0)
            cloud_send_hincrby(cl->eng, key, "nxdomain", 1);
        if (snprintf(field, sizeof(field), "rcode.%s", rcode) < (int)sizeof(field))
            cloud_send_hincrby(cl->eng, key, field, 1);
        if (has_rtt)
            cloud_send_latency(cl->eng, key, "rtt", rtt, ev_str(ev, "rtt.le"));
    }
    cloud_send_expire(cl->eng, key, cl->host_ttl);
    if (has_rtt && answer)
        server_service(cl, ev, rtt);
    return 0;
}

/* One HTTP request/response pair: http.<host> requests, status.<N>xx and service.*. */
static void on_http(struct cloud *cl, const struct event *ev)
{
    const char *host = ev_str(ev, "host");
    uint64_t st = ev_uint(ev, "status", NULL);
    int has_svc;
    uint64_t svc = ev_uint(ev, "service.us", &has_svc);
    char key[320], field[16];
    if (!host || !*host || snprintf(key, sizeof(key), "http.%s", host) >= (int)sizeof(key))
        return;
    cloud_send_hincrby(cl->eng, key, "requests", 1);
    if (st >= 100 && st <= 599) {
        snprintf(field, sizeof(field), "status.%uxx", (unsigned)(st / 100));
        cloud_send_hincrby(cl->eng, key, field, 1);
    }
    if (has_svc)
        cloud_send_latency(cl->eng, key, "service", svc, ev_str(ev, "service.le"));
    cloud_send_expire(cl->eng, key, cl->host_ttl);
    if (has_svc)
        server_service(cl, ev, svc);
    host_http(cl, ev_str(ev, "client"), ev_str(ev, "ua"));
}

/* ------------------------------------------------------------------ events */

/* One flow.end. Returns 1 when it is held for its user (cloud_users.c publishes it), else 0. */
static int on_flow_end(struct cloud *cl, const struct event *ev)
{
    const char *key = ev_str(ev, "key");
    if (!key || strncmp(key, "flow.", 5) != 0) {
        cl->bad_events++;
        return 0;
    }
    uint64_t bc = ev_uint(ev, "bytes.c2s", NULL), bs = ev_uint(ev, "bytes.s2c", NULL);
    uint64_t pc = ev_uint(ev, "pkts.c2s", NULL), ps = ev_uint(ev, "pkts.s2c", NULL);
    cloud_send_hincrby(cl->eng, key, "bytes.c2s", bc);
    cloud_send_hincrby(cl->eng, key, "bytes.s2c", bs);
    cloud_send_hincrby(cl->eng, key, "pkts.c2s", pc);
    cloud_send_hincrby(cl->eng, key, "pkts.s2c", ps);
    hset_fields(cl, key, ev);
    cloud_merge_flow(cl->eng, key, ev);
    cloud_send_expire(cl->eng, key, cl->flow_ttl);

    const char *cli = ev_str(ev, "cli.ip"), *srv = ev_str(ev, "srv.ip");
    int has_rtt;
    uint64_t rtt = ev_uint(ev, "rtt.us", &has_rtt);
    if (cli)
        host_counters(cl, cli, bc, pc, bs, ps, "flows.client", NULL);
    if (srv)
        host_counters(cl, srv, bs, ps, bc, pc, "flows.server", has_rtt ? &rtt : NULL);
    uint64_t vid = ev_uint(ev, "vlan", NULL);
    host_flow_end(cl, cli, "cli.mac", ev, vid, bc, pc, bs, ps);
    host_flow_end(cl, srv, "srv.mac", ev, vid, bs, ps, bc, pc);

    char vlan[24];
    snprintf(vlan, sizeof(vlan), "%" PRIu64, vid);
    aggregate(cl, "proto.", ev_str(ev, "l7"), bc + bs, pc + ps, 1);
    aggregate(cl, "vlan.", vlan, bc + bs, pc + ps, 1);
    aggregate(cl, "tls.", ev_str(ev, "tls.sni"), bc + bs, 0, 0);
    port_aggregate(cl, ev, bc + bs, pc + ps);

    int held = cloud_users_flow_end(cl->users, ev, key);
    cloud_voip_flow_end(cl->eng, ev, cl->host_ttl);
    return held;
}

/* One `mac` event: a MAC's counters since the probe's previous report add to mac.<mac>; its times and ip
 * (the newest by packet time wins) go through the merge function. Not published: a probe's reports are
 * its own bookkeeping, the cloud's mac.<mac> is the sum. */
static void on_mac(struct cloud *cl, const struct event *ev)
{
    static const char *const counters[] = { "bytes.sent", "bytes.rcvd", "pkts.sent", "pkts.rcvd" };
    const char *mac = ev_str(ev, "mac");
    char key[32];
    if (!mac || snprintf(key, sizeof(key), "mac.%s", mac) >= (int)sizeof(key)) {
        cl->bad_events++;
        return;
    }
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        uint64_t v = ev_uint(ev, counters[i], NULL);
        if (v)
            cloud_send_hincrby(cl->eng, key, counters[i], v);
    }
    cloud_merge_host(cl->eng, key, ev, "ip", "ip");
    cloud_send_expire(cl->eng, key, cl->host_ttl);
}

static void publish(struct cloud *cl, const struct event *ev)
{
    const char *ch = event_channel_name(ev->channel);
    if (!ev->text)                      /* out of memory when the drain made it */
        return;
    const char *argv[] = { "PUBLISH", ch, ev->text };
    size_t lens[] = { 7, strlen(ch), ev->text_len };
    cloud_engine_send(cl->eng, 3, argv, lens);
}

int cloud_holds(const struct cloud *cl, const struct event *ev)
{
    if (!cl || cloud_engine_finished(cl->eng))
        return 0;
    return ev->channel == EV_DNS ? cloud_dns_holds(cl->dns, ev)
                                 : ev->channel == EV_FLOW_END && cloud_users_holds(cl->users, ev);
}

void cloud_on_event(struct cloud *cl, const struct event *ev)
{
    if (!cl || cloud_engine_finished(cl->eng) || ev->channel == EV_KEY_EXPIRED)
        return;
    switch (ev->channel) {
    case EV_FLOW_NEW:
        cloud_users_flow_new(cl->users, ev);
        cloud_voip_flow_new(cl->eng, &cl->media, ev);
        break;
    case EV_FLOW_END:
        if (on_flow_end(cl, ev))
            return;                     /* published with its user once the cloud answers */
        break;
    case EV_DNS:
        if (on_dns(cl, ev))
            return;                     /* published by the cloud once matched or judged */
        break;
    case EV_HTTP: on_http(cl, ev); break;
    case EV_USER_LOGIN: cloud_users_radius(cl->users, 1, ev); break;
    case EV_USER_LOGOUT: cloud_users_radius(cl->users, 0, ev); break;
    case EV_SIP: cloud_voip_sip(cl->eng, ev, cl->host_ttl); break;
    case EV_SNMP: cloud_voip_snmp(cl->eng, ev, cl->host_ttl); break;
    case EV_MAC:
        on_mac(cl, ev);
        return;
    default: break;
    }
    publish(cl, ev);
}

/* ------------------------------------------------------------------ heartbeat */

/* HSET probe.<id> with the probe's vital signs, expiring in 3 s: every second, and once more at shutdown. */
static void beat_cb(uv_timer_t *t)
{
    struct cloud *cl = t->data;
    struct cloud_engine_stats es;
    struct cloud_probe_stats ps = { 0, 0 };
    char now[32], up[24], q[24], sent[24], drop[24], conn[16], ev[24], cli[24];
    cloud_engine_stats(cl->eng, &es);
    if (cl->probe_stats)
        cl->probe_stats(cl->probe_stats_arg, &ps);
    uint64_t ms = cloud_wall_ms();
    snprintf(now, sizeof(now), "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
    snprintf(up, sizeof(up), "%" PRIu64, (ms - cl->start_ms) / 1000);
    snprintf(q, sizeof(q), "%zu", es.queued + es.inflight);
    snprintf(sent, sizeof(sent), "%" PRIu64, es.sent);
    snprintf(drop, sizeof(drop), "%" PRIu64, es.dropped);
    snprintf(conn, sizeof(conn), "%d", es.nodes_connected);
    snprintf(ev, sizeof(ev), "%" PRIu64, ps.events_published);
    snprintf(cli, sizeof(cli), "%" PRIu64, ps.clients);
    const char *argv[] = { "HSET", cl->beat_key, "version", cl->version, "time", now, "uptime", up,
                           "cloud.queued", q, "cloud.sent", sent, "cloud.dropped", drop, "cloud.nodes.connected",
                           conn, "events", ev, "clients", cli };
    size_t lens[sizeof(argv) / sizeof(argv[0])];
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        lens[i] = strlen(argv[i]);
    cloud_engine_send(cl->eng, (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
    cloud_send_expire(cl->eng, cl->beat_key, 3);
}

/* ------------------------------------------------------------------ life cycle */

static void heard_logout_cb(void *arg, const char *ip, const char *user, uint64_t ts_us)
{
    struct cloud *cl = arg;
    cloud_users_heard_logout(cl->users, ip, user, ts_us);
}

static struct cloud_users_config users_config_of(const struct cloud_config *cfg)
{
    return (struct cloud_users_config){ .host_ttl = cfg->host_ttl, .user_grace = cfg->user_grace,
                                        .learnt = cfg->user_learnt, .departed = cfg->user_departed,
                                        .arg = cfg->users_arg, .local_publish = cfg->local_publish,
                                        .local_arg = cfg->local_arg };
}

struct cloud *cloud_create(uv_loop_t *loop, const struct cloud_config *cfg, char *err, size_t errlen)
{
    struct cloud_engine_config ec = {
        .nodes = cfg->nodes, .nnodes = cfg->nnodes, .user = cfg->user, .password = cfg->password,
        .flush_ms = cfg->flush_ms, .queue_max = cfg->queue_max,
    };
    struct cloud *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        snprintf(err, errlen, "out of memory creating the cloud replication");
        return NULL;
    }
    cl->eng = cloud_engine_create(loop, &ec, err, errlen);
    if (!cl->eng) {
        free(cl);
        return NULL;
    }
    size_t ml = strlen(cloud_merge_library), dl = strlen(cloud_dns_library);
    if ((cl->functions = malloc(ml + dl + 1))) {  /* one library: the flow merge's and the DNS matching's */
        memcpy(cl->functions, cloud_merge_library, ml);
        memcpy(cl->functions + ml, cloud_dns_library, dl + 1);
    }
    cloud_engine_set_functions(cl->eng, cl->functions ? cl->functions : cloud_merge_library);
    struct cloud_users_config uc = users_config_of(cfg);
    if (!(cl->users = cloud_users_create(cl->eng, &uc))) {
        cloud_engine_destroy(cl->eng);
        free(cl->functions);
        free(cl);
        snprintf(err, errlen, "out of memory creating the cloud replication");
        return NULL;
    }
    if (cfg->user_departed)             /* logouts other probes see end this probe's mappings at once */
        cl->sub = cloud_sub_create(loop, cfg->nodes[0], cfg->user, cfg->password, cfg->probe_id, heard_logout_cb, cl);
    if (cfg->watch_apply)
        cl->watch = cloud_watch_create(loop, cl->eng, WATCH_POLL_MS, cfg->watch_apply, cfg->watch_arg);
    snprintf(cl->beat_key, sizeof(cl->beat_key), "probe.%s", cfg->probe_id ? cfg->probe_id : "probe");
    cl->version = cfg->version;
    cl->probe_stats = cfg->stats;
    cl->probe_stats_arg = cfg->stats_arg;
    cl->flow_ttl = cfg->flow_ttl;
    cl->host_ttl = cfg->host_ttl;
    cl->user_grace = cfg->user_grace;
    cl->media = (struct cloud_voip_lookup){ cfg->media_learnt, cfg->media_arg };
    cl->start_ms = cloud_wall_ms();
    cl->dns = cloud_dns_create(loop, cl->eng, cfg->probe_id, cfg->dns_window, cfg->local_publish, cfg->local_arg);
    uv_timer_init(loop, &cl->beat_timer);
    cl->beat_timer.data = cl;
    uv_timer_start(&cl->beat_timer, beat_cb, 0, 1000);
    return cl;
}

void cloud_reconfigure(struct cloud *cl, const struct cloud_config *cfg)
{
    if (!cl)
        return;
    cloud_engine_set_flush_ms(cl->eng, cfg->flush_ms);
    cl->flow_ttl = cfg->flow_ttl;
    cl->host_ttl = cfg->host_ttl;
    cl->user_grace = cfg->user_grace;
    struct cloud_users_config uc = users_config_of(cfg);
    cloud_users_reconfigure(cl->users, &uc);
    cloud_dns_set_window(cl->dns, cfg->dns_window);
}

uint32_t cloud_wanted(const struct cloud *cl)
{
    return cl ? ((1u << EV_CHANNELS) - 1) & ~(1u << EV_KEY_EXPIRED) : 0;
}

void cloud_shutdown(struct cloud *cl, void (*done)(void *arg), void *arg)
{
    if (!cl || cl->shutting || cloud_engine_finished(cl->eng)) {
        if (done)
            done(arg);
        return;
    }
    cl->shutting = 1;
    uv_timer_stop(&cl->beat_timer);
    beat_cb(&cl->beat_timer);           /* a last heartbeat with the final counts */
    uv_close((uv_handle_t *)&cl->beat_timer, NULL);
    cloud_watch_stop(cl->watch);
    cloud_sub_close(cl->sub);
    cl->sub = NULL;
    cloud_dns_shutdown(cl->dns);        /* its due verdicts go with the last batch */
    cloud_engine_shutdown(cl->eng, done, arg);
}

void cloud_watch_share(struct cloud *cl, int add, const char *member)
{
    if (cl && !cl->shutting)
        cloud_watch_edit(cl->watch, add, member);
}

void cloud_info(struct cloud *cl, struct sbuf *b)
{
    struct cloud_engine_stats es;
    if (!cl) {
        sbuf_appends(b, "cloud_enabled:0\r\n");
        return;
    }
    cloud_engine_stats(cl->eng, &es);
    sbuf_printf(b, "cloud_enabled:1\r\ncloud_cluster:%d\r\ncloud_nodes:%d\r\ncloud_nodes_connected:%d\r\n",
                es.cluster, es.nodes, es.nodes_connected);
    sbuf_printf(b, "cloud_queued_commands:%zu\r\ncloud_queued_bytes:%zu\r\ncloud_inflight_commands:%zu\r\n",
                es.queued, es.queued_bytes, es.inflight);
    sbuf_printf(b, "cloud_sent_commands:%" PRIu64 "\r\ncloud_dropped_commands:%" PRIu64 "\r\n"
                   "cloud_error_replies:%" PRIu64 "\r\ncloud_reconnects:%" PRIu64 "\r\n"
                   "cloud_last_batch_latency_us:%" PRIu64 "\r\ncloud_redirects_moved:%" PRIu64
                   "\r\ncloud_redirects_ask:%" PRIu64 "\r\n",
                es.sent, es.dropped, es.errors, es.reconnects, es.last_batch_us, es.moved, es.asked);
    struct cloud_users_stats us;
    uint64_t polls, edits;
    cloud_users_stats(cl->users, &us);
    cloud_watch_stats(cl->watch, &polls, &edits);
    sbuf_printf(b, "cloud_watchlist_shared:%d\r\ncloud_watchlist_polls:%" PRIu64 "\r\ncloud_watchlist_edits:%" PRIu64
                   "\r\ncloud_logouts_heard:%" PRIu64 "\r\n",
                cl->watch != NULL, polls, edits, cloud_sub_messages(cl->sub));
    sbuf_printf(b, "cloud_sync_lookups:%" PRIu64 "\r\ncloud_sync_hits:%" PRIu64 "\r\ncloud_sync_cache_hits:%" PRIu64
                   "\r\ncloud_sync_skipped:%" PRIu64 "\r\ncloud_flow_end_users_added:%" PRIu64 "\r\ncloud_bad_events:%" PRIu64
                   "\r\ncloud_last_error:%s\r\n",
                us.lookups, us.hits, us.cache_hits, us.skipped, us.flow_end_users, cl->bad_events, es.last_error);
    cloud_dns_info(cl->dns, b);
}

void cloud_destroy(struct cloud *cl)
{
    if (!cl)
        return;
    cloud_engine_destroy(cl->eng);      /* first: GETs still waiting are answered into the cache */
    cloud_users_destroy(cl->users);
    cloud_watch_destroy(cl->watch);
    cloud_dns_destroy(cl->dns);
    free(cl->functions);
    free(cl);
}
