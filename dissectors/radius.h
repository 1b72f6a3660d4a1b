/* radius.h - RADIUS (RFC 2865/2866/3162) packet parser for user-to-IP mapping (pure code, any thread). */
#ifndef FC_RADIUS_H
#define FC_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define RADIUS_HEADER_LEN   20
/* Attribute strings are at most 253 bytes; escaped ("\xHH") text can be 4x. */
#define RADIUS_TEXT_MAX     (253 * DISSECT_ESC_MAX + 1)

/* Packet codes */
#define RADIUS_ACCESS_REQUEST     1
#define RADIUS_ACCESS_ACCEPT      2
#define RADIUS_ACCESS_REJECT      3
#define RADIUS_ACCOUNTING_REQUEST 4
#define RADIUS_ACCOUNTING_RESPONSE 5

/* Acct-Status-Type values */
#define RADIUS_ACCT_START   1
#define RADIUS_ACCT_STOP    2
#define RADIUS_ACCT_INTERIM 3

/* What flowcached takes from one RADIUS packet. Only the first occurrence of
 * each attribute counts. Strings are NUL-terminated, "" when absent; bytes
 * outside 0x20..0x7e are written "\xHH" (not reversible: a backslash is
 * kept). */
struct radius_msg {
    uint8_t code, id;
    uint32_t acct_status;           /* 1 Start, 2 Stop, 3 Interim-Update, 0 none */
    char user[RADIUS_TEXT_MAX];     /* User-Name (1) */
    uint8_t has_framed_ip;
    uint8_t framed_ip[4];           /* Framed-IP-Address (8), network order */
    uint8_t has_framed_ip6;
    uint8_t framed_ip6[16];         /* Framed-IPv6-Prefix (97), zero-padded */
    uint8_t framed_ip6_plen;
    uint8_t has_nas_ip;
    uint8_t nas_ip[4];              /* NAS-IP-Address (4) */
    uint8_t has_nas_ip6;
    uint8_t nas_ip6[16];            /* NAS-IPv6-Address (95) */
    char session_id[RADIUS_TEXT_MAX];   /* Acct-Session-Id (44) */
};

/* Parses the RADIUS packet p[0..len) (a UDP payload). The header's length
 * field bounds the attributes: bytes after it are ignored; a length < 20 or
 * > len, an unknown code, or an attribute shorter than 2 bytes or running
 * past the length is DISSECT_MALFORMED. An address attribute of the wrong
 * size (or a Framed-IPv6-Prefix longer than 128 bits) is skipped, not an
 * error. Returns DISSECT_OK or DISSECT_MALFORMED; after MALFORMED *out is
 * unspecified. Never reads past p + len; no allocation; any thread. */
int radius_parse(const uint8_t *p, size_t len, struct radius_msg *out);

#endif
