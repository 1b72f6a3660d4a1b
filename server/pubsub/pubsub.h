/* pubsub.h - channels and patterns: SUBSCRIBE family, delivery, output limits (loop thread). */
#ifndef FC_PUBSUB_H
#define FC_PUBSUB_H

#include <stddef.h>

#include "resp/resp_reader.h"

struct server;
struct client;

/* Deliver payload on channel to every subscriber and matching pattern: for a probe channel
 * (capture/events/events.h) the cost is its own subscribers', for any other channel every
 * pattern is matched. Returns the number of clients that received it. Loop thread. */
int pubsub_publish(struct server *s, const char *channel, const char *payload, size_t len);

/* Registers pub/sub delivery as an event sink of s (every probe event is published on its channel;
 * it wants the channels any subscriber or pattern matches). Returns 0, or -1 when the registry is
 * full. Start-up, loop thread. */
int pubsub_sink_register(struct server *s);

/* The subscriptions changed: capture threads learn which probe channels to produce (those any
 * sink wants). Loop thread. */
void pubsub_wanted_update(struct server *s);

/* Forget every subscription of c (it is closing). */
void pubsub_client_gone(struct server *s, struct client *c);

/* Channels (patterns == 0) or patterns with at least one subscriber: Redis' PUBSUB NUMPAT and INFO
 * pubsub_channels / pubsub_patterns (a pattern two clients subscribe to counts once). Loop thread. */
size_t pubsub_count(const struct server *s, int patterns);

/* Subscribers of the channel name. Loop thread. */
size_t pubsub_numsub(const struct server *s, const char *name, size_t len);

/* The commands. */
void pubsub_cmd_subscribe(struct client *c, int argc, struct resp_arg *argv);
void pubsub_cmd_unsubscribe(struct client *c, int argc, struct resp_arg *argv);
void pubsub_cmd_psubscribe(struct client *c, int argc, struct resp_arg *argv);
void pubsub_cmd_punsubscribe(struct client *c, int argc, struct resp_arg *argv);
void pubsub_cmd_publish(struct client *c, int argc, struct resp_arg *argv);
void pubsub_cmd_pubsub(struct client *c, int argc, struct resp_arg *argv);

#endif
