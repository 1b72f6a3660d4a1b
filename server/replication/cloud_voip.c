/* cloud_voip.c - replication of SIP calls and SNMP agents: sip events onto sip.<Call-ID>, RTP flows' quality onto their call, snmp transactions counted on snmp.<agent> (loop thread). */
#include "server/replication/cloud_voip.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/replication/cloud_engine.h"
#include "server/replication/cloud_users.h"

enum { KEY_MAX = 320 };

static void voip_send(struct cloud_engine *eng, const char *cmd, const char *key, const char *field,
                      const char *val)
{
    const char *argv[] = { cmd, key, field, val };
    size_t lens[] = { strlen(cmd), strlen(key), field ? strlen(field) : 0, val ? strlen(val) : 0 };
    cloud_engine_send(eng, field ? 4 : 2, argv, lens);
}

static void voip_hincr(struct cloud_engine *eng, const char *key, const char *field, uint64_t by)
{
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, by);
    voip_send(eng, "HINCRBY", key, field, v);
}

static void voip_expire(struct cloud_engine *eng, const char *key, uint64_t ttl)
{
    char v[24];
    if (!ttl)
        return;
    snprintf(v, sizeof(v), "%" PRIu64, ttl);
    const char *argv[] = { "EXPIRE", key, v };
    size_t lens[] = { 6, strlen(key), strlen(v) };
    cloud_engine_send(eng, 3, argv, lens);
}

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

void cloud_voip_sip(struct cloud_engine *eng, const struct event *ev, uint64_t ttl)
{
    char key[KEY_MAX];
    if (call_key(event_get_str(ev, "call-id"), key) != 0)
        return;
    cloud_send_hset_event(eng, key, ev, sip_skip, NULL, NULL);
    voip_expire(eng, key, ttl);
}

void cloud_voip_flow_end(struct cloud_engine *eng, const struct event *ev, uint64_t ttl)
{
    char key[KEY_MAX], v[24];
    uint64_t pkts, lost = 0, jitter;
    if (call_key(event_get_str(ev, "sip.call-id"), key) != 0 || !event_get_uint(ev, "rtp.pkts", &pkts))
        return;
    event_get_uint(ev, "rtp.lost", &lost);
    voip_hincr(eng, key, "rtp.pkts", pkts);
    voip_hincr(eng, key, "rtp.lost", lost);
    if (event_get_uint(ev, "rtp.jitter.us", &jitter)) {
        snprintf(v, sizeof(v), "%" PRIu64, jitter);
        voip_send(eng, "HSET", key, "rtp.jitter.us", v);
    }
    voip_expire(eng, key, ttl);
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
        voip_hincr(eng, key, "traps", 1);
        voip_hincr(eng, key, field, 1);
    } else if (strcmp(error, "timeout") == 0) {
        voip_hincr(eng, key, "requests", 1);
        voip_hincr(eng, key, "timeouts", 1);
        voip_hincr(eng, key, field, 1);
    } else {                         /* a response, with its request when matched */
        if (matched) {
            voip_hincr(eng, key, "requests", 1);
            voip_hincr(eng, key, field, 1);
            voip_hincr(eng, key, "rtt.us.sum", rtt);
            voip_hincr(eng, key, "rtt.count", 1);
            if (le && strlen(le) <= 8 && strspn(le, "0123456789inf") == strlen(le)) {
                snprintf(field, sizeof(field), "rtt.le.%s", le);
                voip_hincr(eng, key, field, 1);
            }
        }
        voip_hincr(eng, key, "responses", 1);
        voip_hincr(eng, key, "pdu.response", 1);
        if (strcmp(error, "noError") != 0)
            voip_hincr(eng, key, "errors", 1);
    }
    voip_expire(eng, key, ttl);
}
