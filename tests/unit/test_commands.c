/* test_commands.c - the command table's flags against Redis 7.0's own (cmd_meta.c); single-threaded test binary. */
#include <stdlib.h>
#include <string.h>

#include "server/commands/cmd_internal.h"
#include "server/commands/commands.h"
#include "tests/unit/check.h"

/* A cursor over RESP3 bytes. */
struct rd { const char *p, *end; };

static long long rd_header(struct rd *r, char *type)
{
    *type = *r->p;
    long long n = strtoll(r->p + 1, NULL, 10);
    r->p = strstr(r->p, "\r\n") + 2;
    return n;
}

/* Skips one value. */
static void rd_skip(struct rd *r)
{
    char t;
    long long n = rd_header(r, &t);
    if (t == '$' && n >= 0)
        r->p += n + 2;
    else if ((t == '*' || t == '~' || t == '%') && n > 0)
        for (long long i = 0; i < n * (t == '%' ? 2 : 1); i++)
            rd_skip(r);
}

/* Reads a string value (bulk or simple) into out. */
static void rd_text(struct rd *r, char *out, size_t cap)
{
    char t;
    const char *start = r->p + 1;
    long long n = rd_header(r, &t);
    if (t == '$') {
        snprintf(out, cap, "%.*s", (int)n, r->p);
        r->p += n + 2;
    } else {
        snprintf(out, cap, "%.*s", (int)(r->p - 2 - start), start);
    }
}

/* The flags of Redis' COMMAND INFO entry at r as table flags (the ones the dispatcher and MONITOR use). */
static int entry_flags(struct rd *r, char *name, size_t cap)
{
    char t, flag[64];
    int flags = 0;
    rd_header(r, &t);                /* *10 */
    rd_text(r, name, cap);
    rd_skip(r);                      /* arity */
    long long nf = rd_header(r, &t);
    for (long long i = 0; i < nf; i++) {
        rd_text(r, flag, sizeof(flag));
        flags |= !strcmp(flag, "admin") ? CMD_ADMIN : !strcmp(flag, "readonly") ? CMD_READONLY
               : !strcmp(flag, "write") ? CMD_WRITE : !strcmp(flag, "no_multi") ? CMD_NO_MULTI : 0;
    }
    return flags;
}

/* may_replicate is one of the flags Redis hides from COMMAND INFO: not checked here. */
enum { CHECKED = CMD_ADMIN | CMD_READONLY | CMD_WRITE | CMD_NO_MULTI };

/* The flags Redis gives "parent|sub" in the container's entry (its 10th element), -1 when absent. */
static int sub_flags(const struct cmd_meta *m, const char *full)
{
    struct rd r = { m->info, m->info + m->info_len };
    char t, name[96];
    rd_header(&r, &t);
    for (int i = 0; i < 9; i++)
        rd_skip(&r);
    long long n = rd_header(&r, &t);
    for (long long i = 0; i < n; i++) {
        struct rd at = r;
        int f = entry_flags(&r, name, sizeof(name));
        if (!strcmp(name, full))
            return f;
        r = at;
        rd_skip(&r);
    }
    return -1;
}

TEST_CASE(flags_match_redis)
{
    int n, checked = 0;
    const struct command *t = commands_table(&n);
    char name[96], full[96];
    for (int i = 0; i < n; i++) {
        const struct cmd_meta *m = cmd_meta_find(t[i].name);
        CHECK(m != NULL);
        if (!m)
            continue;
        struct rd r = { m->info, m->info + m->info_len };
        int want = entry_flags(&r, name, sizeof(name));
        CHECK_STR(name, t[i].name);
        if (!t[i].subs) {
            if ((t[i].flags & CHECKED) != want)
                fprintf(stderr, "  %s: table 0x%x, Redis 0x%x\n", t[i].name, t[i].flags & CHECKED, want);
            CHECK_INT(t[i].flags & CHECKED, want);
            checked++;
            continue;
        }
        for (int k = 0; k < t[i].nsubs; k++) {
            commands_full_name(&t[i].subs[k], &t[i], full, sizeof(full));
            int sw = sub_flags(m, full);
            if (sw < 0 && !strcmp(full, "client|setinfo"))
                continue;            /* Redis 7.2's, which clients send on connect: 7.0 has no entry */
            if (sw < 0)
                fprintf(stderr, "  %s: not in Redis 7.0's COMMAND INFO\n", full);
            CHECK(sw >= 0);
            if (sw >= 0 && (t[i].subs[k].flags & CHECKED) != sw)
                fprintf(stderr, "  %s: table 0x%x, Redis 0x%x\n", full, t[i].subs[k].flags & CHECKED, sw);
            CHECK_INT(t[i].subs[k].flags & CHECKED, sw < 0 ? 0 : sw);
            checked++;
        }
    }
    CHECK(checked > 150);
}

int main(void)
{
    RUN(flags_match_redis);
    return CHECK_DONE("commands");
}
