/* file_reader.c - the records of a capture file being read, through pcapfile or libpcap (a file source's reader thread, or each worker walking the file: file_walk.c). */
#include "capture/source/file_reader.h"
#include "capture/source/fanout.h"
#include "capture/source/pcapfile.h"

#include <stdio.h>

void file_reader_use_pcapfile(struct file_reader *r, int fd, const char *bpf)
{
    /* fd itself, not a dup: pread leaves its offset alone, and ThreadSanitizer sees neither
     * fcntl(F_DUPFD) nor libuv's raw close syscall, so a dup whose number the loop had used
     * for a client socket was reported as a data race on every file read */
    if (fd >= 0)
        r->pf = pcapfile_borrow_fd(fd, pcap_datalink(r->p), pcap_snapshot(r->p));
    if (r->pf && bpf && *bpf) {
        if (pcap_compile(r->p, &r->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) == 0) {
            r->filtered = 1;
        } else {                     /* the file was opened with it already: out of memory */
            pcapfile_close(r->pf);
            r->pf = NULL;
        }
    }
}

static int reader_chunk_wait(void *arg, int done, int next)
{
    struct file_reader *r = arg;
    return fanout_chunk_switch(r->fan, done, next, r->stop);
}

int file_reader_share(struct file_reader *r, struct fanout *f, _Atomic int *stop)
{
    if (!r->pf || !f || pcapfile_use_chunks(r->pf, FANOUT_CHUNKS, reader_chunk_wait, r) != 0)
        return 0;
    r->fan = f;
    r->stop = stop;
    return 1;
}

int file_reader_next(struct file_reader *r, uint64_t *ts, const uint8_t **data, uint32_t *caplen, uint32_t *wirelen)
{
    if (!r->pf) {
        struct pcap_pkthdr *h;
        int rc = pcap_next_ex(r->p, &h, data);
        if (rc != 1)
            return rc == PCAP_ERROR ? -1 : 0;
        *ts = (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec;
        *caplen = h->caplen;
        *wirelen = h->len;
        return 1;
    }
    for (;;) {
        int rc = pcapfile_next(r->pf, ts, data, caplen, wirelen);
        if (rc != 1 || !r->filtered)
            return rc;
        struct pcap_pkthdr h = { { 0, 0 }, *caplen, *wirelen };
        if (pcap_offline_filter(&r->prog, &h, *data))
            return 1;
    }
}

const char *file_reader_error(struct file_reader *r)
{
    return r->pf ? pcapfile_error(r->pf) : pcap_geterr(r->p);
}

uint64_t file_reader_offset(void *arg)
{
    struct file_reader *r = arg;
    long off = r->pf ? -1 : pcap_file(r->p) ? ftell(pcap_file(r->p)) : -1;
    return r->pf ? pcapfile_tell(r->pf) : off > 0 ? (uint64_t)off : 0;
}

void file_reader_release(struct file_reader *r)
{
    if (r->filtered)
        pcap_freecode(&r->prog);
    r->filtered = 0;
    if (r->fan)
        fanout_chunks_release(r->fan);
    r->fan = NULL;
    pcapfile_close(r->pf);
    r->pf = NULL;
}
