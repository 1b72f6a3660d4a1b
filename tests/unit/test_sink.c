/* test_sink.c - the event sink registry: delivery order, the union of wanted channels, INFO sections, shutdown. */
#include <stdlib.h>
#include <string.h>

#include "server/core/sink.h"
#include "tests/unit/check.h"

/* A sink that records what it is given. */
struct probe {
    uint32_t wants;
    char seen[64];                   /* one letter per event: its own tag */
    char tag;
    void (*pending_done)(void *);    /* a shutdown not finished yet */
    void *pending_arg;
    int destroyed;
};

static char order[64];               /* tags of every delivery, across sinks */

static uint32_t probe_wanted(void *arg) { return ((struct probe *)arg)->wants; }

static void probe_event(void *arg, const struct event *ev)
{
    struct probe *p = arg;
    size_t n = strlen(order);
    order[n] = p->tag;
    order[n + 1] = '\0';
    n = strlen(p->seen);
    p->seen[n] = (char)('0' + ev->channel);
    p->seen[n + 1] = '\0';
}

static void probe_info(void *arg, struct sbuf *b) { sbuf_printf(b, "tag:%c\r\n", ((struct probe *)arg)->tag); }

static void probe_shutdown(void *arg, void (*done)(void *), void *done_arg)
{
    struct probe *p = arg;
    p->pending_done = done;          /* finished later, as replication's flush is */
    p->pending_arg = done_arg;
}

static void probe_destroy(void *arg) { ((struct probe *)arg)->destroyed++; }

static struct sink probe_sink(const char *name, struct probe *p)
{
    struct sink sk = { .name = name, .wanted = probe_wanted, .on_event = probe_event, .info = probe_info,
                       .shutdown = probe_shutdown, .destroy = probe_destroy, .arg = p };
    return sk;
}

static int all_done;
static void on_all_done(void *arg) { (void)arg; all_done++; }

TEST_CASE(delivery_and_wanted)
{
    struct sink_registry r;
    memset(&r, 0, sizeof(r));
    struct probe a = { .wants = 1u << EV_DNS, .tag = 'a' }, b = { .wants = 1u << EV_HTTP, .tag = 'b' };
    struct sink sa = probe_sink("first", &a), sb = probe_sink("second", &b);
    sb.info = NULL;
    CHECK_INT(sink_register(&r, &sa), 0);
    CHECK_INT(sink_register(&r, &sb), 0);
    sink_wanted_update(&r);
    CHECK_INT(atomic_load(&event_wanted_mask), (1u << EV_DNS) | (1u << EV_HTTP));
    b.wants = 0;
    sink_wanted_update(&r);
    CHECK_INT(atomic_load(&event_wanted_mask), 1u << EV_DNS);

    struct event_builder eb;
    event_build_begin(&eb, EV_DNS, 0);
    struct event *e1 = event_build_end(&eb);
    event_build_begin(&eb, EV_HTTP, 0);
    struct event *e2 = event_build_end(&eb);
    order[0] = '\0';
    sink_deliver(&r, e1);
    sink_deliver(&r, e2);
    event_free(e1);
    event_free(e2);
    CHECK_STR(order, "abab");        /* every event to every sink, in registration order */
    CHECK_STR(a.seen, "34");
    CHECK_STR(b.seen, "34");

    struct sbuf out;
    sbuf_init(&out);
    CHECK_INT(sink_info(&r, 0, &out), 0);
    CHECK_INT(sink_info(&r, 1, &out), -1);
    sbuf_appendc(&out, '\0');
    CHECK_STR(out.buf, "# First\r\ntag:a\r\n");
    sbuf_free(&out);

    all_done = 0;
    sink_shutdown_all(&r, on_all_done, NULL);
    CHECK_INT(all_done, 0);
    a.pending_done(a.pending_arg);
    CHECK_INT(all_done, 0);          /* b is not done yet */
    b.pending_done(b.pending_arg);
    CHECK_INT(all_done, 1);
    sink_destroy_all(&r);
    CHECK_INT(a.destroyed + b.destroyed, 2);
    CHECK_INT(r.n, 0);
}

/* An event's text is made before delivery when a sink that reads text wants its channel, and only then. */
TEST_CASE(text_made_for_the_sinks_that_read_it)
{
    struct sink_registry r;
    struct event_builder eb;
    memset(&r, 0, sizeof(r));
    struct probe a = { .wants = 1u << EV_DNS, .tag = 'a' }, b = { .wants = 1u << EV_HTTP, .tag = 'b' };
    struct sink sa = probe_sink("reads-text", &a), sb = probe_sink("reads-fields", &b);
    sa.wants_text = 1;
    CHECK_INT(sink_register(&r, &sa), 0);
    CHECK_INT(sink_register(&r, &sb), 0);
    sink_wanted_update(&r);
    CHECK_INT(r.text_mask, 1u << EV_DNS);
    event_build_begin(&eb, EV_DNS, 0);
    event_add_str(&eb, "qname", "a.example");
    struct event *dns = event_build_end(&eb);
    event_build_begin(&eb, EV_HTTP, 0);
    event_add_str(&eb, "host", "h.example");
    struct event *http = event_build_end(&eb);
    sink_deliver(&r, dns);
    sink_deliver(&r, http);
    CHECK(dns->text != NULL);
    CHECK_MEM(dns->text, dns->text_len, "{\"qname\":\"a.example\",\"ts\":0.000}", 32);
    CHECK(http->text == NULL);                  /* only a sink reading fields wants http */
    event_free(dns);
    event_free(http);
    sink_destroy_all(&r);
}

/* A sink that holds the events with a "hold" field, and notes ev->held as each sink saw it. */
static int holds_asked;
static char held_seen[16];

static int hold_first(void *arg, const struct event *ev)
{
    (void)arg;
    holds_asked++;
    return event_get_str(ev, "hold") != NULL;
}

static void note_held(void *arg, const struct event *ev)
{
    size_t n = strlen(held_seen);
    held_seen[n] = (char)(((struct probe *)arg)->tag + (ev->held ? 'A' - 'a' : 0));
    held_seen[n + 1] = '\0';
}

TEST_CASE(hold_decided_once_before_any_sink)
{
    struct sink_registry r = { .n = 0 };
    struct event_builder eb;
    struct probe pub = { .tag = 'p' }, rep = { .tag = 'r' };
    struct sink sk[2] = { probe_sink("cloud", &rep), probe_sink("pubsub", &pub) };
    for (int i = 0; i < 2; i++) {                  /* the holder first: pub/sub still reads its decision */
        sk[i].wants_text = 1;
        sk[i].on_event = note_held;
        sk[i].holds = i == 0 ? hold_first : NULL;
        ((struct probe *)sk[i].arg)->wants = 1u << EV_FLOW_END;
        CHECK_INT(sink_register(&r, &sk[i]), 0);
    }
    sink_wanted_update(&r);
    event_build_begin(&eb, EV_FLOW_END, 0);
    event_add_str(&eb, "hold", "1");
    struct event *held = event_build_end(&eb);
    event_build_begin(&eb, EV_FLOW_END, 0);
    event_add_str(&eb, "key", "flow.x");
    struct event *plain = event_build_end(&eb);
    holds_asked = 0;
    held_seen[0] = '\0';
    sink_deliver(&r, held);
    sink_deliver(&r, plain);
    CHECK_STR(held_seen, "RPrp");                  /* both sinks saw the same decision, per event */
    CHECK_INT(holds_asked, 2);                     /* asked once an event, not once a sink */
    event_free(held);
    event_free(plain);
    sink_destroy_all(&r);
}

TEST_CASE(shutdown_without_sinks_and_full_registry)
{
    struct sink_registry r;
    memset(&r, 0, sizeof(r));
    all_done = 0;
    sink_shutdown_all(&r, on_all_done, NULL);
    CHECK_INT(all_done, 1);          /* nothing to wait for: done at once */
    struct probe p = { .tag = 'p' };
    struct sink sk = probe_sink("p", &p);
    for (int i = 0; i < SINKS_MAX; i++)
        CHECK_INT(sink_register(&r, &sk), 0);
    CHECK_INT(sink_register(&r, &sk), -1);
    CHECK_INT(r.n, SINKS_MAX);
}

/* A sink that reads only flow.end's records: capture threads then make no fields for flow.end
 * unless another sink reads them, and events without fields reach only it. */
TEST_CASE(record_readers)
{
    struct sink_registry r;
    memset(&r, 0, sizeof(r));
    memset(order, 0, sizeof(order));
    struct probe x = { .wants = (1u << EV_FLOW_END) | (1u << EV_DNS), .tag = 'x' };
    struct probe y = { .wants = 1u << EV_HTTP, .tag = 'y' };
    struct sink sx = probe_sink("export", &x), sy = probe_sink("other", &y);
    sx.reads_raw = 1;
    CHECK_INT(sink_register(&r, &sx), 0);
    CHECK_INT(sink_register(&r, &sy), 0);
    sink_wanted_update(&r);
    CHECK_INT(atomic_load(&event_wanted_mask), (1u << EV_FLOW_END) | (1u << EV_DNS) | (1u << EV_HTTP));
    CHECK_INT(atomic_load(&event_raw_mask), 1u << EV_FLOW_END);
    CHECK_INT(atomic_load(&event_fields_mask), (1u << EV_DNS) | (1u << EV_HTTP));  /* dns has no record */
    y.wants |= 1u << EV_FLOW_END;                   /* somebody reads flow.end's fields now */
    sink_wanted_update(&r);
    CHECK_INT(atomic_load(&event_fields_mask), (1u << EV_DNS) | (1u << EV_HTTP) | (1u << EV_FLOW_END));
    struct event_queue q;
    struct event *ev = NULL;
    CHECK_INT(event_queue_init(&q, 16), 0);
    CHECK(event_queue_batch_room(&q, EV_FLOW_END, 1, 8) != NULL);
    event_queue_batch_commit(&q, 8);
    event_queue_batch_flush(&q);
    CHECK_INT(event_queue_pop_many(&q, &ev, 1), 1);
    sink_deliver(&r, ev);                            /* no fields: the record reader only, no text */
    CHECK_STR(order, "x");
    CHECK(ev->text == NULL);
    event_free(ev);
    event_queue_destroy(&q);
    sink_destroy_all(&r);
    sink_wanted_update(&r);
    CHECK_INT(atomic_load(&event_raw_mask), 0);
}

int main(void)
{
    RUN(delivery_and_wanted);
    RUN(record_readers);
    RUN(text_made_for_the_sinks_that_read_it);
    RUN(hold_decided_once_before_any_sink);
    RUN(shutdown_without_sinks_and_full_registry);
    return CHECK_DONE("sink");
}
