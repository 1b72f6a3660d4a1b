/* names.h - name-keyed tables of the cache: dns.<qname>, http.<host>, tls.<sni>, user.<name>, ipuser.<addr>, sip.<Call-ID>, snmp.<agent>. */
#ifndef FC_NAMES_H
#define FC_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "capture/cache/cache.h"
#include "capture/cache/latency.h"

/* Kinds of name entries; one sharded table holds them all, keyed by kind + name. */
/* NK_SIPMEDIA is the media index (SDP endpoint "ip:port" -> Call-ID): no key family shows it. */
enum name_kind { NK_DNS = 0, NK_HTTP, NK_TLS, NK_USER, NK_IPUSER, NK_SIP, NK_SIPMEDIA, NK_SNMP, NK_KINDS };
_Static_assert(NK_KINDS <= CACHE_NAME_KINDS, "cache.name_kinds counts every kind");

#define DNS_RCODES 16
#define DNS_QTYPES_MAX 8
#define NAME_MAX_LEN 1023                /* longest name: a DNS name's text, escapes included */
#define NAME_USER_MAX 256                /* a RADIUS user name (escaped text) + NUL */
#define USER_SESSION_MAX 64

struct dns_stats {
    uint64_t queries, responses, nxdomain;
    struct lat_hist rtt;             /* response times: rtt.us.sum rtt.count rtt.le.<bound> */
    uint64_t rcode[DNS_RCODES];
    uint16_t qtype[DNS_QTYPES_MAX];
    uint64_t qtype_n[DNS_QTYPES_MAX];
    uint8_t nqtypes;
};

struct http_stats {
    uint64_t requests, status[6];    /* status[2] = 2xx ... status[5] = 5xx */
    struct lat_hist service;         /* service times: service.us.sum service.count service.le.* */
};

struct tls_stats { uint64_t flows, bytes; };

struct user_info {
    uint8_t ipver, has_ip, nas_ver, has_nas;
    uint8_t ip[16], nas[16];
    char session[USER_SESSION_MAX];
    uint64_t login_us, logout_us;    /* logout_us 0 = logged in */
    uint64_t delete_at_us;           /* logout + user-grace; 0 = persistent */
};

/* A SIP call (sip.<Call-ID>): what its INVITE dialog and its media showed. */
#define SIP_CALL_URI_MAX 88              /* From / To URI text kept, NUL included (cut to fit) */
#define SIP_CALL_CODEC_MAX 24
#define SIP_CALL_ID_MAX 256              /* a Call-ID's escaped text + NUL (dissectors/sip.h SIP_TEXT_MAX) */
enum sip_call_state { SIPC_NONE = 0, SIPC_TRYING, SIPC_RINGING, SIPC_ANSWERED, SIPC_ENDED, SIPC_FAILED,
                      SIPC_CANCELLED };
enum { SIPC_CALLER = 0, SIPC_CALLEE = 1 };  /* index of a party: media[], rtp[] (media it sent) */

struct sip_media_ep { uint8_t ver; uint8_t ip[16]; uint16_t port; };    /* ver 0: not known */
struct sip_rtp_sum { uint64_t pkts, lost, jitter_us; };                 /* jitter: the latest */

struct sip_call {
    uint64_t invite_us, answer_us, end_us;   /* 0: not yet */
    struct sip_rtp_sum rtp[2];       /* media sent by the caller, by the callee */
    uint16_t status;                 /* latest final response to the INVITE (0: none) */
    uint8_t state;                   /* enum sip_call_state */
    uint8_t ipver;
    uint8_t caller_ip[16], callee_ip[16];
    struct sip_media_ep media[2];    /* the SDP endpoint of each party */
    char codec[SIP_CALL_CODEC_MAX];
    char from[SIP_CALL_URI_MAX], to[SIP_CALL_URI_MAX];
};

/* The media index: one SDP endpoint's call (name "ip:port", "[v6]:port"). */
struct sip_media_ref {
    struct sip_media_ep peer;        /* the other party's endpoint when known (ver 0: not) */
    uint8_t party;                   /* SIPC_CALLER or SIPC_CALLEE: whose SDP named it */
    uint8_t pt;                      /* the codec's payload type, and its clock rate (0: unknown) */
    uint32_t clock;
    char call_id[SIP_CALL_ID_MAX];
};

/* snmp.<agent-ip>. pdu[] counts each PDU type (dissectors/snmp.h SNMP_PDU_GET .. REPORT). */
#define SNMP_PDU_TYPES 9
struct snmp_stats {
    uint64_t requests, responses, traps, errors, timeouts;
    struct lat_hist rtt;             /* request to response: rtt.us.sum rtt.count rtt.le.<bound> */
    uint64_t pdu[SNMP_PDU_TYPES];
};

/* The mapping an ipuser entry held before its current one began (a worker ahead in packet time may
 * apply a login before another worker ends a flow that one thread would have ended first). */
#define IPUSER_PREV_USER 48
struct ipuser_prev {
    uint64_t login_us, logout_us, delete_at_us;
    char user[IPUSER_PREV_USER];     /* "": none known (no mapping before, or its name did not fit) */
};

struct name_entry {
    struct centry link;
    uint8_t kind;
    uint16_t len;
    uint64_t first_us, last_us;
    union {
        struct dns_stats dns;
        struct http_stats http;
        struct tls_stats tls;
        struct user_info user;       /* NK_USER */
        struct {                     /* NK_IPUSER */
            char user[NAME_USER_MAX];
            uint64_t delete_at_us;   /* logout + user-grace, or the end of a learnt mapping; 0 = persistent */
            uint64_t logout_us;      /* the user's logout (packet time); 0 = logged in */
            uint64_t login_us;       /* the login (packet time) that began this mapping; 0 = learnt */
            struct ipuser_prev prev; /* the mapping it replaced: what a flow ending before login_us sees */
            uint8_t learnt;          /* learnt from the cloud (names_ipuser_learn), not from RADIUS here */
        } ipuser;
        struct sip_call sip;         /* NK_SIP */
        struct sip_media_ref media;  /* NK_SIPMEDIA */
        struct snmp_stats snmp;      /* NK_SNMP */
    } u;
    char name[];                     /* len bytes + NUL: qname, host, sni, user, address text */
};

/* The cache's largest name slot holds the longest name (cache.h: CACHE_NAME_SLOTS). */
_Static_assert(sizeof(struct name_entry) + NAME_MAX_LEN + 1 <= CACHE_NAME_SLOT_MAX,
               "the largest name pool holds the longest name");

/* The new kinds do not make an entry larger than a DNS name's. */
_Static_assert(sizeof(struct sip_call) <= sizeof(struct dns_stats), "a call fits a DNS name's room");
_Static_assert(sizeof(struct sip_media_ref) <= sizeof(struct dns_stats), "a media ref fits a DNS name's room");
_Static_assert(sizeof(((struct name_entry *)0)->u.ipuser) <= sizeof(struct dns_stats),
               "an ipuser mapping and the one before it fit a DNS name's room");

/* The entries live in the cache's `names` shards (CT_NAME), by this hash of kind + name. Inline:
 * capture threads hash names per packet, and tools/bench_ndpi_floor.c builds l7_quick.c alone. */
static inline uint64_t name_hash(enum name_kind k, const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)k;        /* FNV-1a, then a final mix */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Finds (or with create, makes) the entry; caller holds the shard lock of
 * name_hash(). With create, an entry expired by cache_expiry_now(c, group)
 * (the calling worker's group) starts anew at ts, and an NK_IPUSER entry counts
 * as changed (user memos ask again): change one's user or times only through
 * create. Returns NULL when absent / out of memory (counted by the cache's
 * memory cap). Capture threads. */
struct name_entry *names_find(struct cache *c, struct cache_shard *s, uint64_t hash,
                              enum name_kind k, const char *name, size_t len, int create,
                              uint64_t ts, const void *group);

/* Is the entry live at time now (volatile ones expire host-idle after last use;
 * users and ipusers live until their deletion time)? */
int name_alive(const struct cache_config *cfg, const struct name_entry *e, uint64_t now);
/* When it leaves the cache; 0 = never (persistent). */
uint64_t name_expire_at(const struct cache_config *cfg, const struct name_entry *e);

/* Copy of an entry for the loop thread; returns 0 or -1 when absent/expired.
 * out must hold sizeof(struct name_entry) + NAME_MAX_LEN + 1 bytes. */
int names_get(struct cache *c, enum name_kind k, const char *name, size_t len, struct name_entry *out);

/* The user name mapped to an address right now, copied into out (NUL-terminated). With since_us
 * (a flow's first packet time) a user who logged out before since_us does not count: a flow that
 * starts after a logout is not the departed user's, while older flows keep the name through the
 * grace period. since_us 0: any live mapping. Returns 0, or -1 when none. Any thread. */
int names_user_of(struct cache *c, uint8_t ipver, const uint8_t *addr, uint64_t since_us, char *out,
                  size_t outcap);

/* A capture thread's memo of names_user_of answers (the flow.end path asks at every flow end, for
 * both ends): per address, what its ipuser entry held (or that it had none) and the version of its
 * filter slot then. Every change to an ipuser entry moves that version (names_find with create
 * counts as one, as do names_ipuser_logout and freeing), so while it stands the memo gives the
 * table's answer without the table. */
struct names_user_memo;
/* A new, empty memo (owned by the caller: names_user_memo_free), or NULL when out of memory. */
struct names_user_memo *names_user_memo_new(void);
void names_user_memo_free(struct names_user_memo *m);
/* names_user_of as of packet time at_us (0: now), through memo m (its owner's thread only; NULL:
 * the table alone). With at_us, the mapping is the one whose login came before at_us and whose
 * deletion did not (logins at or after at_us are not seen; the mapping each replaced is, one deep),
 * so the answer does not depend on how far other workers have read once every worker has read past
 * at_us. Returns 0 (user in out) or -1. */
int names_user_of_memo(struct cache *c, struct names_user_memo *m, uint8_t ipver, const uint8_t *addr,
                       uint64_t since_us, uint64_t at_us, char *out, size_t outcap);

/* A mapping address -> user learnt from the cloud (the answer to GET ipuser.<addr>), kept for
 * ttl_us of cache time from now, so the probe's flows, flow.end events and ip.<addr> show the
 * user. A mapping this probe learnt from RADIUS itself (live, or logged out within its grace)
 * wins and is left alone. Returns 0, or -1 (too long, out of memory; nothing changed). Loop thread. */
int names_ipuser_learn(struct cache *c, const char *addr, const char *user, uint64_t ttl_us);
/* The cloud said SDP endpoint ep ("ip:port", "[v6]:port") belongs to call call_id (sipmedia.<ep>, written
 * by the probe that saw the signalling): the media index gets it (party and codec unknown), unless it
 * holds ep already. Returns 0, or -1 (no room, call_id too long). Loop thread (any thread). */
int names_sipmedia_learn(struct cache *c, const char *ep, const char *call_id);

/* The logout of user at addr at time ts_us, heard from the cloud (another probe saw it): a live
 * mapping of addr to user ends ts_us + grace_us, and flows starting after ts_us are no longer
 * labelled with it. Returns 1 when a mapping changed, else 0. Loop thread. */
int names_ipuser_logout(struct cache *c, const char *addr, const char *user, uint64_t ts_us, uint64_t grace_us);

/* cache_walk_step over names shard `shard` for the entries of kind k: a
 * shard without one is done at once, and a shard walked through its lists
 * (cache.h: shard_walk) stops at its last entry of kind k, so a rare kind
 * costs little whatever the other kinds hold. fn returns 1 for an entry of
 * kind k. Returns the next bucket, info->nbuckets when the shard is done. Any thread. */
uint32_t names_walk_step(struct cache *c, enum name_kind k, unsigned shard, uint32_t from,
                         uint32_t max_buckets, uint32_t max_entries, cache_walk_fn fn, void *arg,
                         struct cache_walk_info *info);

/* Free entries that have expired by now: from the idle end of each shard up
 * to the first live one, or with full every one (several workers touch
 * entries only roughly in time order). Capture threads. */
void names_sweep(struct cache *c, uint64_t now, int full);

#endif
