/* cmd_multi.c - transactions: MULTI queues a client's commands, EXEC runs them, DISCARD drops them; WATCH (loop thread). */
#include <stdlib.h>
#include <string.h>

#include "capture/cache/budget.h"
#include "server/commands/cmd_internal.h"
#include "server/commands/commands.h"
#include "server/core/client.h"
#include "server/core/server.h"

/* Forgets the memory of c's queue (freed or handed to EXEC). */
static void multi_uncount(struct client *c)
{
    c->srv->multi_bytes -= c->mq_bytes;
    c->mq_bytes = 0;
}

void cmd_multi_discard(struct client *c)
{
    for (int i = 0; i < c->mq_n; i++) {
        for (int j = 0; j < c->mq[i].argc; j++)
            free(c->mq[i].argv[j].ptr);
        free(c->mq[i].argv);
    }
    c->mq_n = 0;
    c->in_multi = c->multi_dirty = 0;
    multi_uncount(c);
}

/* Memory a queued copy of argv takes: the bytes, a descriptor and an allocation header a
 * argument, and the command's queue slot. */
static uint64_t queued_bytes(int argc, const struct resp_arg *argv)
{
    uint64_t n = sizeof(struct queued_cmd) + 16;
    for (int i = 0; i < argc; i++)
        n += argv[i].len + 1 + sizeof(struct resp_arg) + 16;
    return n;
}

int cmd_multi_queue(struct client *c, int argc, struct resp_arg *argv)
{
    uint64_t bytes = queued_bytes(argc, argv), max = c->srv->cfg->maxmemory;
    if (client_querybuf_check(c, bytes) != 0)
        return -2;
    if (max && budget_used(&c->srv->cache->budget) + c->srv->multi_bytes + bytes > max)
        return -1;
    if (c->mq_n == c->mq_cap) {
        int ncap = c->mq_cap ? c->mq_cap * 2 : 8;
        struct queued_cmd *nq = realloc(c->mq, (size_t)ncap * sizeof(*nq));
        if (!nq) {
            c->multi_dirty = 1;
            return 0;
        }
        c->mq = nq;
        c->mq_cap = ncap;
    }
    struct resp_arg *copy = calloc((size_t)argc, sizeof(*copy));
    for (int i = 0; copy && i < argc; i++) {
        copy[i].ptr = malloc(argv[i].len + 1);
        if (!copy[i].ptr) {
            for (int j = 0; j < i; j++)
                free(copy[j].ptr);
            free(copy);
            copy = NULL;
            break;
        }
        memcpy(copy[i].ptr, argv[i].ptr, argv[i].len + 1);
        copy[i].len = argv[i].len;
    }
    if (!copy) {
        c->multi_dirty = 1;
        return 0;
    }
    c->mq[c->mq_n++] = (struct queued_cmd){ argc, copy };
    c->mq_bytes += bytes;
    c->srv->multi_bytes += bytes;
    return 0;
}

CMD_HANDLER(cmd_multi)
{
    if (c->in_multi) {
        resp_error(&c->out, "ERR MULTI calls can not be nested");
    } else {
        c->in_multi = 1;
        c->multi_dirty = 0;
        resp_simple(&c->out, "OK");
    }
}

static void multi_exec(struct client *c)
{
    if (c->multi_dirty) {
        resp_error(&c->out, "EXECABORT Transaction discarded because of previous errors.");
        cmd_multi_discard(c);
        return;
    }
    int n = c->mq_n;
    struct queued_cmd *q = c->mq;
    c->mq = NULL;
    c->mq_n = c->mq_cap = 0;
    c->in_multi = 0;
    multi_uncount(c);
    resp_array(&c->out, n);
    c->in_exec = 1;
    for (int i = 0; i < n; i++) {
        const struct command *parent, *cmd = commands_resolve(q[i].argc, q[i].argv, &parent);
        if (cmd)
            commands_call(c, cmd, parent, q[i].argc, q[i].argv);
        for (int j = 0; j < q[i].argc; j++)
            free(q[i].argv[j].ptr);
        free(q[i].argv);
    }
    c->in_exec = 0;
    free(q);
}

CMD_HANDLER(cmd_exec)
{
    if (!c->in_multi)
        resp_error(&c->out, "ERR EXEC without MULTI");
    else
        multi_exec(c);
}

CMD_HANDLER(cmd_discard)
{
    if (!c->in_multi) {
        resp_error(&c->out, "ERR DISCARD without MULTI");
    } else {
        cmd_multi_discard(c);
        resp_simple(&c->out, "OK");
    }
}

/* The cache changes with every packet and nothing here writes: WATCH is accepted, EXEC never fails on it. */
CMD_HANDLER(cmd_watch)
{
    if (c->in_multi)
        resp_error(&c->out, "ERR WATCH inside MULTI is not allowed");
    else
        resp_simple(&c->out, "OK");
}
