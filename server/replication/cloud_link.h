/* cloud_link.h - one TCP connection to a Redis node: connect with timeout, write, RESP replies (loop thread). */
#ifndef FC_CLOUD_LINK_H
#define FC_CLOUD_LINK_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

struct cloud_link;
struct redisReply;

struct cloud_link_ops {
    /* The connection is up (status 0). */
    void (*on_connect)(void *arg, struct cloud_link *l);
    /* One reply, in the order commands were written; the callee owns reply
     * (freeReplyObject). The callee may close the link. */
    void (*on_reply)(void *arg, struct cloud_link *l, struct redisReply *reply);
    /* The connection failed or ended (status < 0, a libuv error). Called
     * once; the link is closing and must not be used afterwards. */
    void (*on_down)(void *arg, struct cloud_link *l, int status);
};

/* Start connecting to addr; on_connect or on_down follows (after at most
 * connect_timeout_ms). Returns the link, or NULL on an immediate failure
 * (no callback is then called). Loop thread. */
struct cloud_link *cloud_link_open(uv_loop_t *loop, const struct sockaddr *addr, uint64_t connect_timeout_ms,
                                   const struct cloud_link_ops *ops, void *arg);

/* Queue buf (len bytes, malloc'ed; ownership moves to the link) for writing.
 * A write error ends the link (on_down). Returns 0, or -1 when the link is
 * closing (buf is freed). */
int cloud_link_write(struct cloud_link *l, char *buf, size_t len);

/* Bytes handed to cloud_link_write and not yet written to the socket. */
size_t cloud_link_write_pending(const struct cloud_link *l);

/* The string elements of an array reply (SMEMBERS) joined by '\n', NUL-terminated, *len its length
 * ("" for none). Returns it (the caller frees it), or NULL when memory runs out. Pure. */
char *cloud_reply_join(const struct redisReply *r, size_t *len);

/* Close without calling any callback; memory is released once libuv has
 * closed the handles. NULL is allowed. */
void cloud_link_close(struct cloud_link *l);

#endif
