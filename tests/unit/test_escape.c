/* test_escape.c - unit tests for dissectors/escape.c (the one escaping rule of names); single-threaded test binary. */
#include <string.h>

#include "dissectors/dissect.h"
#include "tests/unit/check.h"

static char out[64];

/* Escapes the n bytes of s into out (capacity cap); returns the rc. */
static int esc(const char *s, size_t n, size_t cap, int lower)
{
    size_t used = 0;
    out[0] = '\0';
    return dissect_escape_append(out, cap, &used, (const uint8_t *)s, n, lower);
}

#define ESC(in, want) do { \
        CHECK_INT(esc(in, sizeof(in) - 1, sizeof(out), 0), 0); \
        CHECK_STR(out, want); \
    } while (0)

TEST_CASE(utf8_passes_through)
{
    ESC("plain-ascii.example ~", "plain-ascii.example ~");
    ESC("caf\xc3\xa9", "caf\xc3\xa9");                       /* 2 bytes, U+00E9 */
    ESC("\xe2\x82\xac", "\xe2\x82\xac");                     /* 3 bytes, U+20AC */
    ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");             /* 4 bytes, U+1F600 */
    ESC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");             /* U+10FFFF */
}

TEST_CASE(invalid_bytes_escaped)
{
    ESC("\xc0\xaf", "\\xc0\\xaf");                           /* overlong '/' */
    ESC("\xe0\x80\xaf", "\\xe0\\x80\\xaf");                  /* overlong, 3 bytes */
    ESC("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");         /* overlong, 4 bytes */
    ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");                  /* surrogate U+D800 */
    ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");         /* U+110000 */
    ESC("\xff", "\\xff");
    ESC("\x80" "a", "\\x80a");                               /* stray continuation */
    ESC("a\xc3", "a\\xc3");                                  /* cut at the end */
    ESC("a\xe2\x82", "a\\xe2\\x82");
    ESC("\xc3" "a", "\\xc3a");                               /* lead without continuation */
}

TEST_CASE(backslash_controls_del)
{
    ESC("DOMAIN\\user", "DOMAIN\\\\user");
    ESC("a\\x0ab", "a\\\\x0ab");                             /* the literal text */
    ESC("a\nb", "a\\x0ab");                                  /* the real LF */
    ESC("\x00\x1f\x7f", "\\x00\\x1f\\x7f");
}

TEST_CASE(lowercase_ascii_only)
{
    CHECK_INT(esc("WWW.\xc3\x89X", 7, sizeof(out), 1), 0);  /* E-acute kept */
    CHECK_STR(out, "www.\xc3\x89x");
}

TEST_CASE(cut_at_whole_escape_or_character)
{
    CHECK_INT(esc("ab\xe2\x82\xac", 5, 5, 0), -1);          /* 2 + 3 does not fit in 4 */
    CHECK_STR(out, "ab");
    CHECK_INT(esc("ab\xff", 3, 6, 0), -1);                   /* "\xff" needs 4 + NUL */
    CHECK_STR(out, "ab");
    CHECK_INT(esc("ab\\", 3, 4, 0), -1);
    CHECK_STR(out, "ab");
    CHECK_INT(esc("ab\\", 3, 5, 0), 0);
    CHECK_STR(out, "ab\\\\");
}

int main(void)
{
    RUN(utf8_passes_through);
    RUN(invalid_bytes_escaped);
    RUN(backslash_controls_del);
    RUN(lowercase_ascii_only);
    RUN(cut_at_whole_escape_or_character);
    return CHECK_DONE("escape");
}
