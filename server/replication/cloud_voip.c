/* cloud_voip.c - replication of SIP calls and SNMP agents: sip events onto sip.<Call-ID>, RTP flows' quality onto their call, snmp transactions counted on snmp.<agent> (loop thread). */
#include "server/replication/cloud_voip.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/replication/cloud_engine.h"
#include "server/replication/cloud_send.h"
#include "server/replication/cloud_users.h"

enum { KEY_MAX = 320, EP_MAX = 64, RTP_PORT_MIN = 1024 };

/* "sip.<Call-ID>" into key; 0, or -1 when the event names no call or the name does not fit. */
static int call_key(const char *call_id, char key[KEY_MAX])
{
    return call_id && *call_id && snprintf(key, KEY_MAX, "sip.%s", call_id) < KEY_MAX ? 0 : -1;
}

/* The fields a sip event carries that the cloud's call does not take from it: its name, and the media
 * figures, which flow.end sums from every probe instead. */
static int sip_skip(const char *name)
{
    return strcmp(name, "call-id") == 0 || strncmp(name, "rtp.", 4) == 0;
}

/* SET sipmedia.<ep> call_id EX ttl for each endpoint of media ("ep,ep"). */
static void media_keys(struct cloud_engine *eng, const char *media, const char *call_id, uint64_t ttl)
{
    char key[KEY_MAX], t[24];
    snprintf(t, sizeof(t), "%" PRIu64, ttl ? ttl : 1);
    for (const char *p = media; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n && n < EP_MAX) {
            snprintf(key, sizeof(key), "sipmedia.%.*s", (int)n, p);
            const char *argv[] = { "SET", key, call_id, "EX", t };
            cloud_send_args(eng, 5, argv);
        }
        p = end ? end + 1 : NULL;
    }
}

void cloud_voip_sip(struct cloud_engine *eng, const struct event *ev, uint64_t ttl)
{
    char key[KEY_MAX];
    const char *call_id = event_get_str(ev, "call-id");
    if (call_key(call_id, key) != 0)
        return;
    cloud_send_hset_event(eng, key, ev, sip_skip, NULL, NULL);
    cloud_send_expire(eng, key, ttl);
    media_keys(eng, event_get_str(ev, "media"), call_id, ttl);
}

/* One GET sipmedia.<ep> in flight. */
struct media_get {
    struct cloud_voip_lookup lk;
    char ep[EP_MAX];
};

static void media_answer_cb(void *arg, const char *val, size_t len, int status)
{
    struct media_get *g = arg;
    if (status == 0 && val && len && len == strlen(val))
        g->lk.learnt(g->lk.arg, g->ep, val);
    free(g);
}

static void media_ask(struct cloud_engine *eng, const struct cloud_voip_lookup *lk, const char *ip, uint64_t port)
{
    char key[KEY_MAX];
    struct media_get *g = malloc(sizeof(*g));
    if (!g)
        return;
    g->lk = *lk;
    if (snprintf(g->ep, sizeof(g->ep), strchr(ip, ':') ? "[%s]:%" PRIu64 : "%s:%" PRIu64, ip, port) >=
        (int)sizeof(g->ep)) {
        free(g);
        return;
    }
    snprintf(key, sizeof(key), "sipmedia.%s", g->ep);
    if (cloud_engine_get(eng, key, media_answer_cb, g) != 0)
        free(g);
}

void cloud_voip_flow_new(struct cloud_engine *eng, const struct cloud_voip_lookup *lk, const struct event *ev)
{
    const char *proto = event_get_str(ev, "proto"), *cli = event_get_str(ev, "cli.ip");
    const char *srv = event_get_str(ev, "srv.ip");
    uint64_t cport = 0, sport = 0;
    if (!lk->learnt || !proto || strcmp(proto, "udp") != 0 || !cli || !srv ||
        !event_get_uint(ev, "cli.port", &cport) || !event_get_uint(ev, "srv.port", &sport) ||
        cport < RTP_PORT_MIN || sport < RTP_PORT_MIN)
        return;
    media_ask(eng, lk, srv, sport);
    media_ask(eng, lk, cli, cport);
}

void cloud_voip_flow_end(struct cloud_engine *eng, const struct event *ev, uint64_t ttl)
{
    char key[KEY_MAX], v[24];
    uint64_t pkts, lost = 0, jitter;
    if (call_key(event_get_str(ev, "sip.call-id"), key) != 0 || !event_get_uint(ev, "rtp.pkts", &pkts))
        return;
    event_get_uint(ev, "rtp.lost", &lost);
    cloud_send_hincrby(eng, key, "rtp.pkts", pkts);
    cloud_send_hincrby(eng, key, "rtp.lost", lost);
    if (event_get_uint(ev, "rtp.jitter.us", &jitter)) {
        snprintf(v, sizeof(v), "%" PRIu64, jitter);
        const char *argv[] = { "HSET", key, "rtp.jitter.us", v };
        cloud_send_args(eng, 4, argv);
    }
    cloud_send_expire(eng, key, ttl);
}

void cloud_voip_snmp(struct cloud_engine *eng, const struct event *ev, uint64_t ttl)
{
    char key[KEY_MAX], field[48];
    const char *agent = event_get_str(ev, "agent"), *pdu = event_get_str(ev, "pdu");
    const char *error = event_get_str(ev, "error"), *le = event_get_str(ev, "rtt.le");
    uint64_t rtt;
    int matched = event_get_uint(ev, "rtt.us", &rtt);
    if (!agent || !pdu || strlen(pdu) > 16 || snprintf(key, sizeof(key), "snmp.%s", agent) >= (int)sizeof(key))
        return;
    snprintf(field, sizeof(field), "pdu.%s", pdu);
    if (!error) {                    /* a trap or an inform */
        cloud_send_hincrby(eng, key, "traps", 1);
        cloud_send_hincrby(eng, key, field, 1);
    } else if (strcmp(error, "timeout") == 0) {
        cloud_send_hincrby(eng, key, "requests", 1);
        cloud_send_hincrby(eng, key, "timeouts", 1);
        cloud_send_hincrby(eng, key, field, 1);
    } else {                         /* a response, with its request when matched */
        if (matched) {
            cloud_send_hincrby(eng, key, "requests", 1);
            cloud_send_hincrby(eng, key, field, 1);
            cloud_send_latency(eng, key, "rtt", rtt, le);
        }
        cloud_send_hincrby(eng, key, "responses", 1);
        cloud_send_hincrby(eng, key, "pdu.response", 1);
        if (strcmp(error, "noError") != 0)
            cloud_send_hincrby(eng, key, "errors", 1);
    }
    cloud_send_expire(eng, key, ttl);
}
