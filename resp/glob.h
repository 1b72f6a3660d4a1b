/* glob.h - Redis's glob-style pattern matcher (KEYS, SCAN MATCH, PSUBSCRIBE). Pure code. */
#ifndef FC_GLOB_H
#define FC_GLOB_H

#include <stddef.h>

/* Returns 1 when str matches pattern, else 0, with Redis 7.0 stringmatchlen
 * semantics: '*', '?', '[abc]', '[a-z]' (reversed ranges swap), '[^a]'
 * negates ('[!a]' does not), '\' escapes. Bounded work: no exponential
 * backtracking on patterns such as "a*a*a*a*b" (Redis's nesting limit and a
 * skip-longer rule). nocase != 0 compares ASCII case-insensitively.
 * Any thread. */
int glob_match(const char *pattern, size_t plen, const char *str, size_t slen, int nocase);

/* Copies into out (at most outcap bytes, not NUL-terminated) the literal
 * prefix every match of pattern must start with: the bytes before the first
 * '*', '?' or '[' with '\' escapes resolved. Returns the prefix length.
 * Example: "ip.10.0.1.*" -> "ip.10.0.1.". A '\' that ends the pattern is a
 * literal backslash, as in glob_match. When the prefix is longer than outcap
 * it is truncated: the return value never exceeds outcap. Any thread. */
size_t glob_literal_prefix(const char *pattern, size_t plen, char *out, size_t outcap);

#endif
