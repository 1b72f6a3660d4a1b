/* cloud_voip.h - replication of SIP calls and SNMP agents to the cloud nodes (loop thread). */
#ifndef FC_CLOUD_VOIP_H
#define FC_CLOUD_VOIP_H

#include <stdint.h>

#include "capture/events/events.h"

struct cloud_engine;

/* Who keeps what the cloud says of a media endpoint (the probe's media index). */
struct cloud_voip_lookup {
    void (*learnt)(void *arg, const char *ep, const char *call_id);
    void *arg;
};

/*
 * Each maps one probe event onto the commands that keep the cloud's sip.<Call-ID> and snmp.<agent> hashes
 * with the probe's field names (KEYSPACE.md), queued on eng; ttl (seconds, 0: none) is the EXPIRE of the
 * keys written. A malformed event (a field missing) writes nothing. Loop thread.
 */

/* sip: HSET of the call's descriptive fields (its rtp.* come from its flows' flow.end, summed), and for
 * each of its media endpoints SET sipmedia.<ip>:<port> to the Call-ID (EX ttl), so that a probe that sees
 * only the media finds the call. */
void cloud_voip_sip(struct cloud_engine *eng, const struct event *ev, uint64_t ttl);
/* flow.end of an RTP flow linked to a call (sip.call-id): HINCRBY of its rtp.pkts and rtp.lost onto the
 * call, HSET of its jitter, so a call whose media another probe saw carries that probe's figures too. */
void cloud_voip_flow_end(struct cloud_engine *eng, const struct event *ev, uint64_t ttl);
/* snmp: one transaction's HINCRBYs on snmp.<agent> (requests responses traps errors timeouts pdu.<type>,
 * rtt.us.sum rtt.count rtt.le.<bound>). */
void cloud_voip_snmp(struct cloud_engine *eng, const struct event *ev, uint64_t ttl);

/* flow.new of a UDP flow between two ports >= 1024 (RTP's): GET sipmedia.<ep> of both ends on the
 * synchronous channel; an answer goes to lk->learnt. Nothing when lk->learnt is NULL. */
void cloud_voip_flow_new(struct cloud_engine *eng, const struct cloud_voip_lookup *lk, const struct event *ev);

#endif
