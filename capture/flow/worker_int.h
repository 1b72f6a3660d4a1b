/* worker_int.h - what the files of a capture thread's flow pipeline share; private to capture/flow (capture thread). */
#ifndef FC_WORKER_INT_H
#define FC_WORKER_INT_H

/*
 * A worker's job is split by file, as Suricata splits its flow layer:
 *   worker.c       thread entry points and the packet path (decode, key, look up)
 *   flow_life.c    a flow's update, creation and end; detection settled at the end
 *   flow_expiry.c  the sweeps that end idle flows and expire hosts and MACs
 *   flow_account.c hosts, MACs and the VLAN/L7/port aggregates, counted per worker
 *                  and folded into the cache at each tick
 *   worker_app.c   applies what the dissectors found (name tables, host fields)
 *   worker_voip.c  the same for SIP calls, their media and SNMP agents
 *   frag.c         the IP fragment table (frag.h)
 *   flow_events.c  every event's text (flow_events.h)
 * This header does not include worker.h (whose module would then include
 * itself through it): each file includes both.
 */

#include <stdint.h>

#include "capture/cache/cache.h"
#include "capture/cache/names.h"
#include "capture/decode/decode.h"
#include "capture/flow/app.h"

struct worker;
struct worker_pend;

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_ACK = 0x10 };
/* A host's role in the flow a packet starts (none: not a new flow). */
enum { ROLE_NONE = 0, ROLE_CLIENT = 1, ROLE_SERVER = 2 };
/* flow_update's results. */
enum { UPD_OK = 0, UPD_NOT_FOUND = 1, UPD_DROPPED = 2 };

/* What one packet did to its flow, gathered under the flow shard lock. */
struct pkt_result {
    struct flow_key key;
    int c2s, is_new, l7_changed;
    uint16_t l7_old, l7_new;
    uint64_t prev_bytes, prev_pkts;  /* flow totals before this packet */
    uint64_t first_us;
    struct app_actions acts;         /* what the dissectors found, applied after unlocking */
    uint64_t name_hash[APP_ACTIONS_MAX];  /* their names' hashes (worker_prefetch_actions) */
    int nhashed;                     /* how many of acts name_hash covers */
};

/* Everything below: the worker's thread only. */

/* ---- flow_life.c ---- */

/* Updates (or with create, makes) the flow of key k (hash: its hash) for
 * packet p seen at ts, filling *r. Returns UPD_*. An expired flow found on the
 * way is unlinked and handed back in *ended (the caller ends it). */
int flow_update(struct worker *w, const struct flow_key *k, uint64_t hash, int c2s, int create,
                const struct decoded_pkt *p, uint64_t ts, struct pkt_result *r,
                struct flow **ended);
/* Why flow f, found expired, ends. */
enum flow_end_reason flow_end_reason_of(const struct cache_config *cfg, const struct flow *f);
/* Ends a flow already unlinked from its shard (the caller owns it; it is
 * freed): its aggregates and hosts, its events, the dissectors' last word. */
void flow_end(struct worker *w, struct flow *f, enum flow_end_reason reason);
/* Gives nDPI's final answer (its guess) for every flow still undetected in flow shards i with
 * i % nparts == part, as ndpiReader does at the end of a file; the flows stay in the cache. */
void flows_finish_detection(struct worker *w, int part, int nparts);

/* ---- flow_account.c ---- */

/* The worker's pending counters, zeroed (free with free()), or NULL on OOM. */
struct worker_pend *worker_pend_new(void);
/* Counts packet r (l3 length len, at ts) on its VLAN, L7 and server-port aggregates. */
void aggr_account(struct worker *w, const struct pkt_result *r, uint32_t len, uint64_t ts);
/* Moves a flow's bytes and packets from L7 aggregate from to to (its
 * protocol changed after it was counted). */
void aggr_l7_move(struct worker *w, uint16_t from, uint16_t to, uint64_t bytes, uint64_t pkts);
/* Flow f ended: one active flow less on its L7 and server-port aggregates. */
void aggr_flow_ended(struct worker *w, const struct flow *f);
/* Starts loading what host_account will touch for flow f; fills hash[0]
 * (source) and hash[1] (destination) when a lookup is needed, and pend[0] /
 * pend[1] with the worker's pending entries of the flow's hosts (or NULL). */
struct host_pend;
void hosts_prefetch(struct worker *w, const struct decoded_pkt *p, const struct flow *f,
                    int c2s, uint64_t hash[2], struct host_pend *pend[2]);
/* Counts p on the host at its source (is_src) or destination; see flow_account.c. */
void host_account(struct worker *w, const struct decoded_pkt *p, int is_src,
                  int role, uint64_t ts, struct host **ref, const struct app_actions *acts,
                  int client, uint64_t hash, struct host_pend *pend);
/* Folds the worker's pending host counts when its table is full. Caller
 * holds no cache lock. */
void hosts_fold_if_full(struct worker *w);
/* A flow that held a count on h (or NULL) ended: its client's (i 0) or server's (1) MAC, as the
 * host shows it, goes into macs (has[i] 0 when it has none). */
struct flow_end_macs;
void host_flow_ended(struct worker *w, struct host *h, struct flow_end_macs *macs, int i);
/* Counts p on its source MAC, then on its destination MAC. */
void macs_account(struct worker *w, const struct decoded_pkt *p, uint64_t ts);
/* Makes every pending host, MAC, VLAN, L7 and port counter visible in the
 * cache. Caller holds no cache lock. */
void worker_fold(struct worker *w);
/* The `mac` event of m: its counters since its previous one (at `now`, cache clock), its times and
 * its ip when that changed; m then counts as reported. Caller holds m's shard lock. */
void mac_report(struct worker *w, struct mac_entry *m, uint64_t now);
/* Reports every MAC counted on since its previous report, when this worker's previous
 * macs_report is a second (of cache time) old or all is set; nothing when no sink wants the
 * `mac` channel. */
void macs_report(struct worker *w, uint64_t now, int all);

/* ---- worker_app.c ---- */

/* Apply acts (gathered under a flow lock, applied with none held) at time ts:
 * name tables, users, and dns/http/user/alert events. The client host's
 * fields are applied by worker_host_apply_actions. hashes: what
 * worker_prefetch_actions computed for these acts, or NULL. */
void worker_apply_actions(struct worker *w, const struct app_actions *acts, uint64_t ts,
                          const uint64_t *hashes);
/* Start loading the name-table buckets worker_apply_actions will read (a
 * hint: reads only the fixed bucket arrays) and store the name hashes it
 * computed in hashes[0 .. acts->n) for worker_apply_actions. */
void worker_prefetch_actions(struct worker *w, const struct app_actions *acts, uint64_t *hashes);
/* Apply what acts teach about the flow's host h (a host's fields, or a
 * worker's pending counts for it): as the client (client), its DNS queries
 * and NXDOMAIN answers, HTTP requests and the OS its User-Agent names; as the
 * server, its handshake round trip and its HTTP and DNS answer times. Caller
 * holds the host's shard lock when h is the host's (taken while the flow's
 * lock is held, so the flow's host reference needs no second lookup). */
void worker_host_apply_actions(struct host_app *h, const struct app_actions *acts, int client, uint64_t ts);
/* Adds from's counts to to; from's os goes in when it is no older (the
 * newest wins, a tie going to from, the later). */
void worker_host_app_add(struct host_app *to, const struct host_app *from);
/* Runs fn(e, a, arg) on the live name entry of kind k (made when missing
 * and create is set) under its shard lock, after setting its last use to ts.
 * Returns 1 when fn ran, 0 when there is no such entry (or no room). */
typedef void (*worker_name_fn)(struct name_entry *e, const struct app_action *a, void *arg);
int worker_name_update(struct worker *w, enum name_kind k, const char *name, uint64_t ts, int create,
                       worker_name_fn fn, const struct app_action *a, void *arg);
/* A new flow (r) touching a watchlisted address gets one alert action. */
void watch_check(struct worker *w, struct pkt_result *r);

/* ---- worker_voip.c ---- */

/* Applies an ACT_SIP, ACT_RTP or ACT_SNMP of acts at ts: sip.<Call-ID>, the
 * media index, snmp.<agent>, and the sip / snmp events. */
void worker_voip_apply(struct worker *w, const struct app_actions *acts, const struct app_action *a, uint64_t ts);

#endif
