/* afpacket.h - flowcached's own AF_PACKET TPACKET_V2 reader for live Ethernet and loopback devices in immediate mode (capture threads). */
#ifndef FC_AFPACKET_H
#define FC_AFPACKET_H

#include <stddef.h>
#include <stdint.h>

struct afp;

enum { AFP_DEFAULT_RING = 64 << 20 };    /* ring bytes when afp_open is given 0 */

/* Called once per frame, in arrival order. data holds caplen bytes of an
 * Ethernet frame (VLAN tag put back in place); wirelen is its length on the
 * wire. ts_us is the kernel's receive time in microseconds. */
typedef void (*afp_cb)(void *arg, uint64_t ts_us, const uint8_t *data, uint32_t caplen, uint32_t wirelen);

/* Opens iface with a ring of ring_bytes (0 = 64 MB) of 2 KB frames, snaplen
 * bytes kept per packet, promiscuous when asked, bpf (NULL or "" = none)
 * compiled and run in the kernel as libpcap does on this device. Returns 1 and *out when opened, 0 when
 * this reader does not handle the device (not Ethernet or loopback, "any"):
 * the caller uses libpcap; -1 with err filled ("interface X: ...") on error.
 * Any thread; the handle is then used by one thread. */
int afp_open(struct afp **out, const char *iface, unsigned snaplen, int promisc, uint64_t ring_bytes,
             const char *bpf, char *err, size_t errlen);

struct sock_filter;

/* Joins a (opened by afp_open, bound) to a PACKET_FANOUT_CBPF group, so the
 * kernel hands each packet of the device to one socket of the group, the
 * one of index prog's result modulo the group's size (sockets are numbered
 * in the order they joined). *group < 0: creates the group, with an id the
 * kernel chooses unique in the network namespace, sets prog (len
 * instructions) on it and stores in *group what the next sockets join with;
 * else joins *group. On loopback the group does not take the leaving copy of
 * a packet (or this reader drops it, on a kernel before 6.10). Returns 0, or
 * -1 with err filled (a stays open, outside any group). The thread that owns a. */
int afp_fanout_join(struct afp *a, int *group, const struct sock_filter *prog, unsigned short len,
                    const char *iface, char *err, size_t errlen);

int afp_fd(const struct afp *a);            /* for poll(POLLIN) */

/* On a loopback device the kernel hands a packet socket every packet twice,
 * leaving and arriving; libpcap throws the leaving copy away only after it
 * has been copied into the ring. Asks the kernel not to queue that copy on
 * fd (PACKET_IGNORE_OUTGOING, Linux >= 4.20): half the ring traffic, the
 * same packets seen. Returns 1 when set, 0 when iface is not a loopback
 * device, -1 when it is and the kernel lacks the option. */
int afp_ignore_outgoing(int fd, const char *iface);

/* Hands at most max ready frames to cb without blocking. Returns how many
 * were handed (0 = none ready). */
int afp_dispatch(struct afp *a, int max, afp_cb cb, void *arg);

/* Packets the kernel dropped (ring full) plus packets that reached the
 * reader cut short because the copy of a large packet could not be queued,
 * since afp_open. */
uint64_t afp_drops(struct afp *a);

void afp_close(struct afp *a);

#endif
