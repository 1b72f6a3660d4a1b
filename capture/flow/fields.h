/* fields.h - the KEYSPACE.md fields of each cache entry, in one place for hashes and events (pure code). */
#ifndef FC_FIELDS_H
#define FC_FIELDS_H

#include <stddef.h>

#include "capture/cache/cache.h"
#include "capture/flow/field_visitor.h"

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

#endif
