/* resp_reader.h - incremental RESP2/RESP3 request reader (pure code, no I/O). */
#ifndef FC_RESP_READER_H
#define FC_RESP_READER_H

#include <stddef.h>

/* Limits, as Redis 7.0 applies them to requests. */
#define RESP_MAX_INLINE        (64 * 1024)        /* inline line / count line without CRLF */
#define RESP_MAX_MULTIBULK     (1024 * 1024)      /* elements of one request (redis-server 7.0.15 itself allows INT_MAX) */
#define RESP_MAX_BULK          (512LL * 1024 * 1024) /* proto-max-bulk-len */
#define RESP_UNAUTH_MAX_ARGS   10
#define RESP_UNAUTH_MAX_BULK   16384
#define RESP_MAX_QUERYBUF      (1024LL * 1024 * 1024) /* client-query-buffer-limit */

enum resp_status {
    RESP_OK = 0,        /* one command is in argc/argv */
    RESP_NEED_MORE = 1, /* feed more bytes */
    RESP_ERR = -1       /* protocol error: reply "-ERR <errstr>" then close */
};

struct resp_arg {
    char *ptr;   /* NUL-terminated copy (len bytes + '\0'), owned by the reader */
    size_t len;
};

struct resp_reader {
    /* query buffer: bytes fed and not yet consumed */
    char *buf;
    size_t len, cap, pos;
    /* command being assembled (multibulk state survives across feeds) */
    long long mb_left;       /* bulks still expected; 0 = not inside a multibulk */
    long long bulk_len;      /* length of the pending bulk, -1 = read the $ line */
    struct resp_arg *argv;
    int argc, argv_cap;
    int unauthenticated;     /* apply Redis's pre-AUTH limits when non-zero */
    int failed;              /* sticky: once RESP_ERR, always RESP_ERR */
    char errstr[128];        /* e.g. "Protocol error: invalid multibulk length" */
    /* private to resp_reader.c */
    size_t scanned;          /* bytes after pos already searched for a line end */
    char *arena;             /* argument bytes of the command, each + '\0' */
    size_t arena_len, arena_cap;
};

/* Initialise an empty reader. Never fails (allocation happens on feed). */
void resp_reader_init(struct resp_reader *r);

/* Release every buffer the reader owns. The reader may be re-initialised. */
void resp_reader_free(struct resp_reader *r);

/* Append len bytes to the query buffer.
 * Returns 0, or -1 when memory runs out or the buffer would exceed
 * RESP_MAX_QUERYBUF (the reader is then failed with errstr set; the caller
 * closes the connection without a reply, as Redis does). Also -1 once the
 * reader has failed: nothing more is buffered. Any thread, but one reader is used by one thread. */
int resp_reader_feed(struct resp_reader *r, const char *data, size_t len);

/* Parse the next complete command from what was fed.
 * RESP_OK: r->argc / r->argv hold it (argc >= 1); they stay valid until the
 *   next call of resp_reader_next or resp_reader_free.
 * RESP_NEED_MORE: nothing complete yet (empty multibulks and blank inline
 *   lines are skipped silently, as Redis does).
 * RESP_ERR: r->errstr holds Redis's text without the "-ERR " prefix, e.g.
 *   "Protocol error: invalid bulk length", "Protocol error: unbalanced quotes
 *   in request", "Protocol error: too big inline request",
 *   "Protocol error: expected '$', got 'x'",
 *   "Protocol error: unauthenticated multibulk length",
 *   "Protocol error: unauthenticated bulk length". Sticky. */
enum resp_status resp_reader_next(struct resp_reader *r);

/* Bytes buffered but not yet returned as a command (for CLIENT LIST qbuf). */
size_t resp_reader_pending(const struct resp_reader *r);

/* What Redis 7.0 reports as CLIENT LIST qbuf= (sdslen of its query buffer):
 * while a command returned by resp_reader_next runs, this includes the bytes
 * of the commands already returned from the same batch; consumed bytes are
 * dropped when resp_reader_next returns RESP_NEED_MORE or on the next feed. */
size_t resp_reader_qbuf_len(const struct resp_reader *r);

#endif
