/* afpacket.c - flowcached's own AF_PACKET TPACKET_V2 reader: 2 KB ring frames, larger packets copied through the socket queue (capture threads). */
#include "capture/source/afpacket.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23    /* Linux >= 4.20 */
#endif
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000   /* Linux >= 6.10 */
#endif

/* Why not libpcap: in immediate mode libpcap sizes every ring frame for the
 * largest packet the device can hand over (64 KB on lo and on devices with
 * receive offloads), so a 64 MB ring holds ~1 000 packets: a few
 * milliseconds at 100k+ packets/s before the kernel drops. Here frames are
 * 2 KB (32 768 of them in 64 MB) and a packet that does not fit is queued
 * whole on the socket by the kernel (PACKET_COPY_THRESH); its ring frame
 * says so (TP_STATUS_COPY) and the reader takes the copy from the queue in
 * the same order. */
enum {
    FRAME_SIZE = 2048,
    BLOCK_SIZE = 1 << 16,
    MIN_BLOCKS = 16,
    VLAN_LEN = 4,                  /* PACKET_RESERVE: room to put a stripped tag back */
    COPY_QUEUE = 32 << 20,         /* socket buffer for copies of large packets */
};

struct afp {
    int fd;
    uint8_t *ring;
    size_t ring_len;
    unsigned nframes, next;
    unsigned snaplen;
    int loopback;
    int skip_outgoing;             /* loopback without PACKET_IGNORE_OUTGOING */
    uint8_t *big;                  /* copies of large packets, VLAN_LEN bytes of headroom */
    size_t big_len;
    uint64_t kernel_drops, cut;
};

static int sockopt_int(int fd, int level, int name, int v)
{
    return setsockopt(fd, level, name, &v, sizeof(v));
}

/* The filter runs in the kernel, as libpcap runs it: compiled by libpcap for
 * this very device (a handle opened for the purpose), so its Linux-specific
 * code (a `vlan` test reads the tag the driver stripped) and its meaning are
 * libpcap's. Every accepting `ret #k` is made to take the whole packet: a
 * shorter return would cut the frame and defeat the copy of large packets. */
static int set_filter(struct afp *a, const char *iface, const char *bpf, char *err, size_t errlen)
{
    if (!bpf || !*bpf)
        return 0;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct bpf_program prog;
    pcap_t *p = pcap_create(iface, ebuf);
    if (!p) {
        snprintf(err, errlen, "interface %s: %s", iface, ebuf);
        return -1;
    }
    pcap_set_snaplen(p, (int)a->snaplen);
    pcap_set_buffer_size(p, 1 << 20);
    if (pcap_activate(p) < 0) {
        snprintf(err, errlen, "interface %s: %s", iface, pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "bad bpf filter '%s': %s", bpf, pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    pcap_close(p);
    int rc = -1;
    struct sock_filter *f = calloc(prog.bf_len ? prog.bf_len : 1, sizeof(*f));
    if (f) {
        for (unsigned i = 0; i < prog.bf_len; i++) {
            const struct bpf_insn *in = &prog.bf_insns[i];
            f[i] = (struct sock_filter){ in->code, in->jt, in->jf, in->k };
            if (BPF_CLASS(in->code) == BPF_RET && BPF_RVAL(in->code) == BPF_K && in->k != 0)
                f[i].k = UINT32_MAX;
        }
        struct sock_fprog fp = { (unsigned short)prog.bf_len, f };
        rc = setsockopt(a->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
        if (rc != 0)
            snprintf(err, errlen, "interface %s: cannot set bpf filter '%s': %s", iface, bpf, strerror(errno));
        free(f);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    pcap_freecode(&prog);
    return rc;
}

/* Maps the largest ring the kernel grants, from ring_bytes down to MIN_BLOCKS blocks. */
static int map_ring(struct afp *a, uint64_t ring_bytes, const char *iface, char *err, size_t errlen)
{
    uint64_t blocks = (ring_bytes ? ring_bytes : AFP_DEFAULT_RING) / BLOCK_SIZE;
    if (blocks < MIN_BLOCKS)
        blocks = MIN_BLOCKS;
    if (blocks > UINT32_MAX / (BLOCK_SIZE / FRAME_SIZE))
        blocks = UINT32_MAX / (BLOCK_SIZE / FRAME_SIZE);
    for (;;) {
        struct tpacket_req req = { BLOCK_SIZE, (unsigned)blocks, FRAME_SIZE,
                                   (unsigned)blocks * (BLOCK_SIZE / FRAME_SIZE) };
        if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) == 0) {
            a->ring_len = (size_t)blocks * BLOCK_SIZE;
            a->nframes = req.tp_frame_nr;
            break;
        }
        if (errno != ENOMEM || blocks <= MIN_BLOCKS) {
            snprintf(err, errlen, "interface %s: packet ring: %s", iface, strerror(errno));
            return -1;
        }
        blocks /= 2;
    }
    a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
    if (a->ring == MAP_FAILED) {
        a->ring = NULL;
        snprintf(err, errlen, "interface %s: mapping the packet ring: %s", iface, strerror(errno));
        return -1;
    }
    return 0;
}

/* Device facts: -1 gone, 0 not Ethernet framed, 1 Ethernet (*loopback set). */
static int device_kind(int fd, const char *iface, int *loopback)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, iface, strlen(iface));
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
        return -1;
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER && ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK)
        return 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    *loopback = (ifr.ifr_flags & IFF_LOOPBACK) != 0;
    return 1;
}

int afp_open(struct afp **out, const char *iface, unsigned snaplen, int promisc, uint64_t ring_bytes,
             const char *bpf, char *err, size_t errlen)
{
    *out = NULL;
    if (strcmp(iface, "any") == 0 || strlen(iface) >= IFNAMSIZ)
        return 0;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);     /* protocol 0: nothing arrives before bind */
    if (fd < 0) {
        snprintf(err, errlen, "interface %s: %s%s", iface, strerror(errno),
                 errno == EPERM ? " (live capture needs root or CAP_NET_RAW)" : "");
        return -1;
    }
    unsigned ifindex = if_nametoindex(iface);
    int loopback = 0, kind = ifindex ? device_kind(fd, iface, &loopback) : -1;
    if (kind <= 0) {
        close(fd);
        if (kind == 0)
            return 0;
        snprintf(err, errlen, "interface %s: No such device exists", iface);
        return -1;
    }
    struct afp *a = calloc(1, sizeof(*a));
    if (!a) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->fd = fd;
    a->snaplen = snaplen;
    a->loopback = loopback;
    if (sockopt_int(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2) != 0 ||
        sockopt_int(fd, SOL_PACKET, PACKET_RESERVE, VLAN_LEN) != 0) {
        snprintf(err, errlen, "interface %s: TPACKET_V2: %s", iface, strerror(errno));
        goto fail;
    }
    if (map_ring(a, ring_bytes, iface, err, errlen) != 0)
        goto fail;
    /* a frame holds FRAME_SIZE minus its headers (~1 970 bytes): copies only when snaplen wants more */
    if (snaplen > FRAME_SIZE - 128) {
        a->big_len = (size_t)snaplen + VLAN_LEN;
        a->big = malloc(a->big_len);
        if (!a->big) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        sockopt_int(fd, SOL_PACKET, PACKET_COPY_THRESH, 1);
        if (sockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, COPY_QUEUE) != 0)
            sockopt_int(fd, SOL_SOCKET, SO_RCVBUF, COPY_QUEUE);
    }
    a->skip_outgoing = afp_ignore_outgoing(fd, iface) < 0;   /* then drop the leaving copies here */
    if (set_filter(a, iface, bpf, err, errlen) != 0)
        goto fail;
    if (promisc && !loopback) {
        struct packet_mreq mr = { .mr_ifindex = (int)ifindex, .mr_type = PACKET_MR_PROMISC };
        if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0) {
            snprintf(err, errlen, "interface %s: promiscuous mode: %s", iface, strerror(errno));
            goto fail;
        }
    }
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = (int)ifindex };
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        snprintf(err, errlen, "interface %s: %s", iface, strerror(errno));
        goto fail;
    }
    /* a device that is down reports ENETDOWN once; frames flow when it comes up */
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    *out = a;
    return 1;
fail:
    afp_close(a);
    return -1;
}

int afp_ignore_outgoing(int fd, const char *iface)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (fd < 0 || strlen(iface) >= sizeof(ifr.ifr_name))
        return 0;
    memcpy(ifr.ifr_name, iface, strlen(iface));
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 || !(ifr.ifr_flags & IFF_LOOPBACK))
        return 0;
    return sockopt_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) == 0 ? 1 : -1;
}

/* One PACKET_FANOUT request: join (or create, with the kernel choosing the
 * id) the group of type CBPF with these flags. */
static int fanout_set(int fd, unsigned id, unsigned flags)
{
    return sockopt_int(fd, SOL_PACKET, PACKET_FANOUT, (int)(id | (PACKET_FANOUT_CBPF | flags) << 16));
}

int afp_fanout_join(struct afp *a, int *group, const struct sock_filter *prog, unsigned short len,
                    const char *iface, char *err, size_t errlen)
{
    unsigned flags = a->loopback ? PACKET_FANOUT_FLAG_IGNORE_OUTGOING : 0;
    if (*group >= 0) {
        flags = (unsigned)*group >> 16;
        if (fanout_set(a->fd, (unsigned)*group & 0xffff, flags) != 0)
            goto fail;
    } else {
        int rc = fanout_set(a->fd, 0, flags | PACKET_FANOUT_FLAG_UNIQUEID);
        if (rc != 0 && flags) {      /* a kernel without the group flag: drop those copies here */
            flags = 0;
            rc = fanout_set(a->fd, 0, PACKET_FANOUT_FLAG_UNIQUEID);
        }
        int v = 0;
        socklen_t vl = sizeof(v);
        if (rc != 0 || getsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &v, &vl) != 0)
            goto fail;
        struct sock_fprog fp = { len, (struct sock_filter *)prog };
        if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof(fp)) != 0)
            goto fail;
        *group = (int)(((unsigned)v & 0xffff) | flags << 16);
    }
    if (a->loopback && !(flags & PACKET_FANOUT_FLAG_IGNORE_OUTGOING))
        a->skip_outgoing = 1;        /* the socket's own PACKET_IGNORE_OUTGOING does not apply to a group */
    return 0;
fail:
    snprintf(err, errlen, "interface %s: packet fanout: %s", iface, strerror(errno));
    return -1;
}

int afp_fd(const struct afp *a)
{
    return a->fd;
}

/* One ring frame: takes the copy of a large packet, puts a stripped VLAN tag
 * back, applies snaplen and hands the frame over. */
static void afp_deliver(struct afp *a, struct tpacket2_hdr *h, uint32_t status, afp_cb cb, void *arg)
{
    uint8_t *data = (uint8_t *)h + h->tp_mac;
    uint32_t caplen = h->tp_snaplen, wirelen = h->tp_len;
    if (status & TP_STATUS_COPY) {
        ssize_t got = a->big ? recv(a->fd, a->big + VLAN_LEN, a->big_len - VLAN_LEN, MSG_DONTWAIT | MSG_TRUNC)
                             : -1;
        if (got > 0) {
            data = a->big + VLAN_LEN;
            caplen = (size_t)got < a->big_len - VLAN_LEN ? (uint32_t)got : (uint32_t)(a->big_len - VLAN_LEN);
        } else {
            a->cut++;
        }
    } else if (caplen < wirelen && caplen < a->snaplen) {
        a->cut++;                    /* cut to the frame: the copy queue was full */
    }
    const struct sockaddr_ll *sll = (const void *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
    if (a->skip_outgoing && sll->sll_pkttype == PACKET_OUTGOING)
        return;
    if ((h->tp_vlan_tci != 0 || (status & TP_STATUS_VLAN_VALID)) && caplen >= 2 * ETH_ALEN) {
        uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid : ETH_P_8021Q;
        memmove(data - VLAN_LEN, data, 2 * ETH_ALEN);
        data -= VLAN_LEN;
        uint8_t *tag = data + 2 * ETH_ALEN;
        tag[0] = (uint8_t)(tpid >> 8);
        tag[1] = (uint8_t)tpid;
        tag[2] = (uint8_t)(h->tp_vlan_tci >> 8);
        tag[3] = (uint8_t)h->tp_vlan_tci;
        caplen += VLAN_LEN;
        wirelen += VLAN_LEN;
    }
    if (caplen > a->snaplen)
        caplen = a->snaplen;
    uint64_t ts = (uint64_t)h->tp_sec * 1000000ULL + h->tp_nsec / 1000;
    cb(arg, ts, data, caplen, wirelen);
}

int afp_dispatch(struct afp *a, int max, afp_cb cb, void *arg)
{
    int n = 0;
    while (n < max) {
        struct tpacket2_hdr *h = (struct tpacket2_hdr *)(a->ring + (size_t)a->next * FRAME_SIZE);
        uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
        if (!(status & TP_STATUS_USER))
            break;
        afp_deliver(a, h, status, cb, arg);
        __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        if (++a->next == a->nframes)
            a->next = 0;
        n++;
    }
    return n;
}

uint64_t afp_drops(struct afp *a)
{
    struct tpacket_stats st;
    socklen_t len = sizeof(st);
    if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
        a->kernel_drops += st.tp_drops;      /* the kernel resets its counters on each read */
    return a->kernel_drops + a->cut;
}

void afp_close(struct afp *a)
{
    if (!a)
        return;
    if (a->ring)
        munmap(a->ring, a->ring_len);
    close(a->fd);
    free(a->big);
    free(a);
}
