/* events.c - bounded event queues from capture threads to the loop thread (producer: capture; consumer: loop). */
#include "capture/events/events.h"

#include <stdlib.h>
#include <string.h>

_Atomic uint32_t event_wanted_mask;

static const char *const channel_names[EV_CHANNELS] = {
    [EV_FLOW_NEW] = "flow.new",
    [EV_FLOW_END] = "flow.end",
    [EV_HOST_NEW] = "host.new",
    [EV_DNS] = "dns",
    [EV_HTTP] = "http",
    [EV_USER_LOGIN] = "user.login",
    [EV_USER_LOGOUT] = "user.logout",
    [EV_ALERT_WATCHLIST] = "alert.watchlist",
    [EV_KEY_EXPIRED] = "__keyevent@0__:expired",
};

const char *event_channel_name(enum event_channel ch)
{
    return (unsigned)ch < EV_CHANNELS ? channel_names[ch] : "?";
}

int event_queue_init(struct event_queue *q, uint32_t cap)
{
    uint32_t c = 16;
    while (c < cap)
        c <<= 1;
    memset(q, 0, sizeof(*q));
    q->ring = calloc(c, sizeof(*q->ring));
    if (!q->ring)
        return -1;
    q->cap = c;
    pthread_mutex_init(&q->lock, NULL);
    return 0;
}

void event_queue_destroy(struct event_queue *q)
{
    if (!q->ring)
        return;
    while (q->head != q->tail)
        free(q->ring[q->head++ & (q->cap - 1)]);
    free(q->ring);
    q->ring = NULL;
    pthread_mutex_destroy(&q->lock);
}

int event_queue_push(struct event_queue *q, struct event *ev)
{
    int was_empty, ok;
    pthread_mutex_lock(&q->lock);
    ok = q->tail - q->head < q->cap;
    was_empty = q->tail == q->head;
    if (ok)
        q->ring[q->tail++ & (q->cap - 1)] = ev;
    pthread_mutex_unlock(&q->lock);
    if (!ok) {
        free(ev);
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return -1;
    }
    atomic_fetch_add_explicit(&q->pushed, 1, memory_order_relaxed);
    if (was_empty && q->notify)
        q->notify(q->notify_arg);
    return 0;
}

size_t event_queue_pop_many(struct event_queue *q, struct event **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    while (n < max && q->head != q->tail)
        out[n++] = q->ring[q->head++ & (q->cap - 1)];
    pthread_mutex_unlock(&q->lock);
    return n;
}

struct event *event_new(enum event_channel ch, const char *payload, size_t len)
{
    struct event *ev = malloc(sizeof(*ev) + len + 1);
    if (!ev)
        return NULL;
    ev->channel = ch;
    ev->len = (uint32_t)len;
    memcpy(ev->payload, payload, len);
    ev->payload[len] = '\0';
    return ev;
}
