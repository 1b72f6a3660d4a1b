/* bench_event_floor.c - the reference of `make bench` item 5: the least a probe does between a packet
 * on an interface and a subscriber's socket, timed by the same client as flowcached's rows.
 *
 * usage: bench_event_floor IFACE BPF PORT
 * A capture thread reads IFACE through libpcap in immediate mode with the BPF filter (as flowcached's
 * `capture-reader libpcap`), and hands each IPv4 TCP/UDP packet's addresses to the main thread through
 * a pipe, as one line "SRC:SPORT-DST:DPORT". The main thread accepts clients on 127.0.0.1:PORT and
 * sends every line to each client that asked to subscribe, as a RESP2 message on channel flow.new.
 * Of a client's commands it knows two, found by name in what it reads: SUBSCRIBE (the confirmation,
 * then messages) and PING (+PONG). No flow table, no DPI, no event text beyond the line: what is left
 * is the machine's part of the path, two thread wake-ups and a socket. Stops at SIGTERM.
 * Built by `make bench-tools` (tools/bench.py runs it) into build/plain/bench-tools/. */
#define _GNU_SOURCE                  /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_CLIENTS = 8, LINE_MAX_BYTES = 128 };

static int pipe_fd[2];

/* The frame's IPv4 addresses and ports as "a.b.c.d:p-e.f.g.h:q\n" in out; its length, 0 when the
 * frame is not IPv4 TCP/UDP. Ethernet (lo's link type) or raw IP. */
static size_t frame_line(int dlt, const uint8_t *d, uint32_t caplen, char *out, size_t outlen)
{
    uint32_t off = 0;
    if (dlt == DLT_EN10MB) {
        if (caplen < 14 || d[12] != 0x08 || d[13] != 0x00)
            return 0;
        off = 14;
    } else if (dlt != DLT_RAW) {
        return 0;
    }
    if (caplen < off + 20 || (d[off] >> 4) != 4)
        return 0;
    uint32_t ihl = (uint32_t)(d[off] & 15) * 4;
    uint8_t proto = d[off + 9];
    if ((proto != IPPROTO_UDP && proto != IPPROTO_TCP) || ihl < 20 || caplen < off + ihl + 4)
        return 0;
    const uint8_t *ip = d + off, *l4 = ip + ihl;
    int n = snprintf(out, outlen, "%u.%u.%u.%u:%u-%u.%u.%u.%u:%u\n", ip[12], ip[13], ip[14], ip[15],
                     (unsigned)(l4[0] << 8 | l4[1]), ip[16], ip[17], ip[18], ip[19],
                     (unsigned)(l4[2] << 8 | l4[3]));
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *d)
{
    char line[LINE_MAX_BYTES];
    size_t n = frame_line(*(int *)arg, d, h->caplen, line, sizeof(line));
    if (n && write(pipe_fd[1], line, n) < 0)   /* at most PIPE_BUF: one line a write */
        perror("bench_event_floor: pipe");
}

static void *capture_thread(void *arg)
{
    pcap_t *p = arg;
    int dlt = pcap_datalink(p);
    pcap_loop(p, -1, on_packet, (u_char *)&dlt);
    fprintf(stderr, "bench_event_floor: capture ended: %s\n", pcap_geterr(p));
    exit(1);
}

static pcap_t *open_capture(const char *iface, const char *bpf)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    struct bpf_program prog;
    pcap_t *p = pcap_create(iface, err);
    if (!p) {
        fprintf(stderr, "bench_event_floor: %s: %s\n", iface, err);
        return NULL;
    }
    pcap_set_snaplen(p, 256);
    pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, 100);
    if (pcap_activate(p) < 0 || pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(p, &prog) != 0) {
        fprintf(stderr, "bench_event_floor: %s: %s\n", iface, pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    pcap_freecode(&prog);
    return p;
}

static int listen_on(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0) {
        perror("bench_event_floor: listen");
        return -1;
    }
    return fd;
}

/* Sends all of buf, or closes the client (returns -1). */
static int send_all(int *fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(*fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(*fd);
            *fd = -1;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Answers what client *fd sent: SUBSCRIBE makes it a subscriber, PING gets +PONG. */
static void client_read(int *fd, int *subscribed)
{
    char buf[4096];
    ssize_t n = recv(*fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0)
            buf[i] = ' ';
    if (strcasestr(buf, "SUBSCRIBE")) {
        static const char ok[] = "*3\r\n$9\r\nsubscribe\r\n$8\r\nflow.new\r\n:1\r\n";
        if (send_all(fd, ok, sizeof(ok) - 1) == 0)
            *subscribed = 1;
    } else if (strcasestr(buf, "PING")) {
        send_all(fd, "+PONG\r\n", 7);
    }
}

/* Sends each whole line of buf[0..*len) to the subscribers as a message; keeps a partial line. */
static void publish_lines(char *buf, size_t *len, int *fds, const int *subscribed)
{
    size_t start = 0;
    for (size_t i = 0; i < *len; i++) {
        if (buf[i] != '\n')
            continue;
        char msg[LINE_MAX_BYTES + 64];
        int m = snprintf(msg, sizeof(msg), "*3\r\n$7\r\nmessage\r\n$8\r\nflow.new\r\n$%zu\r\n%.*s\r\n", i - start,
                         (int)(i - start), buf + start);
        for (int c = 0; c < MAX_CLIENTS; c++)
            if (fds[c] >= 0 && subscribed[c] && m > 0 && (size_t)m < sizeof(msg))
                send_all(&fds[c], msg, (size_t)m);
        start = i + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_event_floor IFACE BPF PORT\n");
        return 2;
    }
    int lfd = listen_on(atoi(argv[3]));
    pcap_t *p = lfd < 0 ? NULL : open_capture(argv[1], argv[2]);
    pthread_t t;
    if (!p || pipe(pipe_fd) != 0 || pthread_create(&t, NULL, capture_thread, p) != 0)
        return 1;
    int fds[MAX_CLIENTS], subscribed[MAX_CLIENTS] = { 0 };
    for (int c = 0; c < MAX_CLIENTS; c++)
        fds[c] = -1;
    char lines[4 * LINE_MAX_BYTES];
    size_t have = 0;
    for (;;) {
        struct pollfd pf[MAX_CLIENTS + 2] = { { lfd, POLLIN, 0 }, { pipe_fd[0], POLLIN, 0 } };
        for (int c = 0; c < MAX_CLIENTS; c++)
            pf[c + 2] = (struct pollfd){ fds[c], POLLIN, 0 };   /* fd -1: ignored */
        if (poll(pf, MAX_CLIENTS + 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("bench_event_floor: poll");
            return 1;
        }
        if (pf[1].revents & POLLIN) {
            ssize_t n = read(pipe_fd[0], lines + have, sizeof(lines) - have);
            if (n > 0) {
                have += (size_t)n;
                publish_lines(lines, &have, fds, subscribed);
                if (have == sizeof(lines))
                    have = 0;            /* no newline in a full buffer: not one of ours */
            }
        }
        for (int c = 0; c < MAX_CLIENTS; c++)
            if (fds[c] >= 0 && (pf[c + 2].revents & (POLLIN | POLLHUP | POLLERR)))
                client_read(&fds[c], &subscribed[c]);
        if (pf[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            int c = 0;
            while (c < MAX_CLIENTS && fds[c] >= 0)
                c++;
            if (fd >= 0 && c < MAX_CLIENTS) {
                fds[c] = fd;
                subscribed[c] = 0;
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
}
