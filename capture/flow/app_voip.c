/* app_voip.c - per-flow SIP and RTP glue: SIP messages as actions, RTP flows linked to their call through the media index, their quality (capture threads). */
#include "capture/flow/app_glue.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/flow/app.h"
#include "capture/cache/names.h"
#include "capture/flow/field_visitor.h"
#include "dissectors/rtp.h"
#include "dissectors/sip.h"

/* An unlinked RTP-looking flow asks the media index at its packets 1, 2, 4 ... 64, then every 64th (an
 * answer from the cloud, sipmedia.<ep>, arrives a few packets after the first). */
enum { RTP_PROBE_EVERY = 64 };

/* A linked RTP/RTCP flow: its call, which party sends from its client side,
 * and the quality of each direction ([0] client to server). */
struct voip_rtp {
    struct rtp_stream s[2];
    uint64_t rep_pkts[2], rep_lost[2];   /* what was reported to the call so far */
    uint8_t cli_party;               /* SIPC_CALLER or SIPC_CALLEE */
    uint8_t pt;                      /* the SDP's codec and its clock rate */
    uint32_t clock;
    char call_id[SIP_CALL_ID_MAX];
};

struct app_voip {
    struct sip_stream *tcp;          /* [2]: SIP over TCP, one per direction; else NULL */
    struct voip_rtp *rtp;            /* an RTP flow's link; else NULL */
};

size_t app_voip_size(const struct app_voip *v)
{
    if (!v)
        return 0;
    return sizeof(*v) + (v->tcp ? 2 * sizeof(*v->tcp) : 0) + (v->rtp ? sizeof(*v->rtp) : 0);
}

void app_voip_free(struct app_voip *v)
{
    if (!v)
        return;
    free(v->tcp);
    free(v->rtp);
    free(v);
}

size_t voip_endpoint_text(uint8_t ver, const uint8_t *ip, uint16_t port, char *out)
{
    char a[ADDR_STR_MAX];
    addr_format(ver, ip, a);
    return (size_t)sprintf(out, ver == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

/* ---- SIP ---- */

/* The first audio (else any) stream of an SDP body with an address and a port. */
static void sip_media_of(const struct sdp_info *sdp, struct app_sip *out)
{
    const struct sdp_media *best = NULL;
    for (unsigned i = 0; i < sdp->media_n && i < SDP_MEDIA_MAX; i++) {
        const struct sdp_media *m = &sdp->media[i];
        if (!m->port || !m->addr.family)
            continue;
        if (!best || (strcmp(m->type, "audio") == 0 && strcmp(best->type, "audio") != 0))
            best = m;
    }
    if (!best)
        return;
    out->media.ver = best->addr.family;
    memcpy(out->media.ip, best->addr.ip, 16);
    out->media.port = best->port;
    out->media.rtcp_port = best->rtcp_port;
    out->media.pt = best->fmt_n ? best->fmt[0] : 0;
    const char *codec = sdp_media_codec(best, &out->media.clock);
    if (codec)
        app_str_copy(out->codec, sizeof(out->codec), codec);
}

struct sip_ctx { int c2s; struct app_actions *out; };

/* A message of an INVITE dialog (INVITE, ACK, CANCEL, BYE, PRACK, UPDATE and
 * their responses) becomes an ACT_SIP; REGISTER, OPTIONS... are not calls. */
static void sip_message(void *arg, const struct sip_msg *m)
{
    const struct sip_ctx *x = arg;
    switch (m->method) {
    case SIP_M_INVITE: case SIP_M_ACK: case SIP_M_CANCEL: case SIP_M_BYE: case SIP_M_PRACK:
    case SIP_M_UPDATE: break;
    default: return;
    }
    if (!m->call_id[0])
        return;
    struct app_action *a = app_action_add(x->out, ACT_SIP);
    if (!a)
        return;
    a->status = m->status;
    a->u.sip.is_request = m->is_request;
    a->u.sip.method = m->method;
    a->u.sip.c2s = (uint8_t)x->c2s;
    app_str_copy(a->name, sizeof(a->name), m->call_id);
    app_str_copy(a->url, sizeof(a->url), m->from.uri);
    app_str_copy(a->ua, sizeof(a->ua), m->to.uri);
    if (m->has_sdp)
        sip_media_of(&m->sdp, &a->u.sip);
}

int app_sip_packet(struct cache *c, struct app_voip **v, const struct flow *f, const uint8_t *data,
                   uint32_t len, int c2s, struct app_actions *out)
{
    struct sip_ctx x = { c2s, out };
    if (f->key.l4proto != IPPROTO_TCP) {
        struct sip_msg m;
        if (!sip_is_keepalive(data, len) && sip_parse(data, len, SIP_UDP, &m) != DISSECT_MALFORMED)
            sip_message(&x, &m);     /* a datagram cut by the snap length still names its call */
        return 0;
    }
    if (!*v) {
        if (!(*v = calloc(1, sizeof(**v))))
            return 0;
        budget_charge(&c->budget, sizeof(**v));
    }
    if (!(*v)->tcp) {
        if (!((*v)->tcp = calloc(2, sizeof(*(*v)->tcp))))
            return 0;
        budget_charge(&c->budget, 2 * sizeof(*(*v)->tcp));
    }
    return sip_stream_feed(&(*v)->tcp[c2s ? 0 : 1], data, len, sip_message, &x) == DISSECT_MALFORMED ? -1 : 0;
}

/* ---- RTP ---- */

/* The call whose SDP named endpoint ver/ip/port, copied into *out. Takes the
 * names shard lock inside the flow's (lock order: flow, then names). */
static int media_lookup(struct cache *c, uint8_t ver, const uint8_t *ip, uint16_t port, struct sip_media_ref *out)
{
    char ep[ADDR_STR_MAX + 8];
    union { struct name_entry e; char raw[sizeof(struct name_entry) + NAME_MAX_LEN + 1]; } u;
    if (names_get(c, NK_SIPMEDIA, ep, voip_endpoint_text(ver, ip, port, ep), &u.e) != 0)
        return -1;
    *out = u.e.u.media;
    return 0;
}

/* Does ref's peer name endpoint ver/ip/port (the flow's other end)? */
static int media_peer_is(const struct sip_media_ref *ref, uint8_t ver, const uint8_t *ip, uint16_t port)
{
    return ref->peer.ver == ver && ref->peer.port == port && memcmp(ref->peer.ip, ip, 16) == 0;
}

struct app_voip *app_rtp_link(struct cache *c, const struct flow *f)
{
    const struct flow_key *k = &f->key;
    uint64_t pkts = f->pkts[0] + f->pkts[1];
    struct sip_media_ref ref, cref;
    if (k->l4proto != IPPROTO_UDP || ((pkts & (pkts - 1)) != 0 && pkts % RTP_PROBE_EVERY != 0))
        return NULL;
    int srv_hit = media_lookup(c, k->ipver, k->srv, k->sport, &ref) == 0;
    int cli_hit = media_lookup(c, k->ipver, k->cli, k->cport, &cref) == 0;
    /* both ends known: the one whose call names the other end too (endpoints reused across calls) */
    if (cli_hit && (!srv_hit || (!media_peer_is(&ref, k->ipver, k->cli, k->cport) &&
                                 media_peer_is(&cref, k->ipver, k->srv, k->sport)))) {
        ref = cref;
        srv_hit = 0;
    } else if (!srv_hit) {
        return NULL;
    }
    struct app_voip *v = calloc(1, sizeof(*v));
    struct voip_rtp *r = v ? calloc(1, sizeof(*r)) : NULL;
    if (!r) {
        free(v);
        return NULL;
    }
    v->rtp = r;
    /* the endpoint an SDP names is where its party receives, and (symmetric RTP) sends from */
    r->cli_party = srv_hit ? (uint8_t)(1 - ref.party) : ref.party;
    r->pt = ref.pt;
    r->clock = ref.clock;
    app_str_copy(r->call_id, sizeof(r->call_id), ref.call_id);
    budget_charge(&c->budget, app_voip_size(v));
    return v;
}

void app_rtp_packet(struct app_voip *v, const uint8_t *data, uint32_t len, int c2s, uint64_t ts,
                    struct app_actions *out)
{
    struct voip_rtp *r = v ? v->rtp : NULL;
    struct rtp_hdr h;
    if (!r || rtp_is_rtcp(data, len) || rtp_parse(data, len, &h) != DISSECT_OK)
        return;
    int d = c2s ? 0 : 1;
    uint32_t clock = h.pt == r->pt && r->clock ? r->clock : rtp_pt_clock(h.pt);
    rtp_stream_update(&r->s[d], &h, (int64_t)ts, clock);
    uint64_t pkts = rtp_stream_packets(&r->s[d]), lost = rtp_stream_lost(&r->s[d]);
    struct app_action *a = app_action_add(out, ACT_RTP);
    if (!a)
        return;
    a->u.rtp.party = (uint8_t)(c2s ? r->cli_party : 1 - r->cli_party);
    a->u.rtp.dpkts = (int64_t)(pkts - r->rep_pkts[d]);
    a->u.rtp.dlost = (int64_t)(lost - r->rep_lost[d]);
    a->u.rtp.jitter_us = rtp_stream_jitter_us(&r->s[d]);
    r->rep_pkts[d] = pkts;
    r->rep_lost[d] = lost;
    app_str_copy(a->name, sizeof(a->name), r->call_id);
}

void app_voip_fields(const struct app_voip *v, const struct field_visitor *vis)
{
    const struct voip_rtp *r = v ? v->rtp : NULL;
    if (!r)
        return;
    vis->str(vis->arg, "sip.call-id", r->call_id, strlen(r->call_id));
    uint64_t pkts = rtp_stream_packets(&r->s[0]) + rtp_stream_packets(&r->s[1]);
    if (!pkts)
        return;
    uint64_t j0 = rtp_stream_jitter_us(&r->s[0]), j1 = rtp_stream_jitter_us(&r->s[1]);
    vis->uint(vis->arg, "rtp.pkts", pkts);
    vis->uint(vis->arg, "rtp.lost", rtp_stream_lost(&r->s[0]) + rtp_stream_lost(&r->s[1]));
    vis->uint(vis->arg, "rtp.jitter.us", j0 > j1 ? j0 : j1);
}
