/* export_encoder.h - IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) messages from flow records (pure, no I/O). */
#ifndef FC_EXPORT_ENCODER_H
#define FC_EXPORT_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "server/export/export_ie.h"
#include "server/export/export_record.h"

#define EXPORT_MSG_MIN 1400          /* smallest message size accepted */
#define EXPORT_MSG_MAX 65535         /* the 16-bit length field of IPFIX */
#define EXPORT_MSG_UDP 1452          /* fits one IPv6 (or IPv4) packet on a 1500-byte link */
/* UDP, when the path's MTU allows (export_sender.c): one 9000-byte jumbo frame, and under the
 * 10000-byte datagram pmacct's nfacctd reads (a larger one reaches it cut short) */
#define EXPORT_MSG_UDP_BIG 8952
#define EXPORT_MSG_TCP 16384

/* One finished message; whoever receives it owns it (free() it). */
struct export_msg {
    struct export_msg *next;         /* free for the receiver's queue */
    uint32_t len;                    /* bytes in buf */
    uint32_t flow_records;           /* flow data records in it */
    uint32_t data_records;           /* every data record (options too): IPFIX sequence step */
    uint8_t protocol;                /* enum export_protocol */
    uint8_t buf[];
};

struct export_encoder_opts {
    enum export_protocol protocol;
    uint32_t domain;                 /* IPFIX observation domain / NetFlow v9 source id */
    uint32_t max_message;            /* EXPORT_MSG_MIN..EXPORT_MSG_MAX */
    /* Templates and application names are sent again after refresh_s
     * seconds or refresh_msgs messages, whichever comes first (RFC 7011 8.4,
     * for UDP); 0 = never by that measure. */
    uint32_t refresh_s, refresh_msgs;
    /* Receives each finished message (ownership moves to it). */
    void (*emit)(void *arg, struct export_msg *m);
    void *arg;
};

struct export_app { uint16_t id; char name[EXPORT_APP_NAME_MAX + 1]; };

#define EXPORT_TPL_VARS 8          /* variable-length strings a template may have */

/* One step of writing a data record (export_encoder.c): what to write, and from where. */
struct export_op { uint8_t code, arg; uint16_t len; };

/* One data template, made when a record first needs it. */
struct export_tpl {
    struct export_field fields[EXPORT_FIELDS_MAX];
    struct export_op ops[EXPORT_FIELDS_MAX];   /* the record's fields as steps, the base fields as one */
    uint8_t nfields, nops;
    uint8_t nvar;                    /* variable-length strings (IPFIX), their string slots in var[] */
    uint16_t min_len;                /* data record bytes without those strings */
    uint8_t var[EXPORT_TPL_VARS];    /* the string slot (export_encoder.c) of each, in template order */
};

struct export_encoder {
    struct export_encoder_opts o;
    struct export_tpl *tpl[EXPORT_TEMPLATES];  /* by export_template_index; NULL until used */
    struct export_field app_fields[4];
    int napp_fields, napp_scope;
    uint8_t announced[EXPORT_TEMPLATES / 8];   /* data templates sent since the last refresh (bits) */
    uint8_t used[EXPORT_TEMPLATES / 8];        /* ... ever */
    uint8_t app_tpl_announced;
    uint8_t apps_announced[65536 / 8];  /* application names sent since the last refresh */
    struct export_app *apps;         /* every application seen (for export_encoder_announce) */
    uint32_t napps, apps_cap;
    struct export_msg *cur;          /* message being filled, NULL when none */
    int32_t open_set;                /* id of the set being filled, -1 = none */
    uint32_t set_start;              /* its offset in cur */
    uint32_t cur_all_records;        /* NetFlow v9 count: templates + data */
    uint64_t start_ms;               /* for the NetFlow v9 sysUptime */
    uint64_t refresh_ms;             /* when templates were last forgotten */
    uint32_t msgs_since_refresh;
    uint64_t msgs, flow_records, oom_drops;
};

/* Prepares e (caller-owned memory). Returns 0, or -1 when an option is out
 * of range (e is then unusable, nothing allocated). Any one thread per e. */
int export_encoder_init(struct export_encoder *e, const struct export_encoder_opts *o, uint64_t now_ms);

/* Frees what e holds, the message being filled included (not emitted). */
void export_encoder_destroy(struct export_encoder *e);

/* Adds one flow: a data record per direction that carried packets (the
 * client->server one always), with the templates and the application name
 * they need ahead of them when not sent yet. Full messages go to emit.
 * Returns the number of records added, or -1 when memory ran out (the
 * flow is dropped and counted in oom_drops; e stays usable). */
int export_encoder_add(struct export_encoder *e, const struct export_record *r, uint64_t now_ms);

/* Hands the message being filled, if any, to emit. */
void export_encoder_flush(struct export_encoder *e, uint64_t now_ms);

/* Makes the next records carry their templates and names again (a UDP
 * collector came back, or the refresh is due). */
void export_encoder_forget(struct export_encoder *e);

/* Flushes, then emits messages holding every template and application
 * name used so far, so a new transport session (TCP reconnect) can decode
 * records encoded before it. Returns 0, or -1 when memory ran out. */
int export_encoder_announce(struct export_encoder *e, uint64_t now_ms);

/* Writes the stream's sequence number into m's header and advances *seq:
 * IPFIX counts data records, NetFlow v9 messages (RFC 7011 3.1, RFC 3954 5.1).
 * Called by the transport as it sends m. */
void export_msg_stamp(struct export_msg *m, uint32_t *seq);

#endif
