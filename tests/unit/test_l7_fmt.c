/* test_l7_fmt.c - the __snprintf_chk fast path formats exactly as glibc's vsnprintf. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "capture/flow/l7_fmt.h"

/* Formats with both, at every buffer size up to the full length + 2, and compares. */
static int same_as_libc(const char *fmt, ...)
{
    char a[256], b[256];
    int ok = 1;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int full = vsnprintf(a, sizeof(a), fmt, ap2);
    va_end(ap2);
    for (size_t cap = 0; cap <= (size_t)full + 2 && cap <= sizeof(a); cap++) {
        memset(a, 'Z', sizeof(a));
        memset(b, 'Z', sizeof(b));
        va_copy(ap2, ap);
        int ra = vsnprintf(a, cap, fmt, ap2);
        va_end(ap2);
        int rb = l7_fmt_format(b, cap, fmt, ap);   /* works on its own copy of ap */
        if (ra != rb || memcmp(a, b, sizeof(a)) != 0) {
            fprintf(stderr, "  fmt \"%s\" cap %zu: libc %d \"%.*s\", fast %d \"%.*s\"\n", fmt, cap,
                    ra, (int)cap, a, rb, (int)cap, b);
            ok = 0;
        }
    }
    va_end(ap);
    return ok;
}

TEST_CASE(ja3_style_formats_match_libc)
{
    CHECK_INT(l7_fmt_simple("%s%u"), 1);
    CHECK_INT(same_as_libc("%u,", 771u), 1);
    CHECK_INT(same_as_libc("%s%u", "-", 4865u), 1);
    CHECK_INT(same_as_libc("%s%u", "", 0u), 1);
    CHECK_INT(same_as_libc("%02x", 0x7u), 1);
    CHECK_INT(same_as_libc("%02x%02X", 0xabu, 0xcdu), 1);
    /* the two shortcut formats, at their edges */
    CHECK_INT(same_as_libc("%s%u", "-", UINT_MAX), 1);
    CHECK_INT(same_as_libc("%s%u", (const char *)NULL, 5u), 1);
    CHECK_INT(same_as_libc("%s%u", "0123456789abcdef", 1u), 1);
    CHECK_INT(same_as_libc("%s%u", "0123456789abcdefg", 12u), 1);
    CHECK_INT(same_as_libc("%02x", 0u), 1);
    CHECK_INT(same_as_libc("%02x", 0xffu), 1);
    CHECK_INT(same_as_libc("%02x", 0x100u), 1);
    CHECK_INT(same_as_libc("%02x", UINT_MAX), 1);
    CHECK_INT(same_as_libc("%s%d", "-", -7), 1);
    CHECK_INT(same_as_libc("%02X", 0xau), 1);
    CHECK_INT(same_as_libc("plain text, no conversion"), 1);
    CHECK_INT(same_as_libc(""), 1);
}

TEST_CASE(integers_widths_and_lengths_match_libc)
{
    CHECK_INT(same_as_libc("%d|%i|%u", INT_MIN, INT_MAX, UINT_MAX), 1);
    CHECK_INT(same_as_libc("%05d|%5d|%08x|%3u", -42, -42, 0xbeefu, 123456u), 1);
    CHECK_INT(same_as_libc("%ld|%lu|%lld|%llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX), 1);
    CHECK_INT(same_as_libc("%hhd|%hhu|%hd|%hu", 300, 300, 70000, 70000), 1);
    CHECK_INT(same_as_libc("%zu|%zx|%lx|%llX", (size_t)SIZE_MAX, (size_t)0, 0xfffffffffUL, 0xabcULL), 1);
    CHECK_INT(same_as_libc("%0d|%00d|%1d|%64u", 0, 7, 0, 9u), 1);
}

TEST_CASE(chars_strings_and_percent_match_libc)
{
    CHECK_INT(same_as_libc("%c%c%%%s", 'a', 0, "tail"), 1);
    CHECK_INT(same_as_libc("[%s]", (const char *)NULL), 1);
    CHECK_INT(same_as_libc("%s.%s", "www.example.com", ""), 1);
}

TEST_CASE(other_formats_are_left_to_libc)
{
    CHECK_INT(l7_fmt_simple("%.*s"), 0);
    CHECK_INT(l7_fmt_simple("%-5d"), 0);
    CHECK_INT(l7_fmt_simple("%+d"), 0);
    CHECK_INT(l7_fmt_simple("%f"), 0);
    CHECK_INT(l7_fmt_simple("%5s"), 0);
    CHECK_INT(l7_fmt_simple("%ls"), 0);
    CHECK_INT(l7_fmt_simple("%n"), 0);
    CHECK_INT(l7_fmt_simple("%p"), 0);
    CHECK_INT(l7_fmt_simple("%65d"), 0);
    CHECK_INT(l7_fmt_simple("100%"), 0);
}

TEST_CASE(the_override_is_what_fortified_callers_get)
{
    char buf[8];
    /* This file's own snprintf is not fortified: call the override the way a
     * _FORTIFY_SOURCE library does. */
    extern int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...);
    CHECK_INT(__snprintf_chk(buf, sizeof(buf), 1, sizeof(buf), "%s%u", "-", 123456789u), 10);
    CHECK_STR(buf, "-123456");
    CHECK_INT(__snprintf_chk(buf, sizeof(buf), 1, sizeof(buf), "%.2f", 1.5), 4);   /* libc's path */
    CHECK_STR(buf, "1.50");
}

int main(void)
{
    RUN(ja3_style_formats_match_libc);
    RUN(integers_widths_and_lengths_match_libc);
    RUN(chars_strings_and_percent_match_libc);
    RUN(other_formats_are_left_to_libc);
    RUN(the_override_is_what_fortified_callers_get);
    return CHECK_DONE("l7_fmt");
}
