/* resp_reader.c - incremental RESP request reader (Redis 7.0 networking.c rules); owned by the client's I/O thread. */
#include "resp/resp_reader.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READER_MIN_BUF   (16 * 1024)   /* first query buffer allocation */
#define READER_KEEP_BUF  (64 * 1024)   /* never shrink below this */
#define READER_LINE_SCAN ((size_t)RESP_MAX_INLINE + 1)

/* Result of looking for a line terminator. */
enum line_find { LINE_FOUND, LINE_NEED_MORE, LINE_TOO_BIG };

void resp_reader_init(struct resp_reader *r)
{
    memset(r, 0, sizeof(*r));
    r->bulk_len = -1;
}

void resp_reader_free(struct resp_reader *r)
{
    free(r->buf);
    free(r->argv);
    free(r->arena);
    resp_reader_init(r);
}

size_t resp_reader_pending(const struct resp_reader *r)
{
    return r->len - r->pos;
}

size_t resp_reader_qbuf_len(const struct resp_reader *r)
{
    return r->len;
}

/* Marks the reader failed with errstr = msg; returns RESP_ERR. */
static enum resp_status reader_fail(struct resp_reader *r, const char *msg)
{
    snprintf(r->errstr, sizeof(r->errstr), "%s", msg);
    r->failed = 1;
    return RESP_ERR;
}

/* Redis's string2ll(): optional '-', no '+', no leading zeros, no spaces,
 * fewer than 21 bytes. Returns 1 and sets *out on success, else 0. */
static int reader_string2ll(const char *s, size_t slen, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v;

    if (slen == 0 || slen >= 21)
        return 0;
    if (slen == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (s[0] == '-') {
        neg = 1;
        if (++i == slen)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    v = (unsigned long long)(s[i++] - '0');
    for (; i < slen && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ULLONG_MAX / 10 || v * 10 > ULLONG_MAX - d)
            return 0;
        v = v * 10 + d;
    }
    if (i < slen)
        return 0;
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Consumes n bytes of the query buffer. */
static void reader_advance(struct resp_reader *r, size_t n)
{
    r->pos += n;
    r->scanned = 0;
}

/* Finds term after pos the way Redis's strchr() on its NUL-terminated query
 * buffer does, but independently of how the bytes were split: a NUL before
 * the terminator hides it, and a line whose terminator is not within the
 * first RESP_MAX_INLINE + 1 bytes is too big as soon as more than
 * RESP_MAX_INLINE bytes are pending (what Redis does fed byte by byte).
 * On LINE_FOUND *off is the terminator's offset from pos. */
static enum line_find reader_find_line(struct resp_reader *r, char term, size_t *off)
{
    const char *p = r->buf + r->pos;
    size_t avail = r->len - r->pos;
    size_t lim = avail < READER_LINE_SCAN ? avail : READER_LINE_SCAN;
    size_t i;

    for (i = r->scanned; i < lim; i++) {
        if (p[i] == term) {
            r->scanned = i;
            *off = i;
            return LINE_FOUND;
        }
        if (p[i] == '\0') {
            i = READER_LINE_SCAN;   /* strchr stops here: never found */
            break;
        }
    }
    r->scanned = i;
    return avail > (size_t)RESP_MAX_INLINE ? LINE_TOO_BIG : LINE_NEED_MORE;
}

/* Makes room for n more argument bytes in the arena. Returns 0 or -1. */
static int reader_arena_reserve(struct resp_reader *r, size_t n)
{
    if (r->arena_cap - r->arena_len >= n)
        return 0;
    size_t want = r->arena_len + n;
    size_t cap = r->arena_cap ? r->arena_cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *na = realloc(r->arena, cap);
    if (!na)
        return -1;
    r->arena = na;
    r->arena_cap = cap;
    return 0;
}

/* Appends one argument slot of length len (bytes are written by the caller
 * into the arena). Returns 0 or -1 on allocation failure. */
static int reader_argv_push(struct resp_reader *r, size_t len)
{
    if (r->argc == r->argv_cap) {
        if (r->argv_cap >= INT_MAX / 2)
            return -1;
        int cap = r->argv_cap ? r->argv_cap * 2 : 8;
        struct resp_arg *na = realloc(r->argv, (size_t)cap * sizeof(*na));
        if (!na)
            return -1;
        r->argv = na;
        r->argv_cap = cap;
    }
    r->argv[r->argc].ptr = NULL;
    r->argv[r->argc].len = len;
    r->argc++;
    return 0;
}

/* Points every argv[i].ptr into the arena once the command is complete. */
static void reader_argv_finish(struct resp_reader *r)
{
    size_t off = 0;
    for (int i = 0; i < r->argc; i++) {
        r->argv[i].ptr = r->arena + off;
        off += r->argv[i].len + 1;
    }
}

static int reader_is_blank(char c)   /* isspace() in the C locale */
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int reader_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One "..." step of sdssplitargs at s[*i] (s[n] reads as NUL). Appends to
 * *o; returns 1 at the closing quote, 0 to go on, -1 when unbalanced. */
static int reader_dquote_step(const char *s, size_t n, size_t *i, char *out, size_t *o)
{
#define CH(k) ((k) < n ? s[k] : '\0')
    char c = CH(*i);
    if (c == '\\' && CH(*i + 1) == 'x' && reader_hexval(CH(*i + 2)) >= 0 &&
        reader_hexval(CH(*i + 3)) >= 0) {
        out[(*o)++] = (char)(reader_hexval(CH(*i + 2)) * 16 + reader_hexval(CH(*i + 3)));
        *i += 3;
    } else if (c == '\\' && CH(*i + 1)) {
        char e = s[++*i];
        out[(*o)++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' :
                      e == 'b' ? '\b' : e == 'a' ? '\a' : e;
    } else if (c == '"') {
        return (CH(*i + 1) && !reader_is_blank(CH(*i + 1))) ? -1 : 1;
    } else if (c == '\0') {
        return -1;
    } else {
        out[(*o)++] = c;
    }
    return 0;
#undef CH
}

/* One '...' step of sdssplitargs, same contract as reader_dquote_step. */
static int reader_squote_step(const char *s, size_t n, size_t *i, char *out, size_t *o)
{
    char c = *i < n ? s[*i] : '\0';
    char next = *i + 1 < n ? s[*i + 1] : '\0';
    if (c == '\\' && next == '\'') {
        ++*i;
        out[(*o)++] = '\'';
    } else if (c == '\'') {
        return (next && !reader_is_blank(next)) ? -1 : 1;
    } else if (c == '\0') {
        return -1;
    } else {
        out[(*o)++] = c;
    }
    return 0;
}

/* Reads one token of sdssplitargs starting at s[*i] (not blank) into the
 * arena. Returns 0, -1 on unbalanced quotes, -2 on allocation failure. */
static int reader_split_token(struct resp_reader *r, const char *s, size_t n, size_t *i)
{
    size_t start = r->arena_len, o = start;
    int inq = 0, insq = 0, done = 0;

    while (!done) {
        char c = *i < n ? s[*i] : '\0';
        int st = 0;
        if (inq)
            st = reader_dquote_step(s, n, i, r->arena, &o);
        else if (insq)
            st = reader_squote_step(s, n, i, r->arena, &o);
        else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0')
            st = 1;
        else if (c == '"')
            inq = 1;
        else if (c == '\'')
            insq = 1;
        else
            r->arena[o++] = c;
        if (st < 0)
            return -1;
        done = st;
        if (*i < n)
            ++*i;
    }
    r->arena[o++] = '\0';
    r->arena_len = o;
    return reader_argv_push(r, o - start - 1) < 0 ? -2 : 0;
}

/* sdssplitargs() of the line s[0..n) (which holds no NUL) into argv.
 * Returns 0, -1 on unbalanced quotes, -2 on allocation failure. */
static int reader_split_line(struct resp_reader *r, const char *s, size_t n)
{
    size_t i = 0;

    /* tokens never take more than the line plus one NUL per 2 bytes */
    if (reader_arena_reserve(r, n + n / 2 + 2) < 0)
        return -2;
    for (;;) {
        while (i < n && reader_is_blank(s[i]))
            i++;
        if (i >= n)
            return 0;
        int rc = reader_split_token(r, s, n, &i);
        if (rc < 0)
            return rc;
    }
}

/* processInlineBuffer(): one telnet-style line. RESP_OK with argc == 0 for
 * a blank line. */
static enum resp_status reader_inline(struct resp_reader *r)
{
    size_t nl, qlen, eol = 1;

    switch (reader_find_line(r, '\n', &nl)) {
    case LINE_NEED_MORE:
        return RESP_NEED_MORE;
    case LINE_TOO_BIG:
        return reader_fail(r, "Protocol error: too big inline request");
    case LINE_FOUND:
        break;
    }
    const char *line = r->buf + r->pos;
    qlen = nl;
    if (qlen > 0 && line[qlen - 1] == '\r') {
        qlen--;
        eol++;
    }
    int rc = reader_split_line(r, line, qlen);
    if (rc == -1)
        return reader_fail(r, "Protocol error: unbalanced quotes in request");
    if (rc == -2)
        return reader_fail(r, "OOM out of memory reading the request");
    reader_advance(r, qlen + eol);
    return RESP_OK;
}

/* Finds a "<c><digits>\r?" header line of a multibulk. Returns RESP_OK with
 * *nl = offset of the '\r' (Redis only needs one more byte after it, of any
 * value), RESP_NEED_MORE, or RESP_ERR with too_big as errstr. */
static enum resp_status reader_header_line(struct resp_reader *r, size_t *nl, const char *too_big)
{
    switch (reader_find_line(r, '\r', nl)) {
    case LINE_NEED_MORE:
        return RESP_NEED_MORE;
    case LINE_TOO_BIG:
        return reader_fail(r, too_big);
    case LINE_FOUND:
        break;
    }
    if (*nl + 2 > r->len - r->pos)
        return RESP_NEED_MORE;
    return RESP_OK;
}

/* The "*<count>" line. Returns RESP_OK (mb_left set; argc 0 and mb_left 0
 * when the count is <= 0), RESP_NEED_MORE or RESP_ERR. */
static enum resp_status reader_mb_count(struct resp_reader *r)
{
    size_t nl;
    long long ll;
    enum resp_status st = reader_header_line(r, &nl, "Protocol error: too big mbulk count string");
    if (st != RESP_OK)
        return st;
    if (!reader_string2ll(r->buf + r->pos + 1, nl - 1, &ll) || ll > RESP_MAX_MULTIBULK)
        return reader_fail(r, "Protocol error: invalid multibulk length");
    if (ll > RESP_UNAUTH_MAX_ARGS && r->unauthenticated)
        return reader_fail(r, "Protocol error: unauthenticated multibulk length");
    reader_advance(r, nl + 2);
    r->mb_left = ll > 0 ? ll : 0;
    r->bulk_len = -1;
    return RESP_OK;
}

/* The "$<len>" line of the next bulk. Sets bulk_len on RESP_OK. */
static enum resp_status reader_bulk_header(struct resp_reader *r)
{
    size_t nl;
    long long ll;
    enum resp_status st = reader_header_line(r, &nl, "Protocol error: too big bulk count string");
    if (st != RESP_OK)
        return st;
    const char *p = r->buf + r->pos;
    if (p[0] != '$') {
        char got = (p[0] == '\r' || p[0] == '\n') ? ' ' : p[0];   /* Redis maps CR/LF to spaces */
        snprintf(r->errstr, sizeof(r->errstr), "Protocol error: expected '$', got '%c'", got);
        r->failed = 1;
        return RESP_ERR;
    }
    if (!reader_string2ll(p + 1, nl - 1, &ll) || ll < 0 || ll > RESP_MAX_BULK)
        return reader_fail(r, "Protocol error: invalid bulk length");
    if (ll > RESP_UNAUTH_MAX_BULK && r->unauthenticated)
        return reader_fail(r, "Protocol error: unauthenticated bulk length");
    reader_advance(r, nl + 2);
    r->bulk_len = ll;
    return RESP_OK;
}

/* processMultibulkBuffer(): RESP_OK when the command is complete (argc may
 * be 0 for "*0" or a negative count), RESP_NEED_MORE or RESP_ERR. */
static enum resp_status reader_multibulk(struct resp_reader *r)
{
    enum resp_status st;

    if (r->mb_left == 0) {
        st = reader_mb_count(r);
        if (st != RESP_OK || r->mb_left == 0)
            return st;
    }
    while (r->mb_left > 0) {
        if (r->bulk_len < 0 && (st = reader_bulk_header(r)) != RESP_OK)
            return st;
        size_t blen = (size_t)r->bulk_len;
        if (r->len - r->pos < blen + 2)
            return RESP_NEED_MORE;   /* the two bytes after the bulk are not checked, as in Redis */
        if (reader_arena_reserve(r, blen + 1) < 0 || reader_argv_push(r, blen) < 0)
            return reader_fail(r, "OOM out of memory reading the request");
        memcpy(r->arena + r->arena_len, r->buf + r->pos, blen);
        r->arena[r->arena_len + blen] = '\0';
        r->arena_len += blen + 1;
        reader_advance(r, blen + 2);
        r->bulk_len = -1;
        r->mb_left--;
    }
    return RESP_OK;
}

/* Drops consumed bytes (the end of Redis's processInputBuffer) and gives
 * back memory left over from a big request. */
static void reader_compact(struct resp_reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap > READER_KEEP_BUF && r->len < r->cap / 4) {
        size_t cap = r->len * 2 > READER_KEEP_BUF ? r->len * 2 : READER_KEEP_BUF;
        char *nb = realloc(r->buf, cap);
        if (nb) {
            r->buf = nb;
            r->cap = cap;
        }
    }
}

/* Forgets the command returned by the previous call. */
static void reader_release_command(struct resp_reader *r)
{
    r->argc = 0;
    r->arena_len = 0;
    if (r->arena_cap > READER_KEEP_BUF) {
        free(r->arena);
        r->arena = NULL;
        r->arena_cap = 0;
    }
}

int resp_reader_feed(struct resp_reader *r, const char *data, size_t len)
{
    if (r->failed)
        return -1;
    if (r->pos > 0)
        reader_compact(r);   /* arguments live in the arena, not in buf */
    if (len > (size_t)RESP_MAX_QUERYBUF - r->len) {
        reader_fail(r, "max query buffer length reached");
        return -1;
    }
    if (r->cap - r->len < len) {
        size_t want = r->len + len;
        size_t cap = r->cap ? r->cap : READER_MIN_BUF;
        while (cap < want)
            cap *= 2;
        if (cap > (size_t)RESP_MAX_QUERYBUF)
            cap = want > READER_MIN_BUF ? want : READER_MIN_BUF;
        char *nb = realloc(r->buf, cap);
        if (!nb) {
            reader_fail(r, "OOM out of memory reading the request");
            return -1;
        }
        r->buf = nb;
        r->cap = cap;
    }
    if (len)
        memcpy(r->buf + r->len, data, len);
    r->len += len;
    return 0;
}

enum resp_status resp_reader_next(struct resp_reader *r)
{
    if (r->failed)
        return RESP_ERR;
    if (r->mb_left == 0)
        reader_release_command(r);
    while (r->pos < r->len) {
        enum resp_status st;
        if (r->mb_left == 0 && r->buf[r->pos] != '*')
            st = reader_inline(r);
        else
            st = reader_multibulk(r);
        if (st == RESP_ERR)
            return st;
        if (st == RESP_NEED_MORE)
            break;
        if (r->argc > 0) {
            reader_argv_finish(r);
            return RESP_OK;
        }
        reader_release_command(r);   /* blank line or empty multibulk */
    }
    reader_compact(r);
    return RESP_NEED_MORE;
}
