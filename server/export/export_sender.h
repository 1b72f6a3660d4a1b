/* export_sender.h - one flow collector: its encoder, a bounded queue of messages, a libuv UDP or TCP link (loop thread). */
#ifndef FC_EXPORT_SENDER_H
#define FC_EXPORT_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "server/export/export_encoder.h"

enum export_transport { EXPORT_UDP = 0, EXPORT_TCP = 1 };
enum export_link { EXPORT_LINK_DOWN, EXPORT_LINK_CONNECTING, EXPORT_LINK_UP };

struct export_sender_opts {
    const char *target;              /* "host:port", "[v6]:port" */
    enum export_transport transport;
    enum export_protocol protocol;
    uint32_t domain;
    uint32_t refresh_s, refresh_msgs;   /* UDP only (RFC 7011 8.4); TCP never refreshes */
    size_t queue_max;                /* bytes of messages waiting at most */
    uint32_t retry_ms;               /* UDP pause after a refusal, first TCP reconnect delay */
};

struct export_sender_stats {
    uint64_t records, drops;         /* flow records handed to the kernel / dropped */
    uint64_t messages, bytes, reconnects;
    size_t queued_bytes;
    enum export_link link;
};

/* A collector. The loop thread owns it and everything in it. */
struct export_sender {
    struct export_sender_opts o;
    char target[128];
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    union { uv_handle_t h; uv_udp_t udp; uv_tcp_t tcp; } link;
    int link_open;                   /* link handle initialised and not yet closed */
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_udp_send_t send_req;
    uv_timer_t retry;
    struct export_encoder enc;
    struct export_msg *head, *tail;  /* waiting to be sent, oldest first */
    struct export_msg *inflight;     /* handed to libuv, not completed */
    uint32_t seq;                    /* stream sequence state (export_msg_stamp) */
    uint64_t retry_at;               /* UDP: drop until this uv_now() after a refusal */
    uint32_t backoff_ms;             /* TCP: next reconnect delay */
    int closing;
    int hold;                        /* export_sender_hold: finished messages wait in the queue */
    int closes_pending;              /* handles being closed */
    struct export_sender_stats st;
    void (*closed)(struct export_sender *x);   /* when every handle is closed */
    void *owner;                     /* free for the caller */
};

/* Wall-clock time in Unix milliseconds (export times, flowStart/End). Any thread. */
uint64_t export_wall_ms(void);

/* Parses "host:port" / "[v6]:port" and resolves it (getaddrinfo: may block,
 * start-up only). Returns 0, or -1 with a message in err. */
int export_target_resolve(const char *target, enum export_transport t, struct sockaddr_storage *out,
                          char *err, size_t errlen);

/* Resolves o->target and opens the link (TCP connects in the background).
 * Returns 0, or -1 with a message in err and nothing left open. Start-up,
 * loop thread; x is caller-owned memory that must stay until closed. */
int export_sender_open(struct export_sender *x, uv_loop_t *loop, const struct export_sender_opts *o,
                       uint64_t now_ms, char *err, size_t errlen);

/* Encodes one ended flow; full messages are sent or queued. Never blocks:
 * a full queue drops its oldest message and counts its records. */
void export_sender_add(struct export_sender *x, const struct export_record *r, uint64_t now_ms);

/* While on, finished messages wait in the queue (the sink adds an event's
 * flows); turned off, what waits goes, UDP datagrams several per system
 * call. The queue's bound applies all along. */
void export_sender_hold(struct export_sender *x, int on);

/* Sends the message being filled, if any (the sink's timer, shutdown). */
void export_sender_flush(struct export_sender *x, uint64_t now_ms);

/* Records not yet sent: queued and in flight (0 = all handed to the kernel). */
size_t export_sender_pending(const struct export_sender *x);

/* Closes every handle; what is still queued is dropped and counted.
 * `closed` runs once they are all closed (x may then be freed). */
void export_sender_close(struct export_sender *x, void (*closed)(struct export_sender *x));

#endif
