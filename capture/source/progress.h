/* progress.h - the log lines of capture-file reads: progress every few seconds, each file's end, the source's summary (reader threads). */
#ifndef FC_PROGRESS_H
#define FC_PROGRESS_H

#include <stdint.h>

/* One file being read, as its reader thread tracks it. */
struct file_progress {
    const char *path;
    uint64_t size;                   /* bytes of the file; 0 = unknown (a pipe, standard input) */
    int level;                       /* log level of its lines: notice at full speed, verbose when paced */
    uint64_t interval_us;            /* between progress lines; 0 = none */
    uint64_t start_us, last_us;      /* wall clock: the start, the last line */
    uint64_t packets, last_packets;  /* records read (that passed the filter); at the last line */
};

/* How often the reader looks at the clock: every FILE_PROGRESS_EVERY packets (a power of two). */
enum { FILE_PROGRESS_EVERY = 256 };

/* Starts tracking file path, open on fd (-1: standard input), read at speed (0 = as fast as it goes:
 * notice lines; paced replays log at verbose), with a progress line every interval_s seconds (0: none).
 * Reader thread. */
void file_progress_start(struct file_progress *p, const char *path, int fd, double speed, double interval_s);

/* Logs a progress line ("pcap x.pcap: 1234567 packets, 42.0% of 360.2 MB, 812345 packets/s"; for a pipe
 * without the share) when interval_us passed since the last one; offset: the bytes of the file read so
 * far. Reader thread. */
void file_progress_check(struct file_progress *p, uint64_t offset);

/* Counts one packet; offset(arg) gives the bytes of the file read so far, asked only when a line may be
 * due (every FILE_PROGRESS_EVERY packets). Reader thread. */
static inline void file_progress_packet(struct file_progress *p, uint64_t (*offset)(void *), void *arg)
{
    if ((++p->packets & (FILE_PROGRESS_EVERY - 1)) == 0 && p->interval_us)
        file_progress_check(p, offset(arg));
}

/* Logs the file's end: its packets, the time taken and the rate. Reader thread. */
void file_progress_done(const struct file_progress *p);

/* What a file source did in all, for its summary line. */
struct file_summary {
    int files;
    uint64_t packets, bytes, flows, flows_dropped;
    uint64_t read_errors, events_dropped, anomalies;
    uint64_t start_us;               /* wall clock when the source started */
};

/* Logs the summary of a file source once every file was read (notice). Reader thread. */
void file_summary_log(const struct file_summary *s);

/* The wall clock in microseconds (CLOCK_REALTIME). Any thread. */
uint64_t file_progress_now_us(void);

#endif
