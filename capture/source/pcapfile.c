/* pcapfile.c - reads the records of a classic pcap file (version 2.4) straight from 1 MB buffers, as libpcap would return them (capture threads). */
#include "capture/source/pcapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/cache/pool.h"

/* Why not pcap_next_ex: it reads each record through two fread calls of
 * the FILE it was given, a cost that showed in the offline pipeline's
 * profile (BENCHMARKS.md, "Design measurements"). Here read(2) fills a 1 MB buffer and a record
 * is a pointer into it. Every check and message of libpcap's sf-pcap.c for
 * version 2.4 files is kept, so a broken file ends at the same record with
 * the same words. */
enum { BUF_SIZE = 1 << 20, FILE_HDR = 24, REC_HDR = 16, MAX_SNAPLEN = 262144 };

struct pcapfile {
    int fd, own_fd;                  /* own_fd: pcapfile_close closes fd */
    off_t off;                       /* file offset of buf + len: pread, so a shared descriptor's offset is left alone */
    int swapped, nsec;
    uint32_t snapshot;
    uint8_t *buf;                    /* chunk[cur] */
    size_t pos, len;                 /* unread bytes are buf[pos, len) */
    uint8_t *chunk[PCAPFILE_CHUNKS_MAX];   /* chunk[0] is the first buf; more with pcapfile_use_chunks */
    uint8_t *more;                   /* chunk[1..] in one mapping of more_len bytes, in huge pages */
    size_t more_len;
    int nchunks, cur;
    int (*wait)(void *arg, int done, int next);
    void *wait_arg;
    int eof, stopped;                /* stopped: the wait hook ended the file */
    char err[PCAP_ERRBUF_SIZE];
};

static uint32_t rd32(const uint8_t *p, int swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

/* Moves the unread bytes to the start of the next chunk (the same buffer
 * when there is one), once its wait hook lets it. Returns -1 when it does
 * not: nothing is left unread. */
static int next_chunk(struct pcapfile *f)
{
    int next = (f->cur + 1) % f->nchunks;
    if (f->nchunks > 1 && f->wait(f->wait_arg, f->cur, next) != 0) {
        f->pos = f->len = 0;
        return -1;
    }
    memmove(f->chunk[next], f->buf + f->pos, f->len - f->pos);
    f->cur = next;
    f->buf = f->chunk[next];
    f->len -= f->pos;
    f->pos = 0;
    return 0;
}

/* Makes at least need bytes readable at buf + pos (need <= BUF_SIZE).
 * Returns the number readable, less than need only at the end of the file
 * (or when the wait hook said stop: then 0). Bytes already returned stay
 * where they are when there are several chunks: reading goes on in place
 * while the chunk has room, else in the next chunk. */
static size_t fill(struct pcapfile *f, size_t need)
{
    if (f->len - f->pos >= need || f->eof)
        return f->len - f->pos;
    if ((f->nchunks == 1 || BUF_SIZE - f->pos < need) && next_chunk(f) != 0) {
        f->eof = f->stopped = 1;
        return 0;
    }
    while (f->len - f->pos < need && !f->eof) {
        ssize_t n = pread(f->fd, f->buf + f->len, BUF_SIZE - f->len, f->off);
        if (n > 0) {
            f->len += (size_t)n;
            f->off += n;
        }
        else if (n == 0 || errno != EINTR)
            f->eof = 1;              /* a read error ends the file as a short read does in libpcap */
    }
    return f->len - f->pos;
}

struct pcapfile *pcapfile_open(const char *path, int dlt, int snapshot)
{
    if (strcmp(path, "-") == 0)
        return NULL;
    return pcapfile_open_fd(open(path, O_RDONLY | O_CLOEXEC), dlt, snapshot);
}

static struct pcapfile *pcapfile_start(int fd, int own_fd, int dlt, int snapshot);

struct pcapfile *pcapfile_open_fd(int fd, int dlt, int snapshot)
{
    return pcapfile_start(fd, 1, dlt, snapshot);
}

struct pcapfile *pcapfile_borrow_fd(int fd, int dlt, int snapshot)
{
    return pcapfile_start(fd, 0, dlt, snapshot);
}

/* pcapfile_open_fd (own_fd 1) and pcapfile_borrow_fd (own_fd 0). */
static struct pcapfile *pcapfile_start(int fd, int own_fd, int dlt, int snapshot)
{
    /* the link types flowcached decodes, whose largest packet is 262 144
     * bytes and whose headers libpcap leaves as they are in the file (it
     * byte-swaps the CAN ids of Linux cooked captures from the other order) */
    int plain = dlt == DLT_EN10MB || dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt == DLT_NULL ||
                dlt == DLT_LOOP, cooked = dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2;
    struct pcapfile *f = fd >= 0 && (plain || cooked) && snapshot > 0 ? calloc(1, sizeof(*f)) : NULL;
    if (!f) {
        if (fd >= 0 && own_fd)
            close(fd);
        return NULL;
    }
    f->fd = fd;
    f->own_fd = own_fd;
    f->buf = f->chunk[0] = malloc(BUF_SIZE);
    f->nchunks = 1;
    f->snapshot = (uint32_t)snapshot;
    if (f->fd < 0 || !f->buf || fill(f, FILE_HDR) < FILE_HDR)
        goto no;
    uint32_t magic;
    memcpy(&magic, f->buf, 4);
    switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xd4c3b2a1: f->swapped = 1; break;
    case 0xa1b23c4d: f->nsec = 1; break;
    case 0x4d3cb2a1: f->swapped = f->nsec = 1; break;
    default: goto no;
    }
    uint16_t major, minor;
    memcpy(&major, f->buf + 4, 2);
    memcpy(&minor, f->buf + 6, 2);
    if (f->swapped) {
        major = __builtin_bswap16(major);
        minor = __builtin_bswap16(minor);
    }
    if (major != 2 || minor != 4 || (cooked && f->swapped))
        goto no;                      /* 2.3 and older may swap caplen and len: libpcap sorts that out */
    f->pos = FILE_HDR;
    return f;
no:
    pcapfile_close(f);
    return NULL;
}

int pcapfile_next(struct pcapfile *f, uint64_t *ts_us, const uint8_t **data, uint32_t *caplen,
                  uint32_t *wirelen)
{
    size_t have = fill(f, REC_HDR);
    if (have == 0 || f->stopped)
        return 0;
    if (have < REC_HDR) {
        snprintf(f->err, sizeof(f->err), "truncated dump file; tried to read %u header bytes, only got %zu",
                 (unsigned)REC_HDR, have);
        return -1;
    }
    const uint8_t *h = f->buf + f->pos;
    uint32_t sec = rd32(h, f->swapped), frac = rd32(h + 4, f->swapped);
    uint32_t cap = rd32(h + 8, f->swapped), len = rd32(h + 12, f->swapped);
    if (cap > MAX_SNAPLEN) {
        if (cap > f->snapshot)
            snprintf(f->err, sizeof(f->err), "invalid packet capture length %u, bigger than snaplen of %u",
                     cap, f->snapshot);
        else
            snprintf(f->err, sizeof(f->err), "invalid packet capture length %u, bigger than maximum of %u",
                     cap, (unsigned)MAX_SNAPLEN);
        return -1;
    }
    have = fill(f, REC_HDR + (size_t)cap);
    if (f->stopped)
        return 0;
    if (have < REC_HDR + (size_t)cap) {
        /* libpcap reads at most the snapshot length, then skips the rest */
        size_t want = cap > f->snapshot ? f->snapshot : cap, got = have - REC_HDR;
        snprintf(f->err, sizeof(f->err), "truncated dump file; tried to read %u captured bytes, only got %zu",
                 got < want ? (unsigned)want : cap, got);
        return -1;
    }
    /* as libpcap 1.10 has them: the fields are signed 32-bit numbers (a
     * fuzzed fraction of 2^31 or more is negative), but unsigned once
     * byte-swapped; nanoseconds divided toward zero */
    int64_t s = f->swapped ? (int64_t)sec : (int64_t)(int32_t)sec;
    int64_t u = f->swapped ? (int64_t)frac : (int64_t)(int32_t)frac;
    if (f->nsec)
        u /= 1000;
    *ts_us = (uint64_t)s * 1000000ULL + (uint64_t)u;
    *data = f->buf + f->pos + REC_HDR;
    *caplen = cap > f->snapshot ? f->snapshot : cap;
    *wirelen = len;
    f->pos += REC_HDR + (size_t)cap;
    return 1;
}

int pcapfile_peek(const struct pcapfile *f, const uint8_t **data, uint32_t *caplen)
{
    size_t have = f->len - f->pos;
    if (have < REC_HDR)
        return 0;
    uint32_t cap = rd32(f->buf + f->pos + 8, f->swapped);
    if (cap > MAX_SNAPLEN || have < REC_HDR + (size_t)cap)
        return 0;
    *data = f->buf + f->pos + REC_HDR;
    *caplen = cap > f->snapshot ? f->snapshot : cap;
    return 1;
}

int pcapfile_use_chunks(struct pcapfile *f, int n, int (*wait)(void *arg, int done, int next), void *arg)
{
    if (n > PCAPFILE_CHUNKS_MAX)
        n = PCAPFILE_CHUNKS_MAX;
    if (f->more)                     /* called once only */
        return -1;
    if (n > 1) {
        /* one mapping in huge pages: 4 kB pages were a page fault each at their first read, 2 048
         * for 8 buffers, each stalling the other workers' cores too */
        size_t len = ((size_t)(n - 1) * BUF_SIZE + POOL_HUGE_PAGE - 1) & ~(size_t)(POOL_HUGE_PAGE - 1);
        if (!(f->more = pool_map_huge(len)))
            return -1;
        f->more_len = len;
        for (int i = 1; i < n; i++)
            f->chunk[i] = f->more + (size_t)(i - 1) * BUF_SIZE;
        f->nchunks = n;
    }
    f->wait = wait;
    f->wait_arg = arg;
    return 0;
}

uint64_t pcapfile_tell(const struct pcapfile *f)
{
    return (uint64_t)f->off - (f->len - f->pos);
}

const char *pcapfile_error(const struct pcapfile *f)
{
    return f->err;
}

void pcapfile_close(struct pcapfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0 && f->own_fd)
        close(f->fd);
    free(f->chunk[0]);
    if (f->more)
        munmap(f->more, f->more_len);
    free(f);
}
