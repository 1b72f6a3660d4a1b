/* app_snmp.c - per-flow SNMP glue: requests matched to responses by request-id (msgID for v3) in a bounded table, traps, timeouts (capture threads). */
#include "capture/flow/app_glue.h"

#include <stdlib.h>
#include <string.h>

#include "capture/flow/app.h"
#include "dissectors/snmp.h"

enum { SNMP_PENDING_MAX = 16 };      /* requests of one flow awaiting their response */

struct snmp_pending {
    int64_t id;                      /* request-id, or msgID for v3 */
    uint64_t ts;
    uint8_t pdu, agent_srv, version;
};

struct app_snmp_state {
    uint8_t n;
    struct snmp_pending p[SNMP_PENDING_MAX];   /* oldest first */
};

size_t app_snmp_size(const struct app_snmp_state *s)
{
    return s ? sizeof(*s) : 0;
}

void app_snmp_free(struct app_snmp_state *s)
{
    free(s);
}

static struct app_action *snmp_action(struct app_actions *out, uint8_t kind, uint8_t pdu, uint8_t agent_srv,
                                      uint8_t version, int64_t id)
{
    struct app_action *a = app_action_add(out, ACT_SNMP);
    if (a) {
        a->u.snmp.kind = kind;
        a->u.snmp.pdu = pdu;
        a->u.snmp.agent_srv = agent_srv;
        a->u.snmp.version = version;
        a->u.snmp.request_id = id;
    }
    return a;
}

static void snmp_timeout(struct app_actions *out, const struct snmp_pending *p)
{
    struct app_action *a = snmp_action(out, SNMPA_TIMEOUT, p->pdu, p->agent_srv, p->version, p->id);
    if (a)
        a->u.snmp.req_pdu = p->pdu;
}

static void snmp_request(struct cache *c, struct app_snmp_state **sp, const struct snmp_msg *m, int64_t id,
                         int c2s, uint64_t ts, struct app_actions *out)
{
    uint8_t agent_srv = (uint8_t)c2s;            /* the request goes to the agent */
    snmp_action(out, SNMPA_REQUEST, m->pdu_type, agent_srv, m->version, id);
    if (!*sp) {
        if (!(*sp = calloc(1, sizeof(**sp))))
            return;
        budget_charge(&c->budget, sizeof(**sp));
    }
    struct app_snmp_state *s = *sp;
    for (unsigned i = 0; i < s->n; i++)
        if (s->p[i].id == id && s->p[i].agent_srv == agent_srv)
            return;                  /* a retry: the first send times the transaction */
    if (s->n == SNMP_PENDING_MAX) {
        snmp_timeout(out, &s->p[0]);
        memmove(&s->p[0], &s->p[1], sizeof(s->p[0]) * (SNMP_PENDING_MAX - 1));
        s->n--;
    }
    s->p[s->n++] = (struct snmp_pending){ id, ts, m->pdu_type, agent_srv, m->version };
}

static void snmp_response(struct cache *c, struct app_snmp_state **sp, const struct snmp_msg *m, int64_t id,
                          int c2s, uint64_t ts, struct app_actions *out)
{
    uint8_t agent_srv = (uint8_t)!c2s;           /* the response comes from the agent */
    struct app_action *a = snmp_action(out, SNMPA_RESPONSE, m->pdu_type, agent_srv, m->version, id);
    if (a)
        a->u.snmp.error_status = m->error_status;
    struct app_snmp_state *s = *sp;
    for (unsigned i = 0; s && i < s->n; i++) {
        if (s->p[i].id != id || s->p[i].agent_srv != agent_srv)
            continue;
        if (a) {
            uint64_t d = ts > s->p[i].ts ? ts - s->p[i].ts : 0;
            a->has_rtt = 1;
            a->rtt_us = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
            a->u.snmp.req_pdu = s->p[i].pdu;
        }
        memmove(&s->p[i], &s->p[i + 1], sizeof(s->p[0]) * (s->n - i - 1u));
        if (--s->n == 0) {           /* an idle flow keeps no table */
            budget_release(&c->budget, sizeof(*s));
            free(s);
            *sp = NULL;
        }
        return;
    }
}

void app_snmp_packet(struct cache *c, struct app_snmp_state **s, const uint8_t *data, uint32_t len,
                     int c2s, uint64_t ts, struct app_actions *out)
{
    struct snmp_msg m;
    if (snmp_parse(data, len, &m) != DISSECT_OK)
        return;
    int64_t id = m.version == SNMP_V3 ? m.msg_id : m.request_id;
    switch (m.pdu_type) {
    case SNMP_PDU_GET: case SNMP_PDU_GETNEXT: case SNMP_PDU_SET: case SNMP_PDU_GETBULK:
        snmp_request(c, s, &m, id, c2s, ts, out);
        break;
    case SNMP_PDU_NONE:              /* v3 encrypted: a request when it goes to the server */
        if (c2s)
            snmp_request(c, s, &m, id, c2s, ts, out);
        else
            snmp_response(c, s, &m, id, c2s, ts, out);
        break;
    case SNMP_PDU_RESPONSE: case SNMP_PDU_REPORT:
        snmp_response(c, s, &m, id, c2s, ts, out);
        break;
    case SNMP_PDU_TRAP: case SNMP_PDU_TRAPV2: case SNMP_PDU_INFORM:   /* notifications */
        snmp_action(out, SNMPA_TRAP, m.pdu_type, (uint8_t)!c2s, m.version, m.has_request_id ? id : 0);
        break;
    default:
        break;
    }
}

void app_snmp_end(const struct app_snmp_state *s, struct app_actions *out)
{
    for (unsigned i = 0; s && i < s->n; i++)
        snmp_timeout(out, &s->p[i]);
}
