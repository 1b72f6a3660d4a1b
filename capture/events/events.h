/* events.h - bounded hand-off of events from capture threads to the loop thread. */
#ifndef FC_EVENTS_H
#define FC_EVENTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Channels the probe publishes (KEYSPACE.md). */
enum event_channel {
    EV_FLOW_NEW = 0,
    EV_FLOW_END,
    EV_HOST_NEW,
    EV_DNS,
    EV_HTTP,
    EV_USER_LOGIN,
    EV_USER_LOGOUT,
    EV_ALERT_WATCHLIST,
    EV_KEY_EXPIRED,      /* __keyevent@0__:expired */
    EV_CHANNELS
};

/* Channel name of an event kind ("flow.new", ...). */
const char *event_channel_name(enum event_channel ch);

/* One event: a channel and a one-line payload, in one allocation. */
struct event {
    enum event_channel channel;
    uint32_t len;
    char payload[];      /* len bytes, NUL-terminated */
};

/* Which channels somebody listens to. Written by the loop thread, read by
 * capture threads (relaxed): a channel nobody wants costs one load. */
extern _Atomic uint32_t event_wanted_mask;

static inline int event_wanted(enum event_channel ch)
{
    return (atomic_load_explicit(&event_wanted_mask, memory_order_relaxed) >> ch) & 1u;
}

/* A bounded single-producer queue (one per capture thread), drained by the
 * loop thread. The mutex is held only to move a pointer. */
struct event_queue {
    pthread_mutex_t lock;
    struct event **ring;
    uint32_t cap, head, tail;        /* head: next to pop; tail: next free */
    _Atomic uint64_t pushed, dropped;
    void (*notify)(void *arg);       /* wakes the consumer; called outside the lock */
    void *notify_arg;
};

/* Returns 0, or -1 when memory runs out. cap is rounded up to a power of 2. */
int event_queue_init(struct event_queue *q, uint32_t cap);
void event_queue_destroy(struct event_queue *q);

/* Hands ev over to the queue (ownership moves). When the queue is full the
 * event is freed and counted in `dropped`; returns -1 then, else 0.
 * Producer thread only. */
int event_queue_push(struct event_queue *q, struct event *ev);

/* Moves up to max events into out (ownership moves to the caller).
 * Returns how many. Consumer thread only. */
size_t event_queue_pop_many(struct event_queue *q, struct event **out, size_t max);

/* Allocate an event holding a copy of payload (len bytes). NULL on OOM. */
struct event *event_new(enum event_channel ch, const char *payload, size_t len);

#endif
