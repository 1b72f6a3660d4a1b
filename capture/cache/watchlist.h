/* watchlist.h - IPs and CIDRs to alert on: matched by capture threads, edited by the loop thread. */
#ifndef FC_WATCHLIST_H
#define FC_WATCHLIST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define WATCH_TEXT_MAX 64

struct watch_entry {
    uint8_t ver, plen;               /* 4/6, prefix length */
    uint8_t addr[16];                /* masked to plen */
    char text[WATCH_TEXT_MAX];       /* canonical text: "10.0.0.7", "10.1.0.0/16", "2001:db8::/32" */
};

/* Readers (capture threads) take the read lock for one match; the loop
 * thread takes the write lock to change the list. */
struct watchlist {
    pthread_rwlock_t lock;
    struct watch_entry *v;
    size_t n, cap;
    _Atomic size_t nlive;            /* n as of the last change, read without the lock */
    char *path;                      /* file it is kept in, NULL = none */
    int dirfd;                       /* its directory, opened by watchlist_init; -1 = not opened */
    const char *name;                /* the file relative to dirfd (path itself when dirfd is -1) */
};

/* Empty list kept in path (may be NULL). The file's directory is opened
 * now, so that loading and saving go on working once `user` has dropped
 * root, whatever the directories above it allow. Returns 0 or -1 (OOM). */
int watchlist_init(struct watchlist *wl, const char *path);

/* Can this process (its effective user, now) save the list: create and
 * rename files in the file's directory? Returns 1 (or with no file), or 0
 * with why filled. Loop thread. */
int watchlist_can_save(const struct watchlist *wl, char *why, size_t whylen);
void watchlist_destroy(struct watchlist *wl);

/* Parse "a.b.c.d", "a.b.c.d/n", IPv6 and IPv6/n into e (canonical text, host
 * bits cleared). Returns 0, or -1 when it is not an address or CIDR. Pure. */
int watch_entry_parse(const char *s, size_t len, struct watch_entry *e);

/* (Re)load the file: one entry per line, '#' comments. A bad line fails the
 * whole load with "file:line: message" in err and the list unchanged.
 * A missing file is an empty list. Loop thread. */
int watchlist_load(struct watchlist *wl, char *err, size_t errlen);

/* Keep the list in another file (path NULL or "": none) and load it: on success the entries are
 * the new file's (a missing file is an empty list) and the old file is left alone; on error (err
 * says why: a bad line, an unreadable file) nothing changed. Loop thread. */
int watchlist_repath(struct watchlist *wl, const char *path, char *err, size_t errlen);

/* Add / remove one entry and write the file back atomically (a new file made
 * with O_EXCL|O_NOFOLLOW beside it, fsync, rename). A watchlist path that is a
 * symbolic link is refused (err says so), never written through or replaced.
 * Return 1 when the list changed, 0 when not, -1 with err on a bad entry or
 * a failed write (the list is then unchanged). Loop thread. */
int watchlist_add(struct watchlist *wl, const char *s, size_t len, char *err, size_t errlen);
int watchlist_remove(struct watchlist *wl, const char *s, size_t len, char *err, size_t errlen);

/* Make the list the members of text (len bytes, one per line: the cloud's watchlist set, read with
 * SMEMBERS), written back once; a member that is not an address or CIDR is skipped. Returns how many
 * entries came or went (0: the list was already that, nothing written), or -1 with err (out of
 * memory, a failed write; the list is then unchanged). Loop thread. */
int watchlist_replace(struct watchlist *wl, const char *text, size_t len, char *err, size_t errlen);

/* Does addr fall in a listed prefix? Copies the entry's text into match.
 * Returns 1 or 0. Any thread (read lock). */
int watchlist_match(struct watchlist *wl, uint8_t ver, const uint8_t *addr, char match[WATCH_TEXT_MAX]);

/* Calls fn for each entry text (read lock held: fn must not call back). */
void watchlist_each(struct watchlist *wl, void (*fn)(void *arg, const char *text), void *arg);
size_t watchlist_size(struct watchlist *wl);

#endif
