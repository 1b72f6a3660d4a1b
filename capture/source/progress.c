/* progress.c - the log lines of capture-file reads: progress, each file's end, the source's summary (reader threads). */
#include "capture/source/progress.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "server/log/log.h"

uint64_t file_progress_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

void file_progress_start(struct file_progress *p, const char *path, int fd, double speed, double interval_s)
{
    struct stat st;
    p->path = path;
    p->size = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    p->level = speed > 0 ? LL_VERBOSE : LL_NOTICE;
    p->interval_us = interval_s > 0 ? (uint64_t)(interval_s * 1e6) : 0;
    p->start_us = p->last_us = file_progress_now_us();
    p->packets = p->last_packets = 0;
}

/* Packets per second from n packets in us microseconds (0 when no time passed). */
static double rate(uint64_t n, uint64_t us)
{
    return us ? (double)n * 1e6 / (double)us : 0.0;
}

void file_progress_check(struct file_progress *p, uint64_t offset)
{
    uint64_t now = file_progress_now_us();
    if (now - p->last_us < p->interval_us || !log_level_enabled(p->level))
        return;
    double pps = rate(p->packets - p->last_packets, now - p->last_us);
    if (p->size)
        log_msg(p->level, "pcap %s: %llu packets, %.1f%% of %.1f MB, %.0f packets/s", p->path,
                (unsigned long long)p->packets, offset >= p->size ? 100.0 : 100.0 * (double)offset / (double)p->size,
                (double)p->size / 1e6, pps);
    else                             /* a pipe: how far is unknown */
        log_msg(p->level, "pcap %s: %llu packets, %.0f packets/s", p->path, (unsigned long long)p->packets, pps);
    p->last_us = now;
    p->last_packets = p->packets;
}

void file_progress_done(const struct file_progress *p)
{
    uint64_t us = file_progress_now_us() - p->start_us;
    log_msg(p->level, "pcap %s: read, %llu packets in %.2f s (%.0f packets/s)", p->path,
            (unsigned long long)p->packets, (double)us / 1e6, rate(p->packets, us));
}

void file_summary_log(const struct file_summary *s)
{
    uint64_t us = file_progress_now_us() - s->start_us;
    log_msg(LL_NOTICE, "pcap done: %d file(s), %llu packets, %llu bytes, %llu flows in %.2f s (%.0f packets/s); "
            "%llu read errors, %llu events dropped, %llu flows dropped, %llu decode anomalies", s->files,
            (unsigned long long)s->packets, (unsigned long long)s->bytes, (unsigned long long)s->flows,
            (double)us / 1e6, rate(s->packets, us), (unsigned long long)s->read_errors,
            (unsigned long long)s->events_dropped, (unsigned long long)s->flows_dropped,
            (unsigned long long)s->anomalies);
}
