/* field_visitor.h - what walks the fields of a cache entry, one typed callback per kind of value (pure code). */
#ifndef FC_FIELD_VISITOR_H
#define FC_FIELD_VISITOR_H

#include <stddef.h>
#include <stdint.h>

/* Called once per field, in KEYSPACE.md order; how a value is shown (hash
 * reply, event field) is the visitor's business. name and s are lent for the
 * call. */
struct field_visitor {
    void (*str)(void *arg, const char *name, const char *s, size_t len);
    void (*uint)(void *arg, const char *name, uint64_t v);
    void (*time)(void *arg, const char *name, uint64_t us);    /* microseconds since the epoch */
    void *arg;
};

#endif
