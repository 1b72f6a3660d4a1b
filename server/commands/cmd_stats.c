/* cmd_stats.c - statistics per command (INFO commandstats, latencystats) and per error code (errorstats) (loop thread). */
#include <stdio.h>
#include <string.h>

#include "server/commands/cmd_internal.h"
#include "server/commands/commands.h"

struct cmd_stat { const struct command *cmd, *parent; uint64_t calls, usec, rejected, failed; };
enum { STAT_SLOTS = 512, ERR_CODES = 32 };

/* Loop-thread state of this file only. */
static struct cmd_stat stats[STAT_SLOTS];
static struct { char code[24]; uint64_t count; } errstats[ERR_CODES];

static struct cmd_stat *stat_of(const struct command *cmd, const struct command *parent)
{
    size_t h = ((uintptr_t)cmd >> 3) % STAT_SLOTS;
    for (size_t i = 0; i < STAT_SLOTS; i++, h = (h + 1) % STAT_SLOTS) {
        if (stats[h].cmd == cmd)
            return &stats[h];
        if (!stats[h].cmd) {
            stats[h].cmd = cmd;
            stats[h].parent = parent;
            return &stats[h];
        }
    }
    return &stats[0];
}

/* Counts the error reply that starts at out[from] (if it is one) under its code. */
static void errstat_count(const struct client *c, size_t from)
{
    if (c->out.len <= from || c->out.buf[from] != '-')
        return;
    const char *p = c->out.buf + from + 1;
    size_t n = 0;
    while (from + 1 + n < c->out.len && n < sizeof(errstats[0].code) - 1 && p[n] != ' ' && p[n] != '\r')
        n++;
    for (int i = 0; i < ERR_CODES; i++) {
        if (errstats[i].code[0] && (strlen(errstats[i].code) != n || memcmp(errstats[i].code, p, n) != 0))
            continue;
        if (!errstats[i].code[0])
            memcpy(errstats[i].code, p, n);
        errstats[i].count++;
        return;
    }
}

void commands_stats_each(void (*fn)(void *arg, const char *name, uint64_t calls, uint64_t usec,
                                    uint64_t rejected, uint64_t failed), void *arg)
{
    char name[64];
    for (size_t i = 0; i < STAT_SLOTS; i++) {
        const struct cmd_stat *s = &stats[i];
        if (!s->cmd || (!s->calls && !s->rejected && !s->failed))
            continue;
        commands_full_name(s->cmd, s->parent, name, sizeof(name));
        fn(arg, name, s->calls, s->usec, s->rejected, s->failed);
    }
}

struct info_pass { struct sbuf *b; int latency; };

static void info_line_cb(void *arg, const char *name, uint64_t calls, uint64_t usec, uint64_t rejected, uint64_t failed)
{
    const struct info_pass *p = arg;
    double per = calls ? (double)usec / (double)calls : 0.0;
    if (!p->latency)
        sbuf_printf(p->b, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
                    name, (unsigned long long)calls, (unsigned long long)usec, per, (unsigned long long)rejected,
                    (unsigned long long)failed);
    else if (calls)   /* no histogram is kept: the mean stands for every percentile */
        sbuf_printf(p->b, "latency_percentiles_usec_%s:p50=%.3f,p99=%.3f,p99.9=%.3f\r\n", name, per, per, per);
}

void cmd_stats_info(struct sbuf *b, int latency)
{
    struct info_pass p = { b, latency };
    commands_stats_each(info_line_cb, &p);
}

uint64_t commands_error_replies(void)
{
    return cmd_stats_error_total();
}

void cmd_stats_errors(struct sbuf *b)
{
    for (int i = 0; i < ERR_CODES && errstats[i].code[0]; i++)
        sbuf_printf(b, "errorstat_%s:count=%llu\r\n", errstats[i].code, (unsigned long long)errstats[i].count);
}

uint64_t cmd_stats_error_total(void)
{
    uint64_t n = 0;
    for (int i = 0; i < ERR_CODES; i++)
        n += errstats[i].count;
    return n;
}

void cmd_stats_reset(void)
{
    memset(stats, 0, sizeof(stats));
    memset(errstats, 0, sizeof(errstats));
}

void cmd_stats_called(const struct client *c, const struct command *cmd, const struct command *parent,
                      uint64_t usec, size_t reply_from)
{
    struct cmd_stat *st = stat_of(cmd, parent);
    st->calls++;
    st->usec += usec;
    if (c->out.len > reply_from && c->out.buf[reply_from] == '-') {
        st->failed++;
        errstat_count(c, reply_from);
    }
}

void cmd_stats_rejected(const struct client *c, const struct command *cmd, const struct command *parent,
                        size_t reply_from)
{
    if (cmd)
        stat_of(cmd, parent)->rejected++;
    errstat_count(c, reply_from);
}
