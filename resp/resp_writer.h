/* resp_writer.h - growable byte buffer and RESP2/RESP3 reply encoders (pure code, no I/O). */
#ifndef FC_RESP_WRITER_H
#define FC_RESP_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* A growable buffer. On allocation failure `oom` becomes 1 and every later
 * append is ignored (sticky), so callers check once at the end. */
struct sbuf {
    char *buf;
    size_t len, cap;
    int oom;
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);                 /* len = 0, keeps memory */

/* Slow path of sbuf_room: grows the buffer. Returns 0, or -1 (oom set). */
int sbuf_grow(struct sbuf *b, size_t n);

/* Makes room for n more bytes at buf + len (the caller writes them and adds
 * to len). Returns 0, or -1 once the buffer is out of memory. */
static inline int sbuf_room(struct sbuf *b, size_t n)
{
    return !b->oom && b->cap - b->len >= n ? 0 : sbuf_grow(b, n);
}

void sbuf_append(struct sbuf *b, const void *p, size_t n);
void sbuf_appendc(struct sbuf *b, char c);
void sbuf_appends(struct sbuf *b, const char *s);  /* NUL-terminated */
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sbuf_append_u64(struct sbuf *b, uint64_t v);  /* decimal, no allocation of temp */
void sbuf_append_i64(struct sbuf *b, int64_t v);
/* p[0..n) quoted as Redis' sdscatrepr: "..." with \\ \" \n \r \t \a \b escaped, other bytes that are
 * not printable ASCII as \xhh (MONITOR lines, CONFIG REWRITE values). */
void sbuf_append_repr(struct sbuf *b, const char *p, size_t n);

/* RESP encoders. `proto` is 2 or 3; where the two differ the RESP3 form is
 * used when proto == 3, exactly as Redis 7.0 encodes it. */
void resp_simple(struct sbuf *b, const char *s);             /* +s\r\n */
void resp_error(struct sbuf *b, const char *s);              /* -s\r\n (s carries its prefix: "ERR ...") */
void resp_int(struct sbuf *b, long long v);                  /* :v\r\n */
void resp_bulk(struct sbuf *b, const void *p, size_t n);     /* $n\r\n...\r\n */
void resp_bulks(struct sbuf *b, const char *s);              /* bulk of a C string */
void resp_bulk_u64(struct sbuf *b, uint64_t v);              /* bulk holding a decimal */
void resp_null(struct sbuf *b, int proto);                   /* $-1 | _ */
void resp_null_array(struct sbuf *b, int proto);             /* *-1 | _ */
void resp_array(struct sbuf *b, long long n);                /* *n */
void resp_map(struct sbuf *b, long long pairs, int proto);   /* *2n | %n */
void resp_set(struct sbuf *b, long long n, int proto);       /* *n | ~n */
void resp_push(struct sbuf *b, long long n, int proto);      /* *n | >n */
void resp_double(struct sbuf *b, double d, int proto);       /* bulk | ,d */
void resp_bool(struct sbuf *b, int v, int proto);            /* :0/:1 | #f/#t */
void resp_verbatim(struct sbuf *b, const char *p, size_t n, int proto); /* bulk | =n+4 txt:... */

#endif
