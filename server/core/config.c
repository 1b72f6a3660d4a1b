/* config.c - the directive table, config file and command-line parsing (start-up, loop thread). */
#include "server/core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "capture/cache/cache.h"
#include "server/core/config_int.h"
#include "server/log/log.h"

static const char *const pcap_end_choices[] = { "keep", "expire", "exit", NULL };
static const char *const capture_reader_choices[] = { "packet-ring", "libpcap", NULL };
static const char *const export_protocol_choices[] = { "ipfix", "netflow9", NULL };
static const char *const export_transport_choices[] = { "udp", "tcp", NULL };
static const char *const supervised_choices[] = { "no", "systemd", "auto", NULL };   /* enum supervised_mode */
static const char *const protected_choices[] = { "no", "yes", "local", NULL };       /* enum protected_configs */
static const char *const loglevel_choices[] = { "debug", "verbose", "notice", "warning", NULL };   /* enum log_level */

#define OFF(f) offsetof(struct fc_config, f)
static const struct directive directives[] = {
    { "port", D_INT, OFF(port), 0, 0, 65535, NULL, "TCP port of the RESP server (0 = none)", 0 },
    { "bind", D_LIST, OFF(bind), OFF(nbind), 0, 16, NULL, "addresses to listen on", 0 },
    { "metrics-port", D_INT, OFF(metrics_port), 0, 0, 65535, NULL,
      "TCP port of the Prometheus endpoint GET /metrics on the bind addresses (0 = off)", 0 },
    { "interface", D_LIST, OFF(interfaces), OFF(ninterfaces), 0, CONFIG_LIST_MAX, NULL, "live capture device", 0 },
    { "pcap", D_LIST, OFF(pcaps), OFF(npcaps), 0, CONFIG_LIST_MAX, NULL, "capture file to read", 0 },
    { "bpf", D_STR, OFF(bpf), 0, 0, 0, NULL, "capture filter", 0 },
    { "pcap-speed", D_DOUBLE, OFF(pcap_speed), 0, 0, 1e6, NULL, "0 = fast, 1 = recorded speed", 0 },
    { "pcap-loop", D_BOOL, OFF(pcap_loop), 0, 0, 1, NULL, "replay files forever", 0 },
    { "pcap-end", D_ENUM, OFF(pcap_end), 0, 0, 0, pcap_end_choices, "keep, expire or exit", 0 },
    { "pcap-progress", D_DOUBLE, OFF(pcap_progress), 0, 0, 86400, NULL,
      "seconds between progress lines of a file read (0 = none)", 0 },
    { "capture-threads", D_INT, OFF(capture_threads), 0, 1, 64, NULL, "worker threads per source", 0 },
    { "snaplen", D_INT, OFF(snaplen), 0, 64, 262144, NULL, "bytes captured per packet", 0 },
    { "capture-batch-ms", D_INT, OFF(capture_batch_ms), 0, 0, 1000, NULL,
      "0 = each packet at once; N = kernel blocks every N ms", 0 },
    { "capture-realtime", D_BOOL, OFF(capture_realtime), 0, 0, 1, NULL,
      "live reader threads at SCHED_FIFO priority 1", 0 },
    { "capture-coalesce-us", D_INT, OFF(capture_coalesce_us), 0, 0, 100000, NULL,
      "immediate mode: pause after a burst so a busy link wakes the reader once per pause", 0 },
    { "capture-reader", D_ENUM, OFF(capture_reader), 0, 0, 0, capture_reader_choices,
      "packet-ring (own 2 KB-frame ring) or libpcap, for immediate mode", 0 },
    { "capture-buffer", D_MEM, OFF(capture_buffer), 0, 1048576, 2147483647.0, NULL,
      "kernel ring per live device", 0 },
    { "promisc", D_BOOL, OFF(promisc), 0, 0, 1, NULL, "promiscuous mode", 0 },
    { "flow-idle-timeout", D_U64, OFF(flow_idle_timeout), 0, 1, 3153600000.0, NULL, "seconds without packets before a flow ends", DF_MUTABLE },
    { "flow-lifetime-timeout", D_U64, OFF(flow_lifetime_timeout), 0, 1, 3153600000.0, NULL, "seconds after which a long flow is cut", DF_MUTABLE },
    { "host-idle-timeout", D_U64, OFF(host_idle_timeout), 0, 1, 3153600000.0, NULL, "seconds an idle host, MAC, VLAN, protocol or name stays", DF_MUTABLE },
    { "tcp-close-grace-ms", D_U64, OFF(tcp_close_grace_ms), 0, 0, 864000000, NULL, "ms a closed TCP flow stays", DF_MUTABLE },
    { "max-flows", D_U64, OFF(max_flows), 0, 1, 1e9, NULL, "flows held at once", DF_MUTABLE },
    { "max-names", D_U64, OFF(max_names), 0, 1, 1e9, NULL,
      "entries of each name family held at once (dns., http., tls., user., ipuser.)", 0 },
    { "maxmemory", D_MEM, OFF(maxmemory), 0, 0, 1e15, NULL, "cache memory cap (0 = none)", DF_MUTABLE },
    { "user-grace", D_U64, OFF(user_grace), 0, 0, 864000, NULL, "seconds a RADIUS user stays after logout", DF_MUTABLE },
    { "watchlist", D_STR, OFF(watchlist), 0, 0, 0, NULL, "file of IPs/CIDRs", DF_MUTABLE | DF_PROTECTED },
    { "notify-keyspace-events", D_EVENTS, OFF(notify_keyspace_events), 0, 0, 0, NULL, "as in Redis", DF_MUTABLE },
    { "requirepass", D_STR, OFF(requirepass), 0, 0, 0, NULL, "password", DF_MUTABLE | DF_SENSITIVE },
    { "maxclients", D_U64, OFF(maxclients), 0, 1, 4294967295.0, NULL, "clients at once", DF_MUTABLE },
    { "timeout", D_U64, OFF(timeout), 0, 0, 2147483647.0, NULL,
      "seconds a client may stay idle (0 = forever; subscribers never time out)", DF_MUTABLE },
    { "client-query-buffer-limit", D_MEM, OFF(client_query_buffer_limit), 0, 1048576, 9223372036854775807.0,
      NULL,
      "a client's query buffer and queued MULTI commands together (closed past it)", DF_MUTABLE },
    { "protected-mode", D_BOOL, OFF(protected_mode), 0, 0, 1, NULL, "as in Redis", DF_MUTABLE },
    { "enable-protected-configs", D_ENUM, OFF(enable_protected_configs), 0, 0, 0, protected_choices,
      "CONFIG SET of watchlist: no, yes, or local (from loopback clients only)", 0 },
    { "slowlog-log-slower-than", D_LL, OFF(slowlog_log_slower_than), 0, -1, 9223372036854775807.0, NULL,
      "microseconds from which a command goes to the slow log (-1 = none)", DF_MUTABLE },
    { "slowlog-max-len", D_LL, OFF(slowlog_max_len), 0, 0, 9223372036854775807.0, NULL,
      "entries the slow log keeps (at most 1048576 are kept)", DF_MUTABLE },
    { "cloud", D_LIST, OFF(cloud), OFF(ncloud), 0, CONFIG_LIST_MAX, NULL, "host:port of a cloud node", 0 },
    { "cloud-password", D_STR, OFF(cloud_password), 0, 0, 0, NULL, "AUTH password", DF_SENSITIVE },
    { "cloud-user", D_STR, OFF(cloud_user), 0, 0, 0, NULL, "AUTH user", 0 },
    { "cloud-flush-ms", D_U64, OFF(cloud_flush_ms), 0, 1, 60000, NULL, "ms between batches to the cloud", DF_MUTABLE },
    { "cloud-queue-max", D_MEM, OFF(cloud_queue_max), 0, 0, 1e12, NULL, "bytes queued at most", 0 },
    { "cloud-dns-window", D_U64, OFF(cloud_dns_window), 0, 1, 86400, NULL,
      "seconds a DNS query or answer seen alone waits in the cloud for the other side", DF_MUTABLE },
    { "export", D_LIST, OFF(export_to), OFF(nexport), 0, CONFIG_LIST_MAX, NULL, "host:port of a flow collector", 0 },
    { "export-protocol", D_ENUM, OFF(export_protocol), 0, 0, 0, export_protocol_choices, "ipfix or netflow9", 0 },
    { "export-transport", D_ENUM, OFF(export_transport), 0, 0, 0, export_transport_choices,
      "udp, or tcp (IPFIX only)", 0 },
    { "export-template-refresh", D_U64, OFF(export_template_refresh), 0, 0, 86400, NULL,
      "UDP: seconds between template resends (0 = by messages only)", 0 },
    { "export-template-refresh-packets", D_U64, OFF(export_template_refresh_packets), 0, 0, 1000000, NULL,
      "UDP: messages between template resends (0 = by seconds only)", 0 },
    { "export-observation-domain", D_U64, OFF(export_observation_domain), 0, 0, 4294967295.0, NULL,
      "IPFIX observation domain / NetFlow v9 source id", 0 },
    { "probe-id", D_STR, OFF(probe_id), 0, 0, 0, NULL, "name of this probe (default: the host name)", 0 },
    { "loglevel", D_ENUM, OFF(loglevel), 0, 0, 0, loglevel_choices,
      "least level logged: debug, verbose, notice or warning", DF_MUTABLE },
    { "logfile", D_STR, OFF(logfile), 0, 0, 0, NULL, "log file, appended to ('' = standard output)", 0 },
    { "syslog-enabled", D_BOOL, OFF(syslog_enabled), 0, 0, 1, NULL, "also send every log line to syslog", 0 },
    { "syslog-ident", D_STR, OFF(syslog_ident), 0, 0, 0, NULL, "syslog identity", 0 },
    { "syslog-facility", D_ENUM, OFF(syslog_facility), 0, 0, 0, log_syslog_facilities,
      "syslog facility: user or local0..local7", 0 },
    { "user", D_STR, OFF(user), 0, 0, 0, NULL, "run as this user once capture files and devices are open", 0 },
    { "supervised", D_ENUM, OFF(supervised), 0, 0, 0, supervised_choices,
      "tell systemd when ready (sd_notify; auto: when NOTIFY_SOCKET is set)", 0 },
};
#undef OFF

void config_cache_limits(const struct fc_config *cfg, struct cache_config *out)
{
    out->flow_idle_us = cfg->flow_idle_timeout * 1000000ULL;
    out->flow_lifetime_us = cfg->flow_lifetime_timeout * 1000000ULL;
    out->host_idle_us = cfg->host_idle_timeout * 1000000ULL;
    out->tcp_close_grace_us = cfg->tcp_close_grace_ms * 1000ULL;
    out->max_flows = cfg->max_flows;
    out->maxmemory = cfg->maxmemory;
    out->max_names = cfg->max_names;
    out->lanes = (uint32_t)cfg->capture_threads;
}

const struct directive *config_directives(size_t *n)
{
    *n = sizeof(directives) / sizeof(directives[0]);
    return directives;
}

const struct directive *config_directive_find(const char *name)
{
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
        if (strcasecmp(directives[i].name, name) == 0)
            return &directives[i];
    return NULL;
}

int config_defaults(struct fc_config *c)
{
    char host[256] = "probe";
    memset(c, 0, sizeof(*c));
    c->port = 6380;
    c->bind[0] = strdup("127.0.0.1");
    c->nbind = 1;
    c->capture_threads = 1;
    c->pcap_progress = 5;
    c->snaplen = 65535;
    c->promisc = 1;
    c->capture_buffer = 64ULL << 20;
    c->capture_coalesce_us = 100;
    c->flow_idle_timeout = 30;
    c->flow_lifetime_timeout = 120;
    c->host_idle_timeout = 300;
    c->tcp_close_grace_ms = 2000;
    c->max_flows = 1000000;
    c->max_names = 250000;           /* a DNS name takes ~460 bytes: ~115 MB at the bound */
    c->user_grace = 300;
    c->maxclients = 10000;
    c->client_query_buffer_limit = 1ULL << 30;    /* Redis's default */
    c->protected_mode = 1;
    c->cloud_flush_ms = 100;
    c->cloud_queue_max = 64ULL << 20;
    c->cloud_dns_window = 120;
    c->export_template_refresh = 60;
    c->export_template_refresh_packets = 20;
    c->export_observation_domain = 1;
    c->client_output_pubsub_hard = 32ULL << 20;
    c->client_output_pubsub_soft = 8ULL << 20;
    c->client_output_pubsub_soft_s = 60;
    c->slowlog_log_slower_than = 10000;      /* Redis's defaults */
    c->slowlog_max_len = 128;
    gethostname(host, sizeof(host) - 1);
    c->probe_id = strdup(host);
    c->loglevel = LL_NOTICE;
    c->syslog_ident = strdup("flowcached");
    c->syslog_facility = 1;          /* local0, as redis-server */
    return c->bind[0] && c->probe_id && c->syslog_ident ? 0 : -1;
}

/* Parses a size ("64mb"); -1 when malformed, NaN, negative or above max
 * (checked before the conversion: a double out of range of uint64_t is UB). */
static int parse_mem(const char *s, double max, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -1;
    static const struct { const char *suffix; double mul; } units[] = {
        { "", 1 }, { "b", 1 }, { "k", 1000 }, { "kb", 1024 }, { "m", 1e6 }, { "mb", 1048576 },
        { "g", 1e9 }, { "gb", 1073741824.0 },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (!(v * units[i].mul <= max))
                return -1;
            *out = (uint64_t)(v * units[i].mul);
            return 0;
        }
    return -1;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "yes") || !strcmp(s, "1") || !strcasecmp(s, "true")) { *out = 1; return 0; }
    if (!strcasecmp(s, "no") || !strcmp(s, "0") || !strcasecmp(s, "false")) { *out = 0; return 0; }
    return -1;
}

/* Redis' notify-keyspace-events classes (notify.c), and the canonical text of a set of them: what
 * CONFIG GET answers after CONFIG SET, as Redis does. Returns 0, or -1 on a character Redis refuses. */
static int events_canonical(const char *v, char *out, size_t cap)
{
    static const char all[] = "g$lshzxetd", order[] = "g$lshzxetdn", ok[] = "Ag$lshzxeKEtmdn";
    char on[128] = { 0 };
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p >= 128 || !strchr(ok, *p))
            return -1;
        if (*p == 'A')
            for (const char *a = all; *a; a++)
                on[(unsigned char)*a] = 1;
        else
            on[*p] = 1;
    }
    size_t n = 0;
    int every = 1;
    for (const char *a = all; *a; a++)
        every &= on[(unsigned char)*a];
    if (every)
        out[n++] = 'A';
    for (const char *o = order; *o && !every; o++)
        if (on[(unsigned char)*o])
            out[n++] = *o;
    if (every && on['n'])
        out[n++] = 'n';
    for (const char *o = "KEm"; *o; o++)
        if (on[(unsigned char)*o])
            out[n++] = *o;
    out[n < cap ? n : cap - 1] = '\0';
    return 0;
}

/* A bound of d as a long long (the table keeps doubles: 2^63 stands for LLONG_MAX). */
static long long bound(double x)
{
    return x >= 9223372036854775807.0 ? LLONG_MAX : (long long)x;
}

/* Sets one scalar from its text. On a bad value returns -1 with err: flowcached's own text for the
 * config file and command line, or with redis set Redis' (the part after "... argument 'x') - "). */
static int set_scalar(struct fc_config *c, const struct directive *d, const char *v, int redis, char *err,
                      size_t errlen)
{
    char *base = (char *)c + d->off, *end;
    errno = 0;
    switch (d->type) {
    case D_INT: case D_U64: case D_LL: case D_MEM: {
        long long n = 0;
        uint64_t m = 0;
        int bad = d->type == D_MEM ? parse_mem(v, 1e19, &m) : (n = strtoll(v, &end, 10), errno || end == v || *end);
        if (d->type == D_MEM)
            n = m > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)m;
        if (!bad && n >= d->min && n <= d->max) {
            if (d->type == D_INT) *(int *)base = (int)n;
            else if (d->type == D_LL) *(long long *)base = n;
            else *(uint64_t *)base = (uint64_t)n;
            return 0;
        }
        if (redis && bad)
            snprintf(err, errlen, d->type == D_MEM ? "argument must be a memory value"
                                                   : "argument couldn't be parsed into an integer");
        else if (redis)
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", bound(d->min), bound(d->max));
        else if (d->type == D_MEM)
            snprintf(err, errlen, "bad value '%s' for '%s': expected a size such as 64mb (%lld to %lld bytes)",
                     v, d->name, bound(d->min), bound(d->max));
        else
            snprintf(err, errlen, "bad value '%s' for '%s': expected an integer in %lld..%lld", v, d->name,
                     bound(d->min), bound(d->max));
        return -1;
    }
    case D_DOUBLE: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || !(x >= d->min && x <= d->max)) {   /* rejects NaN too */
            snprintf(err, errlen, "bad value '%s' for '%s': expected a number >= 0", v, d->name);
            return -1;
        }
        *(double *)base = x;
        return 0;
    }
    case D_BOOL:
        if (parse_bool(v, (int *)base) != 0) {
            if (redis)
                snprintf(err, errlen, "argument must be 'yes' or 'no'");
            else
                snprintf(err, errlen, "bad value '%s' for '%s': expected yes or no", v, d->name);
            return -1;
        }
        return 0;
    case D_ENUM: {
        for (int i = 0; d->choices[i]; i++)
            if (strcasecmp(v, d->choices[i]) == 0) {
                *(int *)base = i;
                return 0;
            }
        size_t n = redis ? (size_t)snprintf(err, errlen, "argument(s) must be one of the following: ")
                         : (size_t)snprintf(err, errlen, "bad value '%s' for '%s': expected ", v, d->name);
        for (int i = 0; d->choices[i] && n < errlen; i++)     /* "a, b or c"; Redis: "a, b, c" */
            n += (size_t)snprintf(err + n, errlen - n, "%s%s", i == 0 ? "" : redis || d->choices[i + 1] ? ", "
                                  : " or ", d->choices[i]);
        return -1;
    }
    case D_STR: case D_EVENTS: {
        char canon[32];
        if (d->type == D_EVENTS && events_canonical(v, canon, sizeof(canon)) != 0) {
            if (redis)
                snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
            else
                snprintf(err, errlen, "bad value '%s' for '%s': expected classes of Ag$lshzxeKEtmdn", v, d->name);
            return -1;
        }
        char *dup = strdup(d->type == D_EVENTS ? canon : v);
        if (!dup) { snprintf(err, errlen, "out of memory"); return -1; }
        free(*(char **)base);
        *(char **)base = dup;
        return 0;
    }
    default:
        return -1;
    }
}

int config_set(struct fc_config *c, const char *name, int argc, char **argv, char *err, size_t errlen)
{
    const struct directive *d = config_directive_find(name);
    if (!d) {
        snprintf(err, errlen, "unknown directive '%s'", name);
        return -1;
    }
    if (d->type != D_LIST) {
        if (argc != 1) {
            snprintf(err, errlen, "'%s' takes exactly one value, got %d", d->name, argc);
            return -1;
        }
        return set_scalar(c, d, argv[0], 0, err, errlen);
    }
    char **list = (char **)((char *)c + d->off);
    int *count = (int *)((char *)c + d->count_off);
    if (argc < 1) {
        snprintf(err, errlen, "'%s' needs a value", d->name);
        return -1;
    }
    if (strcmp(d->name, "bind") == 0) {          /* bind replaces, as in Redis */
        for (int i = 0; i < *count; i++)
            free(list[i]);
        *count = 0;
    }
    for (int i = 0; i < argc; i++) {
        if (*count >= (int)d->max) {
            snprintf(err, errlen, "too many '%s' values (at most %.0f)", d->name, d->max);
            return -1;
        }
        if (!(list[(*count)++] = strdup(argv[i]))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* The byte a "\x" escape of sdssplitargs stands for (Redis' config parser and CONFIG REWRITE's quoting). */
static int unescape(char **pp)
{
    char *p = *pp;
    if (p[0] == 'x' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
        char hex[3] = { p[1], p[2], 0 };
        *pp = p + 3;
        return (int)strtol(hex, NULL, 16);
    }
    *pp = p + 1;
    switch (*p) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return (unsigned char)*p;
    }
}

int config_split_line(char *line, char **words, int max)
{
    int n = 0;
    char *p = line, *out;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            return n;
        if (n >= max)
            return -1;
        char q = (*p == '"' || *p == '\'') ? *p++ : 0;
        words[n++] = out = p;
        while (*p && (q ? *p != q : !isspace((unsigned char)*p))) {
            if (q == '"' && *p == '\\' && p[1]) {
                p++;
                *out++ = (char)unescape(&p);
                continue;
            }
            if (q == '\'' && *p == '\\' && p[1] == '\'')
                p++;
            *out++ = *p++;
        }
        if (q && *p != q)
            return -1;
        if (*p)
            p++;
        *out = '\0';
    }
}

static int config_read_file(struct fc_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[4096], *words[CONFIG_LIST_MAX + 1], msg[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        int n = config_split_line(line, words, CONFIG_LIST_MAX + 1);
        if (n == 0)
            continue;
        if (n < 0 || config_set(c, words[0], n - 1, words + 1, msg, sizeof(msg)) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, n < 0 ? "unbalanced quotes or too many values" : msg);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* A command-line directive: as redis-server, the words up to the next
 * "--" are one value ("--bpf udp port 53"), except for the directives that
 * take several values (pcap, interface, bind, cloud). */
static int config_set_words(struct fc_config *c, const char *name, int argc, char **argv, char *err,
                            size_t errlen)
{
    const struct directive *d = config_directive_find(name);
    if (!d || d->type == D_LIST || argc < 2)
        return config_set(c, name, argc, argv, err, errlen);
    size_t len = 0;
    for (int k = 0; k < argc; k++)
        len += strlen(argv[k]) + 1;
    char *joined = malloc(len);
    if (!joined) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    joined[0] = '\0';
    for (int k = 0; k < argc; k++) {
        if (k)
            strcat(joined, " ");
        strcat(joined, argv[k]);
    }
    int rc = config_set(c, name, 1, &joined, err, errlen);
    free(joined);
    return rc;
}

int config_load(struct fc_config *c, int argc, char **argv, char *err, size_t errlen)
{
    int i = 1;
    char msg[512];
    if (i < argc && strncmp(argv[i], "--", 2) != 0) {
        if (config_read_file(c, argv[i], err, errlen) != 0)
            return -1;
        c->config_file = realpath(argv[i], NULL);
        i++;
    }
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            snprintf(err, errlen, "argument %d '%s': expected --directive value", i, argv[i]);
            return -1;
        }
        const char *name = argv[i] + 2;
        int j = i + 1;
        while (j < argc && strncmp(argv[j], "--", 2) != 0)
            j++;
        if (config_set_words(c, name, j - i - 1, argv + i + 1, msg, sizeof(msg)) != 0) {
            snprintf(err, errlen, "argument '--%s': %s", name, msg);
            return -1;
        }
        i = j;
    }
    return 0;
}

void config_directive_format(const struct fc_config *c, const struct directive *d, int human, char *buf,
                             size_t len)
{
    const char *base = (const char *)c + d->off;
    buf[0] = '\0';
    switch (d->type) {
    case D_INT: snprintf(buf, len, "%d", *(const int *)base); break;
    case D_LL: snprintf(buf, len, "%lld", *(const long long *)base); break;
    case D_BOOL: snprintf(buf, len, "%s", *(const int *)base ? "yes" : "no"); break;
    case D_ENUM: snprintf(buf, len, "%s", d->choices[*(const int *)base]); break;
    case D_U64: case D_MEM: {
        unsigned long long v = (unsigned long long)*(const uint64_t *)base;
        if (human && d->type == D_MEM && v && v % (1ULL << 30) == 0)
            snprintf(buf, len, "%llugb", v >> 30);
        else if (human && d->type == D_MEM && v && v % (1ULL << 20) == 0)
            snprintf(buf, len, "%llumb", v >> 20);
        else
            snprintf(buf, len, "%llu", v);
        break;
    }
    case D_DOUBLE: snprintf(buf, len, "%g", *(const double *)base); break;
    case D_STR: case D_EVENTS: snprintf(buf, len, "%s", *(char *const *)base ? *(char *const *)base : ""); break;
    case D_LIST: {
        char *const *list = (char *const *)base;
        int n = *(const int *)((const char *)c + d->count_off);
        size_t used = 0;
        for (int k = 0; k < n && used < len - 1; k++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? " " : "", list[k]);
        break;
    }
    }
    if (human && !buf[0])
        snprintf(buf, len, "\"\"");
}

void config_each(const struct fc_config *c, void (*fn)(void *arg, const char *name, const char *val), void *arg)
{
    char buf[4096];
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
        const struct directive *d = &directives[i];
        if (d->flags & DF_SENSITIVE)
            continue;                /* secrets are not shown */
        config_directive_format(c, d, 0, buf, sizeof(buf));
        fn(arg, d->name, buf);
    }
}

int config_usage(FILE *out)
{
    static const char *const args[] = { [D_INT] = "<n>", [D_U64] = "<n>", [D_LL] = "<n>", [D_DOUBLE] = "<x>",
                                        [D_BOOL] = "yes|no", [D_STR] = "<text>", [D_LIST] = "<value>...",
                                        [D_MEM] = "<size>", [D_EVENTS] = "<classes>" };
    struct fc_config c;
    char arg[64], def[256], left[128];
    if (config_defaults(&c) != 0) {
        config_free(&c);
        return -1;
    }
    fprintf(out, "usage: flowcached [config-file] [--directive value ...]\n"
                 "       flowcached -v | --version | -h | --help\n\n"
                 "A directive is a line 'name value' of the config file or '--name value' here, which wins;\n"
                 "a value of several words runs to the next '--'. (man flowcached)\n\n"
                 "  %-42s %-12s %s\n", "directive", "default", "meaning");
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
        const struct directive *d = &directives[i];
        size_t used = 0;
        if (d->type == D_ENUM)
            for (int k = 0; d->choices[k] && used < sizeof(arg); k++)
                used += (size_t)snprintf(arg + used, sizeof(arg) - used, "%s%s", k ? "|" : "", d->choices[k]);
        if (d->type == D_ENUM && used > 30)
            snprintf(arg, sizeof(arg), "<choice>");   /* too many to list: the meaning names them */
        else if (d->type != D_ENUM)
            snprintf(arg, sizeof(arg), "%s", args[d->type]);
        config_directive_format(&c, d, 1, def, sizeof(def));
        snprintf(left, sizeof(left), "--%s %s", d->name, arg);
        fprintf(out, "  %-42s %-12s %s\n", left, def, d->help);
    }
    config_free(&c);
    return 0;
}

void config_free(struct fc_config *c)
{
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
        const struct directive *d = &directives[i];
        char *base = (char *)c + d->off;
        if (d->type == D_STR || d->type == D_EVENTS) {
            free(*(char **)base);
        } else if (d->type == D_LIST) {
            int n = *(int *)((char *)c + d->count_off);
            for (int k = 0; k < n; k++)
                free(((char **)base)[k]);
        }
    }
    free(c->config_file);
}

/* ---- CONFIG SET ---- */

/* Redis' allowProtectedAction: enable-protected-configs yes, or local and a loopback client. */
static int protected_allowed(const struct fc_config *cur, int local)
{
    return cur->enable_protected_configs == PROTECTED_YES ||
           (cur->enable_protected_configs == PROTECTED_LOCAL && local);
}

/* Whether value is what CONFIG GET answers for d now (setting it changes nothing). */
static int is_current(const struct fc_config *cur, const struct directive *d, const char *value)
{
    char now[4096];
    config_directive_format(cur, d, 0, now, sizeof(now));
    return !strcmp(now, value);
}

/* The first problem with the names, in Redis' order (an unknown name, an immutable or protected
 * directive, a name given twice); 0 when there is none. An immutable or protected directive given
 * the value it has is accepted and left out of ch (Redis' CONFIG sanity test sets every directive
 * CONFIG GET lists to its own value). values[] are compacted along with ch->idx. */
static int change_check_names(const struct fc_config *cur, struct config_change *ch, int npairs, char **names,
                              char **values, int local, char *err, size_t errlen)
{
    for (int i = 0; i < npairs; i++) {
        const struct directive *d = config_directive_find(names[i]);
        const char *why = NULL;
        if (!d) {
            snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'", names[i]);
            return -1;
        }
        int fixed = !(d->flags & DF_MUTABLE) || ((d->flags & DF_PROTECTED) && !protected_allowed(cur, local));
        if (fixed && is_current(cur, d, values[i]))
            continue;
        if (!(d->flags & DF_MUTABLE))
            why = "can't set immutable config";
        else if ((d->flags & DF_PROTECTED) && !protected_allowed(cur, local))
            why = "can't set protected config";
        for (int j = 0; !why && j < ch->n; j++)
            if (&directives[ch->idx[j]] == d)
                why = "duplicate parameter";
        if (why) {
            snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s", names[i], why);
            return -1;
        }
        values[ch->n] = values[i];
        ch->idx[ch->n++] = (int)(d - directives);
    }
    return 0;
}

int config_change_parse(const struct fc_config *cur, struct config_change *ch, int npairs, char **names,
                        char **values, int local, char *err, size_t errlen)
{
    char why[256];
    memset(ch, 0, sizeof(*ch));
    if (npairs > CONFIG_CHANGE_MAX) {
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - too many parameters",
                 names[CONFIG_CHANGE_MAX]);
        return -1;
    }
    if (change_check_names(cur, ch, npairs, names, values, local, err, errlen) != 0) {
        ch->n = 0;
        return -1;
    }
    for (int i = 0; i < ch->n; i++) {
        const struct directive *d = &directives[ch->idx[i]];
        if (set_scalar(&ch->next, d, values[i], 1, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s", d->name, why);
            config_change_discard(ch);
            return -1;
        }
    }
    return 0;
}

int config_is_sensitive(const char *name)
{
    const struct directive *d = config_directive_find(name);
    return d && (d->flags & DF_SENSITIVE);
}

int config_change_has(const struct config_change *ch, const char *name)
{
    for (int i = 0; i < ch->n; i++)
        if (!strcasecmp(directives[ch->idx[i]].name, name))
            return 1;
    return 0;
}

/* The bytes of directive d's value in a struct fc_config. */
static size_t directive_size(const struct directive *d)
{
    switch (d->type) {
    case D_INT: case D_BOOL: case D_ENUM: return sizeof(int);
    case D_LL: return sizeof(long long);
    case D_DOUBLE: return sizeof(double);
    case D_STR: case D_EVENTS: return sizeof(char *);
    default: return sizeof(uint64_t);
    }
}

void config_change_commit(struct fc_config *cfg, struct config_change *ch)
{
    for (int i = 0; i < ch->n; i++) {
        const struct directive *d = &directives[ch->idx[i]];
        char *to = (char *)cfg + d->off, *from = (char *)&ch->next + d->off;
        if (d->type == D_STR || d->type == D_EVENTS)
            free(*(char **)to);
        memcpy(to, from, directive_size(d));
        memset(from, 0, directive_size(d));
    }
    ch->n = 0;
}

void config_change_discard(struct config_change *ch)
{
    for (int i = 0; i < ch->n; i++) {
        const struct directive *d = &directives[ch->idx[i]];
        if (d->type == D_STR || d->type == D_EVENTS)
            free(*(char **)((char *)&ch->next + d->off));
    }
    ch->n = 0;
}
