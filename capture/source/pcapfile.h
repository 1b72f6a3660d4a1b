/* pcapfile.h - reads the records of a classic pcap file (version 2.4) straight from 1 MB buffers, as libpcap would return them (capture threads). */
#ifndef FC_PCAPFILE_H
#define FC_PCAPFILE_H

#include <stdint.h>

struct pcapfile;

/* Opens path when it is a classic pcap file, version 2.4, microsecond or
 * nanosecond, either byte order, of a link type flowcached decodes (dlt as
 * libpcap's pcap_datalink() has it); snapshot is libpcap's pcap_snapshot()
 * of the same file.
 * Returns NULL when the file is anything else (pcapng, stdin, an older
 * version, ...): the caller reads it with libpcap. */
struct pcapfile *pcapfile_open(const char *path, int dlt, int snapshot);

/* The same on an open descriptor of a regular file, which it owns from then
 * on (closed by pcapfile_close, or at once when NULL is returned). It reads
 * from offset 0 with pread, so the descriptor's own offset, which a dup()
 * shares, is left where it was. */
struct pcapfile *pcapfile_open_fd(int fd, int dlt, int snapshot);

/* The same on a descriptor that stays the caller's: never closed here, and
 * it must stay open until pcapfile_close. */
struct pcapfile *pcapfile_borrow_fd(int fd, int dlt, int snapshot);

/* The next record: 1 with the packet (data valid until the next call, or
 * longer: pcapfile_use_chunks),
 * 0 at the end of the file, -1 on a broken record (pcapfile_error says what,
 * in libpcap's words). Timestamps in microseconds. */
int pcapfile_next(struct pcapfile *f, uint64_t *ts_us, const uint8_t **data, uint32_t *caplen,
                  uint32_t *wirelen);

/* The record pcapfile_next will return next, when it is whole in the buffer
 * already: 1 with its packet at the address (and caplen) pcapfile_next will
 * give, valid until the call after that one. 0 otherwise (not read yet, the
 * end, or broken: pcapfile_next tells). Changes nothing. */
int pcapfile_peek(const struct pcapfile *f, const uint8_t **data, uint32_t *caplen);

enum { PCAPFILE_CHUNKS_MAX = 16 };

/* From now on reads into n buffers (at most PCAPFILE_CHUNKS_MAX) in turn
 * instead of one, so that a record's data stays where it is, unchanged,
 * until its buffer comes round again: wait(arg, done, next) is called before
 * buffer next is written, when every record of buffer done has been
 * returned, and returns 0 once next may be written (-1: the file ends there,
 * as at its end, with nothing more returned). The buffers after the first
 * come from one mapping in huge pages. Returns 0, or -1 out of memory
 * (nothing changed: one buffer, data valid until the next call) or on a
 * second call (nothing changed: the first call's buffers stay). Call it
 * once, before the first record is returned. Same thread as pcapfile_next. */
int pcapfile_use_chunks(struct pcapfile *f, int n, int (*wait)(void *arg, int done, int next), void *arg);

/* Bytes of the file consumed so far (the records returned and the header). */
uint64_t pcapfile_tell(const struct pcapfile *f);

const char *pcapfile_error(const struct pcapfile *f);
void pcapfile_close(struct pcapfile *f);

#endif
