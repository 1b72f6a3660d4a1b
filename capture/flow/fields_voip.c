/* fields_voip.c - the KEYSPACE.md fields of a SIP call (sip.<Call-ID>) and of an SNMP agent (snmp.<ip>), for hashes and events (pure code, any thread). */
#include "capture/flow/fields.h"

#include <stdio.h>
#include <string.h>

#include "capture/cache/names.h"
#include "dissectors/sdp.h"
#include "dissectors/snmp.h"

static const char *sip_state_name(uint8_t s)
{
    static const char *const names[] = { "none", "trying", "ringing", "answered", "ended", "failed",
                                         "cancelled" };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "none";
}

static void visit_str(const struct field_visitor *v, const char *name, const char *s)
{
    v->str(v->arg, name, s, strlen(s));
}

static void visit_addr(const struct field_visitor *v, const char *name, uint8_t ver, const uint8_t *ip)
{
    char a[ADDR_STR_MAX];
    v->str(v->arg, name, a, addr_format(ver, ip, a));
}

/* "caller-ep,callee-ep" (the ones known); "" when none is. */
static size_t media_text(const struct sip_call *call, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 2; i++) {
        const struct sip_media_ep *m = &call->media[i];
        struct sdp_addr a = { m->ver, { 0 } };
        char ep[SDP_ENDPOINT_TEXT_MAX];
        memcpy(a.ip, m->ip, 16);
        if (!m->ver || sdp_endpoint_format(&a, m->port, ep, sizeof(ep)) < 0)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", ep);
    }
    return n;
}

/* rtp.<what>.caller / .callee and their total (a sum, or the larger jitter). */
static void visit_rtp(const struct field_visitor *v, const struct sip_call *call)
{
    const struct sip_rtp_sum *r = call->rtp;
    if (!r[0].pkts && !r[1].pkts)
        return;
    v->uint(v->arg, "rtp.pkts", r[0].pkts + r[1].pkts);
    v->uint(v->arg, "rtp.lost", r[0].lost + r[1].lost);
    v->uint(v->arg, "rtp.jitter.us", r[0].jitter_us > r[1].jitter_us ? r[0].jitter_us : r[1].jitter_us);
    static const char *const names[2][3] = {
        { "rtp.pkts.caller", "rtp.lost.caller", "rtp.jitter.us.caller" },
        { "rtp.pkts.callee", "rtp.lost.callee", "rtp.jitter.us.callee" },
    };
    for (int i = 0; i < 2; i++) {
        if (!r[i].pkts)
            continue;
        v->uint(v->arg, names[i][0], r[i].pkts);
        v->uint(v->arg, names[i][1], r[i].lost);
        v->uint(v->arg, names[i][2], r[i].jitter_us);
    }
}

void sip_call_fields_visit(const struct sip_call *call, const struct field_visitor *v)
{
    char media[2 * SDP_ENDPOINT_TEXT_MAX + 2];
    visit_str(v, "from", call->from);
    visit_str(v, "to", call->to);
    visit_addr(v, "caller.ip", call->ipver, call->caller_ip);
    visit_addr(v, "callee.ip", call->ipver, call->callee_ip);
    visit_str(v, "state", sip_state_name(call->state));
    v->time(v->arg, "invite.time", call->invite_us);
    if (call->answer_us)
        v->time(v->arg, "answer.time", call->answer_us);
    if (call->end_us)
        v->time(v->arg, "end.time", call->end_us);
    if (call->answer_us >= call->invite_us && call->answer_us)
        v->uint(v->arg, "setup.ms", (call->answer_us - call->invite_us) / 1000);
    if (call->answer_us && call->end_us >= call->answer_us)
        v->uint(v->arg, "duration.ms", (call->end_us - call->answer_us) / 1000);
    if (call->status)
        v->uint(v->arg, "status", call->status);
    if (media_text(call, media, sizeof(media)))
        visit_str(v, "media", media);
    if (call->codec[0])
        visit_str(v, "codec", call->codec);
    visit_rtp(v, call);
}

void snmp_fields_visit(const struct snmp_stats *s, const struct field_visitor *v)
{
    char name[40];
    v->uint(v->arg, "requests", s->requests);
    v->uint(v->arg, "responses", s->responses);
    v->uint(v->arg, "traps", s->traps);
    v->uint(v->arg, "errors", s->errors);
    v->uint(v->arg, "timeouts", s->timeouts);
    if (s->rtt.count) {
        v->uint(v->arg, "rtt.us.sum", s->rtt.sum_us);
        v->uint(v->arg, "rtt.count", s->rtt.count);
        for (unsigned i = 0; i < LAT_BUCKETS; i++)
            if (s->rtt.le[i]) {
                snprintf(name, sizeof(name), "rtt.le.%s", lat_bucket_name(i));
                v->uint(v->arg, name, s->rtt.le[i]);
            }
    }
    for (unsigned i = 0; i < SNMP_PDU_TYPES; i++)
        if (s->pdu[i]) {
            snprintf(name, sizeof(name), "pdu.%s", snmp_pdu_name((uint8_t)i));
            v->uint(v->arg, name, s->pdu[i]);
        }
}
