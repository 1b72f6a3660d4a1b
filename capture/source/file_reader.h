/* file_reader.h - the records of a capture file being read: through pcapfile when it takes the file, else libpcap (a file source's reader thread, or each worker walking the file: file_walk.c). */
#ifndef FC_FILE_READER_H
#define FC_FILE_READER_H

#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdint.h>

struct fanout;
struct pcapfile;

/* A file being read: libpcap's handle, and pcapfile for a classic pcap it
 * takes (NULL: libpcap reads the records), with the filter compiled for it
 * (libpcap applies its own). */
struct file_reader {
    pcap_t *p;
    struct pcapfile *pf;
    struct bpf_program prog;
    int filtered;
    struct fanout *fan;              /* file_reader_share: records stay put for its workers */
    _Atomic int *stop;
};

/* Lets pcapfile read r->p's records when it takes the file: fd (a regular file's descriptor, -1 for none:
 * read as it is, so it must stay open until file_reader_release) with the filter bpf (NULL or "" for none).
 * On any failure libpcap goes on reading. */
void file_reader_use_pcapfile(struct file_reader *r, int fd, const char *bpf);

/* Lets the records pcapfile reads stay where they are until every worker
 * of f has taken them (pcapfile_use_chunks, fanout_chunk_switch), so they
 * can go to f by reference (fanout_push_ref); waiting for room stops when
 * *stop is set. Returns 1 when they do, 0 when the caller must copy them
 * (libpcap reads the file, or out of memory). Before file_reader_next. */
int file_reader_share(struct file_reader *r, struct fanout *f, _Atomic int *stop);

/* The next record that passes the filter: 1, 0 at the end, -1 on error
 * (file_reader_error says what). */
int file_reader_next(struct file_reader *r, uint64_t *ts, const uint8_t **data, uint32_t *caplen,
                     uint32_t *wirelen);

const char *file_reader_error(struct file_reader *r);

/* Bytes of the file read so far (0 when it cannot be told: a pipe), for the progress lines; arg is the
 * struct file_reader. */
uint64_t file_reader_offset(void *arg);

/* Frees what file_reader_use_pcapfile made, once the workers of a shared fanout are done with its
 * records; r->p stays the caller's to close. */
void file_reader_release(struct file_reader *r);

#endif
