/* cloud_watch.h - the shared watchlist: the cloud's `watchlist` set is the one list; edits made on this
 * probe go to it, and its members come back to every probe (loop thread). */
#ifndef FC_CLOUD_WATCH_H
#define FC_CLOUD_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cloud_engine;
struct cloud_watch;

/* The cloud's members (one per line, len bytes, NUL-terminated): the probe makes its list that. */
typedef void (*cloud_watch_apply_cb)(void *arg, const char *members, size_t len);

/* Starts polling the cloud's set every poll_ms through eng's synchronous connection. Returns it, or
 * NULL when memory runs out. Loop thread. */
struct cloud_watch *cloud_watch_create(uv_loop_t *loop, struct cloud_engine *eng, uint64_t poll_ms,
                                       cloud_watch_apply_cb apply, void *arg);

/* An SADD (add) or SREM of member made on this probe: sent to the cloud (kept and sent again until the
 * cloud acknowledges it); the cloud's answers older than it are not applied. Loop thread. */
void cloud_watch_edit(struct cloud_watch *w, int add, const char *member);

/* polls answered and edits acknowledged (INFO). */
void cloud_watch_stats(const struct cloud_watch *w, uint64_t *polls, uint64_t *edits);

/* Stops the timer (closed by the loop); the structure stays for cloud_watch_destroy. */
void cloud_watch_stop(struct cloud_watch *w);

/* Frees it after the loop closed its timer and cloud_engine_destroy answered what was asked. */
void cloud_watch_destroy(struct cloud_watch *w);

#endif
