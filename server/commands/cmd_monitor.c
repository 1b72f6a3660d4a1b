/* cmd_monitor.c - MONITOR: every command run is streamed to the monitoring clients as Redis 7.0 formats
 * it (loop thread). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "server/commands/cmd_internal.h"
#include "server/commands/commands.h"
#include "server/core/server.h"
#include "server/pubsub/pubsub.h"

/* Loop-thread state of this file: the monitoring clients, in the order they asked. */
static struct client **monitors;
static size_t nmonitors, monitors_cap;

enum { MONITOR_KILL_BATCH = 16 };

void cmd_monitor(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    if (c->in_exec) {
        resp_error(&c->out, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->monitor)
        return;                      /* already monitoring: Redis ignores it, without a reply */
    if (nmonitors == monitors_cap) {
        size_t ncap = monitors_cap ? monitors_cap * 2 : 8;
        struct client **nv = realloc(monitors, ncap * sizeof(*nv));
        if (!nv) {
            resp_error(&c->out, "ERR out of memory");
            return;
        }
        monitors = nv;
        monitors_cap = ncap;
    }
    monitors[nmonitors++] = c;
    c->monitor = 1;
    resp_simple(&c->out, "OK");
}

void commands_monitor_gone(struct client *c)
{
    for (size_t i = 0; i < nmonitors; i++)
        if (monitors[i] == c) {
            memmove(&monitors[i], &monitors[i + 1], (nmonitors - i - 1) * sizeof(*monitors));
            nmonitors--;
            break;
        }
    c->monitor = 0;
    if (!nmonitors) {
        free(monitors);
        monitors = NULL;
        monitors_cap = 0;
    }
}

void commands_client_closing(struct server *s, struct client *c)
{
    pubsub_client_gone(s, c);
    if (c->monitor)
        commands_monitor_gone(c);
}

/* "+<s>.<us> [0 <addr>] "arg" ..." for the command c ran. */
static void monitor_line(struct sbuf *b, const struct client *c, int argc, struct resp_arg *argv)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    sbuf_printf(b, "+%ld.%06ld [0 %s] ", (long)tv.tv_sec, (long)tv.tv_usec, c->addr);
    for (int i = 0; i < argc; i++) {
        if (cmd_arg_redacted(argc, argv, i))
            sbuf_appends(b, "\"(redacted)\"");
        else
            sbuf_append_repr(b, argv[i].ptr, argv[i].len);
        if (i != argc - 1)
            sbuf_appendc(b, ' ');
    }
    sbuf_append(b, "\r\n", 2);
}

void commands_monitor_feed(struct client *c, const struct command *cmd, int argc, struct resp_arg *argv)
{
    struct client *kill[MONITOR_KILL_BATCH];
    int nkill = 0;
    if (!nmonitors || (cmd->flags & CMD_ADMIN))
        return;                      /* administrative commands are not shown, as in Redis */
    struct sbuf line;
    sbuf_init(&line);
    monitor_line(&line, c, argc, argv);
    for (size_t i = 0; i < nmonitors && !line.oom; i++) {
        struct client *m = monitors[i];
        if (m->closing || m->reply_off || m->reply_skip)
            continue;
        /* Redis sets no limit on a monitor; here it is a pub/sub subscriber's, so a stalled reader
         * cannot grow the process without bound */
        if (client_output_pending(m) > m->srv->cfg->client_output_pubsub_hard) {
            if (nkill < MONITOR_KILL_BATCH)
                kill[nkill++] = m;
            continue;
        }
        sbuf_append(&m->out, line.buf, line.len);
        if (m != c)
            client_reply_ready(m);
    }
    sbuf_free(&line);
    for (int k = 0; k < nkill; k++)
        if (kill[k] != c)
            client_close(kill[k]);
}
