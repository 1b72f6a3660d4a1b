/* fuzz_resp.c - libFuzzer target for resp/resp_reader.c: split-invariance and writer round trip; single-threaded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_reader.h"
#include "resp/resp_writer.h"

/* Input layout: byte 0 = flags (bit 0: unauthenticated, bits 1-7: seed of
 * the random split), then the bytes a client sends. */

/* Parses in[0..n) fed in chunks (chunk 0: all at once; otherwise chunk
 * sizes drawn from seed) and records every command and the final status
 * into t. When rt is not NULL each command is also re-encoded into rt.
 * Returns the length of t holding the commands (before status and errstr). */
static size_t fuzz_parse(const uint8_t *in, size_t n, unsigned chunk, unsigned seed, int unauth,
                       struct sbuf *t, struct sbuf *rt)
{
    struct resp_reader r;
    enum resp_status st = RESP_NEED_MORE;
    size_t off = 0;

    resp_reader_init(&r);
    r.unauthenticated = unauth;
    while (off < n) {
        size_t c = n - off;
        if (chunk) {
            seed = seed * 1103515245u + 12345u;
            c = 1 + (seed >> 16) % chunk;
            if (c > n - off)
                c = n - off;
        }
        if (resp_reader_feed(&r, (const char *)in + off, c) < 0)
            break;
        off += c;
        while ((st = resp_reader_next(&r)) == RESP_OK) {
            if (r.argc < 1)
                abort();
            sbuf_append_i64(t, r.argc);
            if (rt)
                resp_array(rt, r.argc);
            for (int i = 0; i < r.argc; i++) {
                if (r.argv[i].ptr[r.argv[i].len] != '\0')
                    abort();
                sbuf_appendc(t, ',');
                sbuf_append_u64(t, r.argv[i].len);
                sbuf_appendc(t, ':');
                sbuf_append(t, r.argv[i].ptr, r.argv[i].len);
                if (rt)
                    resp_bulk(rt, r.argv[i].ptr, r.argv[i].len);
            }
            sbuf_appendc(t, ';');
        }
        if (st == RESP_ERR)
            break;
    }
    size_t cmds = t->len;
    if (st == RESP_ERR || r.failed)
        sbuf_appends(t, r.errstr);   /* bytes after the error were maybe not fed */
    else
        sbuf_append_u64(t, resp_reader_pending(&r));
    resp_reader_free(&r);
    return cmds;
}

static int same(const struct sbuf *a, const struct sbuf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbuf whole, bytes, random, rt, rt_whole;

    if (size < 1)
        return 0;
    int unauth = data[0] & 1;
    unsigned seed = data[0] >> 1;
    data++;
    size--;
    sbuf_init(&whole);
    sbuf_init(&bytes);
    sbuf_init(&random);
    sbuf_init(&rt);
    sbuf_init(&rt_whole);
    size_t cmds = fuzz_parse(data, size, 0, 0, unauth, &whole, &rt);
    fuzz_parse(data, size, 1, 0, unauth, &bytes, NULL);
    fuzz_parse(data, size, 64, seed, unauth, &random, NULL);
    if (!same(&whole, &bytes) || !same(&whole, &random))
        abort();   /* the split of the input changed the result */
    /* Commands re-encoded by the writer parse back to the same commands. */
    size_t rt_cmds = fuzz_parse((const uint8_t *)rt.buf, rt.len, 0, 0, 0, &rt_whole, NULL);
    if (whole.oom || rt_whole.oom || rt_cmds != cmds ||
        (cmds && memcmp(rt_whole.buf, whole.buf, cmds) != 0))
        abort();
    sbuf_free(&whole);
    sbuf_free(&bytes);
    sbuf_free(&random);
    sbuf_free(&rt);
    sbuf_free(&rt_whole);
    return 0;
}
