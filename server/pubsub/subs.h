/* subs.h - the subscription index of pub/sub: channels and patterns by name, each client's
 * subscriptions, and the patterns that match each probe channel (loop thread). */
#ifndef FC_SUBS_H
#define FC_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "capture/events/events.h"

struct client;

enum subs_kind { SUBS_CHANNEL = 0, SUBS_PATTERN = 1, SUBS_KINDS };

/* Chaining of the index's hash tables; first member of what they hold. */
struct subs_hnode {
    struct subs_hnode *next;
    uint64_t hash;
};

/* A growable array of pointers (removal moves the last element into the hole). */
struct subs_vec {
    void **v;
    size_t n, cap;
};

/* One subscription: a client to one channel or pattern. */
struct subs_link {
    struct subs_hnode h;             /* in the (client, name) table */
    struct subs_name *nm;
    struct client *c;
    uint64_t seq;                    /* order of subscription (replies of an UNSUBSCRIBE of all) */
    size_t in_name, in_client;       /* positions in nm->subs and in the client's list */
};

/* A channel or pattern that has at least one subscriber (freed with its last one). */
struct subs_name {
    struct subs_hnode h;             /* in the names table */
    enum subs_kind kind;
    size_t len;
    struct subs_vec subs;            /* its struct subs_link *, in no particular order */
    size_t in_all;                   /* position in the kind's list of names */
    uint32_t probe_mask;             /* probe channels it matches (bit per enum event_channel) */
    size_t in_probe[EV_CHANNELS];    /* patterns: position in each matching probe channel's list */
    char name[];                     /* len bytes + NUL */
};

struct subs;

/* A new, empty index. NULL when memory runs out. Loop thread. */
struct subs *subs_new(void);

/* Frees the index and every subscription in it (NULL is fine). Loop thread. */
void subs_free(struct subs *x);

/* Subscribes c to name. Returns 1 when added, 0 when c already had it, -1 when memory ran out
 * (nothing changed). Costs a hash lookup; a new pattern is matched once against every probe
 * channel. Loop thread. */
int subs_add(struct subs *x, enum subs_kind k, struct client *c, const char *name, size_t len);

/* Unsubscribes c from name. Returns 1 when it was subscribed, else 0. Loop thread. */
int subs_del(struct subs *x, enum subs_kind k, struct client *c, const char *name, size_t len);

/* Unsubscribes c from every name of kind k, in the order c subscribed, calling each (when not
 * NULL) with the name before it goes. Returns how many there were. Loop thread. */
size_t subs_del_client(struct subs *x, enum subs_kind k, struct client *c,
                       void (*each)(void *arg, const char *name, size_t len), void *arg);

/* The channel or pattern name, or NULL when nobody subscribes to it. Valid until the index
 * changes. Loop thread. */
const struct subs_name *subs_find(const struct subs *x, enum subs_kind k, const char *name, size_t len);

/* Every name of kind k (struct subs_name *). Valid until the index changes. Loop thread. */
const struct subs_vec *subs_all(const struct subs *x, enum subs_kind k);

/* The channel named like probe channel ch (NULL: no subscriber), and the patterns that match
 * it (struct subs_name *). Valid until the index changes. Loop thread. */
const struct subs_name *subs_probe_channel(const struct subs *x, enum event_channel ch);
const struct subs_vec *subs_probe_patterns(const struct subs *x, enum event_channel ch);

/* Subscriptions of kind k in all (a name with two subscribers counts twice). Loop thread. */
size_t subs_count(const struct subs *x, enum subs_kind k);

/* Probe channels somebody listens to, directly or through a pattern (bit per enum
 * event_channel). Loop thread. */
uint32_t subs_probe_wanted(const struct subs *x);

#endif
