/* cloud_send.c - small command helpers over the delivery engine: NUL-terminated arguments, HINCRBY, latency sums, EXPIRE, the wall clock (loop thread). */
#include "server/replication/cloud_send.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t cloud_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000;
}

void cloud_send_args(struct cloud_engine *eng, int argc, const char **argv)
{
    size_t lens[CLOUD_SEND_ARGS_MAX];
    if (argc < 1 || argc > CLOUD_SEND_ARGS_MAX)
        return;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    cloud_engine_send(eng, argc, argv, lens);
}

void cloud_send_hincrby(struct cloud_engine *eng, const char *key, const char *field, uint64_t by)
{
    char val[24];
    snprintf(val, sizeof(val), "%" PRIu64, by);
    const char *argv[] = { "HINCRBY", key, field, val };
    cloud_send_args(eng, 4, argv);
}

void cloud_send_latency(struct cloud_engine *eng, const char *key, const char *what, uint64_t us, const char *le)
{
    char field[48];
    snprintf(field, sizeof(field), "%s.us.sum", what);
    cloud_send_hincrby(eng, key, field, us);
    snprintf(field, sizeof(field), "%s.count", what);
    cloud_send_hincrby(eng, key, field, 1);
    if (le && *le && strlen(le) <= 8 && strspn(le, "0123456789inf") == strlen(le)) {
        snprintf(field, sizeof(field), "%s.le.%s", what, le);
        cloud_send_hincrby(eng, key, field, 1);
    }
}

void cloud_send_expire(struct cloud_engine *eng, const char *key, uint64_t ttl)
{
    if (!ttl)
        return;
    char s[24];
    snprintf(s, sizeof(s), "%" PRIu64, ttl);
    const char *argv[] = { "EXPIRE", key, s };
    cloud_send_args(eng, 3, argv);
}
