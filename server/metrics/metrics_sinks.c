/* metrics_sinks.c - the event sinks' INFO sections (# Cloud, # Export...) as metric families, so that no sink is named here (loop thread). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/metrics/metrics_internal.h"

enum { LINES_MAX = 64, FIELDS_MAX = 16, NAME_MAX_ = 96 };

/* A line's `key:value`, value either a number or `k=v,k=v` (a line per collector, node...). */
struct info_line { const char *key, *val; size_t klen, vlen; };

static int is_number(const char *p, size_t n)
{
    size_t i = n && (p[0] == '-' || p[0] == '+');
    int digits = 0, dots = 0;
    for (; i < n; i++) {
        if (isdigit((unsigned char)p[i]))
            digits++;
        else if (p[i] == '.' && !dots)
            dots++;
        else
            return 0;
    }
    return digits > 0;
}

/* Figures that go up and down: everything else a sink counts only grows. */
static int is_gauge(const char *key, size_t n)
{
    static const char *const words[] = { "enabled", "cluster", "nodes", "queued", "inflight", "latency",
                                         "collectors", "active" };
    char k[NAME_MAX_];
    snprintf(k, sizeof(k), "%.*s", (int)n, key);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(k, words[i]))
            return 1;
    return 0;
}

/* Writes into out "base_field" (base: key without its trailing index) with [^a-zA-Z0-9_] made '_'. */
static void metric_name(char *out, size_t cap, const char *key, size_t klen, const char *field, size_t flen)
{
    while (klen && isdigit((unsigned char)key[klen - 1]) && field)
        klen--;
    int n = snprintf(out, cap, "%.*s%s%.*s", (int)klen, key, field ? "_" : "", (int)flen, field ? field : "");
    for (int i = 0; i < n && (size_t)i < cap; i++)
        if (!isalnum((unsigned char)out[i]) && out[i] != '_')
            out[i] = '_';
}

static void family(struct sbuf *b, const char *name, int gauge, const char *section)
{
    sbuf_printf(b, "# HELP flowcached_%s%s INFO %s: %s\n# TYPE flowcached_%s%s %s\n", name, gauge ? "" : "_total",
                section, name, name, gauge ? "" : "_total", gauge ? "gauge" : "counter");
}

/* Finds field f (length n) in a `k=v,...` value; returns its value and sets *vn, or NULL. */
static const char *field_find(const struct info_line *l, const char *f, size_t n, size_t *vn)
{
    const char *p = l->val, *end = l->val + l->vlen;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && (size_t)(eq - p) == n && !memcmp(p, f, n)) {
            *vn = (size_t)(stop - eq - 1);
            return eq + 1;
        }
        p = stop + 1;
    }
    return NULL;
}

/* The `k=v` lines of one base name (lines[from..to)): a family per numeric field, a sample per line,
 * labelled collector="<first non-numeric field>". */
static void render_pairs(struct sbuf *b, const char *section, struct info_line *lines, int from, int to)
{
    const struct info_line *first = &lines[from];
    const char *p = first->val, *end = first->val + first->vlen;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && is_number(eq + 1, (size_t)(stop - eq - 1))) {
            char name[NAME_MAX_];
            int gauge = is_gauge(p, (size_t)(eq - p));
            metric_name(name, sizeof(name), first->key, first->klen, p, (size_t)(eq - p));
            family(b, name, gauge, section);
            for (int i = from; i < to; i++) {
                size_t vn = 0, ln = 0;
                const char *v = field_find(&lines[i], p, (size_t)(eq - p), &vn), *label = lines[i].val;
                if (!v || !is_number(v, vn))
                    continue;
                ln = strcspn(label, "=");
                label += ln + 1;
                ln = strcspn(label, ",\r\n");
                sbuf_printf(b, "flowcached_%s%s{collector=\"", name, gauge ? "" : "_total");
                for (size_t k = 0; k < ln; k++) {
                    if (label[k] == '\\' || label[k] == '"')
                        sbuf_appendc(b, '\\');
                    sbuf_appendc(b, label[k]);
                }
                sbuf_printf(b, "\"} %.*s\n", (int)vn, v);
            }
        }
        p = stop + 1;
    }
}

/* Splits a section's text into its `key:value` lines (the "# Name" line skipped). Returns how many. */
static int lines_split(const struct sbuf *t, struct info_line *lines)
{
    int n = 0;
    const char *p = t->buf, *end = t->buf + t->len;
    while (p < end && n < LINES_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        size_t vlen = colon ? (size_t)(stop - colon - 1) : 0;
        if (colon && *p != '#') {
            if (vlen && colon[vlen] == '\r')
                vlen--;
            lines[n++] = (struct info_line){ p, colon + 1, (size_t)(colon - p), vlen };
        }
        p = stop + 1;
    }
    return n;
}

static void render_section(struct sbuf *b, const char *section, const struct sbuf *t)
{
    struct info_line lines[LINES_MAX];
    int n = lines_split(t, lines);
    for (int i = 0; i < n; i++) {
        struct info_line *l = &lines[i];
        char name[NAME_MAX_];
        if (is_number(l->val, l->vlen)) {
            metric_name(name, sizeof(name), l->key, l->klen, NULL, 0);
            int gauge = is_gauge(l->key, l->klen);
            family(b, name, gauge, section);
            sbuf_printf(b, "flowcached_%s%s %.*s\n", name, gauge ? "" : "_total", (int)l->vlen, l->val);
        } else if (memchr(l->val, '=', l->vlen)) {
            int j = i + 1;       /* the lines of the same base name follow each other */
            char base[NAME_MAX_], other[NAME_MAX_];
            metric_name(base, sizeof(base), l->key, l->klen, "", 0);
            while (j < n && memchr(lines[j].val, '=', lines[j].vlen) &&
                   (metric_name(other, sizeof(other), lines[j].key, lines[j].klen, "", 0), !strcmp(base, other)))
                j++;
            render_pairs(b, section, lines, i, j);
            i = j - 1;
        }
    }
}

void metrics_render_sinks(struct server *s, struct sbuf *out)
{
    struct sbuf t;
    sbuf_init(&t);
    for (int i = 0; i < s->sinks.n; i++) {
        sbuf_reset(&t);
        if (sink_info(&s->sinks, i, &t) != 0 || t.oom)
            continue;
        render_section(out, s->sinks.v[i].name, &t);
    }
    sbuf_free(&t);
}
