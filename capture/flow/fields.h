/* fields.h - the KEYSPACE.md fields of each cache entry, in one place for hashes and JSON events (pure code). */
#ifndef FC_FIELDS_H
#define FC_FIELDS_H

#include <stddef.h>

#include "capture/cache/cache.h"
#include "capture/flow/field_visitor.h"
#include "resp/resp_writer.h"

/* Called once per field. numeric != 0 when the value is a JSON number. */
typedef void (*field_fn)(void *arg, const char *name, const char *val, size_t vlen, int numeric);

/* The fields of flow f, typed, in KEYSPACE.md order (events carry them so). Pure. */
void flow_fields_visit(const struct flow *f, const struct field_visitor *v);

/* Each emits the fields of one entry copy in KEYSPACE.md order, as text. Pure. */
void flow_fields_each(const struct flow *f, field_fn fn, void *arg);
void host_fields_each(const struct host *h, field_fn fn, void *arg);
void mac_fields_each(const struct mac_entry *m, field_fn fn, void *arg);
void aggr_fields_each(enum cache_table t, const struct aggr *a, field_fn fn, void *arg);

/* "1700000000.123" from microseconds. out holds 32 bytes. Returns length. */
size_t time_format(unsigned long long us, char *out);

/* JSON object builder over an sbuf: json_begin, json_field..., json_end. */
void json_begin(struct sbuf *b);
void json_field(struct sbuf *b, const char *name, const char *val, size_t vlen, int numeric);
void json_field_u64(struct sbuf *b, const char *name, unsigned long long v);
void json_field_str(struct sbuf *b, const char *name, const char *val);
void json_end(struct sbuf *b);
/* A field_fn adding each field to the JSON object in the sbuf arg. */
void json_field_cb(void *sbuf_arg, const char *name, const char *val, size_t vlen, int numeric);

#endif
