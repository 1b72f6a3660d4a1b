/* glob.c - port of Redis 7.0 util.c stringmatchlen() (KEYS / SCAN MATCH / PSUBSCRIBE patterns); pure code, any thread. */
#include "resp/glob.h"

#define GLOB_MAX_NESTING 1000

/* A pattern or subject being walked. Reading at or past the end yields NUL,
 * as reading Redis's NUL-terminated sds does; bytes are signed, as the x86
 * build of Redis compares them. */
struct glob_cur {
    const char *p;
    size_t len;
};

static int glob_at(const struct glob_cur *c, size_t i)
{
    return i < c->len ? (signed char)c->p[i] : 0;
}

static void glob_skip(struct glob_cur *c, size_t n)
{
    c->p += n;
    c->len -= n;
}

static int glob_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int glob_eq(int a, int b, int nocase)
{
    return nocase ? glob_lower(a) == glob_lower(b) : a == b;
}

/* The body of a "[...]" class, pat just past the '['. Leaves pat on the
 * closing ']' (or on the last byte when unterminated, as Redis does) and
 * returns 1 when ch is matched (after '^' negation). */
static int glob_class(struct glob_cur *pat, int ch, int nocase)
{
    int neg = glob_at(pat, 0) == '^', match = 0;

    if (neg)
        glob_skip(pat, 1);
    for (;;) {
        int c0 = glob_at(pat, 0);
        if (c0 == '\\' && pat->len >= 2) {
            glob_skip(pat, 1);
            if (glob_at(pat, 0) == ch)
                match = 1;
        } else if (c0 == ']') {
            break;
        } else if (pat->len == 0) {
            pat->p--;           /* step back onto the last byte */
            pat->len++;
            break;
        } else if (pat->len >= 3 && glob_at(pat, 1) == '-') {
            int lo = c0, hi = glob_at(pat, 2), c = ch;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = glob_lower(lo);
                hi = glob_lower(hi);
                c = glob_lower(c);
            }
            glob_skip(pat, 2);
            if (c >= lo && c <= hi)
                match = 1;
        } else if (glob_eq(c0, ch, nocase)) {
            match = 1;
        }
        glob_skip(pat, 1);
    }
    return neg ? !match : match;
}

static int glob_impl(struct glob_cur pat, struct glob_cur str, int nocase, int *skip_longer, int nesting);

/* The '*' case: pat is on the (last of a run of) '*'. */
static int glob_star(struct glob_cur pat, struct glob_cur str, int nocase, int *skip_longer, int nesting)
{
    while (pat.len && glob_at(&pat, 1) == '*')
        glob_skip(&pat, 1);
    if (pat.len == 1)
        return 1;
    glob_skip(&pat, 1);
    while (str.len) {
        if (glob_impl(pat, str, nocase, skip_longer, nesting + 1))
            return 1;
        if (*skip_longer)
            return 0;
        glob_skip(&str, 1);
    }
    /* The rest of the pattern matches nowhere in the rest of the string, so
     * no earlier '*' can help by matching more: give up at every level. */
    *skip_longer = 1;
    return 0;
}

static int glob_impl(struct glob_cur pat, struct glob_cur str, int nocase, int *skip_longer, int nesting)
{
    if (nesting > GLOB_MAX_NESTING)
        return 0;   /* protection against abusive patterns */
    while (pat.len && str.len) {
        int c0 = glob_at(&pat, 0);
        if (c0 == '*')
            return glob_star(pat, str, nocase, skip_longer, nesting);
        if (c0 == '[') {
            glob_skip(&pat, 1);
            if (!glob_class(&pat, glob_at(&str, 0), nocase))
                return 0;
        } else if (c0 != '?') {
            if (c0 == '\\' && pat.len >= 2)
                glob_skip(&pat, 1);
            if (!glob_eq(glob_at(&pat, 0), glob_at(&str, 0), nocase))
                return 0;
        }
        glob_skip(&str, 1);
        glob_skip(&pat, 1);
        if (str.len == 0) {
            while (pat.len && glob_at(&pat, 0) == '*')
                glob_skip(&pat, 1);
            break;
        }
    }
    return pat.len == 0 && str.len == 0;
}

int glob_match(const char *pattern, size_t plen, const char *str, size_t slen, int nocase)
{
    struct glob_cur pat = { pattern, plen }, s = { str, slen };
    int skip_longer = 0;
    return glob_impl(pat, s, nocase, &skip_longer, 0);
}

size_t glob_literal_prefix(const char *pattern, size_t plen, char *out, size_t outcap)
{
    size_t i = 0, n = 0;

    while (i < plen && n < outcap) {
        char c = pattern[i];
        if (c == '*' || c == '?' || c == '[')
            break;
        if (c == '\\' && i + 1 < plen)
            c = pattern[++i];
        out[n++] = c;
        i++;
    }
    return n;
}
