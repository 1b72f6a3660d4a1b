/* cloud_cmd.h - one command for a cloud node, formatted once as RESP, and FIFO queues of them (pure code). */
#ifndef FC_CLOUD_CMD_H
#define FC_CLOUD_CMD_H

#include <stddef.h>
#include <stdint.h>

enum { CLOUD_CMD_ARGS_MAX = 16 };

struct cloud_cmd {
    struct cloud_cmd *next;
    char *buf;                       /* the RESP bytes, owned */
    size_t len;
    uint64_t sent_us;                /* set on the last command of a batch */
    uint16_t slot;                   /* hash slot of its key (argv[1]; a script's first key), 0 without one */
    int16_t ask_node;                /* node to send to after ASK, else -1 */
    uint8_t kind, redirects;         /* kind: the engine's enum */
    /* who waits for the reply (a GET), told once: see cloud_get_cb in cloud_engine.h */
    void (*waiter)(void *arg, const char *val, size_t len, int status);
    void *waiter_arg;
};

struct cloud_cmdq {
    struct cloud_cmd *head, *tail;
    size_t n, bytes;                 /* commands and their RESP bytes */
};

/* Formats argv (lens bytes each) as one RESP command of the given kind, routed by its key: argv[1], or
 * for EVAL/EVALSHA/FCALL (and _RO) the first of its keys (argv[3]). Returns it (the caller
 * owns it: cloud_cmd_free), or NULL when memory runs out. Any thread. */
struct cloud_cmd *cloud_cmd_new(int kind, int argc, const char **argv, const size_t *lens);

/* The same for at most CLOUD_CMD_ARGS_MAX NUL-terminated arguments (more: NULL). */
struct cloud_cmd *cloud_cmd_newv(int kind, int argc, const char **argv);

/* FUNCTION LOAD REPLACE code, routed as `to` is (same slot, same ASK node), so that it reaches the node
 * that answered `to` "Function not found" ahead of `to` itself. Returns it, or NULL (out of memory). */
struct cloud_cmd *cloud_cmd_function_load(const char *code, const struct cloud_cmd *to);

/* Frees c (NULL is allowed); its waiter, if any, is not told. */
void cloud_cmd_free(struct cloud_cmd *c);

/* Appends c at the tail of q (q owns it then). */
void cloud_cmdq_push(struct cloud_cmdq *q, struct cloud_cmd *c);

/* Takes the head of q (the caller owns it), or NULL when q is empty. */
struct cloud_cmd *cloud_cmdq_pop(struct cloud_cmdq *q);

/* Moves every command of src in front of dst, in order; src ends empty. */
void cloud_cmdq_prepend(struct cloud_cmdq *dst, struct cloud_cmdq *src);

#endif
