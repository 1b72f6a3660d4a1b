/* cloud.h - replication of probe events to real Redis "cloud" nodes, an event sink (loop thread). */
#ifndef FC_CLOUD_H
#define FC_CLOUD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "capture/events/events.h"
#include "resp/resp_writer.h"

struct cloud;

/* The probe's own figures the heartbeat reports. */
struct cloud_probe_stats {
    uint64_t events_published;
    uint64_t clients;                /* RESP clients connected */
};

/* What replication needs to know; strings are read during cloud_create only, except version,
 * which must outlive the cloud. */
struct cloud_config {
    const char *const *nodes;        /* seed nodes, "host:port" each */
    int nnodes;
    const char *user, *password;     /* AUTH [user] password; password NULL: no AUTH */
    uint64_t flush_ms;               /* a pipelined batch at least this often */
    uint64_t queue_max;              /* bytes queued at most; past it the oldest commands are dropped */
    uint64_t flow_ttl;               /* s: EXPIRE of flow.<key> (0: none) */
    uint64_t host_ttl;               /* s: EXPIRE of ip.<addr>, dns., http. and aggregate keys (0: none) */
    uint64_t user_grace;             /* s: a logged-out user's keys expire after it (0: 1 s) */
    uint64_t dns_window;             /* s: a DNS query or answer seen alone waits this long in the cloud for
                                        the other side, seen by another probe (0: 1 s) */
    const char *probe_id;            /* the heartbeat's key is probe.<id> (NULL: probe.probe) */
    const char *version;             /* the heartbeat's version field */
    /* Fills the probe's figures for the heartbeat (every second). */
    void (*stats)(void *arg, struct cloud_probe_stats *out);
    void *stats_arg;
    /* The cloud said who is at ip (GET ipuser.<ip>): the probe keeps the mapping ttl_ms so that its
     * own flows, flow.end events and ip.<addr> show the user. NULL: nothing kept. Loop thread. */
    void (*user_learnt)(void *arg, const char *ip, const char *user, uint64_t ttl_ms);
    /* user left ip at logout_us (packet time; another probe saw it, or the cloud's user.<name> says
     * so): the probe's flows that start later are not his; the mapping ends grace_ms later. NULL: ignored. */
    void (*user_departed)(void *arg, const char *ip, const char *user, uint64_t logout_us, uint64_t grace_ms);
    void *users_arg;
    /* The cloud's watchlist set, one member a line: the probe makes its list that (polled every
     * 500 ms). NULL: the watchlist is not shared. Loop thread. */
    void (*watch_apply)(void *arg, const char *members, size_t len);
    void *watch_arg;
    /* The cloud said which call media endpoint ep ("ip:port") belongs to (sipmedia.<ep>, looked up for
     * the probe's new UDP flows between high ports). NULL: not looked up. Loop thread. */
    void (*media_learnt)(void *arg, const char *ep, const char *call_id);
    void *media_arg;
    /* Publishes json on the probe's own channel: an event replication held (cloud_holds): the cloud's
     * verdict of a DNS query this probe saw alone, a flow.end whose client's user was being looked up.
     * NULL: nothing is held. Loop thread. */
    void (*local_publish)(void *arg, const char *channel, const char *json, size_t len);
    void *local_arg;
};

/* Creates the replication on loop and starts connecting (asynchronously: an unreachable node is
 * not an error here) and beating. Returns it, or NULL with a message in err (a node that is not
 * host:port, too many nodes, out of memory). Loop thread. */
struct cloud *cloud_create(uv_loop_t *loop, const struct cloud_config *cfg, char *err, size_t errlen);

/* The event channels replication consumes (bit per enum event_channel); 0 for NULL. */
uint32_t cloud_wanted(const struct cloud *cl);

/* One probe event: queues the cloud commands it implies; never blocks. NULL is allowed. Loop thread. */
void cloud_on_event(struct cloud *cl, const struct event *ev);

/* 1 when ev must not go to the probe's own subscribers now: replication publishes it there later (a DNS
 * query seen alone, whose verdict the cloud gives, see cloud_dns.h; a flow.end without a user whose
 * client's user is being looked up in the cloud, see cloud_users.h). 0 for NULL. Loop thread. */
int cloud_holds(const struct cloud *cl, const struct event *ev);

/* SADD (add) or SREM of member on this probe's watchlist: the cloud's set gets it too. NULL is
 * allowed. Loop thread. */
void cloud_watch_share(struct cloud *cl, int add, const char *member);

/* INFO "# Cloud" lines (the caller wrote the header); "cloud_enabled:0" for NULL. Loop thread. */
void cloud_info(struct cloud *cl, struct sbuf *b);

/* A last heartbeat, then flush what is queued (at most 4 s) and call done(arg) once (at once for
 * NULL or when already shut down). Loop thread. */
void cloud_shutdown(struct cloud *cl, void (*done)(void *arg), void *arg);

/* Takes what may change at run time from cfg: flush_ms, flow_ttl, host_ttl, user_grace, dns_window (the rest is
 * ignored). NULL is allowed. Loop thread. */
void cloud_reconfigure(struct cloud *cl, const struct cloud_config *cfg);

/* Free everything, after the loop stopped. NULL is allowed. */
void cloud_destroy(struct cloud *cl);

#endif
