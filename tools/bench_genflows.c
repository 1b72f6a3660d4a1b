/* bench_genflows.c - writes a classic pcap holding N distinct, fully detected, then idle flows
 * (`make bench` item 2: bytes per idle flow at 1 M concurrent flows).
 *   bench_genflows OUT.pcap NFLOWS [TCP_PERCENT]
 * Flow i: client 10.<(i>>8)&255>.<i&255> ... cycling over 65 536 client addresses
 * (10.0.0.0/16), client port 1024 + i / 65536, so every flow key is distinct.
 * UDP flows: one DNS query to 192.0.2.53:53 and its answer (nDPI: DNS, final).
 * TCP flows (TCP_PERCENT of them, default 20): SYN, SYN+ACK, ACK, HTTP GET, HTTP 200 to
 * 198.51.100.<1..200>:80, no FIN, so the flow stays open and idle (nDPI: HTTP, final).
 * All packets fall within ~NFLOWS*5 us of packet time, so no timeout of any tool runs.
 * Prints "flows packets bytes". Built by `make bench-tools` (tools/bench.py runs it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static unsigned long long npkts, nbytes;
static uint64_t ts_us = 1700000000ULL * 1000000ULL;

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* Writes Ethernet + IPv4 + (l4 header + payload already in l4, l4len bytes). */
static void frame(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, size_t l4len)
{
    uint8_t pkt[1600];
    static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
    memcpy(pkt, macs, 12);
    put16(pkt + 12, 0x0800);
    uint8_t *ip = pkt + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, csum(ip, 20));
    memcpy(ip + 20, l4, l4len);
    uint32_t len = (uint32_t)(34 + l4len);
    uint32_t hdr[4] = { (uint32_t)(ts_us / 1000000), (uint32_t)(ts_us % 1000000), len, len };
    fwrite(hdr, sizeof(hdr), 1, out);
    fwrite(pkt, len, 1, out);
    ts_us += 1;
    npkts++;
    nbytes += len;
}

static size_t udp(uint8_t *b, uint16_t sp, uint16_t dp, const uint8_t *pl, size_t n)
{
    put16(b, sp);
    put16(b + 2, dp);
    put16(b + 4, (uint16_t)(8 + n));
    put16(b + 6, 0);
    memcpy(b + 8, pl, n);
    return 8 + n;
}

static size_t tcp(uint8_t *b, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl,
                  const char *pl)
{
    size_t n = pl ? strlen(pl) : 0;
    memset(b, 0, 20);
    put16(b, sp);
    put16(b + 2, dp);
    put32(b + 4, seq);
    put32(b + 8, ack);
    b[12] = 5 << 4;
    b[13] = fl;
    put16(b + 14, 65535);
    if (n)
        memcpy(b + 20, pl, n);
    return 20 + n;
}

static size_t dns_msg(uint8_t *b, uint16_t txid, unsigned name, int response)
{
    size_t n = 0;
    put16(b, txid);
    put16(b + 2, response ? 0x8180 : 0x0100);
    put16(b + 4, 1);
    put16(b + 6, response ? 1 : 0);
    put16(b + 8, 0);
    put16(b + 10, 0);
    n = 12;
    char label[16];
    int l = snprintf(label, sizeof(label), "n%u", name);
    b[n++] = (uint8_t)l;
    memcpy(b + n, label, (size_t)l);
    n += (size_t)l;
    b[n++] = 7;
    memcpy(b + n, "example", 7);
    n += 7;
    b[n++] = 3;
    memcpy(b + n, "com", 3);
    n += 3;
    b[n++] = 0;
    put16(b + n, 1);
    put16(b + n + 2, 1);
    n += 4;
    if (response) {
        static const uint8_t ans[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1 };
        memcpy(b + n, ans, sizeof(ans));
        n += sizeof(ans);
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_genflows OUT.pcap NFLOWS [TCP_PERCENT]\n");
        return 2;
    }
    unsigned long nflows = strtoul(argv[2], NULL, 10);
    unsigned tcp_pct = argc > 3 ? (unsigned)atoi(argv[3]) : 20;
    if (nflows == 0 || nflows > 65536UL * 64000UL || tcp_pct > 100) {
        fprintf(stderr, "bench_genflows: bad arguments\n");
        return 2;
    }
    out = fopen(argv[1], "wb");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(out, buf, _IOFBF, sizeof(buf));
    uint32_t gh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1 };
    fwrite(gh, sizeof(gh), 1, out);
    const uint32_t resolver = 0xC0000235; /* 192.0.2.53 */
    const char *get = "GET / HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok";
    uint8_t l4[1500], pl[512];
    for (unsigned long i = 0; i < nflows; i++) {
        uint32_t cli = 0x0A000000u | (uint32_t)(i & 0xffff);
        uint16_t cport = (uint16_t)(1024 + i / 65536);
        if ((i * 2654435761u) % 100 < tcp_pct) {
            uint32_t srv = 0xC6336400u + 1 + (uint32_t)(i % 200); /* 198.51.100.x */
            uint32_t cs = (uint32_t)(i * 7919u), ss = (uint32_t)(i * 104729u);
            frame(cli, srv, 6, l4, tcp(l4, cport, 80, cs, 0, 0x02, NULL));
            frame(srv, cli, 6, l4, tcp(l4, 80, cport, ss, cs + 1, 0x12, NULL));
            frame(cli, srv, 6, l4, tcp(l4, cport, 80, cs + 1, ss + 1, 0x10, NULL));
            frame(cli, srv, 6, l4, tcp(l4, cport, 80, cs + 1, ss + 1, 0x18, get));
            frame(srv, cli, 6, l4,
                  tcp(l4, 80, cport, ss + 1, cs + 1 + (uint32_t)strlen(get), 0x18, resp));
        } else {
            uint16_t txid = (uint16_t)(i * 40503u);
            unsigned name = (unsigned)(i % 1000);
            size_t n = dns_msg(pl, txid, name, 0);
            frame(cli, resolver, 17, l4, udp(l4, cport, 53, pl, n));
            n = dns_msg(pl, txid, name, 1);
            frame(resolver, cli, 17, l4, udp(l4, 53, cport, pl, n));
        }
    }
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("%lu %llu %llu\n", nflows, npkts, nbytes);
    return 0;
}
