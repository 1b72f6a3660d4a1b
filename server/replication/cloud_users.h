/* cloud_users.h - who is at an address, across probes: RADIUS users in the cloud, the synchronous
 * lookup of ipuser.<addr> with its cache, and what the probe keeps of the answers (loop thread). */
#ifndef FC_CLOUD_USERS_H
#define FC_CLOUD_USERS_H

#include <stdint.h>

#include "capture/events/events.h"

struct cloud_engine;
struct cloud_users;

struct cloud_users_config {
    uint64_t host_ttl;               /* s: EXPIRE of ip.<addr>; a learnt user is kept at least this long */
    uint64_t user_grace;             /* s: a logged-out user's keys expire after it (0: 1 s) */
    /* The cloud named user for ip: the probe keeps it ttl_ms (NULL: nothing kept). */
    void (*learnt)(void *arg, const char *ip, const char *user, uint64_t ttl_ms);
    /* user left ip at logout_us (packet time): flows starting later are not his (NULL: ignored). */
    void (*departed)(void *arg, const char *ip, const char *user, uint64_t logout_us, uint64_t grace_ms);
    void *arg;
    /* Publishes a held flow.end on the probe's own channel (NULL: flow.end is never held). */
    void (*local_publish)(void *arg, const char *channel, const char *json, size_t len);
    void *local_arg;
};

/* What INFO shows. */
struct cloud_users_stats { uint64_t lookups, hits, cache_hits, skipped, flow_end_users; };

/* The user half of the replication, sending through eng. Returns it, or NULL when memory runs out. */
struct cloud_users *cloud_users_create(struct cloud_engine *eng, const struct cloud_users_config *cfg);

/* Takes host_ttl and user_grace from cfg. */
void cloud_users_reconfigure(struct cloud_users *u, const struct cloud_users_config *cfg);

/* flow.new: the client's user is looked up now, so that the probe knows it before the flow ends. */
void cloud_users_flow_new(struct cloud_users *u, const struct event *ev);

/* 1 when ev is a flow.end without a user whose client's user replication knows better than the capture
 * did when it made the event: the lookup of its flow.new is not answered yet (its publication, on the
 * probe's channel and the cloud's, waits for the answer, a few milliseconds, and carries the user then),
 * or it was answered since (published at once with the user). 0 otherwise, and for NULL. */
int cloud_users_holds(const struct cloud_users *u, const struct event *ev);
/* flow.end of the flow key with no user in the event: the cloud's flow.<key> and ip.<client> get the
 * client's user once it is known (when the flow started before that user's logout). Returns 1 when the
 * event is held (ev->held: sink_deliver asked cloud_users_holds) and published later, with the user, on the probe's channel and the
 * cloud's (the caller does not PUBLISH it), else 0. */
int cloud_users_flow_end(struct cloud_users *u, const struct event *ev, const char *key);

/* user.login (Start, or Interim-Update: "acct":"interim") or user.logout seen by this probe:
 * ipuser.<ip>, user.<name> with packet times, ip.<ip> user. */
void cloud_users_radius(struct cloud_users *u, int login, const struct event *ev);

/* A logout another probe saw (heard on the cloud's user.logout channel). */
void cloud_users_heard_logout(struct cloud_users *u, const char *ip, const char *user, uint64_t logout_us);

/* HSET key with every field of ev that skip (given a field name) does not refuse, then the pair
 * extra_name extra_val when extra_name is not NULL; nothing when no field is left. Numbers and times
 * as the event's text shows them. Also cloud.c's, for a flow's descriptive fields. */
void cloud_send_hset_event(struct cloud_engine *eng, const char *key, const struct event *ev,
                           int (*skip)(const char *name), const char *extra_name, const char *extra_val);

void cloud_users_stats(const struct cloud_users *u, struct cloud_users_stats *out);

/* Frees everything; call after cloud_engine_destroy answered the lookups still waiting. NULL is allowed. */
void cloud_users_destroy(struct cloud_users *u);

#endif
