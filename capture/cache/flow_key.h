/* flow_key.h - canonical bidirectional flow keys and their KEYSPACE names (pure code, any thread). */
#ifndef FC_FLOW_KEY_H
#define FC_FLOW_KEY_H

#include <stddef.h>
#include <stdint.h>

/* A canonical flow: cli/srv chosen by the rule of KEYSPACE.md, so every
 * probe names the same connection the same way whatever it saw (the rule
 * is applied to packets in capture/flow/pkt_key.c). */
struct flow_key {
    uint8_t cli[16], srv[16];   /* network order; IPv4 in the first 4 bytes, rest 0 */
    uint16_t cport, sport;      /* host order; 0 for protocols without ports */
    uint16_t vlan;              /* 0 = untagged */
    uint8_t ipver;              /* 4 or 6 */
    uint8_t l4proto;
};

/* Longest name: "flow.sctp.[v6]:65535-[v6]:65535@4095" fits in 128. */
#define FLOW_KEY_NAME_MAX 128
#define ADDR_STR_MAX 46

/* The 64-bit finaliser every cache hash uses (murmur3's). Pure. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* 64-bit hash of a key (same on every run). */
uint64_t flow_key_hash(const struct flow_key *k);

/* The lane hash of an address pair: a 32-bit hash symmetric in a and b (the
 * addresses as big-endian 32-bit words XORed together, then one multiply and a
 * fold), over `words` words of each (1 for IPv4, 4 for IPv6). The capture
 * threads split packets by it (capture/source/fanout.c, whose cBPF program
 * for the kernel computes the same value) and the cache splits flows by it
 * (cache_flow_hash). Pure. */
static inline uint32_t flow_addr_lane_hash(const uint8_t *a, const uint8_t *b, int words)
{
    uint32_t x = 0;
    for (int i = 0; i < 4 * words; i += 4)
        x ^= ((uint32_t)a[i] << 24 | (uint32_t)a[i + 1] << 16 | (uint32_t)a[i + 2] << 8 | a[i + 3]) ^
             ((uint32_t)b[i] << 24 | (uint32_t)b[i + 1] << 16 | (uint32_t)b[i + 2] << 8 | b[i + 3]);
    x *= 0x9E3779B1u;
    return x ^ (x >> 16);
}

/* The lane hash of a key's address pair: what flow_addr_lane_hash gives every
 * packet of the flow (its addresses are the key's, either way round). Pure. */
static inline uint32_t flow_key_lane_hash(const struct flow_key *k)
{
    return flow_addr_lane_hash(k->cli, k->srv, k->ipver == 6 ? 4 : 1);
}

int flow_key_equal(const struct flow_key *a, const struct flow_key *b);

/* Write "flow.udp.10.0.0.1:5353-192.0.2.53:53@10" into out (NUL-terminated).
 * Returns the length. out must hold FLOW_KEY_NAME_MAX bytes. */
size_t flow_key_format(const struct flow_key *k, char *out);

/* Parse a key name (without requiring NUL termination). Returns 0 and fills
 * *k when name is exactly the canonical name of some flow key (formatting *k
 * again gives name back byte for byte), else -1. */
int flow_key_parse(const char *name, size_t len, struct flow_key *k);

/* "tcp", "udp", "icmp", "icmp6", "sctp", "gre" or the decimal number. */
const char *l4_proto_name(uint8_t proto, char buf[4]);

/* port.<l4>.<port> aggregates exist for the l4 protocols with ports that
 * flow keys name: tcp, udp, sctp (PORT_L4S of them). An aggregate's id is
 * its l4 index << 16 | the server port (below PORT_IDS). */
#define PORT_L4S 3
#define PORT_IDS (PORT_L4S << 16)
/* The l4 index of proto (0 .. PORT_L4S-1), or -1 when it has no port keys. Pure. */
int port_l4_index(uint8_t proto);
/* "port.<l4>.<port>" of aggregate id into out (32 bytes). Returns the length. Pure. */
size_t port_key_format(uint32_t id, char *out);
/* The id of the name after "port." ("tcp.80"), or -1 when not the canonical
 * name of a port aggregate. Pure. */
long port_key_parse(const char *s, size_t len);

/* Address text per KEYSPACE.md (dotted quad / RFC 5952). Returns length. */
size_t addr_format(uint8_t ipver, const uint8_t *addr, char *out /* ADDR_STR_MAX */);

/* Parse an address; returns its version (4/6) and fills addr[16], or 0 when
 * the text is not the canonical text of an address. */
int addr_parse_canonical(const char *s, size_t len, uint8_t addr[16]);

/* "aa:bb:cc:dd:ee:ff"; out must hold 18 bytes. */
void mac_format(const uint8_t mac[6], char *out);
int mac_parse_canonical(const char *s, size_t len, uint8_t mac[6]);

#endif
