/* cloud_dns.h - DNS transactions whose query and answer different probes saw, matched in the cloud (loop thread). */
#ifndef FC_CLOUD_DNS_H
#define FC_CLOUD_DNS_H

#include <stdint.h>
#include <uv.h>

#include "capture/events/events.h"
#include "resp/resp_writer.h"
#include "server/replication/cloud_engine.h"

/*
 * A probe that saw a DNS query without its answer reports a `dns` event with rcode TIMEOUT (and the
 * query's time, query.ts); one that saw an answer without its query reports the answer without rtt.us.
 * Each such one-sided sighting becomes one call of a server-side function on the cloud (FCALL
 * flowcached_dns_match2 on the node of dns.<qname>, loaded by the engine with the probe's library): it counts the sighting on dns.<qname> (a query: queries, qtype.<T>; an answer: responses,
 * rcode.<R>, nxdomain) and looks for the other side in a short-lived key
 * dnstx.<client>.<server>.<txid>.{dns.<qname>} (the hash tag puts it in dns.<qname>'s slot). Found: one
 * transaction; its response time (answer's packet time - query's) is added to dns.<qname> rtt.*, the key
 * is deleted and the merged `dns` event is published. Not found: the sighting waits in the key (the
 * window, plus a margin). After the window the probe that wrote it sends a verdict: if it still waits, it
 * is deleted and published as it was (a TIMEOUT, or an answer nobody asked on a probe). A probe that
 * stops before its verdicts are due leaves them undecided (counted; the sighting's counters are in).
 *
 * The probe's own `dns` channel: a query seen alone is held from it (cloud_dns_holds) until its verdict,
 * which the probe asks on the synchronous connection: the function answers the merged event when another
 * probe saw the answer (kept for it in the waiting key as m.<probe>.<query time>), else the TIMEOUT it
 * published, and that goes out on the probe's channel. No answer (the cloud unreachable, the key gone):
 * the verdict goes again through the data connection and the probe's own TIMEOUT out ("unverified").
 */

struct cloud_dns;

/* The Lua of flowcached_dns_match2, for the probe's function library (after its "#!lua name=" line). */
extern const char cloud_dns_library[];

/* A matcher sending through eng (borrowed; it must outlive the matcher), publishing as probe_id, whose
 * sightings wait window_s seconds (0 counts as 1). local(local_arg, json, len) publishes a held query's
 * verdict on the probe's own `dns` channel (channel "dns") (NULL: nothing is held). Returns it, or NULL when memory runs
 * out. Loop thread. */
struct cloud_dns *cloud_dns_create(uv_loop_t *loop, struct cloud_engine *eng, const char *probe_id,
                                   uint64_t window_s,
                                   void (*local)(void *arg, const char *channel, const char *json, size_t len),
                                   void *local_arg);

/* 1 when ev is a query seen alone whose publication on the probe's own channel waits for the cloud's
 * verdict (cloud_dns_on_event will take it and publish it through local), else 0. NULL d: 0. Loop thread. */
int cloud_dns_holds(const struct cloud_dns *d, const struct event *ev);

/* One `dns` event. Returns 1 when it was one-sided and is now the matcher's (counted on dns.<qname>
 * through the function, published when matched or at its verdict: the caller neither counts nor publishes
 * it), 0 when the caller maps it (a transaction this probe saw whole, or one the cloud cannot match: no
 * text, no query time, a name with a brace). A query with ev->held set (sink_deliver asked
 * cloud_dns_holds) is published on the probe's channel at its verdict. host_ttl: EXPIRE of dns.<qname>
 * (0: none). Loop thread. */
int cloud_dns_on_event(struct cloud_dns *d, const struct event *ev, uint64_t host_ttl);

/* Sightings from now on wait window_s seconds. */
void cloud_dns_set_window(struct cloud_dns *d, uint64_t window_s);

/* INFO lines: cloud_dns_sightings (sent to the cloud), cloud_dns_verdicts_waiting (queued or asked),
 * cloud_dns_undecided, and of the held queries cloud_dns_local_merged (answered on another probe),
 * cloud_dns_local_timeouts (unanswered, as the cloud judged) and cloud_dns_local_unverified (published as
 * seen here, the cloud not having judged them). */
void cloud_dns_info(const struct cloud_dns *d, struct sbuf *b);

/* Stops the verdict timer (verdicts not yet due stay undecided); the loop closes it. Loop thread. */
void cloud_dns_shutdown(struct cloud_dns *d);

/* Frees d, after the loop closed its timer (or it was never started). NULL is allowed. */
void cloud_dns_destroy(struct cloud_dns *d);

#endif
