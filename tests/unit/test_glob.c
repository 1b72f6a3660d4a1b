/* test_glob.c - unit tests for resp/glob.c (Redis 7.0 stringmatchlen semantics); single-threaded test binary. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resp/glob.h"
#include "tests/unit/check.h"

static int gm(const char *pat, const char *str)
{
    return glob_match(pat, strlen(pat), str, strlen(str), 0);
}

static int gmi(const char *pat, const char *str)
{
    return glob_match(pat, strlen(pat), str, strlen(str), 1);
}

#define MATCH(p, s)   CHECK_INT(gm(p, s), 1)
#define NOMATCH(p, s) CHECK_INT(gm(p, s), 0)

TEST_CASE(glob_literals)
{
    MATCH("", "");
    NOMATCH("", "a");
    NOMATCH("a", "");
    MATCH("hello", "hello");
    NOMATCH("hello", "hell");
    NOMATCH("hell", "hello");
    NOMATCH("hello", "Hello");
}

TEST_CASE(glob_star_and_question)
{
    NOMATCH("*", "");              /* Redis: stringmatchlen("*", "") is 0 */
    MATCH("*", "anything");
    MATCH("**", "x");
    MATCH("h*o", "hello");
    MATCH("h*o", "ho");
    NOMATCH("h*o", "hellx");
    MATCH("h?llo", "hello");
    NOMATCH("h?llo", "hllo");
    MATCH("*llo", "hello");
    MATCH("he*", "he");
    MATCH("a*b*c", "aXXbYYc");
    NOMATCH("a*b*c", "aXXbYY");
    NOMATCH("?", "");
    MATCH("ip.10.0.1.*", "ip.10.0.1.77");
    NOMATCH("ip.10.0.1.*", "ip.10.0.2.77");
    /* Redis keyspace.tcl "KEYS with pattern" */
    MATCH("foo*", "foo_a");
    NOMATCH("foo*", "key_x");
    MATCH("key*", "key_x");
}

TEST_CASE(glob_classes)
{
    MATCH("h[ae]llo", "hello");
    MATCH("h[ae]llo", "hallo");
    NOMATCH("h[ae]llo", "hillo");
    MATCH("h[^e]llo", "hallo");
    NOMATCH("h[^e]llo", "hello");
    MATCH("h[a-b]llo", "hbllo");
    NOMATCH("h[a-b]llo", "hcllo");
    MATCH("h[z-a]llo", "hmllo");   /* reversed range swaps */
    MATCH("[!a]", "!");            /* '!' is not negation */
    NOMATCH("[!a]", "b");
    MATCH("[\\]]", "]");
    MATCH("[\\-]", "-");
    MATCH("[a-]", "a");
    NOMATCH("[a-]", "-");          /* "a-]" is the range ']'..'a' */
    MATCH("[a-]", "^");
    NOMATCH("[]", "]");            /* empty class matches nothing */
    MATCH("[abc", "c");            /* unterminated class ends the pattern */
    NOMATCH("[abc", "d");
    NOMATCH("[", "[");
    NOMATCH("[", "x");
    MATCH("[^", "x");              /* empty negated class matches any byte */
    NOMATCH("a[", "a[");
    NOMATCH("a[", "a");
}

TEST_CASE(glob_escapes)
{
    MATCH("\\*", "*");
    NOMATCH("\\*", "x");
    MATCH("\\?", "?");
    NOMATCH("\\?", "a");
    MATCH("\\[a]", "[a]");
    MATCH("a\\", "a\\");           /* trailing backslash is literal */
    MATCH("\\\\", "\\");
    MATCH("key\\*\\?\\[\\]\\\\", "key*?[]\\");   /* Redis Commander escaping */
}

TEST_CASE(glob_nocase)
{
    CHECK_INT(gmi("HeLLo", "hello"), 1);
    CHECK_INT(gmi("h[A-Z]llo", "hello"), 1);
    CHECK_INT(gm("h[A-Z]llo", "hello"), 0);
    CHECK_INT(gmi("h[^E]llo", "hello"), 0);
    CHECK_INT(gmi("[Q]", "q"), 1);
}

TEST_CASE(glob_binary)
{
    CHECK_INT(glob_match("a\0b", 3, "a\0b", 3, 0), 1);
    CHECK_INT(glob_match("a?b", 3, "a\0b", 3, 0), 1);
    CHECK_INT(glob_match("a*", 2, "a\0\0", 3, 0), 1);
    CHECK_INT(glob_match("[\x01-\x7f]", 6, "\x80", 1, 0), 0);
    CHECK_INT(glob_match("[\x80-a]", 5, "\x90", 1, 0), 1);  /* bytes are signed, as in Redis on x86 */
    CHECK_INT(glob_match("abc", 2, "ab", 2, 0), 1);        /* length bounded, not NUL bounded */
}

/* Redis tests "Regression for pattern matching long nested loops" and
 * "Regression for pattern matching very long nested loops". */
TEST_CASE(glob_no_exponential_backtracking)
{
    char s[50001];
    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = 0;
    clock_t t0 = clock();
    CHECK_INT(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", 33, s, 50, 0), 0);
    CHECK_INT(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", 33, s, 50000, 0), 0);
    char pat[20001];
    for (int i = 0; i < 20000; i += 2) {
        pat[i] = '*';
        pat[i + 1] = 'a';
    }
    pat[20000] = 0;
    CHECK_INT(glob_match(pat, 20000, s, 50000, 0), 0);   /* nesting limit */
    CHECK_INT(glob_match("*a*a*a*", 7, s, 50000, 0), 1);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 2.0);
}

TEST_CASE(glob_prefix)
{
    char out[64];
    size_t n = glob_literal_prefix("ip.10.0.1.*", 11, out, sizeof(out));
    CHECK_MEM(out, n, "ip.10.0.1.", 10);
    n = glob_literal_prefix("a\\*b?c", 6, out, sizeof(out));
    CHECK_MEM(out, n, "a*b", 3);
    n = glob_literal_prefix("abc[d]", 6, out, sizeof(out));
    CHECK_MEM(out, n, "abc", 3);
    n = glob_literal_prefix("*", 1, out, sizeof(out));
    CHECK_INT(n, 0);
    n = glob_literal_prefix("plain", 5, out, sizeof(out));
    CHECK_MEM(out, n, "plain", 5);
    n = glob_literal_prefix("ab\\", 3, out, sizeof(out));
    CHECK_MEM(out, n, "ab\\", 3);
    n = glob_literal_prefix("abcdef*", 7, out, 3);
    CHECK_MEM(out, n, "abc", 3);
}

/* Every string matching the pattern starts with its literal prefix. */
TEST_CASE(glob_prefix_consistent_with_match)
{
    static const char alpha[] = "ab*?[]\\^-";
    srand(7);
    for (int iter = 0; iter < 20000; iter++) {
        char pat[8], str[8], pre[8];
        size_t pl = (size_t)(rand() % 8), sl = (size_t)(rand() % 8);
        for (size_t i = 0; i < pl; i++)
            pat[i] = alpha[rand() % (sizeof(alpha) - 1)];
        for (size_t i = 0; i < sl; i++)
            str[i] = alpha[rand() % 4];
        if (!glob_match(pat, pl, str, sl, 0))
            continue;
        size_t n = glob_literal_prefix(pat, pl, pre, sizeof(pre));
        CHECK(n <= sl && memcmp(pre, str, n) == 0);
    }
}

int main(void)
{
    RUN(glob_literals);
    RUN(glob_star_and_question);
    RUN(glob_classes);
    RUN(glob_escapes);
    RUN(glob_nocase);
    RUN(glob_binary);
    RUN(glob_no_exponential_backtracking);
    RUN(glob_prefix);
    RUN(glob_prefix_consistent_with_match);
    return CHECK_DONE("glob");
}
