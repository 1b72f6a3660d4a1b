/* metrics_render.c - the Prometheus text exposition (format 0.0.4) of INFO's figures, from the same sources as INFO (loop thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/cache.h"
#include "capture/source/capture.h"
#include "server/core/client.h"
#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/metrics/metrics_internal.h"

enum { COUNTER, GAUGE };

/* "# HELP flowcached_<name> help" and its TYPE line; counters' names end in _total. */
static void family(struct sbuf *b, const char *name, int type, const char *help)
{
    sbuf_printf(b, "# HELP flowcached_%s %s\n# TYPE flowcached_%s %s\n", name, help, name,
                type == COUNTER ? "counter" : "gauge");
}

/* A label value with \\, \" and \n escaped. */
static void label_value(struct sbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sbuf_appendc(b, '\\');
        if (*v == '\n')
            sbuf_appends(b, "\\n");
        else
            sbuf_appendc(b, *v);
    }
}

/* One sample: `flowcached_<name>{<label>="<value>"} v`, no braces when label is NULL. */
static void sample(struct sbuf *b, const char *name, const char *label, const char *lvalue, uint64_t v)
{
    sbuf_printf(b, "flowcached_%s", name);
    if (label) {
        sbuf_printf(b, "{%s=\"", label);
        label_value(b, lvalue);
        sbuf_appends(b, "\"}");
    }
    sbuf_appendc(b, ' ');
    sbuf_append_u64(b, v);
    sbuf_appendc(b, '\n');
}

static void one(struct sbuf *b, const char *name, int type, const char *help, uint64_t v)
{
    family(b, name, type, help);
    sample(b, name, NULL, NULL, v);
}

/* ---- INFO's Capture and Flows ---- */

static void render_capture(struct server *s, struct sbuf *b)
{
    struct capture_totals t;
    int nw = s->cap ? capture_worker_count(s->cap) : 0;
    capture_totals_get(s->cap, &t);
    one(b, "capture_packets_total", COUNTER, "Packets read from every capture source.", t.packets);
    one(b, "capture_bytes_total", COUNTER, "Bytes of the packets read (wire length).", t.bytes);
    one(b, "capture_ip_packets_total", COUNTER, "Packets that carried IPv4 or IPv6.", t.ip_packets);
    one(b, "capture_not_ip_packets_total", COUNTER, "Packets that carried no IP.", t.not_ip);
    one(b, "capture_anomalies_total", COUNTER, "Packets a decoder found malformed.", t.anomalies);
    one(b, "capture_frag_orphans_total", COUNTER, "IP fragments whose first fragment never came.", t.frag_orphans);
    one(b, "capture_drops_total", COUNTER, "Packets the kernel or the capture ring dropped.",
        s->cap ? capture_drops(s->cap) : 0);
    one(b, "capture_read_errors_total", COUNTER, "Read errors of the capture sources.",
        s->cap ? capture_read_errors(s->cap) : 0);
    one(b, "capture_sources", GAUGE, "Capture workers (files or interfaces).", (uint64_t)nw);
    one(b, "capture_sources_active", GAUGE, "Capture sources still reading.",
        s->cap ? (uint64_t)capture_sources_active(s->cap) : 0);
    family(b, "capture_clock_seconds", GAUGE, "The cache clock: time of the last packet, Unix seconds.");
    sbuf_printf(b, "flowcached_capture_clock_seconds %.6f\n", (double)cache_now(s->cache) / 1e6);
    one(b, "events_published_total", COUNTER, "Events handed to the event sinks.", s->st.events_published);
    one(b, "events_dropped_total", COUNTER, "Events dropped because a capture thread's queue was full.", t.events_dropped);
    family(b, "capture_anomalies_by_kind_total", COUNTER, "Malformed packets by decoder verdict.");
    for (int k = 1; k < DECODE_ANOMALY_KINDS; k++)
        sample(b, "capture_anomalies_by_kind_total", "kind", decode_result_name(-k), t.anomaly[k]);
}

static void render_flows(struct server *s, struct sbuf *b)
{
    struct cache_stats *st = &s->cache->st;
    struct cache_counts n;
    cache_counts_get(s->cache, &n);
    one(b, "flows_active", GAUGE, "Flows in the cache.", n.flows_active);
    one(b, "flows_created_total", COUNTER, "Flows created.", n.flows_created);
    one(b, "flows_expired_total", COUNTER, "Flows ended (idle, lifetime, closed).", n.flows_expired);
    one(b, "flows_dropped_total", COUNTER, "Flows not created because the cache was full.",
        atomic_load(&st->flows_dropped));
    one(b, "hosts_active", GAUGE, "Hosts in the cache.", n.hosts_active);
    one(b, "hosts_created_total", COUNTER, "Hosts created.", n.hosts_created);
    one(b, "hosts_expired_total", COUNTER, "Hosts expired.", n.hosts_expired);
    one(b, "cache_memory_bytes", GAUGE, "Memory the flow cache holds.", budget_used(&s->cache->budget));
    one(b, "max_flows", GAUGE, "The max-flows bound of the cache.", s->cache->cfg.max_flows);
}

/* proto.<name>: bytes, pkts, flows and flows.active of every live protocol aggregate (HGETALL proto.X). */
static void render_protocols(struct server *s, const struct metrics_hooks *h, struct sbuf *b)
{
    static const struct { const char *name; int type; const char *help; } fam[] = {
        { "protocol_bytes_total", COUNTER, "Bytes of the flows of a protocol (HGET proto.<protocol> bytes)." },
        { "protocol_packets_total", COUNTER, "Packets of the flows of a protocol (proto.<protocol> pkts)." },
        { "protocol_flows_total", COUNTER, "Flows of a protocol (proto.<protocol> flows)." },
        { "protocol_flows_active", GAUGE, "Flows of a protocol in the cache (proto.<protocol> flows.active)." },
    };
    uint32_t ids[L7_MAX];
    unsigned n = cache_aggr_live(s->cache, CT_L7, 0, ids, L7_MAX), kept = 0;
    struct aggr *a = malloc(sizeof(*a) * (n ? n : 1));
    if (!a) {
        b->oom = 1;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        if (h->protocol_name && h->protocol_count && ids[i] < h->protocol_count() && cache_aggr_get(s->cache, CT_L7, ids[i], &a[kept]) == 0)
            ids[kept++] = ids[i];
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        family(b, fam[f].name, fam[f].type, fam[f].help);
        for (unsigned i = 0; i < kept; i++) {
            uint64_t v = f == 0 ? a[i].bytes : f == 1 ? a[i].pkts : f == 2 ? a[i].flows
                       : a[i].flows_active > 0 ? (uint64_t)a[i].flows_active : 0;
            sample(b, fam[f].name, "protocol", h->protocol_name(ids[i]), v);
        }
    }
    free(a);
}

/* ---- INFO's Clients and Stats ---- */

static void render_clients(struct server *s, const struct metrics_hooks *h, struct sbuf *b)
{
    uint64_t pubsub = 0, biggest_in = 0, biggest_out = 0;
    for (struct client *c = s->clients; c; c = c->next) {
        pubsub += c->nsubs + c->npsubs > 0;
        uint64_t q = resp_reader_pending(&c->rd), o = client_output_pending(c);
        biggest_in = q > biggest_in ? q : biggest_in;
        biggest_out = o > biggest_out ? o : biggest_out;
    }
    one(b, "connected_clients", GAUGE, "RESP clients connected.", (uint64_t)s->nclients);
    one(b, "maxclients", GAUGE, "The maxclients bound.", (uint64_t)s->cfg->maxclients);
    one(b, "client_max_input_buffer_bytes", GAUGE, "Largest query buffer of a client now.", biggest_in);
    one(b, "client_max_output_buffer_bytes", GAUGE, "Largest reply not yet written to a client now.", biggest_out);
    one(b, "pubsub_clients", GAUGE, "Clients subscribed to a channel or pattern.", pubsub);
    if (h->pubsub_count) {
        one(b, "pubsub_channels", GAUGE, "Channels with a subscriber.", (uint64_t)h->pubsub_count(s, 0));
        one(b, "pubsub_patterns", GAUGE, "Patterns with a subscriber.", (uint64_t)h->pubsub_count(s, 1));
    }
}

static void render_stats(struct server *s, const struct metrics_hooks *h, struct sbuf *b)
{
    const struct server_stats *st = &s->st;
    struct cache_counts n;
    cache_counts_get(s->cache, &n);
    one(b, "uptime_seconds", GAUGE, "Seconds since start.", (server_mstime() - s->start_ms) / 1000);
    one(b, "connections_received_total", COUNTER, "RESP connections accepted.", st->connections_received);
    one(b, "rejected_connections_total", COUNTER, "RESP connections refused (maxclients).", st->connections_rejected);
    one(b, "commands_processed_total", COUNTER, "Commands run.", st->commands);
    one(b, "net_input_bytes_total", COUNTER, "Bytes read from RESP clients.", st->net_in);
    one(b, "net_output_bytes_total", COUNTER, "Bytes written to RESP clients.", st->net_out);
    one(b, "expired_keys_total", COUNTER, "Flows and hosts expired (INFO expired_keys).",
        n.flows_expired + n.hosts_expired);
    one(b, "keyspace_hits_total", COUNTER, "Key lookups that found their key.", st->keyspace_hits);
    one(b, "keyspace_misses_total", COUNTER, "Key lookups that found nothing.", st->keyspace_misses);
    if (h->error_replies)
        one(b, "error_replies_total", COUNTER, "Error replies sent.", h->error_replies());
    one(b, "protocol_errors_total", COUNTER, "RESP protocol errors (the client was closed).", st->protocol_errors);
    one(b, "auth_failures_total", COUNTER, "AUTH or HELLO with a wrong password.", st->auth_failures);
    one(b, "pubsub_messages_delivered_total", COUNTER, "Pub/sub messages written to subscribers.", st->pubsub_messages);
    one(b, "pubsub_messages_dropped_total", COUNTER, "Pub/sub messages dropped for slow subscribers.",
        st->pubsub_messages_dropped);
    one(b, "pubsub_clients_dropped_total", COUNTER, "Subscribers closed for falling behind.", st->pubsub_clients_dropped);
}

/* ---- INFO commandstats ---- */

struct cmd_pass { struct sbuf *b; const char *name; int field; };

static void cmd_sample_cb(void *arg, const char *name, uint64_t calls, uint64_t usec, uint64_t rejected,
                          uint64_t failed)
{
    const struct cmd_pass *p = arg;
    uint64_t v[4] = { calls, usec, rejected, failed };
    sample(p->b, p->name, "command", name, v[p->field]);
}

static void render_commands(const struct metrics_hooks *h, struct sbuf *b)
{
    static const char *const names[4] = { "command_calls_total", "command_usec_total",
                                          "command_rejected_calls_total", "command_failed_calls_total" };
    static const char *const helps[4] = { "Runs of a command (INFO commandstats calls).",
                                          "Microseconds spent in a command (commandstats usec).",
                                          "Calls refused before running (commandstats rejected_calls).",
                                          "Calls that answered an error (commandstats failed_calls)." };
    if (!h->commands_each)
        return;
    for (int f = 0; f < 4; f++) {
        struct cmd_pass p = { b, names[f], f };
        family(b, names[f], COUNTER, helps[f]);
        h->commands_each(cmd_sample_cb, &p);
    }
}

void metrics_render(struct server *s, const struct metrics_hooks *hooks, struct sbuf *out)
{
    family(out, "info", GAUGE, "Always 1; the version in a label.");
    sample(out, "info", "version", FLOWCACHED_VERSION, 1);
    render_capture(s, out);
    render_flows(s, out);
    render_protocols(s, hooks, out);
    render_clients(s, hooks, out);
    render_stats(s, hooks, out);
    render_commands(hooks, out);
    metrics_render_sinks(s, out);
}
