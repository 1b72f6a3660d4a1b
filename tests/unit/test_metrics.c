/* test_metrics.c - the metrics endpoint's families from event sinks' INFO sections (numbers, k=v lines, gauges). */
#include <stdlib.h>
#include <string.h>

#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/metrics/metrics_internal.h"
#include "tests/unit/check.h"

/* INFO lines as replication and export write them. */
static void cloud_like_info(void *arg, struct sbuf *b)
{
    (void)arg;
    sbuf_appends(b, "cloud_enabled:1\r\ncloud_queued_commands:12\r\ncloud_sent_commands:345\r\ncloud_last_error:none\r\n");
}

static void export_like_info(void *arg, struct sbuf *b)
{
    (void)arg;
    sbuf_appends(b, "export_collectors:2\r\nexport_protocol:ipfix\r\nexport_flows:9\r\n"
                    "export_collector0:target=udp://127.0.0.1:4739,link=up,records=7,queued_bytes=0\r\n"
                    "export_collector1:target=tcp://h\"x:4739,link=down,records=2,queued_bytes=30\r\n");
}

static const char *const want =
    "# HELP flowcached_cloud_enabled INFO cloud: cloud_enabled\n# TYPE flowcached_cloud_enabled gauge\n"
    "flowcached_cloud_enabled 1\n"
    "# HELP flowcached_cloud_queued_commands INFO cloud: cloud_queued_commands\n"
    "# TYPE flowcached_cloud_queued_commands gauge\nflowcached_cloud_queued_commands 12\n"
    "# HELP flowcached_cloud_sent_commands_total INFO cloud: cloud_sent_commands\n"
    "# TYPE flowcached_cloud_sent_commands_total counter\nflowcached_cloud_sent_commands_total 345\n"
    "# HELP flowcached_export_collectors INFO export: export_collectors\n"
    "# TYPE flowcached_export_collectors gauge\nflowcached_export_collectors 2\n"
    "# HELP flowcached_export_flows_total INFO export: export_flows\n"
    "# TYPE flowcached_export_flows_total counter\nflowcached_export_flows_total 9\n"
    "# HELP flowcached_export_collector_records_total INFO export: export_collector_records\n"
    "# TYPE flowcached_export_collector_records_total counter\n"
    "flowcached_export_collector_records_total{collector=\"udp://127.0.0.1:4739\"} 7\n"
    "flowcached_export_collector_records_total{collector=\"tcp://h\\\"x:4739\"} 2\n"
    "# HELP flowcached_export_collector_queued_bytes INFO export: export_collector_queued_bytes\n"
    "# TYPE flowcached_export_collector_queued_bytes gauge\n"
    "flowcached_export_collector_queued_bytes{collector=\"udp://127.0.0.1:4739\"} 0\n"
    "flowcached_export_collector_queued_bytes{collector=\"tcp://h\\\"x:4739\"} 30\n";

TEST_CASE(sink_sections_become_families)
{
    struct server s;
    memset(&s, 0, sizeof(s));
    const struct sink cloud = { .name = "cloud", .info = cloud_like_info };
    const struct sink exp = { .name = "export", .info = export_like_info };
    const struct sink quiet = { .name = "metrics" };          /* no INFO section: nothing */
    CHECK_INT(sink_register(&s.sinks, &quiet), 0);
    CHECK_INT(sink_register(&s.sinks, &cloud), 0);
    CHECK_INT(sink_register(&s.sinks, &exp), 0);
    struct sbuf out;
    sbuf_init(&out);
    metrics_render_sinks(&s, &out);
    sbuf_appendc(&out, '\0');
    CHECK(!out.oom);
    CHECK_STR(out.buf, want);
    sbuf_free(&out);
}

int main(void)
{
    RUN(sink_sections_become_families);
    return CHECK_DONE("metrics");
}
