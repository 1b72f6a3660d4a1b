/* worker_voip.c - applies SIP, RTP and SNMP actions: sip.<Call-ID> state, the media index, call quality, snmp.<agent>, their events (capture thread). */
#include "capture/flow/worker.h"
#include "capture/flow/worker_int.h"

#include <string.h>

#include "capture/flow/app_glue.h"
#include "capture/flow/flow_events.h"
#include "dissectors/sip.h"
#include "dissectors/snmp.h"

enum { SIP_RINGING_MIN = 180, SIP_RINGING_MAX = 189, SIP_FINAL_FAIL = 300, SIP_UNAUTHORIZED = 401,
       SIP_PROXY_AUTH = 407, SIP_REQUEST_TERMINATED = 487 };

/* ---- SIP calls ---- */

struct sip_apply {
    const struct app_actions *acts;
    uint64_t ts;
    int changed;                     /* the call's state changed: publish it */
    int media_party;                 /* the party whose SDP endpoint is new, or -1 */
    struct sip_call copy;            /* the call after the change */
};

/* Was the message sent by the address ip (the flow side it came from)? */
static const uint8_t *sip_sender(const struct app_actions *acts, const struct app_sip *m)
{
    return m->c2s ? acts->key.cli : acts->key.srv;
}

static void sip_call_start(struct sip_call *call, const struct app_actions *acts, const struct app_action *a,
                           uint64_t ts)
{
    const struct flow_key *k = &acts->key;
    app_str_copy(call->from, sizeof(call->from), a->url);
    app_str_copy(call->to, sizeof(call->to), a->ua);
    call->ipver = k->ipver;
    memcpy(call->caller_ip, a->u.sip.c2s ? k->cli : k->srv, 16);
    memcpy(call->callee_ip, a->u.sip.c2s ? k->srv : k->cli, 16);
    call->invite_us = ts;
    call->state = SIPC_TRYING;
}

/* The party that sent the message: by its address when that tells the two
 * apart, else the caller sends requests and the callee answers them. */
static int sip_party_of(const struct sip_call *call, const struct app_actions *acts, const struct app_sip *m)
{
    const uint8_t *src = sip_sender(acts, m);
    int is_caller = memcmp(src, call->caller_ip, 16) == 0, is_callee = memcmp(src, call->callee_ip, 16) == 0;
    if (is_caller != is_callee)
        return is_caller ? SIPC_CALLER : SIPC_CALLEE;
    return m->is_request ? SIPC_CALLER : SIPC_CALLEE;
}

static int sip_call_open(const struct sip_call *call)
{
    return call->state == SIPC_TRYING || call->state == SIPC_RINGING;
}

/* A request's or an INVITE response's effect on the call's state. */
static void sip_call_step(struct sip_call *call, const struct app_action *a, uint64_t ts)
{
    const struct app_sip *m = &a->u.sip;
    if (m->is_request) {
        if (m->method == SIP_M_INVITE && call->state == SIPC_FAILED &&
            (call->status == SIP_UNAUTHORIZED || call->status == SIP_PROXY_AUTH)) {
            call->state = SIPC_TRYING;   /* the INVITE again, with credentials: the call starts now */
            call->status = 0;
            call->end_us = 0;
            call->invite_us = ts;
        } else if (m->method == SIP_M_CANCEL && sip_call_open(call)) {
            call->state = SIPC_CANCELLED;
            call->end_us = ts;
        } else if (m->method == SIP_M_BYE && (sip_call_open(call) || call->state == SIPC_ANSWERED)) {
            call->state = SIPC_ENDED;
            call->end_us = ts;
        }
        return;
    }
    if (m->method != SIP_M_INVITE || a->status < SIP_RINGING_MIN)
        return;
    if (a->status <= SIP_RINGING_MAX) {
        if (call->state == SIPC_TRYING)
            call->state = SIPC_RINGING;
    } else if (a->status < SIP_FINAL_FAIL) {
        if (sip_call_open(call)) {
            call->state = SIPC_ANSWERED;
            call->answer_us = ts;
            call->status = a->status;
        }
    } else if (sip_call_open(call)) {
        call->state = a->status == SIP_REQUEST_TERMINATED ? SIPC_CANCELLED : SIPC_FAILED;
        call->end_us = ts;
        call->status = a->status;
    } else if (call->state == SIPC_CANCELLED && !call->status) {
        call->status = a->status;    /* the 487 that follows a CANCEL */
    }
}

/* worker_name_fn on sip.<Call-ID>: the message a under the entry's lock. */
static void sip_call_apply(struct name_entry *e, const struct app_action *a, void *arg)
{
    struct sip_apply *x = arg;
    struct sip_call *call = &e->u.sip;
    const struct app_sip *m = &a->u.sip;
    uint8_t before = call->state;
    if (call->state == SIPC_NONE) {
        if (!m->is_request || m->method != SIP_M_INVITE)
            return;
        sip_call_start(call, x->acts, a, x->ts);
    }
    int party = sip_party_of(call, x->acts, m);
    sip_call_step(call, a, x->ts);
    const struct app_media *md = &m->media;
    struct sip_media_ep *ep = &call->media[party];
    if (md->ver && (ep->ver != md->ver || ep->port != md->port || memcmp(ep->ip, md->ip, 16) != 0)) {
        ep->ver = md->ver;
        ep->port = md->port;
        memcpy(ep->ip, md->ip, 16);
        x->media_party = party;
    }
    if (m->media.ver && a->u.sip.codec[0])   /* the answer's first codec is the one in use */
        app_str_copy(call->codec, sizeof(call->codec), a->u.sip.codec);
    x->changed = call->state != before;
    x->copy = *call;
}

struct media_set {
    const char *call_id;
    uint8_t party;
    const struct sip_media_ep *peer;
    const struct app_media *sdp;     /* the SDP that named it (its codec), or NULL */
};

/* worker_name_fn on the media index entry of one SDP endpoint. */
static void media_ref_apply(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)a;
    const struct media_set *x = arg;
    struct sip_media_ref *r = &e->u.media;
    if (x->sdp || strcmp(r->call_id, x->call_id) != 0) {
        r->pt = x->sdp ? x->sdp->pt : 0;
        r->clock = x->sdp ? x->sdp->clock : 0;
    }
    r->party = x->party;
    r->peer = *x->peer;
    app_str_copy(r->call_id, sizeof(r->call_id), x->call_id);
}

/* The media index learns a new SDP endpoint of call (its RTP and RTCP ports),
 * and each party's endpoint learns its peer's: an RTP flow whose two ends are
 * the call's is matched to it even where two calls share one endpoint. */
static void media_index_add(struct worker *w, const struct app_action *a, const struct sip_call *call, int party,
                            uint64_t ts)
{
    const struct app_media *md = &a->u.sip.media;
    char ep[ADDR_STR_MAX + 8];
    for (int p = 0; p < 2; p++) {
        const struct sip_media_ep *m = &call->media[p];
        struct media_set x = { a->name, (uint8_t)p, &call->media[1 - p], p == party ? md : NULL };
        if (!m->ver)
            continue;
        voip_endpoint_text(m->ver, m->ip, m->port, ep);
        worker_name_update(w, NK_SIPMEDIA, ep, ts, 1, media_ref_apply, a, &x);
        if (p == party && md->rtcp_port && md->rtcp_port != md->port) {
            voip_endpoint_text(md->ver, md->ip, md->rtcp_port, ep);
            worker_name_update(w, NK_SIPMEDIA, ep, ts, 1, media_ref_apply, a, &x);
        }
    }
}

static void sip_apply(struct worker *w, const struct app_actions *acts, const struct app_action *a, uint64_t ts)
{
    struct sip_apply x = { acts, ts, 0, -1, { 0 } };
    int create = a->u.sip.is_request && a->u.sip.method == SIP_M_INVITE;
    if (!worker_name_update(w, NK_SIP, a->name, ts, create, sip_call_apply, a, &x))
        return;
    if (x.media_party >= 0)
        media_index_add(w, a, &x.copy, x.media_party, ts);
    if (x.changed)
        flow_events_sip(&w->events, a->name, &x.copy, ts);
}

static uint64_t add_delta(uint64_t v, int64_t d)
{
    return d < 0 && (uint64_t)-d > v ? 0 : v + (uint64_t)d;
}

/* worker_name_fn on sip.<Call-ID>: one RTP packet's change to its sender's sums. */
static void call_rtp_apply(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)arg;
    if (e->u.sip.state == SIPC_NONE)
        return;
    struct sip_rtp_sum *r = &e->u.sip.rtp[a->u.rtp.party ? SIPC_CALLEE : SIPC_CALLER];
    r->pkts = add_delta(r->pkts, a->u.rtp.dpkts);
    r->lost = add_delta(r->lost, a->u.rtp.dlost);
    r->jitter_us = a->u.rtp.jitter_us;
}

/* ---- SNMP agents ---- */

static void snmp_stats_apply(struct name_entry *e, const struct app_action *a, void *arg)
{
    (void)arg;
    struct snmp_stats *s = &e->u.snmp;
    const struct app_snmp *m = &a->u.snmp;
    switch (m->kind) {
    case SNMPA_REQUEST: s->requests++; break;
    case SNMPA_RESPONSE:
        s->responses++;
        if (m->error_status)
            s->errors++;
        if (a->has_rtt)
            lat_hist_add(&s->rtt, a->rtt_us);
        break;
    case SNMPA_TRAP: s->traps++; break;
    default: s->timeouts++; return;   /* a timeout is no PDU */
    }
    if (m->pdu < SNMP_PDU_TYPES)
        s->pdu[m->pdu]++;
}

static void snmp_apply(struct worker *w, const struct app_actions *acts, const struct app_action *a, uint64_t ts)
{
    char agent[ADDR_STR_MAX];
    const struct flow_key *k = &acts->key;
    addr_format(k->ipver, a->u.snmp.agent_srv ? k->srv : k->cli, agent);
    worker_name_update(w, NK_SNMP, agent, ts, 1, snmp_stats_apply, a, NULL);
    if (a->u.snmp.kind != SNMPA_REQUEST)
        flow_events_snmp(&w->events, acts, a, ts);
}

void worker_voip_apply(struct worker *w, const struct app_actions *acts, const struct app_action *a, uint64_t ts)
{
    switch (a->kind) {
    case ACT_SIP: sip_apply(w, acts, a, ts); break;
    case ACT_RTP: worker_name_update(w, NK_SIP, a->name, ts, 0, call_rtp_apply, a, NULL); break;
    case ACT_SNMP: snmp_apply(w, acts, a, ts); break;
    default: break;
    }
}
