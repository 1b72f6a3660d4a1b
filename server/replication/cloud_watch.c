/* cloud_watch.c - the shared watchlist: edits to the cloud's `watchlist` set, its members polled back (loop thread).
 *
 * Every poll_ms the probe sends SMEMBERS watchlist on the synchronous connection of the node that holds
 * the key (one key: one hash slot, also in a Redis Cluster) and makes its own list the answer, so an
 * SADD / SREM made on any probe or straight on the cloud reaches every probe within poll_ms plus a round
 * trip, and a probe that starts later loads the list at its first poll. Edits made on this probe travel
 * on the same connection ahead of the next poll; an answer to a poll sent before the latest edit was
 * acknowledged is dropped, so a poll never undoes an edit on its way.
 */
#include "server/replication/cloud_watch.h"

#include <stdlib.h>
#include <string.h>

#include "server/replication/cloud_engine.h"

static const char watch_key[] = "watchlist";

enum { EDIT_TRIES = 20 };                /* an edit the cloud keeps refusing is given up after this */

struct watch_edit {
    struct watch_edit *next;
    struct cloud_watch *w;
    int add, tries;
    char member[];
};

struct cloud_watch {
    struct cloud_engine *eng;
    uv_timer_t timer;
    cloud_watch_apply_cb apply;
    void *arg;
    struct watch_edit *pending, **tail;  /* edits not yet sent */
    uint64_t gen;                        /* bumped by every edit made here */
    int inflight;                        /* edits sent, not yet acknowledged */
    int polling;                         /* a poll is in flight */
    uint64_t polls, edits;
};

struct watch_poll { struct cloud_watch *w; uint64_t gen; };

static void edit_push(struct cloud_watch *w, struct watch_edit *ed)
{
    ed->next = NULL;
    *w->tail = ed;
    w->tail = &ed->next;
}

/* The cloud acknowledged an edit (status 0), or it was lost (sent again at the next tick). */
static void edit_answer_cb(void *arg, const char *val, size_t len, int status)
{
    struct watch_edit *ed = arg;
    struct cloud_watch *w = ed->w;
    (void)val;
    (void)len;
    w->inflight--;
    if (status != 0 && ++ed->tries < EDIT_TRIES) {
        w->gen++;
        edit_push(w, ed);
        return;
    }
    w->edits += status == 0;
    free(ed);
}

/* Sends the pending edits; returns 0 when none is left unsent. */
static int edits_flush(struct cloud_watch *w)
{
    while (w->pending) {
        struct watch_edit *ed = w->pending;
        const char *argv[] = { ed->add ? "SADD" : "SREM", watch_key, ed->member };
        w->pending = ed->next;
        if (!w->pending)
            w->tail = &w->pending;
        w->inflight++;
        if (cloud_engine_ask(w->eng, 3, argv, edit_answer_cb, ed) != 0) {
            w->inflight--;
            ed->next = w->pending;          /* back at the head: the connection is not up */
            w->pending = ed;
            if (!ed->next)
                w->tail = &ed->next;
            return -1;
        }
    }
    return 0;
}

static void poll_answer_cb(void *arg, const char *val, size_t len, int status)
{
    struct watch_poll *p = arg;
    struct cloud_watch *w = p->w;
    w->polling = 0;
    if (status == 0 && p->gen == w->gen && !w->pending && !w->inflight && w->apply) {
        w->polls++;
        w->apply(w->arg, val ? val : "", val ? len : 0);
    }
    free(p);
}

static void watch_tick_cb(uv_timer_t *t)
{
    struct cloud_watch *w = t->data;
    if (edits_flush(w) != 0 || w->polling)
        return;
    struct watch_poll *p = malloc(sizeof(*p));
    if (!p)
        return;
    p->w = w;
    p->gen = w->gen;
    const char *argv[] = { "SMEMBERS", watch_key };
    w->polling = 1;
    if (cloud_engine_ask(w->eng, 2, argv, poll_answer_cb, p) != 0) {
        w->polling = 0;
        free(p);
    }
}

struct cloud_watch *cloud_watch_create(uv_loop_t *loop, struct cloud_engine *eng, uint64_t poll_ms,
                                       cloud_watch_apply_cb apply, void *arg)
{
    struct cloud_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->eng = eng;
    w->apply = apply;
    w->arg = arg;
    w->tail = &w->pending;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, watch_tick_cb, poll_ms, poll_ms);
    return w;
}

void cloud_watch_edit(struct cloud_watch *w, int add, const char *member)
{
    size_t n = strlen(member);
    struct watch_edit *ed = w ? malloc(sizeof(*ed) + n + 1) : NULL;
    if (!ed)
        return;
    ed->w = w;
    ed->add = add;
    ed->tries = 0;
    memcpy(ed->member, member, n + 1);
    w->gen++;
    edit_push(w, ed);
    edits_flush(w);
}

void cloud_watch_stats(const struct cloud_watch *w, uint64_t *polls, uint64_t *edits)
{
    *polls = w ? w->polls : 0;
    *edits = w ? w->edits : 0;
}

void cloud_watch_stop(struct cloud_watch *w)
{
    if (!w)
        return;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, NULL);
}

void cloud_watch_destroy(struct cloud_watch *w)
{
    if (!w)
        return;
    while (w->pending) {
        struct watch_edit *ed = w->pending;
        w->pending = ed->next;
        free(ed);
    }
    free(w);
}
