/* cloud_cluster.h - Redis Cluster key placement: CRC16 hash slots, hash tags, MOVED/ASK (pure code). */
#ifndef FC_CLOUD_CLUSTER_H
#define FC_CLOUD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define CLOUD_SLOTS 16384
#define CLOUD_MAX_NODES 64                   /* nodes one engine talks to, seeds and redirect targets */

/* CRC16-CCITT (XMODEM), the checksum Redis Cluster uses. */
uint16_t cloud_crc16(const char *buf, size_t len);

/* The hash slot of a key: CRC16 of the key (or of the first non-empty {tag}) mod 16384. */
unsigned cloud_key_slot(const char *key, size_t len);

/* Split "host:port" (the last ':' separates; "[v6]:port" is accepted) into
 * host (NUL-terminated, at most hostlen-1 bytes) and port. Returns 0, or -1
 * when it is not host:port with a port in 1..65535 (host is then undefined). */
int cloud_parse_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port);

enum cloud_redirect { CLOUD_REDIR_NONE = 0, CLOUD_REDIR_MOVED, CLOUD_REDIR_ASK };

/* Read an error reply "MOVED <slot> <host>:<port>" or "ASK ...". Returns the
 * kind (NONE for any other error; host/slot/port are then undefined). */
enum cloud_redirect cloud_parse_redirect(const char *err, size_t len, unsigned *slot,
                                         char *host, size_t hostlen, int *port);

#endif
