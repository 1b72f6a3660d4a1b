/* cloud_send.h - small command helpers over the delivery engine, shared by the mapping files: NUL-terminated
 * arguments, HINCRBY, EXPIRE, and the wall clock their timers read (loop thread). */
#ifndef FC_CLOUD_SEND_H
#define FC_CLOUD_SEND_H

#include <stdint.h>

#include "server/replication/cloud_engine.h"

enum { CLOUD_SEND_ARGS_MAX = 16 };

/* The wall clock in milliseconds (for timers and TTLs; keys' times are packet times). Any thread. */
uint64_t cloud_wall_ms(void);

/* Queues the command argv[0..argc) of NUL-terminated strings (argc <= CLOUD_SEND_ARGS_MAX; more is a
 * programming error and is not sent) through cloud_engine_send. Loop thread. */
void cloud_send_args(struct cloud_engine *eng, int argc, const char **argv);

/* Queues HINCRBY key field by. Loop thread. */
void cloud_send_hincrby(struct cloud_engine *eng, const char *key, const char *field, uint64_t by);

/* One latency sample of us microseconds on key: <what>.us.sum and <what>.count, and with le (the histogram
 * bucket the probe counted it in, as the event names it: "20", "inf"; anything else is not a bucket)
 * <what>.le.<le>. Loop thread. */
void cloud_send_latency(struct cloud_engine *eng, const char *key, const char *what, uint64_t us, const char *le);

/* Queues EXPIRE key ttl (seconds); nothing when ttl is 0 (no TTL wanted). Loop thread. */
void cloud_send_expire(struct cloud_engine *eng, const char *key, uint64_t ttl);

#endif
