/* app_glue.h - per-flow glue of the parsers app.c routes to beyond DNS/HTTP/TLS (RADIUS, SIP, RTP, SNMP), and payload guesses (capture threads). */
#ifndef FC_APP_GLUE_H
#define FC_APP_GLUE_H

#include <stddef.h>
#include <stdint.h>

/* Only pointers to these: app.c includes this header, so it must not include app.h. */
struct app_actions;
struct cache;
struct decoded_pkt;
struct flow;

/*
 * State one flow keeps (hung on app.c's per-flow parser state, freed with it
 * through the cache's flow_release hook). Each allocation is charged to the
 * cache's budget by the function that makes it; *_size says what to release.
 * Every function: the capture thread that owns the flow, under its shard lock.
 */
struct app_voip;                     /* SIP over TCP streams, or an RTP flow's call and quality */
struct app_snmp_state;               /* SNMP requests awaiting their response */

/* An Accounting-Request with a user in RADIUS datagram p becomes an
 * ACT_RADIUS in out (app_radius.c). */
void app_radius_packet(const struct decoded_pkt *p, struct app_actions *out);

/* What a payload looks like when its ports say nothing (app_guess.c): GUESS_SIP (a SIP start line, UDP
 * or TCP); on UDP also GUESS_RTP (an RTP or RTCP version 2 header), GUESS_SNMP (a whole SNMP message),
 * GUESS_RADIUS (an Accounting-Request whose length and attributes agree) and GUESS_DNS (a standard query
 * with one question, nothing after it but an EDNS OPT record); else GUESS_NONE. Pure. */
enum { GUESS_NONE = 0, GUESS_SIP, GUESS_RTP, GUESS_SNMP, GUESS_DNS, GUESS_RADIUS };
int app_guess(uint8_t l4proto, const uint8_t *p, size_t len);

/* "a.b.c.d:port" or "[v6]:port" (the media index's names) into out, which
 * holds ADDR_STR_MAX + 8 bytes. Returns the length. Pure. */
size_t voip_endpoint_text(uint8_t ver, const uint8_t *ip, uint16_t port, char *out);

/* Bytes charged for v / s (0 for NULL). */
size_t app_voip_size(const struct app_voip *v);
size_t app_snmp_size(const struct app_snmp_state *s);
/* Frees v / s (NULL allowed); the caller releases what *_size said. */
void app_voip_free(struct app_voip *v);
void app_snmp_free(struct app_snmp_state *s);

/* One SIP payload of flow f (UDP: a datagram; TCP: in-order bytes of
 * direction c2s, framed through the streams *v allocates). Each message of an
 * INVITE dialog becomes an ACT_SIP in out. Returns 0, or -1 when the bytes are
 * not SIP (a TCP stream went dead: the caller stops looking). */
int app_sip_packet(struct cache *c, struct app_voip **v, const struct flow *f, const uint8_t *data,
                   uint32_t len, int c2s, struct app_actions *out);

/* Looks up the media index for the endpoints of UDP flow f (at its packets
 * 1, 2, 4 ... 64, then every 64th, until one matches). Returns the state of
 * a flow now linked to its call (charged), or NULL. */
struct app_voip *app_rtp_link(struct cache *c, const struct flow *f);

/* One packet of linked RTP/RTCP flow f: its quality, and an ACT_RTP adding
 * the change to the call. */
void app_rtp_packet(struct app_voip *v, const uint8_t *data, uint32_t len, int c2s, uint64_t ts,
                    struct app_actions *out);

/* sip.call-id rtp.pkts rtp.lost rtp.jitter.us of an RTP flow (v may be NULL). */
struct field_visitor;
void app_voip_fields(const struct app_voip *v, const struct field_visitor *vis);

/* One SNMP datagram of flow f (c2s: sent client to server) at ts: an
 * ACT_SNMP per request, response and trap (a request pushed out of the
 * bounded table of *s becomes a timeout). */
void app_snmp_packet(struct cache *c, struct app_snmp_state **s, const uint8_t *data, uint32_t len,
                     int c2s, uint64_t ts, struct app_actions *out);
/* The flow ends: its unanswered requests become timeouts in out. */
void app_snmp_end(const struct app_snmp_state *s, struct app_actions *out);

#endif
