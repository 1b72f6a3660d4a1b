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

/* A visitor handing each typed field to fn as text (what hash replies
 * take); t is its storage and must outlive it. Pure. */
struct field_text { field_fn fn; void *arg; };
struct field_visitor field_visitor_text(struct field_text *t);

/* The fields of a call (sip.<Call-ID>) and of an SNMP agent (snmp.<ip>),
 * typed, in KEYSPACE.md order (fields_voip.c). Pure. */
struct sip_call;
struct snmp_stats;
void sip_call_fields_visit(const struct sip_call *call, const struct field_visitor *v);
void snmp_fields_visit(const struct snmp_stats *s, const struct field_visitor *v);

/* "1700000000.123" from microseconds. out holds 32 bytes. Returns length. */
size_t time_format(unsigned long long us, char *out);

#endif
