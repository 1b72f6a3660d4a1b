/* fuzz_dns.c - libFuzzer target for dissectors/dns.c: dns_parse, type/rcode names, TCP framing split-invariance (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Running digest of the messages a TCP stream delivered. */
struct fuzz_dns_sum {
    uint64_t n, h;
};

static void fuzz_dns_on_msg(void *arg, const uint8_t *msg, size_t mlen)
{
    struct fuzz_dns_sum *s = arg;
    struct dns_msg m;
    if (mlen > DNS_TCP_KEEP)
        abort();
    s->n++;
    for (size_t i = 0; i < mlen; i++)
        s->h = s->h * 1099511628211u ^ msg[i];
    s->h ^= mlen;
    if (dns_parse(msg, mlen, &m) == DISSECT_OK && strlen(m.qname) >= sizeof(m.qname))
        abort();
}

/* Feeds data whole and in chunks (sizes from seed); both must agree. */
static void fuzz_dns_tcp(const uint8_t *data, size_t size, unsigned seed)
{
    static struct dns_tcp_stream a, b;
    struct fuzz_dns_sum sa = { 0, 0 }, sb = { 0, 0 };
    dns_tcp_stream_init(&a);
    dns_tcp_stream_init(&b);
    int ra = dns_tcp_feed(&a, data, size, fuzz_dns_on_msg, &sa);
    int rb = DISSECT_OK;
    for (size_t off = 0; off < size;) {
        seed = seed * 1103515245u + 12345u;
        size_t c = 1 + (seed >> 16) % 64;
        if (c > size - off)
            c = size - off;
        if (dns_tcp_feed(&b, data + off, c, fuzz_dns_on_msg, &sb) == DISSECT_MALFORMED)
            rb = DISSECT_MALFORMED;
        off += c;
    }
    if (ra != rb || sa.n != sb.n || sa.h != sb.h)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dns_msg m;
    char tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    int rc = dns_parse(data, size, &m);
    if (rc != DISSECT_OK && rc != DISSECT_MALFORMED)
        abort();
    if (rc == DISSECT_OK) {
        size_t ql = strlen(m.qname);
        /* Escaped text: valid UTF-8 plus backslashes, no controls, no A-Z. */
        const uint8_t *q = (const uint8_t *)m.qname;
        for (size_t i = 0, k; i < ql; i += k) {
            k = q[i] == '\\' ? 1 : dissect_utf8_len(q + i, ql - i);
            if (!k || (q[i] >= 'A' && q[i] <= 'Z'))
                abort();
        }
        if (!dns_qtype_name(m.qtype, tb) || !dns_rcode_name(m.rcode, rb))
            abort();
    }
    fuzz_dns_tcp(data, size, size ? data[0] : 0);
    return 0;
}
