/* sdp.c - SDP body parser: c=, o=, m= lines and their a=rtpmap / a=rtcp / direction attributes (pure code, any capture thread). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dissectors/rtp.h"
#include "dissectors/sdp.h"

#define SDP_ADDR_TEXT_MAX  64        /* longest address text tried with inet_pton */
#define SDP_PORT_MAX       65535
#define SDP_PT_MAX         127
#define SDP_CLOCK_MAX      10000000u
#define SDP_DIGITS_MAX     9

/* A piece of a line: s[0..n). */
struct sdp_span {
    const char *s;
    size_t n;
};

/* Next space-separated word of *rest (leading spaces skipped). */
static struct sdp_span sdp_word(struct sdp_span *rest)
{
    struct sdp_span w;
    while (rest->n && rest->s[0] == ' ')
        rest->s++, rest->n--;
    w.s = rest->s;
    w.n = 0;
    while (w.n < rest->n && rest->s[w.n] != ' ')
        w.n++;
    rest->s += w.n;
    rest->n -= w.n;
    return w;
}

/* Decimal number of 1..SDP_DIGITS_MAX digits at the start of w, stopping at
 * the first non-digit (its offset in *end). Returns the value, or -1. */
static long sdp_number(struct sdp_span w, size_t *end)
{
    long x = 0;
    size_t i = 0;
    while (i < w.n && w.s[i] >= '0' && w.s[i] <= '9' && i < SDP_DIGITS_MAX)
        x = x * 10 + (w.s[i++] - '0');
    if (i == 0 || (i < w.n && w.s[i] >= '0' && w.s[i] <= '9'))
        return -1;
    if (end)
        *end = i;
    return x;
}

static int sdp_word_is(struct sdp_span w, const char *lit)
{
    size_t n = strlen(lit);
    return w.n == n && strncasecmp(w.s, lit, n) == 0;
}

static void sdp_copy(char *dst, size_t cap, struct sdp_span w)
{
    size_t used = 0;
    dst[0] = '\0';
    dissect_escape_append(dst, cap, &used, (const uint8_t *)w.s, w.n, 0);
}

/* "IN IP4 <addr>[/ttl[/n]]" or "IN IP6 <addr>[/n]" (c= and the tail of o=). */
static void sdp_conn(struct sdp_span rest, struct sdp_addr *a)
{
    char txt[SDP_ADDR_TEXT_MAX];
    struct sdp_span nettype = sdp_word(&rest), atype = sdp_word(&rest), addr = sdp_word(&rest);
    memset(a, 0, sizeof(*a));
    if (!sdp_word_is(nettype, "IN"))
        return;
    int fam = sdp_word_is(atype, "IP4") ? 4 : sdp_word_is(atype, "IP6") ? 6 : 0;
    const char *slash = memchr(addr.s, '/', addr.n);
    if (slash)
        addr.n = (size_t)(slash - addr.s);
    if (!fam || addr.n == 0 || addr.n >= sizeof(txt))
        return;
    memcpy(txt, addr.s, addr.n);
    txt[addr.n] = '\0';
    if (inet_pton(fam == 4 ? AF_INET : AF_INET6, txt, a->ip) == 1)
        a->family = (uint8_t)fam;
}

/* "o=<user> <sess-id> <version> IN IP4 <addr>" */
static void sdp_origin(struct sdp_span rest, struct sdp_info *out)
{
    for (int i = 0; i < 3; i++)
        sdp_word(&rest);
    sdp_conn(rest, &out->origin_addr);
}

/* "m=<media> <port>[/<n>] <proto> <fmt> ..." */
static void sdp_media_line(struct sdp_span rest, struct sdp_info *out, uint8_t session_dir)
{
    if (out->media_n >= SDP_MEDIA_MAX) {
        if (out->media_dropped < UINT8_MAX)
            out->media_dropped++;
        return;
    }
    struct sdp_media *m = &out->media[out->media_n++];
    struct sdp_span type = sdp_word(&rest), port = sdp_word(&rest), proto = sdp_word(&rest);
    size_t end = 0;
    long pv = sdp_number(port, &end);
    sdp_copy(m->type, sizeof(m->type), type);
    sdp_copy(m->proto, sizeof(m->proto), proto);
    m->dir = session_dir;
    m->nports = 1;
    if (pv >= 0 && pv <= SDP_PORT_MAX && (end == port.n || port.s[end] == '/')) {
        m->port = (uint16_t)pv;
        m->rtcp_port = pv ? (uint16_t)(pv + 1) : 0;
        if (end < port.n) {
            struct sdp_span n = { port.s + end + 1, port.n - end - 1 };
            long nv = sdp_number(n, NULL);
            if (nv > 0 && nv <= SDP_PORT_MAX)
                m->nports = (uint16_t)nv;
        }
    }
    while (rest.n && m->fmt_n < SDP_FMT_MAX) {
        struct sdp_span f = sdp_word(&rest);
        size_t fe = 0;
        long pt = sdp_number(f, &fe);
        if (pt >= 0 && pt <= SDP_PT_MAX && fe == f.n)
            m->fmt[m->fmt_n++] = (uint8_t)pt;
    }
}

/* "a=rtpmap:<pt> <name>/<clock>[/<channels>]" */
static void sdp_rtpmap(struct sdp_span v, struct sdp_media *m)
{
    struct sdp_span pts = sdp_word(&v), enc = sdp_word(&v);
    size_t e = 0;
    long pt = sdp_number(pts, &e);
    const char *slash = memchr(enc.s, '/', enc.n);
    if (pt < 0 || pt > SDP_PT_MAX || e != pts.n || !slash || m->rtpmap_n >= SDP_RTPMAP_MAX)
        return;
    struct sdp_rtpmap *r = &m->rtpmap[m->rtpmap_n];
    struct sdp_span name = { enc.s, (size_t)(slash - enc.s) };
    struct sdp_span rate = { slash + 1, enc.n - name.n - 1 };
    long clock = sdp_number(rate, &e);
    if (clock <= 0 || (unsigned long)clock > SDP_CLOCK_MAX || name.n == 0)
        return;
    r->pt = (uint8_t)pt;
    r->clock = (uint32_t)clock;
    r->channels = 0;
    if (e < rate.n && rate.s[e] == '/') {
        struct sdp_span ch = { rate.s + e + 1, rate.n - e - 1 };
        long c = sdp_number(ch, NULL);
        if (c > 0 && c <= UINT8_MAX)
            r->channels = (uint8_t)c;
    }
    sdp_copy(r->name, sizeof(r->name), name);
    m->rtpmap_n++;
}

/* An a= line; m is the current media (NULL at session level). */
static void sdp_attr(struct sdp_span v, struct sdp_media *m, uint8_t *session_dir)
{
    static const struct {
        const char *name;
        uint8_t dir;
    } dirs[] = {
        { "sendrecv", SDP_DIR_SENDRECV }, { "sendonly", SDP_DIR_SENDONLY },
        { "recvonly", SDP_DIR_RECVONLY }, { "inactive", SDP_DIR_INACTIVE },
    };
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (sdp_word_is(v, dirs[i].name)) {
            if (m)
                m->dir = dirs[i].dir;
            else
                *session_dir = dirs[i].dir;
            return;
        }
    if (!m)
        return;
    if (v.n > 7 && strncasecmp(v.s, "rtpmap:", 7) == 0) {
        struct sdp_span r = { v.s + 7, v.n - 7 };
        sdp_rtpmap(r, m);
    } else if (v.n > 5 && strncasecmp(v.s, "rtcp:", 5) == 0) {
        struct sdp_span r = { v.s + 5, v.n - 5 };
        struct sdp_span port = sdp_word(&r);
        size_t e = 0;
        long pv = sdp_number(port, &e);
        if (pv > 0 && pv <= SDP_PORT_MAX && e == port.n)
            m->rtcp_port = (uint16_t)pv;
    }
}

/* Next line of p[*off..len) without its CRLF / LF. */
static struct sdp_span sdp_line(const uint8_t *p, size_t len, size_t *off)
{
    struct sdp_span l = { (const char *)p + *off, 0 };
    const uint8_t *nl = memchr(p + *off, '\n', len - *off);
    size_t end = nl ? (size_t)(nl - p) : len;
    l.n = end - *off;
    *off = nl ? end + 1 : len;
    if (l.n && l.s[l.n - 1] == '\r')
        l.n--;
    return l;
}

int sdp_parse(const uint8_t *p, size_t len, struct sdp_info *out)
{
    size_t off = 0;
    uint8_t session_dir = SDP_DIR_SENDRECV;
    struct sdp_media *cur = NULL;      /* NULL at session level, or in an m= not kept */
    int in_media = 0;

    memset(out, 0, sizeof(*out));
    while (off < len && (p[off] == '\r' || p[off] == '\n'))
        off++;
    if (len - off < 2 || p[off] != 'v' || p[off + 1] != '=')
        return DISSECT_MALFORMED;
    while (off < len) {
        struct sdp_span l = sdp_line(p, len, &off);
        if (l.n < 2 || l.s[1] != '=' || l.s[0] < 'a' || l.s[0] > 'z')
            continue;
        struct sdp_span v = { l.s + 2, l.n - 2 };
        switch (l.s[0]) {
        case 'o':
            sdp_origin(v, out);
            break;
        case 'c':
            if (cur) {
                sdp_conn(v, &cur->addr);
                cur->addr_from_media = 1;
            } else if (!in_media) {
                sdp_conn(v, &out->session_addr);
            }
            break;
        case 'm': {
            uint8_t before = out->media_n;
            sdp_media_line(v, out, session_dir);
            cur = out->media_n > before ? &out->media[out->media_n - 1] : NULL;
            in_media = 1;
            break;
        }
        case 'a':
            if (cur || !in_media)
                sdp_attr(v, cur, &session_dir);
            break;
        default:
            break;
        }
    }
    for (uint8_t i = 0; i < out->media_n; i++)
        if (!out->media[i].addr_from_media)
            out->media[i].addr = out->session_addr;
    return DISSECT_OK;
}

uint32_t sdp_media_clock(const struct sdp_media *m, uint8_t pt)
{
    for (uint8_t i = 0; i < m->rtpmap_n; i++)
        if (m->rtpmap[i].pt == pt)
            return m->rtpmap[i].clock;
    return rtp_pt_clock(pt);
}

const char *sdp_media_codec(const struct sdp_media *m, uint32_t *clock)
{
    const char *name = NULL;
    uint32_t hz = 0;
    if (m->fmt_n) {
        uint8_t pt = m->fmt[0];
        name = rtp_pt_name(pt);
        hz = rtp_pt_clock(pt);
        for (uint8_t i = 0; i < m->rtpmap_n; i++)
            if (m->rtpmap[i].pt == pt) {
                name = m->rtpmap[i].name;
                hz = m->rtpmap[i].clock;
                break;
            }
    }
    if (clock)
        *clock = hz;
    return name;
}

int sdp_endpoint_format(const struct sdp_addr *a, uint16_t port, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    int n;
    if (cap)
        buf[0] = '\0';
    if (a->family != 4 && a->family != 6)
        return -1;
    inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip));
    n = snprintf(buf, cap, a->family == 4 ? "%s:%u" : "[%s]:%u", ip, (unsigned)port);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
