/* info.c - INFO sections: Redis's own (server, clients, memory, stats, replication, cpu, keyspace) and the probe's (loop thread). */
#include "server/commands/info.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture/cache/names.h"
#include "capture/source/capture.h"
#include "server/core/client.h"
#include "server/commands/cmd_internal.h"
#include "server/views/keyspace.h"
#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/pubsub/pubsub.h"

typedef void (*section_fn)(struct server *s, struct sbuf *b);

static uint64_t rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void human(char *out, size_t n, uint64_t v)
{
    if (v < 1024) snprintf(out, n, "%lluB", (unsigned long long)v);
    else if (v < 1048576) snprintf(out, n, "%.2fK", (double)v / 1024);
    else if (v < 1073741824ULL) snprintf(out, n, "%.2fM", (double)v / 1048576);
    else snprintf(out, n, "%.2fG", (double)v / 1073741824.0);
}

static void sec_server(struct server *s, struct sbuf *b)
{
    struct utsname u;
    uname(&u);
    uint64_t up = (server_mstime() - s->start_ms) / 1000;
    sbuf_printf(b, "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                "redis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                "monotonic_clock:POSIX clock_gettime\r\n"
                "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\n"
                "process_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\n"
                "server_time_usec:%llu\r\nuptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\nhz:10\r\n"
                "configured_hz:10\r\nlru_clock:%llu\r\nexecutable:flowcached\r\nconfig_file:%s\r\n"
                "io_threads_active:0\r\nflowcached_version:%s\r\n",
                SERVER_VERSION, u.sysname, u.release, u.machine, (int)(sizeof(void *) * 8), (int)getpid(),
                s->run_id, s->cfg->port, (unsigned long long)server_mstime() * 1000ULL,
                (unsigned long long)up, (unsigned long long)up / 86400,
                (unsigned long long)(server_mstime() / 1000) & 0xffffff,
                s->cfg->config_file ? s->cfg->config_file : "", FLOWCACHED_VERSION);
}

static void sec_clients(struct server *s, struct sbuf *b)
{
    uint64_t pubsub = 0, biggest_in = 0, biggest_out = 0;
    for (struct client *c = s->clients; c; c = c->next) {
        pubsub += c->nsubs + c->npsubs > 0;
        uint64_t q = resp_reader_pending(&c->rd), o = client_output_pending(c);
        if (q > biggest_in)
            biggest_in = q;
        if (o > biggest_out)
            biggest_out = o;
    }
    sbuf_printf(b, "# Clients\r\nconnected_clients:%llu\r\ncluster_connections:0\r\nmaxclients:%llu\r\n"
                "client_recent_max_input_buffer:%llu\r\nclient_recent_max_output_buffer:%llu\r\n"
                "blocked_clients:0\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n"
                "pubsub_clients:%llu\r\n",
                (unsigned long long)s->nclients, (unsigned long long)s->cfg->maxclients,
                (unsigned long long)biggest_in, (unsigned long long)biggest_out, (unsigned long long)pubsub);
}

static uint64_t total_system_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
}

/* jemalloc's control call, present when the build links jemalloc (make MALLOC=jemalloc, the default). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

/* "jemalloc-5.3.0" (as redis-server says it) or "libc". */
static void mem_allocator(char *out, size_t outlen)
{
    const char *v = NULL;
    size_t len = sizeof(v);
    if (mallctl && mallctl("version", (void *)&v, &len, NULL, 0) == 0 && v)
        snprintf(out, outlen, "jemalloc-%.*s", (int)strcspn(v, "-"), v);
    else
        snprintf(out, outlen, "libc");
}

/* What normal clients hold (Redis's mem_clients_normal): queued MULTI commands, query buffers and
 * replies not yet written. */
static uint64_t clients_memory(const struct server *s)
{
    uint64_t n = s->multi_bytes;
    for (const struct client *c = s->clients; c; c = c->next)
        n += c->rd.cap + client_output_pending(c);
    return n;
}

static void sec_memory(struct server *s, struct sbuf *b)
{
    uint64_t cache = budget_used(&s->cache->budget), rss = rss_bytes(), clients = clients_memory(s);
    uint64_t counted = cache + clients;
    uint64_t used = rss > counted ? rss : counted, sys = total_system_memory(), max = s->cfg->maxmemory;
    char h_used[32], h_rss[32], h_sys[32], h_max[32];
    human(h_used, sizeof(h_used), used);
    human(h_rss, sizeof(h_rss), rss);
    human(h_sys, sizeof(h_sys), sys);
    human(h_max, sizeof(h_max), max);
    double frag = used ? (double)rss / (double)used : 1.0;
    char alloc[48];
    mem_allocator(alloc, sizeof(alloc));
    sbuf_printf(b, "# Memory\r\nused_memory:%llu\r\nused_memory_human:%s\r\nused_memory_rss:%llu\r\n"
                "used_memory_rss_human:%s\r\nused_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n"
                "used_memory_peak_perc:100.00%%\r\nused_memory_overhead:%llu\r\nused_memory_startup:0\r\n"
                "used_memory_dataset:%llu\r\nused_memory_dataset_perc:%.2f%%\r\nallocator_allocated:%llu\r\n"
                "allocator_active:%llu\r\nallocator_resident:%llu\r\ntotal_system_memory:%llu\r\n"
                "total_system_memory_human:%s\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\n"
                "used_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\n"
                "number_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\n"
                "used_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\n"
                "used_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:%llu\r\nmaxmemory_human:%s\r\n"
                "maxmemory_policy:noeviction\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\n"
                "allocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\n"
                "rss_overhead_bytes:0\r\nmem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%lld\r\n"
                "mem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\n"
                "mem_clients_slaves:0\r\nmem_clients_normal:%llu\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\n"
                "mem_allocator:%s\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\n"
                "lazyfreed_objects:0\r\n",
                (unsigned long long)used, h_used, (unsigned long long)rss, h_rss, (unsigned long long)used, h_used,
                (unsigned long long)(used - cache), (unsigned long long)cache,
                used ? 100.0 * (double)cache / (double)used : 0.0, (unsigned long long)used,
                (unsigned long long)used, (unsigned long long)rss, (unsigned long long)sys, h_sys,
                (unsigned long long)max, h_max, frag, (long long)rss - (long long)used,
                (unsigned long long)clients, alloc);
}

static void sec_persistence(struct server *s, struct sbuf *b)
{
    sbuf_printf(b, "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
                "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n"
                "current_save_keys_total:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\n"
                "rdb_last_save_time:%llu\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\n"
                "rdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\n"
                "rdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:0\r\n"
                "aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\n"
                "aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n"
                "aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\n"
                "module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                (unsigned long long)s->start_ms / 1000);
}

static void sec_stats(struct server *s, struct sbuf *b)
{
    struct cache_counts n;
    cache_counts_get(s->cache, &n);
    sbuf_printf(b, "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                "instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
                "total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\n"
                "instantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\n"
                "instantaneous_output_repl_kbps:0.00\r\nrejected_connections:%llu\r\nsync_full:0\r\n"
                "sync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:%llu\r\nexpired_stale_perc:0.00\r\n"
                "expired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\n"
                "evicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n"
                "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\npubsub_channels:%zu\r\npubsub_patterns:%zu\r\n"
                "pubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\n"
                "slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n"
                "active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n"
                "current_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\n"
                "tracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:%llu\r\n"
                "dump_payload_sanitizations:0\r\ntotal_reads_processed:%llu\r\ntotal_writes_processed:%llu\r\n"
                "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\n"
                "reply_buffer_expands:0\r\n"
                "protocol_errors:%llu\r\nauth_failures:%llu\r\n"
                "pubsub_messages_delivered:%llu\r\npubsub_messages_dropped:%llu\r\npubsub_clients_dropped:%llu\r\n",
                (unsigned long long)s->st.connections_received, (unsigned long long)s->st.commands,
                (unsigned long long)s->st.net_in, (unsigned long long)s->st.net_out,
                (unsigned long long)s->st.connections_rejected,
                (unsigned long long)(n.flows_expired + n.hosts_expired),
                (unsigned long long)s->st.keyspace_hits, (unsigned long long)s->st.keyspace_misses,
                pubsub_count(s, 0), pubsub_count(s, 1), (unsigned long long)cmd_stats_error_total(),
                (unsigned long long)s->st.commands, (unsigned long long)s->st.commands,
                (unsigned long long)s->st.protocol_errors,
                (unsigned long long)s->st.auth_failures, (unsigned long long)s->st.pubsub_messages,
                (unsigned long long)s->st.pubsub_messages_dropped, (unsigned long long)s->st.pubsub_clients_dropped);
}

static void sec_replication(struct server *s, struct sbuf *b)
{
    sbuf_printf(b, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                "master_replid:%s\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
                "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                s->run_id);
}

static void sec_cpu(struct server *s, struct sbuf *b)
{
    struct rusage self, thread;
    (void)s;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_THREAD, &thread);      /* INFO runs on the loop thread */
    sbuf_printf(b, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
                "used_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n"
                "used_cpu_sys_main_thread:%ld.%06ld\r\nused_cpu_user_main_thread:%ld.%06ld\r\n",
                (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
                (long)thread.ru_stime.tv_sec, (long)thread.ru_stime.tv_usec,
                (long)thread.ru_utime.tv_sec, (long)thread.ru_utime.tv_usec);
}

static void sec_modules(struct server *s, struct sbuf *b)
{
    (void)s;
    sbuf_appends(b, "# Modules\r\n");
}

static void sec_commandstats(struct server *s, struct sbuf *b)
{
    (void)s;
    sbuf_appends(b, "# Commandstats\r\n");
    cmd_stats_info(b, 0);
}

static void sec_errorstats(struct server *s, struct sbuf *b)
{
    (void)s;
    sbuf_appends(b, "# Errorstats\r\n");
    cmd_stats_errors(b);
}

static void sec_latencystats(struct server *s, struct sbuf *b)
{
    (void)s;
    sbuf_appends(b, "# Latencystats\r\n");
    cmd_stats_info(b, 1);
}

static void sec_cluster(struct server *s, struct sbuf *b)
{
    (void)s;
    sbuf_appends(b, "# Cluster\r\ncluster_enabled:0\r\n");
}

static void sec_keyspace(struct server *s, struct sbuf *b)
{
    uint64_t expires = 0, keys = keyspace_size(s->cache, &expires);
    uint64_t idle = s->cache->cfg.flow_idle_us / 1000;
    sbuf_appends(b, "# Keyspace\r\n");
    if (keys)
        sbuf_printf(b, "db0:keys=%llu,expires=%llu,avg_ttl=%llu\r\n", (unsigned long long)keys,
                    (unsigned long long)expires, (unsigned long long)idle);
}

static void sec_capture(struct server *s, struct sbuf *b)
{
    struct capture_totals t;
    int nw = s->cap ? capture_worker_count(s->cap) : 0;
    capture_totals_get(s->cap, &t);
    sbuf_printf(b, "# Capture\r\ncapture_packets:%llu\r\ncapture_bytes:%llu\r\ncapture_ip_packets:%llu\r\n"
                "capture_not_ip:%llu\r\ncapture_anomalies:%llu\r\ncapture_frag_orphans:%llu\r\n"
                "capture_drops:%llu\r\ncapture_read_errors:%llu\r\ncapture_sources:%d\r\n"
                "capture_sources_active:%d\r\ncapture_clock:%.3f\r\nevents_published:%llu\r\nevents_dropped:%llu\r\n"
                "events_fields_dropped:%llu\r\n",
                (unsigned long long)t.packets, (unsigned long long)t.bytes, (unsigned long long)t.ip_packets,
                (unsigned long long)t.not_ip, (unsigned long long)t.anomalies, (unsigned long long)t.frag_orphans,
                (unsigned long long)(s->cap ? capture_drops(s->cap) : 0),
                (unsigned long long)(s->cap ? capture_read_errors(s->cap) : 0), nw,
                s->cap ? capture_sources_active(s->cap) : 0, (double)cache_now(s->cache) / 1e6,
                (unsigned long long)s->st.events_published, (unsigned long long)t.events_dropped,
                (unsigned long long)t.events_fields_dropped);
    sbuf_printf(b, "capture_handoffs:%llu\r\n", (unsigned long long)(s->cap ? capture_handoffs(s->cap) : 0));
    for (int k = 1; k < DECODE_ANOMALY_KINDS; k++)
        sbuf_printf(b, "capture_anomaly_%s:%llu\r\n", decode_result_name(-k), (unsigned long long)t.anomaly[k]);
}

static void sec_flows(struct server *s, struct sbuf *b)
{
    struct cache_stats *st = &s->cache->st;
    struct cache_counts n;
    cache_counts_get(s->cache, &n);
    sbuf_printf(b, "# Flows\r\nflows_active:%llu\r\nflows_created:%llu\r\nflows_expired:%llu\r\n"
                "flows_dropped:%llu\r\nhosts_active:%llu\r\nhosts_created:%llu\r\nhosts_expired:%llu\r\n"
                "cache_memory:%llu\r\ncache_pool_spare:%llu\r\nmax_flows:%llu\r\nmax_names:%llu\r\n"
                "dns_queries_evicted:%llu\r\n",
                (unsigned long long)n.flows_active, (unsigned long long)n.flows_created,
                (unsigned long long)n.flows_expired, (unsigned long long)atomic_load(&st->flows_dropped),
                (unsigned long long)n.hosts_active, (unsigned long long)n.hosts_created,
                (unsigned long long)n.hosts_expired, (unsigned long long)budget_used(&s->cache->budget),
                (unsigned long long)cache_pool_spare_bytes(s->cache),
                (unsigned long long)s->cache->cfg.max_flows, (unsigned long long)s->cache->cfg.max_names,
                (unsigned long long)atomic_load(&st->dns_queries_evicted));
    static const char *const families[NK_KINDS] = { "dns", "http", "tls", "user", "ipuser", "sip", "sipmedia",
                                                     "snmp" };
    for (int k = 0; k < NK_KINDS; k++)
        sbuf_printf(b, "names_dropped_%s:%llu\r\n", families[k],
                    (unsigned long long)atomic_load(&st->names_dropped[k]));
}

/* The probe's own sections; the event sinks' sections (replication's # Cloud...) follow them. */
static const struct { const char *name; section_fn fn; int in_default; } sections[] = {
    { "server", sec_server, 1 }, { "clients", sec_clients, 1 }, { "memory", sec_memory, 1 },
    { "persistence", sec_persistence, 1 }, { "stats", sec_stats, 1 }, { "replication", sec_replication, 1 },
    { "cpu", sec_cpu, 1 }, { "modules", sec_modules, 1 }, { "commandstats", sec_commandstats, 0 },
    { "errorstats", sec_errorstats, 1 }, { "latencystats", sec_latencystats, 0 },
    { "cluster", sec_cluster, 1 }, { "keyspace", sec_keyspace, 1 }, { "capture", sec_capture, 1 },
    { "flows", sec_flows, 1 },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Whether INFO's arguments ask for the section name (none: the default ones). */
static int section_wanted(int argc, struct resp_arg *argv, const char *name, int in_default)
{
    if (argc < 2)
        return in_default;
    for (int a = 1; a < argc; a++) {
        const char *n = argv[a].ptr;
        if (!strcasecmp(n, "all") || !strcasecmp(n, "everything") || (in_default && !strcasecmp(n, "default")) ||
            !strcasecmp(n, name))
            return 1;
    }
    return 0;
}

void info_render(struct server *s, int argc, struct resp_arg *argv, struct sbuf *out)
{
    int first = 1;
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (!section_wanted(argc, argv, sections[i].name, sections[i].in_default))
            continue;
        if (!first)
            sbuf_appends(out, "\r\n");
        sections[i].fn(s, out);
        first = 0;
    }
    for (int i = 0; i < s->sinks.n; i++) {
        if (!s->sinks.v[i].info || !section_wanted(argc, argv, s->sinks.v[i].name, 1))
            continue;
        if (!first)
            sbuf_appends(out, "\r\n");
        sink_info(&s->sinks, i, out);
        first = 0;
    }
}
