/* cloud_json.h - reader of the probe's one-line flat JSON event payloads (pure code, any thread). */
#ifndef FC_CLOUD_JSON_H
#define FC_CLOUD_JSON_H

#include <stddef.h>

/* One "name": value pair. name and val are NUL-terminated, in the caller's buffer. */
struct cloud_json_field {
    const char *name;
    const char *val;
    size_t vlen;
    int is_str;          /* 1: a JSON string (unescaped); 0: a bare token (number, true, null...) */
};

/* Parse a flat JSON object (string and scalar values only) of len bytes.
 * Names and values are copied, unescaped and NUL-terminated into buf, which
 * must hold at least len + 1 bytes (the output never exceeds the input).
 * Returns the number of fields stored in out (at most max; further fields are
 * skipped), or -1 when the text is not a flat object (out is then undefined). */
int cloud_json_parse(const char *s, size_t len, char *buf, size_t buflen,
                     struct cloud_json_field *out, int max);

/* The field named name among the n fields, or NULL. */
const struct cloud_json_field *cloud_json_get(const struct cloud_json_field *f, int n, const char *name);

#endif
