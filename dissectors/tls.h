/* tls.h - TLS ClientHello server name (SNI) extractor over the start of a client's TCP stream (pure code, any thread). */
#ifndef FC_TLS_H
#define FC_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define TLS_RECORD_HLEN       5
#define TLS_HANDSHAKE_HLEN    4
/* Largest ClientHello handshake message accepted (header included). */
#define TLS_CLIENT_HELLO_MAX  16384
/* Stream bytes a caller should be ready to buffer: the largest hello split
 * into records of at least 512 bytes, with their headers. */
#define TLS_STREAM_BUF_MAX    (TLS_CLIENT_HELLO_MAX + (TLS_CLIENT_HELLO_MAX / 512 + 1) * TLS_RECORD_HLEN)
/* A buffer of this size holds any server name (255 bytes, maybe escaped). */
#define TLS_SNI_TEXT_MAX      (255 * DISSECT_ESC_MAX + 1)

/* Reads the server name from the ClientHello at the start of p[0..len), the
 * first bytes a TLS client sent on a connection (record headers included;
 * the hello may span several handshake records).
 * Returns:
 *  DISSECT_OK        sni holds the first host_name, lowercased, bytes outside
 *                    0x20..0x7e written "\xHH", NUL-terminated;
 *  DISSECT_NEED_MORE the bytes so far are a valid beginning of a ClientHello
 *                    that is not complete: call again with more (the same
 *                    start, longer len; see TLS_STREAM_BUF_MAX);
 *  DISSECT_MALFORMED not a TLS handshake record, not a ClientHello (SSLv2
 *                    hello included), broken, longer than
 *                    TLS_CLIENT_HELLO_MAX, without a server_name, or a name
 *                    that does not fit snicap (then sni is "").
 * sni is written only on DISSECT_OK, and set to "" on MALFORMED when
 * snicap > 0. Never reads past p + len; no allocation (a hello split across
 * records is gathered into a TLS_CLIENT_HELLO_MAX stack buffer); any thread. */
int tls_client_hello_sni(const uint8_t *p, size_t len, char *sni, size_t snicap);

/* Handshake message types tls_handshake_type names. */
enum { TLS_HELLO_CLIENT = 1, TLS_HELLO_SERVER = 2 };

/* The type of the handshake message p starts with, when p[0..len) begins
 * with a TLS handshake record header (content type 22, version 3.x) and the
 * message's type byte: TLS_HELLO_CLIENT, TLS_HELLO_SERVER or another type;
 * -1 when p does not start a handshake record or is cut before the type.
 * Checks nothing further (for timing a handshake: the first bytes each side
 * sends). Pure; any thread. */
int tls_handshake_type(const uint8_t *p, size_t len);

#endif
