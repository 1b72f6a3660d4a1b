/* sip.c - SIP message parser: start line, folded and compact headers, From/To/CSeq, body framing, TCP stream (pure code, any capture thread). */
#include <string.h>
#include <strings.h>

#include "dissectors/sip.h"

#define SIP_VERSION_PREFIX   "SIP/"
#define SIP_VERSION_PFX_LEN  4
#define SIP_VERSION_DIGITS   3        /* at most 3 digits on each side of the dot */
#define SIP_STATUS_DIGITS    3
#define SIP_STATUS_MIN       100
#define SIP_STATUS_MAX       699
#define SIP_CSEQ_DIGITS      10
#define SIP_CLEN_DIGITS      8

/* Headers the parser looks at. */
enum sip_hdr {
    SIP_H_NONE = 0,
    SIP_H_CALL_ID,
    SIP_H_FROM,
    SIP_H_TO,
    SIP_H_CSEQ,
    SIP_H_CLEN,
    SIP_H_CTYPE,
};

/* Full and compact names (RFC 3261 7.3.3). */
static const struct {
    const char *name;
    char compact;
    uint8_t id;
} sip_header_names[] = {
    { "call-id", 'i', SIP_H_CALL_ID },
    { "from", 'f', SIP_H_FROM },
    { "to", 't', SIP_H_TO },
    { "cseq", 0, SIP_H_CSEQ },
    { "content-length", 'l', SIP_H_CLEN },
    { "content-type", 'c', SIP_H_CTYPE },
};

static const char *const sip_methods[SIP_M_COUNT] = {
    [SIP_M_OTHER] = "OTHER", [SIP_M_INVITE] = "INVITE", [SIP_M_ACK] = "ACK",
    [SIP_M_BYE] = "BYE", [SIP_M_CANCEL] = "CANCEL", [SIP_M_REGISTER] = "REGISTER",
    [SIP_M_OPTIONS] = "OPTIONS", [SIP_M_PRACK] = "PRACK", [SIP_M_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_M_NOTIFY] = "NOTIFY", [SIP_M_PUBLISH] = "PUBLISH", [SIP_M_INFO] = "INFO",
    [SIP_M_REFER] = "REFER", [SIP_M_MESSAGE] = "MESSAGE", [SIP_M_UPDATE] = "UPDATE",
};

/* A piece of the message: s[0..n). */
struct sip_span {
    const char *s;
    size_t n;
};

/* What the head parse keeps besides the message fields. */
struct sip_head_state {
    unsigned seen;                /* 1 << enum sip_hdr of the headers already taken */
    uint8_t has_ctype, ctype_sdp;
};

static int sip_is_ws(int c)
{
    return c == ' ' || c == '\t';
}

/* RFC 3261 token characters. */
static int sip_is_token(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("-.!%*_+`'~", c) != NULL);
}

static struct sip_span sip_trim(struct sip_span v)
{
    while (v.n && sip_is_ws((unsigned char)v.s[0]))
        v.s++, v.n--;
    while (v.n && sip_is_ws((unsigned char)v.s[v.n - 1]))
        v.n--;
    return v;
}

/* Copies v escaped into dst[cap]; returns 1 when it was cut. */
static int sip_copy(char *dst, size_t cap, struct sip_span v)
{
    size_t used = 0;
    dst[0] = '\0';
    return dissect_escape_append(dst, cap, &used, (const uint8_t *)v.s, v.n, 0) < 0;
}

uint8_t sip_method_of(const char *name, size_t len)
{
    for (uint8_t i = SIP_M_OTHER + 1; i < SIP_M_COUNT; i++)
        if (strlen(sip_methods[i]) == len && memcmp(sip_methods[i], name, len) == 0)
            return i;
    return SIP_M_OTHER;
}

const char *sip_method_name(uint8_t method)
{
    return method < SIP_M_COUNT ? sip_methods[method] : sip_methods[SIP_M_OTHER];
}

int sip_is_keepalive(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != 0)
            return 0;
    return len > 0;
}

/* "SIP/d.d" (the name in any case). */
static int sip_version_ok(struct sip_span v)
{
    size_t i = SIP_VERSION_PFX_LEN, d1 = 0, d2 = 0;
    if (v.n < SIP_VERSION_PFX_LEN + 3 || strncasecmp(v.s, SIP_VERSION_PREFIX, SIP_VERSION_PFX_LEN) != 0)
        return 0;
    while (i < v.n && v.s[i] >= '0' && v.s[i] <= '9')
        i++, d1++;
    if (i >= v.n || v.s[i++] != '.')
        return 0;
    while (i < v.n && v.s[i] >= '0' && v.s[i] <= '9')
        i++, d2++;
    return i == v.n && d1 && d2 && d1 <= SIP_VERSION_DIGITS && d2 <= SIP_VERSION_DIGITS;
}

/* 0 when the first bytes p[0..n) of an unfinished start line cannot begin one. */
static int sip_start_prefix_ok(const uint8_t *p, size_t n)
{
    size_t k = n < SIP_VERSION_PFX_LEN ? n : SIP_VERSION_PFX_LEN;
    if (strncasecmp((const char *)p, SIP_VERSION_PREFIX, k) == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ')
            return i > 0 && i < SIP_METHOD_MAX;
        if (!sip_is_token(p[i]) || i + 1 >= SIP_METHOD_MAX)
            return 0;
    }
    return 1;
}

/* "METHOD SP Request-URI SP SIP/2.0": the URI has a scheme. Returns 0 or -1. */
static int sip_request_line(struct sip_msg *m, struct sip_span l)
{
    const char *sp1 = memchr(l.s, ' ', l.n);
    if (!sp1 || sp1 == l.s || (size_t)(sp1 - l.s) >= SIP_METHOD_MAX)
        return -1;
    struct sip_span meth = { l.s, (size_t)(sp1 - l.s) };
    for (size_t i = 0; i < meth.n; i++)
        if (!sip_is_token((unsigned char)meth.s[i]))
            return -1;
    struct sip_span rest = { sp1 + 1, l.n - meth.n - 1 };
    const char *sp2 = memchr(rest.s, ' ', rest.n);
    if (!sp2 || sp2 == rest.s)
        return -1;
    struct sip_span uri = { rest.s, (size_t)(sp2 - rest.s) };
    struct sip_span ver = { sp2 + 1, rest.n - uri.n - 1 };
    if (!memchr(uri.s, ':', uri.n) || !sip_version_ok(ver))
        return -1;
    memcpy(m->method_name, meth.s, meth.n);
    m->method_name[meth.n] = '\0';
    m->method = sip_method_of(meth.s, meth.n);
    if (sip_copy(m->ruri, sizeof(m->ruri), uri))
        m->cut |= SIP_CUT_OTHER;
    m->is_request = 1;
    return 0;
}

/* "SIP/2.0 SP DDD [SP reason]". Returns 0 or -1. */
static int sip_status_line(struct sip_msg *m, struct sip_span l)
{
    const char *sp = memchr(l.s, ' ', l.n);
    if (!sp)
        return -1;
    struct sip_span ver = { l.s, (size_t)(sp - l.s) };
    const char *d = sp + 1;
    size_t left = l.n - ver.n - 1;
    int st = 0;
    if (!sip_version_ok(ver) || left < SIP_STATUS_DIGITS || (left > SIP_STATUS_DIGITS && d[3] != ' '))
        return -1;
    for (int i = 0; i < SIP_STATUS_DIGITS; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        st = st * 10 + (d[i] - '0');
    }
    if (st < SIP_STATUS_MIN || st > SIP_STATUS_MAX)
        return -1;
    m->status = (uint16_t)st;
    return 0;
}

/* Header id of a name (full or compact, any case). */
static uint8_t sip_header_id(struct sip_span name)
{
    for (size_t i = 0; i < sizeof(sip_header_names) / sizeof(sip_header_names[0]); i++) {
        if (name.n == 1 && sip_header_names[i].compact &&
            (name.s[0] | 0x20) == sip_header_names[i].compact)
            return sip_header_names[i].id;
        if (name.n == strlen(sip_header_names[i].name) && strncasecmp(name.s, sip_header_names[i].name, name.n) == 0)
            return sip_header_names[i].id;
    }
    return SIP_H_NONE;
}

/* Display name inside quotes, quoted-pairs unescaped; returns the offset
 * after the closing quote (n when it is missing). */
static size_t sip_quoted(const char *v, size_t n, char *dst, size_t cap, int *cut)
{
    size_t used = 0, i = 1;
    dst[0] = '\0';
    while (i < n && v[i] != '"') {
        size_t k = 1;           /* a quoted-pair's byte, or a run of plain ones */
        if (v[i] == '\\' && i + 1 < n)
            i++;
        else
            while (i + k < n && v[i + k] != '"' && v[i + k] != '\\')
                k++;
        if (dissect_escape_append(dst, cap, &used, (const uint8_t *)v + i, k, 0) < 0)
            *cut = 1;
        i += k;
    }
    return i < n ? i + 1 : n;
}

/* The tag parameter among ";name=value" params. */
static int sip_tag(struct sip_span params, char *dst, size_t cap)
{
    while (params.n) {
        const char *semi = memchr(params.s, ';', params.n);
        size_t pn = semi ? (size_t)(semi - params.s) : params.n;
        struct sip_span prm = sip_trim((struct sip_span){ params.s, pn });
        const char *eq = memchr(prm.s, '=', prm.n);
        if (eq) {
            struct sip_span name = sip_trim((struct sip_span){ prm.s, (size_t)(eq - prm.s) });
            struct sip_span val = sip_trim((struct sip_span){ eq + 1, (size_t)(prm.s + prm.n - eq - 1) });
            if (name.n == 3 && strncasecmp(name.s, "tag", 3) == 0)
                return sip_copy(dst, cap, val);
        }
        params.s += semi ? pn + 1 : pn;
        params.n -= semi ? pn + 1 : pn;
    }
    return 0;
}

/* From / To: [display] <uri>;params, or uri;params. Returns 1 when a field was cut. */
static int sip_party_parse(struct sip_span v, struct sip_party *p)
{
    size_t i = 0;
    int cut = 0;
    struct sip_span uri, params = { v.s + v.n, 0 };
    if (v.n && v.s[0] == '"')
        i = sip_quoted(v.s, v.n, p->display, sizeof(p->display), &cut);
    const char *lt = memchr(v.s + i, '<', v.n - i);
    if (lt) {
        if (i == 0)
            cut |= sip_copy(p->display, sizeof(p->display), sip_trim((struct sip_span){ v.s, (size_t)(lt - v.s) }));
        const char *start = lt + 1;
        const char *gt = memchr(start, '>', (size_t)(v.s + v.n - start));
        const char *end = gt ? gt : v.s + v.n;
        uri = (struct sip_span){ start, (size_t)(end - start) };
        if (gt)
            params = (struct sip_span){ gt + 1, (size_t)(v.s + v.n - gt - 1) };
    } else {
        const char *semi = memchr(v.s + i, ';', v.n - i);
        const char *end = semi ? semi : v.s + v.n;
        uri = (struct sip_span){ v.s + i, (size_t)(end - v.s - i) };
        params = (struct sip_span){ end, (size_t)(v.s + v.n - end) };
    }
    cut |= sip_copy(p->uri, sizeof(p->uri), sip_trim(uri));
    cut |= sip_tag(params, p->tag, sizeof(p->tag));
    return cut;
}

/* "CSeq: 123 INVITE"; unreadable values leave cseq 0. */
static void sip_cseq(struct sip_msg *m, struct sip_span v)
{
    uint64_t x = 0;
    size_t i = 0;
    while (i < v.n && v.s[i] >= '0' && v.s[i] <= '9' && i < SIP_CSEQ_DIGITS)
        x = x * 10 + (uint64_t)(v.s[i++] - '0');
    if (i == 0 || x > UINT32_MAX || i >= v.n || !sip_is_ws((unsigned char)v.s[i]))
        return;
    struct sip_span meth = sip_trim((struct sip_span){ v.s + i, v.n - i });
    if (meth.n == 0 || meth.n >= SIP_METHOD_MAX)
        return;
    for (size_t k = 0; k < meth.n; k++)
        if (!sip_is_token((unsigned char)meth.s[k]))
            return;
    m->cseq = (uint32_t)x;
    memcpy(m->cseq_method_name, meth.s, meth.n);
    m->cseq_method_name[meth.n] = '\0';
    m->cseq_method = sip_method_of(meth.s, meth.n);
}

/* Content-Length: digits only. Returns 0 or -1. */
static int sip_clen(struct sip_msg *m, struct sip_span v, int cut)
{
    uint64_t x = 0;
    if (cut || v.n == 0 || v.n > SIP_CLEN_DIGITS)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        if (v.s[i] < '0' || v.s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v.s[i] - '0');
    }
    if (x >= SIP_CLEN_MAX)
        return -1;
    m->content_length = (int64_t)x;
    return 0;
}

/* One header, its value unfolded and trimmed. Returns 0 or -1. */
static int sip_header(struct sip_msg *m, struct sip_head_state *hs, uint8_t id, struct sip_span v, int cut)
{
    if (id == SIP_H_NONE || (hs->seen & (1u << id)))
        return 0;
    hs->seen |= 1u << id;
    switch (id) {
    case SIP_H_CALL_ID:
        if (sip_copy(m->call_id, sizeof(m->call_id), v) || cut)
            m->cut |= SIP_CUT_CALL_ID;
        return 0;
    case SIP_H_FROM:
        if (sip_party_parse(v, &m->from) || cut)
            m->cut |= SIP_CUT_FROM;
        return 0;
    case SIP_H_TO:
        if (sip_party_parse(v, &m->to) || cut)
            m->cut |= SIP_CUT_TO;
        return 0;
    case SIP_H_CSEQ:
        sip_cseq(m, v);
        return 0;
    case SIP_H_CLEN:
        return sip_clen(m, v, cut);
    case SIP_H_CTYPE: {
        const char *semi = memchr(v.s, ';', v.n);
        struct sip_span t = sip_trim((struct sip_span){ v.s, semi ? (size_t)(semi - v.s) : v.n });
        hs->has_ctype = 1;
        hs->ctype_sdp = t.n == 15 && strncasecmp(t.s, "application/sdp", 15) == 0;
        return 0;
    }
    default:
        return 0;
    }
}

/* Unfolds raw[0..n) (a value over one or more lines) into dst[cap]: every
 * run of CR, LF, space and tab becomes one space, ends trimmed. Returns the
 * length; *cut is set when it did not fit. */
static size_t sip_unfold(struct sip_span raw, char *dst, size_t cap, int *cut)
{
    size_t o = 0;
    int space = 0;
    *cut = 0;
    for (size_t i = 0; i < raw.n; i++) {
        char c = raw.s[i];
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
            space = o > 0;
            continue;
        }
        if (o + space + 1 > cap) {
            *cut = 1;
            break;
        }
        if (space)
            dst[o++] = ' ';
        space = 0;
        dst[o++] = c;
    }
    return o;
}

/* A header line p[start..end) (folded lines included, final line end
 * excluded). Returns 0 or -1. */
static int sip_header_raw(struct sip_msg *m, struct sip_head_state *hs, const uint8_t *p, size_t start, size_t end)
{
    char val[SIP_VALUE_MAX];
    struct sip_span line = { (const char *)p + start, end - start };
    const char *colon = memchr(line.s, ':', line.n);
    if (!colon)
        return 0;                       /* not a header: ignored */
    struct sip_span name = sip_trim((struct sip_span){ line.s, (size_t)(colon - line.s) });
    uint8_t id = sip_header_id(name);
    if (id == SIP_H_NONE)
        return 0;
    int cut;
    struct sip_span raw = { colon + 1, (size_t)(line.s + line.n - colon - 1) };
    struct sip_span v = { val, sip_unfold(raw, val, sizeof(val), &cut) };
    return sip_header(m, hs, id, v, cut);
}

/* End of the line starting at off (the offset of its LF), or len when none. */
static size_t sip_eol(const uint8_t *p, size_t len, size_t off)
{
    const uint8_t *nl = memchr(p + off, '\n', len - off);
    return nl ? (size_t)(nl - p) : len;
}

/* Line content end: without the CR before the LF at eol. */
static size_t sip_content_end(const uint8_t *p, size_t start, size_t eol)
{
    return eol > start && p[eol - 1] == '\r' ? eol - 1 : eol;
}

/* Headers from off to the empty line; sets head_len. Returns DISSECT_*. */
static int sip_headers(const uint8_t *p, size_t len, size_t off, struct sip_msg *m, struct sip_head_state *hs)
{
    for (;;) {
        size_t eol = sip_eol(p, len, off);
        if (eol == len)
            return DISSECT_NEED_MORE;
        if (sip_content_end(p, off, eol) == off) {
            m->head_len = (uint32_t)(eol + 1);
            return DISSECT_OK;
        }
        size_t start = off;
        while (eol + 1 < len && sip_is_ws(p[eol + 1]))     /* folded continuation */
            eol = sip_eol(p, len, eol + 1);
        if (eol + 1 >= len)
            return DISSECT_NEED_MORE;   /* cannot tell a fold from the end yet */
        if (eol >= SIP_HEAD_MAX)
            return DISSECT_MALFORMED;
        if (sip_header_raw(m, hs, p, start, sip_content_end(p, start, eol)) < 0)
            return DISSECT_MALFORMED;
        off = eol + 1;
    }
}

/* Start line and headers. Returns DISSECT_*. */
static int sip_head(const uint8_t *p, size_t len, struct sip_msg *m, struct sip_head_state *hs)
{
    size_t off = 0;
    while (off < len && (p[off] == '\r' || p[off] == '\n'))
        off++;                          /* CRLFs before a start line are ignored */
    size_t eol = sip_eol(p, len, off);
    if (eol == len) {
        size_t n = len - off;
        return n < SIP_HEAD_MAX && sip_start_prefix_ok(p + off, n) ? DISSECT_NEED_MORE : DISSECT_MALFORMED;
    }
    struct sip_span l = { (const char *)p + off, sip_content_end(p, off, eol) - off };
    int rc = l.n > SIP_VERSION_PFX_LEN && strncasecmp(l.s, SIP_VERSION_PREFIX, SIP_VERSION_PFX_LEN) == 0
                 ? sip_status_line(m, l) : sip_request_line(m, l);
    if (rc < 0)
        return DISSECT_MALFORMED;
    rc = sip_headers(p, len, eol + 1, m, hs);
    if (rc == DISSECT_NEED_MORE && len >= SIP_HEAD_MAX)
        return DISSECT_MALFORMED;
    if (rc == DISSECT_OK && !m->is_request) {
        memcpy(m->method_name, m->cseq_method_name, sizeof(m->method_name));
        m->method = m->cseq_method;
    }
    return rc;
}

int sip_parse(const uint8_t *p, size_t len, enum sip_transport transport, struct sip_msg *out)
{
    struct sip_head_state hs = { 0, 0, 0 };

    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    int rc = sip_head(p, len, out, &hs);
    if (rc != DISSECT_OK)
        return rc;
    size_t avail = len - out->head_len, body;
    if (transport == SIP_TCP) {
        body = out->content_length < 0 ? 0 : (size_t)out->content_length;
        if (body > avail)
            return DISSECT_NEED_MORE;
    } else if (out->content_length < 0) {
        body = avail;
    } else {
        body = (size_t)out->content_length;
        if (body > avail) {
            body = avail;
            out->body_cut = 1;
        }
    }
    out->body_len = (uint32_t)body;
    const uint8_t *b = p + out->head_len;
    int looks_sdp = body >= 2 && b[0] == 'v' && b[1] == '=';
    if (body && (hs.ctype_sdp || (!hs.has_ctype && looks_sdp)))
        out->has_sdp = sdp_parse(b, body, &out->sdp) == DISSECT_OK;
    return DISSECT_OK;
}

void sip_stream_init(struct sip_stream *s)
{
    memset(s, 0, sizeof(*s));
}

/* Drops the first n buffered bytes. */
static void sip_stream_consume(struct sip_stream *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= (uint32_t)n;
}

/* Delivers every whole message in the buffer. Returns 0, or -1 when the
 * bytes are not SIP. */
static int sip_stream_drain(struct sip_stream *s, sip_msg_cb on_msg, void *arg)
{
    struct sip_msg m;
    for (;;) {
        size_t lead = 0;
        while (lead < s->len && (s->buf[lead] == '\r' || s->buf[lead] == '\n'))
            lead++;
        sip_stream_consume(s, lead);    /* keep-alives between messages */
        if (s->len == 0)
            return 0;
        int rc = sip_parse(s->buf, s->len, SIP_TCP, &m);
        if (rc == DISSECT_MALFORMED)
            return -1;
        if (rc == DISSECT_OK) {
            size_t total = m.head_len + m.body_len;
            s->msgs++;
            on_msg(arg, &m);
            sip_stream_consume(s, total);
            continue;
        }
        if (s->len < SIP_STREAM_BUF)
            return 0;                   /* wait for more */
        if (m.head_len == 0)
            return -1;                  /* a head that does not fit */
        size_t total = m.head_len + (size_t)m.content_length;
        if (sip_parse(s->buf, s->len, SIP_UDP, &m) != DISSECT_OK)
            return -1;
        s->msgs++;
        s->cut++;
        on_msg(arg, &m);
        s->skip = (uint32_t)(total - s->len);
        s->len = 0;
        return 0;
    }
}

int sip_stream_feed(struct sip_stream *s, const uint8_t *data, size_t len,
                    sip_msg_cb on_msg, void *arg)
{
    size_t off = 0;
    while (off < len && !s->dead) {
        if (s->skip) {
            size_t k = len - off < s->skip ? len - off : s->skip;
            s->skip -= (uint32_t)k;
            off += k;
            continue;
        }
        size_t k = SIP_STREAM_BUF - s->len;
        if (k > len - off)
            k = len - off;
        memcpy(s->buf + s->len, data + off, k);
        s->len += (uint32_t)k;
        off += k;
        if (sip_stream_drain(s, on_msg, arg) < 0) {
            s->dead = 1;
            s->len = 0;
            return DISSECT_MALFORMED;
        }
    }
    return DISSECT_OK;
}
