/* test_pcapfile.c - capture/pcapfile.c against libpcap's own reader on the same files: every record, its time and bytes, where and with which words a broken file ends, and what pcapfile_peek promises of the next record (single thread). */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "capture/source/pcapfile.h"
#include "tests/unit/check.h"

static char path[64];
static uint8_t file[1 << 22];
static size_t flen;
static int peeks;                      /* records pcapfile_peek showed before their pcapfile_next */

static void put32(uint32_t v, int be)
{
    for (int i = 0; i < 4; i++)
        file[flen++] = (uint8_t)(be ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put16(uint16_t v, int be)
{
    file[flen++] = (uint8_t)(be ? v >> 8 : v);
    file[flen++] = (uint8_t)(be ? v : v >> 8);
}

static void header(uint32_t magic, uint16_t major, uint16_t minor, uint32_t snaplen, int be)
{
    flen = 0;
    put32(magic, be);
    put16(major, be);
    put16(minor, be);
    put32(0, be);
    put32(0, be);
    put32(snaplen, be);
    put32(1, be);                      /* Ethernet */
}

static void record(uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len, int be, unsigned seed)
{
    put32(sec, be);
    put32(frac, be);
    put32(caplen, be);
    put32(len, be);
    for (uint32_t i = 0; i < caplen && flen < sizeof(file); i++)
        file[flen++] = (uint8_t)(seed * 31 + i * 7);
}

static void save(size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(file, 1, n, f);
    fclose(f);
}

/* Reads path both ways and compares; returns the number of records read.
 * expect_handled: 1 or 0 = whether pcapfile takes the file, -1 = either. */
static int compare(const char *p, int expect_handled)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *lp = pcap_open_offline_with_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!lp) {
        CHECK(expect_handled != 1);
        return -1;
    }
    struct pcapfile *f = pcapfile_open(p, pcap_datalink(lp), pcap_snapshot(lp));
    if (expect_handled >= 0)
        CHECK_INT(f != NULL, expect_handled);
    if (!f) {
        pcap_close(lp);
        return -1;
    }
    int n = 0;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *ld;
        int lr = pcap_next_ex(lp, &h, &ld);
        uint64_t ts = 0;
        const uint8_t *d = NULL, *pd = NULL;
        uint32_t cap = 0, len = 0, pcap_len = 0;
        int peeked = pcapfile_peek(f, &pd, &pcap_len);
        int r = pcapfile_next(f, &ts, &d, &cap, &len);
        if (peeked) {                  /* the same record, where peek said it would be */
            CHECK_INT(r, 1);
            CHECK(d == pd);
            CHECK_INT(cap, pcap_len);
            peeks++;
        }
        if (lr == 1) {
            CHECK_INT(r, 1);
            if (r != 1)
                break;
            CHECK_INT(ts, (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec);
            CHECK_INT(cap, h->caplen);
            CHECK_INT(len, h->len);
            CHECK_MEM(d, cap, ld, h->caplen);
            n++;
            continue;
        }
        CHECK_INT(r, lr == PCAP_ERROR_BREAK ? 0 : -1);
        if (lr == PCAP_ERROR)
            CHECK_STR(pcapfile_error(f), pcap_geterr(lp));
        break;
    }
    pcapfile_close(f);
    pcap_close(lp);
    return n;
}

TEST_CASE(demo_capture)
{
    CHECK_INT(compare("demo/demo.pcap", 1), 2946);
}

TEST_CASE(byte_orders_and_precisions)
{
    static const uint32_t magics[] = { 0xa1b2c3d4, 0xa1b23c4d };
    for (int be = 0; be < 2; be++)
        for (int m = 0; m < 2; m++) {
            header(magics[m], 2, 4, 65535, be);
            for (unsigned i = 0; i < 300; i++) {
                uint32_t cap = (i * 97) % 3000;
                record(1700000000 + i, m ? i * 3333333u % 1000000000u : i * 3331u % 1000000u, cap,
                       cap + (i % 3) * 10, be, i);
            }
            save(flen);
            CHECK_INT(compare(path, 1), 300);
        }
}

TEST_CASE(signed_times)
{
    /* fuzzed times: libpcap reads both fields as signed 32-bit numbers, unsigned once byte-swapped */
    for (int be = 0; be < 2; be++)
        for (int m = 0; m < 2; m++) {
            header(m ? 0xa1b23c4d : 0xa1b2c3d4, 2, 4, 65535, be);
            record(0x90000000u, 0xf0000000u, 60, 60, be, 1);
            record(5, 0x80000001u, 60, 60, be, 2);
            record(0xffffffffu, 999999, 60, 60, be, 3);
            save(flen);
            CHECK_INT(compare(path, 1), 3);
        }
}

TEST_CASE(records_past_the_snapshot)
{
    header(0xa1b2c3d4, 2, 4, 64, 0);
    for (unsigned i = 0; i < 20; i++)
        record(1, i, 40 + i * 5, 1000, 0, i);      /* from the 6th on, longer than the file's snaplen */
    save(flen);
    CHECK_INT(compare(path, 1), 20);
    save(flen - 10);                               /* cut inside the part past the snapshot */
    CHECK_INT(compare(path, 1), 19);
}

TEST_CASE(broken_files_end_alike)
{
    header(0xa1b2c3d4, 2, 4, 65535, 0);
    for (unsigned i = 0; i < 10; i++)
        record(2, i, 100, 100, 0, i);
    size_t full = flen;
    save(full - 50);                               /* inside the last record's data */
    CHECK_INT(compare(path, 1), 9);
    save(full - 116 + 8);                          /* inside the last record's header */
    CHECK_INT(compare(path, 1), 9);
    save(24);                                      /* no record at all */
    CHECK_INT(compare(path, 1), 0);
    flen = full;
    record(3, 0, 0x7fffffff, 0x7fffffff, 0, 0);    /* absurd capture length, then bigger than the wire */
    save(full + 16);
    CHECK_INT(compare(path, 1), 10);
    flen = full;
    record(3, 0, 300000, 100, 0, 0);
    save(full + 16);
    CHECK_INT(compare(path, 1), 10);
}

/* Over a file three times the reader's 1 MB buffer, peek shows every record
 * but the few that cross a refill, and its promise holds for all of them. */
TEST_CASE(peek_shows_the_next_record)
{
    header(0xa1b2c3d4, 2, 4, 65535, 0);
    unsigned n = 0;
    while (flen + 16 + 1600 < 3u << 20) {
        record(7, n, 1000 + n % 600, 1600, 0, n);
        n++;
    }
    save(flen);
    peeks = 0;
    CHECK_INT(compare(path, 1), n);
    CHECK(peeks < (int)n);             /* none across a refill, none past the end */
    CHECK(peeks >= (int)n - 4);
    save(flen - 100);                  /* a broken last record is never shown */
    peeks = 0;
    CHECK_INT(compare(path, 1), n - 1);
    CHECK(peeks <= (int)n - 2);
}

TEST_CASE(left_to_libpcap)
{
    header(0xa1b2c3d4, 2, 3, 65535, 0);            /* 2.3 may swap the lengths */
    record(1, 1, 60, 60, 0, 1);
    save(flen);
    CHECK_INT(compare(path, 0), -1);
    CHECK(pcapfile_open("-", 1, 65535) == NULL);
}

/* On a descriptor (opened before `user` drops root): read from the start by
 * pread, so a dup()'s shared offset, where libpcap's FILE reads, stays put. */
TEST_CASE(open_fd_leaves_the_offset)
{
    header(0xa1b2c3d4, 2, 4, 65535, 0);
    record(7, 5, 60, 60, 0, 1);
    record(8, 6, 70, 70, 0, 2);
    save(flen);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_INT((long)lseek(fd, 24, SEEK_SET), 24);
    struct pcapfile *f = pcapfile_open_fd(dup(fd), 1, 65535);
    CHECK(f != NULL);
    uint64_t ts;
    const uint8_t *d;
    uint32_t cap, len;
    CHECK_INT((long)pcapfile_tell(f), 24);                 /* the progress lines' offset: the header read */
    CHECK_INT(pcapfile_next(f, &ts, &d, &cap, &len), 1);
    CHECK_INT((long)ts, 7000005);
    CHECK_INT((long)pcapfile_tell(f), 24 + 16 + 60);
    CHECK_INT(pcapfile_next(f, &ts, &d, &cap, &len), 1);
    CHECK_INT((long)cap, 70);
    CHECK_INT(pcapfile_next(f, &ts, &d, &cap, &len), 0);
    CHECK_INT((long)pcapfile_tell(f), (long)flen);          /* the whole file */
    pcapfile_close(f);
    CHECK_INT((long)lseek(fd, 0, SEEK_CUR), 24);
    close(fd);
    CHECK(pcapfile_open_fd(-1, 1, 65535) == NULL);
    CHECK(pcapfile_open_fd(open(path, O_RDONLY), 147, 65535) == NULL);   /* a link type it leaves to libpcap */
}

/* A borrowed descriptor is read the same and stays open, refused or closed. */
TEST_CASE(borrow_fd_leaves_the_descriptor_open)
{
    header(0xa1b2c3d4, 2, 4, 65535, 0);
    record(7, 5, 60, 60, 0, 1);
    save(flen);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    struct pcapfile *f = pcapfile_borrow_fd(fd, 1, 65535);
    CHECK(f != NULL);
    uint64_t ts;
    const uint8_t *d;
    uint32_t cap, len;
    CHECK_INT(pcapfile_next(f, &ts, &d, &cap, &len), 1);
    CHECK_INT((long)ts, 7000005);
    CHECK_INT(pcapfile_next(f, &ts, &d, &cap, &len), 0);
    pcapfile_close(f);
    CHECK_INT((long)lseek(fd, 0, SEEK_CUR), 0);             /* still open, offset untouched */
    CHECK(pcapfile_borrow_fd(fd, 147, 65535) == NULL);
    CHECK_INT((long)lseek(fd, 0, SEEK_CUR), 0);
    close(fd);
}

/* Compares every capture file in dir; adds to *files and *handled. */
static void compare_dir(const char *dir, int *files, int *handled)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int cap = (n > 5 && strcmp(e->d_name + n - 5, ".pcap") == 0) ||
                  (n > 4 && strcmp(e->d_name + n - 4, ".cap") == 0) ||
                  (n > 7 && strcmp(e->d_name + n - 7, ".pcapng") == 0);
        if (!cap)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        (*files)++;
        *handled += compare(p, -1) >= 0;
    }
    closedir(d);
}

/* The public captures next to the project (skipped without ../shared). */
TEST_CASE(shared_captures)
{
    static const char *const dirs[] = { "../shared/pcaps", "../shared/pcaps/ndpi", "../shared/pcaps/ndpi-dev",
                                        "../shared/pcaps/other" };
    int files = 0, handled = 0;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        compare_dir(dirs[i], &files, &handled);
    if (files == 0) {
        printf("pcapfile: no ../shared/pcaps, shared_captures skipped\n");
        return;
    }
    printf("pcapfile: %d shared captures compared with libpcap, %d read by pcapfile\n", files, handled);
    CHECK(handled > 0);
}

/* A record returned under pcapfile_use_chunks: where it is, and where its
 * bytes are in file[]. */
struct held { const uint8_t *d; uint32_t cap; size_t off; int chunk; };
static struct held held[8000];
static int nheld, chunk_now, waits, stop_at = -1;

/* The wait hook: every record held in the chunk about to be refilled is
 * still intact (it is then given up); done is the chunk being read. */
static int chunk_wait(void *arg, int done, int next)
{
    int n = *(int *)arg, kept = 0;
    CHECK_INT(done, chunk_now);
    CHECK_INT(next, (done + 1) % n);
    for (int i = 0; i < nheld; i++) {
        CHECK_MEM(held[i].d, held[i].cap, file + held[i].off, held[i].cap);
        if (held[i].chunk != next)
            held[kept++] = held[i];
    }
    nheld = kept;
    chunk_now = next;
    return ++waits == stop_at ? -1 : 0;
}

/* Reads path through n chunks; returns the records read (0 after them: no error). */
static int read_chunked(int n)
{
    struct pcapfile *f = pcapfile_open(path, DLT_EN10MB, 65535);
    CHECK(f != NULL);
    if (!f)
        return -1;
    CHECK_INT(pcapfile_use_chunks(f, n, chunk_wait, &n), 0);
    nheld = chunk_now = waits = 0;
    size_t off = 24;
    int got = 0, r;
    uint64_t ts;
    const uint8_t *d;
    uint32_t cap, len;
    while ((r = pcapfile_next(f, &ts, &d, &cap, &len)) == 1) {
        off += 16;
        CHECK_MEM(d, cap, file + off, cap);
        if (nheld < (int)(sizeof(held) / sizeof(held[0])))
            held[nheld++] = (struct held){ d, cap, off, chunk_now };
        off += cap;
        got++;
    }
    CHECK_INT(r, 0);
    for (int i = 0; i < nheld; i++)   /* the last chunks were never refilled */
        CHECK_MEM(held[i].d, held[i].cap, file + held[i].off, held[i].cap);
    pcapfile_close(f);
    return got;
}

TEST_CASE(chunks_keep_records_until_they_come_round)
{
    header(0xa1b2c3d4, 2, 4, 65535, 0);
    int n = 0;
    while (flen + 16 + 1600 < sizeof(file)) {
        record(7, (uint32_t)n, 1000 + (uint32_t)n % 600, 1600, 0, (unsigned)n);
        n++;
    }
    save(flen);
    CHECK_INT(read_chunked(3), n);     /* 4 MB through 3 chunks of 1 MB: each comes round */
    CHECK(waits >= 3);
    CHECK_INT(read_chunked(16), n);
    int small = 0;                     /* a file that ends inside the first chunk */
    size_t off = 24;
    for (; off < 100000; small++)
        off += 16 + 1000 + (size_t)small % 600;
    save(off);
    CHECK_INT(read_chunked(3), small);
    CHECK_INT(waits, 0);
    save(flen);
    stop_at = 2;                       /* the hook says stop: the file ends there, quietly */
    int part = read_chunked(3);
    stop_at = -1;
    CHECK(part > 0 && part < n);
}

int main(void)
{
    snprintf(path, sizeof(path), "/tmp/fc-pcapfile-%d.pcap", (int)getpid());
    RUN(demo_capture);
    RUN(byte_orders_and_precisions);
    RUN(signed_times);
    RUN(records_past_the_snapshot);
    RUN(broken_files_end_alike);
    RUN(peek_shows_the_next_record);
    RUN(left_to_libpcap);
    RUN(open_fd_leaves_the_offset);
    RUN(borrow_fd_leaves_the_descriptor_open);
    RUN(shared_captures);
    RUN(chunks_keep_records_until_they_come_round);
    unlink(path);
    return CHECK_DONE("pcapfile");
}
