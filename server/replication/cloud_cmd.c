/* cloud_cmd.c - commands for cloud nodes formatted once as RESP, and their FIFO queues (pure code, any thread). */
#include "server/replication/cloud_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/replication/cloud_cluster.h"

void cloud_cmdq_push(struct cloud_cmdq *q, struct cloud_cmd *c)
{
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->n++;
    q->bytes += c->len;
}

struct cloud_cmd *cloud_cmdq_pop(struct cloud_cmdq *q)
{
    struct cloud_cmd *c = q->head;
    if (!c)
        return NULL;
    q->head = c->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    q->bytes -= c->len;
    c->next = NULL;
    return c;
}

void cloud_cmdq_prepend(struct cloud_cmdq *dst, struct cloud_cmdq *src)
{
    if (!src->head)
        return;
    src->tail->next = dst->head;
    if (!dst->head)
        dst->tail = src->tail;
    dst->head = src->head;
    dst->n += src->n;
    dst->bytes += src->bytes;
    memset(src, 0, sizeof(*src));
}

void cloud_cmd_free(struct cloud_cmd *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c);
}

/* The argument that routes a command: argv[1], except for scripts (EVAL, EVALSHA, FCALL and their _RO
 * forms: script numkeys key...), routed by their first key (argv[3]; none when numkeys is 0). -1: none. */
static int cmd_key_index(int argc, const char **argv, const size_t *lens)
{
    static const char *const scripts[] = { "EVAL", "EVALSHA", "FCALL", "EVAL_RO", "EVALSHA_RO", "FCALL_RO" };
    for (size_t i = 0; argc > 0 && i < sizeof(scripts) / sizeof(scripts[0]); i++)
        if (lens[0] == strlen(scripts[i]) && strncasecmp(argv[0], scripts[i], lens[0]) == 0)
            return argc > 3 && !(lens[2] == 1 && argv[2][0] == '0') ? 3 : -1;
    return argc > 1 ? 1 : -1;
}

struct cloud_cmd *cloud_cmd_new(int kind, int argc, const char **argv, const size_t *lens)
{
    size_t need = 32;
    for (int i = 0; i < argc; i++)
        need += lens[i] + 32;
    struct cloud_cmd *c = calloc(1, sizeof(*c));
    char *p = c ? malloc(need) : NULL;
    if (!p) {
        free(c);
        return NULL;
    }
    size_t o = (size_t)snprintf(p, need, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        o += (size_t)snprintf(p + o, need - o, "$%zu\r\n", lens[i]);
        memcpy(p + o, argv[i], lens[i]);
        o += lens[i];
        p[o++] = '\r';
        p[o++] = '\n';
    }
    c->buf = p;
    c->len = o;
    c->kind = (uint8_t)kind;
    c->ask_node = -1;
    int k = cmd_key_index(argc, argv, lens);
    c->slot = k > 0 ? (uint16_t)cloud_key_slot(argv[k], lens[k]) : 0;
    return c;
}

struct cloud_cmd *cloud_cmd_newv(int kind, int argc, const char **argv)
{
    size_t lens[CLOUD_CMD_ARGS_MAX];
    if (argc > CLOUD_CMD_ARGS_MAX)
        return NULL;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return cloud_cmd_new(kind, argc, argv, lens);
}

struct cloud_cmd *cloud_cmd_function_load(const char *code, const struct cloud_cmd *to)
{
    const char *argv[] = { "FUNCTION", "LOAD", "REPLACE", code };
    struct cloud_cmd *c = cloud_cmd_newv(to->kind, 4, argv);
    if (c) {
        c->slot = to->slot;
        c->ask_node = to->ask_node;
    }
    return c;
}
