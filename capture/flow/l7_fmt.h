/* l7_fmt.h - the fast formatter behind this executable's __snprintf_chk (nDPI's JA3 strings); any thread. */
#ifndef FC_L7_FMT_H
#define FC_L7_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* 1 when fmt uses only what l7_fmt_format handles: literal text, %%, %c, %s
 * (no width/precision), %d %i %u %x %X with an optional '0' flag, a width up
 * to 64 and an hh/h/l/ll/z length. Pure. */
int l7_fmt_simple(const char *fmt);

/* vsnprintf(s, maxlen, fmt, ap) for a format l7_fmt_simple accepts: same
 * bytes written (at most maxlen - 1 and a NUL when maxlen > 0), same return
 * (the untruncated length). Does not consume ap (works on a copy). */
int l7_fmt_format(char *s, size_t maxlen, const char *fmt, va_list ap);

#endif
