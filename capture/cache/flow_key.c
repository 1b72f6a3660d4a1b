/* flow_key.c - canonical flow keys, their hashes and key names (pure code, any thread). */
#include "capture/cache/flow_key.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

uint64_t flow_key_hash(const struct flow_key *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    h = hash_mix64(h ^ load64(k->cli)) + load64(k->cli + 8);
    h = hash_mix64(h ^ load64(k->srv)) + load64(k->srv + 8);
    h = hash_mix64(h ^ ((uint64_t)k->cport << 48 | (uint64_t)k->sport << 32 |
                   (uint64_t)k->vlan << 16 | (uint64_t)k->ipver << 8 | k->l4proto));
    return h;
}

int flow_key_equal(const struct flow_key *a, const struct flow_key *b)
{
    return a->cport == b->cport && a->sport == b->sport && a->vlan == b->vlan &&
           a->ipver == b->ipver && a->l4proto == b->l4proto &&
           memcmp(a->cli, b->cli, 16) == 0 && memcmp(a->srv, b->srv, 16) == 0;
}

static const uint8_t port_l4s[PORT_L4S] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

int port_l4_index(uint8_t proto)
{
    for (int i = 0; i < PORT_L4S; i++)
        if (port_l4s[i] == proto)
            return i;
    return -1;
}

size_t port_key_format(uint32_t id, char *out)
{
    char nb[4];
    return (size_t)sprintf(out, "port.%s.%u", l4_proto_name(port_l4s[(id >> 16) % PORT_L4S], nb),
                           (unsigned)(id & 0xffff));
}

long port_key_parse(const char *s, size_t len)
{
    for (int i = 0; i < PORT_L4S; i++) {
        char nb[4];
        const char *l4 = l4_proto_name(port_l4s[i], nb);
        size_t n = strlen(l4);
        if (len <= n + 1 || memcmp(s, l4, n) != 0 || s[n] != '.')
            continue;
        const char *p = s + n + 1;
        size_t plen = len - n - 1;
        long v = 0;
        if (plen > 5 || (plen > 1 && p[0] == '0'))
            return -1;
        for (size_t j = 0; j < plen; j++) {
            if (p[j] < '0' || p[j] > '9')
                return -1;
            v = v * 10 + (p[j] - '0');
        }
        return v <= 0xffff ? (long)i << 16 | v : -1;
    }
    return -1;
}

const char *l4_proto_name(uint8_t proto, char buf[4])
{
    switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmp6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_GRE: return "gre";
    default:
        snprintf(buf, 4, "%u", proto);
        return buf;
    }
}

/* Dotted quad of a[0..3] into out, NUL-terminated; returns its length. */
static size_t v4_format(const uint8_t *a, char *out)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            out[n++] = (char)('0' + v / 100);
        if (v >= 10)
            out[n++] = (char)('0' + v / 10 % 10);
        out[n++] = (char)('0' + v % 10);
        out[n++] = i < 3 ? '.' : '\0';
    }
    return n - 1;
}

/* inet_ntop(AF_INET6) by hand, byte for byte what glibc writes (RFC 5952: the first longest run of
 * two or more zero words as "::", lower-case hex; IPv4-compatible and -mapped addresses end in a
 * dotted quad), without its sprintf per word. Returns the length written (NUL-terminated). */
static size_t v6_format(const uint8_t *a, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned w[8];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (w[i] == 0) {
            if (cur < 0)
                cur = i, cur_len = 0;
            cur_len++;
        } else if (cur >= 0) {
            if (best < 0 || cur_len > best_len)
                best = cur, best_len = cur_len;
            cur = -1;
        }
    }
    if (cur >= 0 && (best < 0 || cur_len > best_len))
        best = cur, best_len = cur_len;
    if (best >= 0 && best_len < 2)
        best = -1;
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                out[n++] = ':';
            continue;
        }
        if (i)
            out[n++] = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
            return n + v4_format(a + 12, out + n);
        int started = 0;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (w[i] >> sh) & 15;
            if (d || started || sh == 0) {
                out[n++] = hex[d];
                started = 1;
            }
        }
    }
    if (best >= 0 && best + best_len == 8)
        out[n++] = ':';
    out[n] = '\0';
    return n;
}

size_t addr_format(uint8_t ipver, const uint8_t *addr, char *out)
{
    return ipver != 6 ? v4_format(addr, out) : v6_format(addr, out);
}

static size_t endpoint_format(uint8_t ipver, const uint8_t *addr, uint16_t port, char *out)
{
    char a[ADDR_STR_MAX];
    addr_format(ipver, addr, a);
    return (size_t)sprintf(out, ipver == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

size_t flow_key_format(const struct flow_key *k, char *out)
{
    char nb[4];
    size_t n = (size_t)sprintf(out, "flow.%s.", l4_proto_name(k->l4proto, nb));
    n += endpoint_format(k->ipver, k->cli, k->cport, out + n);
    out[n++] = '-';
    n += endpoint_format(k->ipver, k->srv, k->sport, out + n);
    if (k->vlan)
        n += (size_t)sprintf(out + n, "@%u", k->vlan);
    out[n] = '\0';
    return n;
}

int addr_parse_canonical(const char *s, size_t len, uint8_t addr[16])
{
    char tmp[ADDR_STR_MAX], back[ADDR_STR_MAX];
    if (len == 0 || len >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(addr, 0, 16);
    int ver = memchr(tmp, ':', len) ? 6 : 4;
    if (inet_pton(ver == 6 ? AF_INET6 : AF_INET, tmp, addr) != 1)
        return 0;
    addr_format((uint8_t)ver, addr, back);
    return strcmp(back, tmp) == 0 ? ver : 0;
}

/* Parses "<addr>:<port>" or "[<addr6>]:<port>" at s; returns bytes used or -1. */
static int endpoint_parse(const char *s, size_t len, int want_v6, uint8_t addr[16], uint16_t *port)
{
    size_t i = 0, astart, aend;
    if (want_v6) {
        if (len < 1 || s[0] != '[')
            return -1;
        astart = 1;
        for (i = 1; i < len && s[i] != ']'; i++) {}
        if (i >= len)
            return -1;
        aend = i++;
    } else {
        astart = 0;
        for (i = 0; i < len && s[i] != ':'; i++) {}
        aend = i;
    }
    if (i >= len || s[i] != ':')
        return -1;
    int ver = addr_parse_canonical(s + astart, aend - astart, addr);
    if (ver != (want_v6 ? 6 : 4))
        return -1;
    i++;
    unsigned v = 0;
    size_t d0 = i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - d0 < 6)
        v = v * 10 + (unsigned)(s[i++] - '0');
    if (i == d0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return (int)i;
}

int flow_key_parse(const char *name, size_t len, struct flow_key *k)
{
    static const char prefix[] = "flow.";
    if (len < sizeof(prefix) || len >= FLOW_KEY_NAME_MAX || memcmp(name, prefix, 5) != 0)
        return -1;
    memset(k, 0, sizeof(*k));
    size_t i = 5, p0 = 5;
    while (i < len && name[i] != '.')
        i++;
    if (i >= len)
        return -1;
    char pname[8];
    size_t plen = i - p0;
    if (plen == 0 || plen >= sizeof(pname))
        return -1;
    memcpy(pname, name + p0, plen);
    pname[plen] = '\0';
    static const uint8_t named[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6,
                                     IPPROTO_SCTP, IPPROTO_GRE };
    int proto = -1;
    char nb[4];
    for (size_t j = 0; j < sizeof(named) && proto < 0; j++)
        if (strcmp(pname, l4_proto_name(named[j], nb)) == 0)
            proto = named[j];
    for (unsigned v = 0; v < 256 && proto < 0; v++)
        if (strcmp(pname, l4_proto_name((uint8_t)v, nb)) == 0)
            proto = (int)v;
    if (proto < 0)
        return -1;
    k->l4proto = (uint8_t)proto;
    i++;
    int v6 = i < len && name[i] == '[';
    k->ipver = v6 ? 6 : 4;
    int used = endpoint_parse(name + i, len - i, v6, k->cli, &k->cport);
    if (used < 0)
        return -1;
    i += (size_t)used;
    if (i >= len || name[i] != '-')
        return -1;
    i++;
    used = endpoint_parse(name + i, len - i, v6, k->srv, &k->sport);
    if (used < 0)
        return -1;
    i += (size_t)used;
    if (i < len) {
        if (name[i] != '@')
            return -1;
        unsigned v = 0;
        size_t d0 = ++i;
        while (i < len && name[i] >= '0' && name[i] <= '9' && i - d0 < 5)
            v = v * 10 + (unsigned)(name[i++] - '0');
        if (i != len || i == d0 || v == 0 || v > 4095)
            return -1;
        k->vlan = (uint16_t)v;
    }
    char back[FLOW_KEY_NAME_MAX];
    size_t bl = flow_key_format(k, back);
    return (bl == len && memcmp(back, name, len) == 0) ? 0 : -1;
}

void mac_format(const uint8_t mac[6], char *out)
{
    sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int mac_parse_canonical(const char *s, size_t len, uint8_t mac[6])
{
    if (len != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
