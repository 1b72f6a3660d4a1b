/* fuzz_http.c - libFuzzer target for dissectors/http.c: split-invariance of heads over a connection (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/http.h"
#include "tests/fuzz/fuzz_util.h"

/* Input layout: byte 0 = seed of the chunking; then segments, each a 2-byte
 * header (bit 15: from the server, low bits: length) and its bytes. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_http_sum {
    uint64_t n, h;
};

static void fuzz_http_on_msg(void *arg, const struct http_msg *m)
{
    struct fuzz_http_sum *s = arg;
    s->n++;
    fuzz_text_mix(&s->h, m->method, sizeof(m->method));
    fuzz_text_mix(&s->h, m->url, sizeof(m->url));
    fuzz_text_mix(&s->h, m->host, sizeof(m->host));
    fuzz_text_mix(&s->h, m->ua, sizeof(m->ua));
    s->h = s->h * 31 + (uint64_t)m->status + (uint64_t)m->is_request;
}

/* Replays the segments into c, each cut into pieces (chunk 0: whole). */
static void fuzz_http_run(struct http_conn *c, const uint8_t *d, size_t n, unsigned chunk,
                          unsigned seed, struct fuzz_http_sum *s)
{
    size_t off = 0;
    http_conn_init(c);
    while (off + 2 <= n) {
        unsigned h = (unsigned)d[off] << 8 | d[off + 1];
        size_t len = h & 0x7fff;
        int from_client = !(h & 0x8000);
        off += 2;
        if (len > n - off)
            len = n - off;
        for (size_t o = 0; o < len;) {
            size_t k = len - o;
            if (chunk) {
                seed = seed * 1103515245u + 12345u;
                k = 1 + (seed >> 16) % chunk;
                if (k > len - o)
                    k = len - o;
            }
            int rc = http_conn_feed(c, from_client, d + off + o, k, fuzz_http_on_msg, s);
            if (rc != DISSECT_OK && rc != DISSECT_MALFORMED)
                abort();
            o += k;
        }
        off += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_conn a, b;
    struct fuzz_http_sum sa = { 0, 0 }, sb = { 0, 0 };
    if (size < 1)
        return 0;
    fuzz_http_run(&a, data + 1, size - 1, 0, 0, &sa);
    fuzz_http_run(&b, data + 1, size - 1, 1 + data[0] % 16, data[0], &sb);
    /* the MALFORMED return lands on a different call when split: compare heads */
    if (sa.n != sb.n || sa.h != sb.h)
        abort();
    return 0;
}
