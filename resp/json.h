/* json.h - one-line flat JSON objects written into the byte buffer (pure code, no I/O). */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "resp/resp_writer.h"

/*
 * json_begin, then one json_field* per member, then json_end: {"a":"x","n":1}.
 * Strings: " and \ get a backslash, valid UTF-8 goes out as is, control
 * bytes, DEL and bytes that are not valid UTF-8 as \u00XX. Errors are the
 * sbuf's (sticky oom). The thread that owns b.
 */
void json_begin(struct sbuf *b);
/* A member whose value is the text val (vlen bytes): quoted and escaped, or
 * bare when numeric (a number already written as text). */
void json_field(struct sbuf *b, const char *name, const char *val, size_t vlen, int numeric);
void json_field_str(struct sbuf *b, const char *name, const char *val);
void json_end(struct sbuf *b);

#endif
