/* test_events.c - unit tests for capture/events/events.c (events as data, the queue) and server/core/event_text.c (their text); a producer thread and the test thread. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/events/events.h"
#include "server/core/event_text.h"
#include "tests/unit/check.h"

/* A dns event as capture threads build it. */
static struct event *dns_event(uint64_t ts)
{
    struct event_builder b;
    event_build_begin(&b, EV_DNS, ts);
    event_add_str(&b, "client", "10.0.0.1");
    event_add_str(&b, "server", "10.0.0.53");
    event_add_str(&b, "qname", "example.com");
    event_add_uint(&b, "rtt.us", 1234);
    event_add_int(&b, "delta", -7);
    event_add_time(&b, "first.seen", 1700000000123456ULL);
    return event_build_end(&b);
}

TEST_CASE(build_and_lookup)
{
    struct event *ev = dns_event(1700000000999000ULL);
    uint64_t u = 0;
    size_t n = 0;
    CHECK(ev != NULL);
    CHECK_INT(ev->channel, EV_DNS);
    CHECK_INT(ev->nfields, 6);
    CHECK_INT(ev->dropped, 0);
    CHECK_INT(ev->ts_us, 1700000000999000ULL);
    CHECK(ev->probe == NULL && ev->text == NULL);
    CHECK_STR(event_get_str(ev, "qname"), "example.com");
    CHECK_STR(event_get_str(ev, "client"), "10.0.0.1");
    CHECK(event_get_str(ev, "rtt.us") == NULL);          /* not a string */
    CHECK(event_get_str(ev, "nope") == NULL);
    CHECK_INT(event_get_uint(ev, "rtt.us", &u), 1);
    CHECK_INT(u, 1234);
    CHECK_INT(event_get_uint(ev, "qname", &u), 0);        /* not a number */
    CHECK_INT(event_get_uint(ev, "delta", &u), 0);        /* signed */
    const struct event_field *f = event_field_get(ev, "delta");
    CHECK(f && f->type == EVF_INT && f->v.i == -7);
    f = event_field_get(ev, "server");
    CHECK(f != NULL);
    CHECK_STR(event_field_str(ev, f, &n), "10.0.0.53");
    CHECK_INT(n, 9);
    /* iteration: fields in the order they were added */
    static const char *const names[] = { "client", "server", "qname", "rtt.us", "delta", "first.seen" };
    for (unsigned i = 0; i < ev->nfields; i++)
        CHECK_STR(event_field_name(ev, &ev->f[i]), names[i]);
    event_free(ev);
    event_free(NULL);
}

TEST_CASE(strings_keep_every_byte)
{
    struct event_builder b;
    static const char raw[] = { 'a', 0, 'b', '"', (char)0xc3, (char)0xa9 };
    event_build_begin(&b, EV_HTTP, 0);
    event_add_strn(&b, "ua", raw, sizeof(raw));
    event_add_str(&b, "empty", "");
    struct event *ev = event_build_end(&b);
    size_t n = 0;
    const char *s = event_field_str(ev, event_field_get(ev, "ua"), &n);
    CHECK_MEM(s, n, raw, sizeof(raw));
    CHECK_STR(event_get_str(ev, "empty"), "");
    event_free(ev);
}

TEST_CASE(overflow_drops_and_counts)
{
    struct event_builder b;
    char name[16];
    event_build_begin(&b, EV_FLOW_END, 1);
    for (int i = 0; i < EVENT_FIELDS_MAX + 5; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        event_add_uint(&b, name, (uint64_t)i);
    }
    CHECK_INT(b.nfields, EVENT_FIELDS_MAX);
    CHECK_INT(b.dropped, 5);
    struct event *ev = event_build_end(&b);
    uint64_t u = 0;
    CHECK_INT(ev->nfields, EVENT_FIELDS_MAX);
    CHECK_INT(ev->dropped, 5);
    CHECK_INT(event_get_uint(ev, "f47", &u), 1);
    CHECK_INT(u, 47);
    CHECK_INT(event_get_uint(ev, "f48", &u), 0);
    event_free(ev);

    /* a value larger than what is left of the blob: dropped whole, later small fields still fit */
    static char big[EVENT_BLOB_MAX];
    memset(big, 'x', sizeof(big) - 1);
    event_build_begin(&b, EV_HTTP, 1);
    event_add_str(&b, "a", "1");
    event_add_str(&b, "url", big);
    event_add_strn(&b, "half", big, EVENT_BLOB_MAX / 2);
    event_add_strn(&b, "half2", big, EVENT_BLOB_MAX / 2);
    event_add_str(&b, "b", "2");
    CHECK_INT(b.dropped, 2);
    CHECK(b.blob_len <= EVENT_BLOB_MAX);
    ev = event_build_end(&b);
    CHECK_INT(ev->nfields, 3);
    CHECK_STR(event_get_str(ev, "a"), "1");
    CHECK_STR(event_get_str(ev, "b"), "2");
    CHECK(event_get_str(ev, "url") == NULL && event_get_str(ev, "half2") == NULL);
    CHECK_INT(strlen(event_get_str(ev, "half")), EVENT_BLOB_MAX / 2);
    event_free(ev);
}

TEST_CASE(text_as_subscribers_see_it)
{
    struct event *ev = dns_event(1700000001002999ULL);
    ev->probe = "probe-\"1\"";                         /* the drain sets it */
    CHECK_INT(event_text_make(ev), 0);
    const char *t = ev->text;
    size_t n = ev->text_len;
    const char *want = "{\"client\":\"10.0.0.1\",\"server\":\"10.0.0.53\",\"qname\":\"example.com\","
                       "\"rtt.us\":1234,\"delta\":-7,\"first.seen\":1700000000.123,"
                       "\"ts\":1700000001.002,\"probe\":\"probe-\\\"1\\\"\"}";
    CHECK_MEM(t, n, want, strlen(want));
    CHECK_INT(event_text_make(ev), 0);
    CHECK(ev->text == t);                                /* made once */
    event_free(ev);

    struct event_builder b;
    event_build_begin(&b, EV_HTTP, 0);
    event_add_strn(&b, "ua", "a\"b\\c\n\x01\x7f\xc3", 9);
    ev = event_build_end(&b);
    event_text_make(ev);
    t = ev->text;
    n = ev->text_len;
    want = "{\"ua\":\"a\\\"b\\\\c\\u000a\\u0001\\u007f\\u00c3\",\"ts\":0.000}";   /* no probe set */
    CHECK_MEM(t, n, want, strlen(want));
    event_free(ev);

    event_build_begin(&b, EV_KEY_EXPIRED, 0);
    event_add_str(&b, "key", "ip.10.0.0.1");
    ev = event_build_end(&b);
    ev->probe = "p";
    event_text_make(ev);
    CHECK_MEM(ev->text, ev->text_len, "ip.10.0.0.1", 11);   /* the key name alone, as Redis: no ts, no probe */
    event_free(ev);
}

TEST_CASE(field_text)
{
    struct event *ev = dns_event(5);
    char buf[EVENT_NUM_TEXT_MAX];
    size_t n = 0;
    const char *t = event_field_text(ev, event_field_get(ev, "first.seen"), buf, &n);
    CHECK_MEM(t, n, "1700000000.123", 14);
    t = event_field_text(ev, event_field_get(ev, "rtt.us"), buf, &n);
    CHECK_MEM(t, n, "1234", 4);
    t = event_field_text(ev, event_field_get(ev, "delta"), buf, &n);
    CHECK_MEM(t, n, "-7", 2);
    t = event_field_text(ev, event_field_get(ev, "qname"), buf, &n);
    CHECK_MEM(t, n, "example.com", 11);
    event_free(ev);

    struct event_builder b;                              /* the extremes of each type */
    event_build_begin(&b, EV_FLOW_END, 0);
    event_add_uint(&b, "u0", 0);
    event_add_uint(&b, "umax", UINT64_MAX);
    event_add_int(&b, "imin", INT64_MIN);
    event_add_time(&b, "t0", 999);
    event_add_time(&b, "tmax", UINT64_MAX);
    ev = event_build_end(&b);
    static const char *const want[] = { "0", "18446744073709551615", "-9223372036854775808", "0.000",
                                        "18446744073709.551" };
    for (unsigned i = 0; i < ev->nfields; i++) {
        t = event_field_text(ev, &ev->f[i], buf, &n);
        CHECK_MEM(t, n, want[i], strlen(want[i]));
        CHECK_INT(t[n], 0);
    }
    event_free(ev);
}

/* ---- the queue ---- */

enum { PRODUCED = 20000 };

static void *producer(void *arg)
{
    struct event_queue *q = arg;
    struct event_builder b;
    for (uint64_t i = 0; i < PRODUCED; i++) {
        event_build_begin(&b, EV_FLOW_NEW, i);
        event_add_uint(&b, "seq", i);
        event_add_str(&b, "key", "flow.udp.10.0.0.1:1-10.0.0.2:2");
        event_queue_push_built(q, &b);
    }
    return NULL;
}

TEST_CASE(queue_hands_over_in_order)
{
    struct event_queue q;
    struct event *out[64];
    pthread_t t;
    uint64_t next = 0, seq = 0;
    CHECK_INT(event_queue_init(&q, 1u << 15), 0);
    pthread_create(&t, NULL, producer, &q);
    while (next < PRODUCED) {
        size_t n = event_queue_pop_many(&q, out, 64);
        for (size_t i = 0; i < n; i++) {
            CHECK_INT(out[i]->ts_us, next);
            CHECK(event_get_uint(out[i], "seq", &seq) && seq == next);
            next++;
            event_free(out[i]);
        }
    }
    pthread_join(t, NULL);
    CHECK_INT(atomic_load(&q.pushed), PRODUCED);
    CHECK_INT(atomic_load(&q.dropped), 0);
    event_queue_destroy(&q);
}

TEST_CASE(queue_full_drops_and_destroy_frees)
{
    struct event_queue q;
    struct event_builder b;
    CHECK_INT(event_queue_init(&q, 16), 0);
    for (int i = 0; i < 20; i++) {
        event_build_begin(&b, EV_DNS, (uint64_t)i);
        event_add_str(&b, "qname", "example.com");
        if (i == 0)
            b.dropped = 3;                                   /* as if three fields had not fit */
        CHECK_INT(event_queue_push_built(&q, &b), i < 16 ? 0 : -1);
    }
    CHECK_INT(atomic_load(&q.pushed), 16);
    CHECK_INT(atomic_load(&q.dropped), 4);
    CHECK_INT(atomic_load(&q.fields_dropped), 3);
    struct event *out[4];
    CHECK_INT(event_queue_pop_many(&q, out, 4), 4);
    CHECK_INT(out[3]->ts_us, 3);
    CHECK_INT(event_text_make(out[0]), 0);               /* a text made for the sinks is freed with the event */
    for (int i = 0; i < 4; i++)
        event_free(out[i]);
    event_queue_destroy(&q);                            /* frees the 12 left (ASan would see a leak) */
}

/* Records without fields go out in batches: each comes back whole and in order, a full batch
 * or another channel starts the next one, flush queues what is open, destroy frees it. */
TEST_CASE(record_batches)
{
    struct event_queue q;
    struct event *out[8];
    char rec[300];
    CHECK_INT(event_queue_init(&q, 64), 0);
    CHECK_INT(event_queue_pop_many(&q, out, 8), 0);
    size_t per = (size_t)EVENT_BATCH_BYTES / event_raw_frame(sizeof(rec));
    for (size_t i = 0; i < per + 3; i++) {                  /* one full batch and three more */
        void *at = event_queue_batch_room(&q, EV_FLOW_END, 1000 + i, sizeof(rec));
        CHECK(at != NULL && ((uintptr_t)at & 7) == 0);
        memset(rec, (int)(i & 0xff), sizeof(rec));
        size_t len = sizeof(rec) - 3;                       /* padded to the frame of sizeof(rec) */
        memcpy(at, rec, len);
        event_queue_batch_commit(&q, len);
    }
    CHECK_INT(event_queue_pop_many(&q, out, 8), 1);         /* the full one went when the next did not fit */
    event_queue_batch_flush(&q);
    event_queue_batch_flush(&q);                            /* nothing open: nothing queued */
    CHECK_INT(event_queue_pop_many(&q, out + 1, 7), 1);
    size_t i = 0;
    for (int e = 0; e < 2; e++) {
        size_t off = 0, len = 0;
        const unsigned char *r;
        CHECK(out[e]->no_fields && out[e]->nfields == 0 && out[e]->channel == EV_FLOW_END);
        CHECK_INT(out[e]->ts_us, 1000 + (e ? per : 0));     /* its first record's time */
        while ((r = event_raw_next(out[e], &off, &len)) != NULL) {
            CHECK_INT(len, sizeof(rec) - 3);
            CHECK(r[0] == (i & 0xff) && r[len - 1] == (i & 0xff));
            i++;
        }
        event_free(out[e]);
    }
    CHECK_INT(i, per + 3);
    CHECK(event_queue_batch_room(&q, EV_FLOW_END, 1, 8) != NULL);
    event_queue_batch_commit(&q, 8);
    CHECK(event_queue_batch_room(&q, EV_DNS, 2, 8) != NULL);  /* another channel: the open one is queued */
    event_queue_batch_commit(&q, 8);
    CHECK_INT(event_queue_pop_many(&q, out, 8), 1);
    CHECK_INT(out[0]->channel, EV_FLOW_END);
    event_free(out[0]);
    event_queue_destroy(&q);                                /* frees the open batch */
}

static int wakes;
static void count_wake(void *arg) { (void)arg; wakes++; }

/* One batch with a record in it, queued. */
static void queue_one_batch(struct event_queue *q)
{
    CHECK(event_queue_batch_room(q, EV_FLOW_END, 1, 8) != NULL);
    event_queue_batch_commit(q, 8);
    event_queue_batch_flush(q);
}

/* An event wakes the consumer when no wake-up is pending; batches of records only once
 * EVENT_BATCH_WAKE of them wait; a pop that empties the queue lets the next event wake it again. */
TEST_CASE(queue_wakes_once_per_drain)
{
    struct event_queue q;
    struct event_builder b;
    struct event *out[16];
    CHECK_INT(event_queue_init(&q, 64), 0);
    q.notify = count_wake;
    wakes = 0;
    for (int i = 0; i < EVENT_BATCH_WAKE - 1; i++)
        queue_one_batch(&q);
    CHECK_INT(wakes, 0);                                    /* the cron drains them, or more to come */
    queue_one_batch(&q);
    CHECK_INT(wakes, 1);
    event_build_begin(&b, EV_DNS, 1);
    CHECK_INT(event_queue_push_built(&q, &b), 0);
    CHECK_INT(wakes, 1);                                    /* one is pending already */
    CHECK_INT(event_queue_pop_many(&q, out, 2), 2);         /* not empty yet: still pending */
    CHECK_INT(event_queue_push_built(&q, &b), 0);
    CHECK_INT(wakes, 1);
    size_t n = event_queue_pop_many(&q, out + 2, 14);
    CHECK_INT(n, EVENT_BATCH_WAKE);
    CHECK_INT(event_queue_push_built(&q, &b), 0);           /* emptied: the next one wakes it */
    CHECK_INT(wakes, 2);
    CHECK_INT(event_queue_pop_many(&q, out + 2 + n, 1), 1);
    queue_one_batch(&q);                                    /* a lone batch waits for the cron */
    CHECK_INT(wakes, 2);
    CHECK_INT(event_queue_push_built(&q, &b), 0);           /* an event behind it wakes the consumer */
    CHECK_INT(wakes, 3);
    for (size_t i = 0; i < 3 + n; i++)
        event_free(out[i]);
    event_queue_destroy(&q);                                /* frees the two left */
}

/* A record beside the fields: the fields read as before, the record after them. */
TEST_CASE(record_beside_fields)
{
    struct event_builder b;
    _Alignas(8) char rec[EVENT_RAW_HDR + 16] = { 0 };
    uint32_t n = 5;
    memcpy(rec, &n, 4);
    memcpy(rec + EVENT_RAW_HDR, "abcde", 5);
    event_build_begin(&b, EV_FLOW_END, 7);
    event_add_str(&b, "key", "flow.x");                     /* a blob whose end is not 8-aligned */
    event_add_uint(&b, "n", 3);
    struct event *ev = event_build_end_raw(&b, rec, event_raw_frame(5), 0);
    CHECK_STR(event_get_str(ev, "key"), "flow.x");
    size_t off = 0, len = 0;
    const char *r = event_raw_next(ev, &off, &len);
    CHECK(r && ((uintptr_t)r & 7) == 0);
    CHECK_MEM(r, len, "abcde", 5);
    CHECK(event_raw_next(ev, &off, &len) == NULL);
    CHECK(!ev->no_fields);
    event_free(ev);
    ev = event_build_end(&b);
    CHECK(event_raw(ev, &len) == NULL);
    event_free(ev);
}

int main(void)
{
    RUN(build_and_lookup);
    RUN(strings_keep_every_byte);
    RUN(overflow_drops_and_counts);
    RUN(text_as_subscribers_see_it);
    RUN(field_text);
    RUN(queue_hands_over_in_order);
    RUN(queue_full_drops_and_destroy_frees);
    RUN(record_batches);
    RUN(queue_wakes_once_per_drain);
    RUN(record_beside_fields);
    return CHECK_DONE("test_events");
}
