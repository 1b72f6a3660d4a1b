/* cloud_sub.h - a subscription to the cloud's user.logout channel: logouts other probes see reach this
 * probe at once (loop thread). */
#ifndef FC_CLOUD_SUB_H
#define FC_CLOUD_SUB_H

#include <stdint.h>
#include <uv.h>

struct cloud_sub;

/* user left ip at ts_us (the logout's packet time), as another probe saw it. */
typedef void (*cloud_sub_logout_cb)(void *arg, const char *ip, const char *user, uint64_t ts_us);

/* Subscribes to user.logout on the seed node "host:port" (an IP address, or a name resolved with
 * uv_getaddrinfo before the first connection, again until it resolves), after AUTH [user] password when
 * password is set, and again after a lost connection. Messages whose probe is probe_id are this probe's own and skipped.
 * Strings are copied. Returns it, or NULL. Loop thread. */
struct cloud_sub *cloud_sub_create(uv_loop_t *loop, const char *node, const char *user, const char *password,
                                   const char *probe_id, cloud_sub_logout_cb cb, void *arg);

/* Messages heard (INFO). */
uint64_t cloud_sub_messages(const struct cloud_sub *s);

/* Closes the connection and the timer; the memory goes when the loop has closed them. NULL is allowed. */
void cloud_sub_close(struct cloud_sub *s);

#endif
