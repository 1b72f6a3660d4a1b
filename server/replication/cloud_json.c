/* cloud_json.c - reader of the probe's one-line flat JSON event payloads (pure code, any thread). */
#include "server/replication/cloud_json.h"

#include <string.h>

struct jcur {
    const char *p, *end;
    char *o, *oend;
};

static void skip_ws(struct jcur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int read_u4(struct jcur *c, unsigned *v)
{
    if (c->end - c->p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(c->p[i]);
        if (h < 0)
            return -1;
        *v = *v << 4 | (unsigned)h;
    }
    c->p += 4;
    return 0;
}

static int put(struct jcur *c, char ch)
{
    if (c->o >= c->oend)
        return -1;
    *c->o++ = ch;
    return 0;
}

/* Writes code point cp as UTF-8. */
static int put_utf8(struct jcur *c, unsigned cp)
{
    if (cp < 0x80)
        return put(c, (char)cp);
    if (cp < 0x800)
        return put(c, (char)(0xC0 | cp >> 6)) | put(c, (char)(0x80 | (cp & 0x3F)));
    if (cp < 0x10000)
        return put(c, (char)(0xE0 | cp >> 12)) | put(c, (char)(0x80 | ((cp >> 6) & 0x3F))) |
               put(c, (char)(0x80 | (cp & 0x3F)));
    return put(c, (char)(0xF0 | cp >> 18)) | put(c, (char)(0x80 | ((cp >> 12) & 0x3F))) |
           put(c, (char)(0x80 | ((cp >> 6) & 0x3F))) | put(c, (char)(0x80 | (cp & 0x3F)));
}

static int read_escape(struct jcur *c)
{
    if (c->p >= c->end)
        return -1;
    char e = *c->p++;
    switch (e) {
    case '"': case '\\': case '/': return put(c, e);
    case 'b': return put(c, '\b');
    case 'f': return put(c, '\f');
    case 'n': return put(c, '\n');
    case 'r': return put(c, '\r');
    case 't': return put(c, '\t');
    case 'u': {
        unsigned cp, lo;
        if (read_u4(c, &cp) != 0)
            return -1;
        if (cp >= 0xD800 && cp < 0xDC00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
            c->p += 2;
            if (read_u4(c, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        return put_utf8(c, cp);
    }
    default: return -1;
    }
}

/* Reads a string (c->p on the opening quote) into the output; returns its start. */
static const char *read_string(struct jcur *c, size_t *len)
{
    if (c->p >= c->end || *c->p != '"')
        return NULL;
    c->p++;
    char *start = c->o;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\') {
            c->p++;
            if (read_escape(c) != 0)
                return NULL;
        } else if (put(c, *c->p++) != 0) {
            return NULL;
        }
    }
    if (c->p >= c->end || put(c, '\0') != 0)
        return NULL;
    c->p++;
    *len = (size_t)(c->o - start) - 1;
    return start;
}

/* Reads a bare token (number, true, false, null). */
static const char *read_token(struct jcur *c, size_t *len)
{
    char *start = c->o;
    while (c->p < c->end && *c->p != ',' && *c->p != '}' && *c->p != ' ' && *c->p != '\t' &&
           *c->p != '\r' && *c->p != '\n') {
        if (*c->p == '"' || *c->p == '{' || *c->p == '[' || put(c, *c->p) != 0)
            return NULL;
        c->p++;
    }
    if (c->o == start || put(c, '\0') != 0)
        return NULL;
    *len = (size_t)(c->o - start) - 1;
    return start;
}

int cloud_json_parse(const char *s, size_t len, char *buf, size_t buflen,
                     struct cloud_json_field *out, int max)
{
    struct jcur c = { s, s + len, buf, buf + buflen };
    int n = 0;
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{')
        return -1;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}')
        return 0;
    for (;;) {
        struct cloud_json_field f;
        size_t nl;
        char *mark = c.o;
        skip_ws(&c);
        if (!(f.name = read_string(&c, &nl)))
            return -1;
        skip_ws(&c);
        if (c.p >= c.end || *c.p++ != ':')
            return -1;
        skip_ws(&c);
        f.is_str = c.p < c.end && *c.p == '"';
        f.val = f.is_str ? read_string(&c, &f.vlen) : read_token(&c, &f.vlen);
        if (!f.val)
            return -1;
        if (n < max)
            out[n++] = f;
        else
            c.o = mark;      /* skipped: give its room back */
        skip_ws(&c);
        if (c.p >= c.end)
            return -1;
        if (*c.p == '}')
            return n;
        if (*c.p++ != ',')
            return -1;
    }
}

const struct cloud_json_field *cloud_json_get(const struct cloud_json_field *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}
