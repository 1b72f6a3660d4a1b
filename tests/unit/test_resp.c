/* test_resp.c - byte-vector tests for resp/resp_reader.c and resp/resp_writer.c (Redis 7.0 behaviour); single-threaded test binary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_reader.h"
#include "resp/resp_writer.h"
#include "tests/unit/check.h"

/* Appends one argument to a transcript, non-printable bytes as \xHH. */
static void show_arg(struct sbuf *t, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '|' || c == ']')
            sbuf_printf(t, "\\x%02x", c);
        else
            sbuf_appendc(t, (char)c);
    }
}

/* Drains the reader into t: "[a|b]" per command, then "ERR:<errstr>" or
 * nothing when it needs more. Returns the last status. */
static enum resp_status drain(struct resp_reader *r, struct sbuf *t)
{
    enum resp_status st;
    while ((st = resp_reader_next(r)) == RESP_OK) {
        sbuf_appendc(t, '[');
        for (int i = 0; i < r->argc; i++) {
            if (i)
                sbuf_appendc(t, '|');
            if (r->argv[i].ptr[r->argv[i].len] != '\0')
                sbuf_appends(t, "<NOT NUL-TERMINATED>");
            show_arg(t, r->argv[i].ptr, r->argv[i].len);
        }
        sbuf_appendc(t, ']');
    }
    if (st == RESP_ERR)
        sbuf_printf(t, "ERR:%s", r->errstr);
    return st;
}

/* Feeds in with the given split (0: all at once, >0: chunks of that size,
 * <0: pseudo-random chunk sizes seeded by -split) and returns the
 * transcript as a malloc'd string. */
static char *parse_split(const char *in, size_t n, long split, int unauth)
{
    struct resp_reader r;
    struct sbuf t;
    unsigned seed = (unsigned)-split;
    resp_reader_init(&r);
    r.unauthenticated = unauth;
    sbuf_init(&t);
    for (size_t off = 0; off < n || off == 0;) {
        size_t c = split == 0 ? n : split > 0 ? (size_t)split : 1 + (seed = seed * 1103515245u + 12345u) % 7;
        if (c > n - off)
            c = n - off;
        if (resp_reader_feed(&r, in + off, c) < 0)
            break;
        off += c;
        if (drain(&r, &t) == RESP_ERR || off >= n)
            break;
    }
    sbuf_appendc(&t, '\0');
    resp_reader_free(&r);
    return t.buf;
}

static const long splits[] = { 0, 1, 2, 3, 5, -1, -2, -3 };

/* Checks the transcript of in under every split. */
#define EXPECT_U(in, n, unauth, want) do { \
    for (size_t s_ = 0; s_ < sizeof(splits) / sizeof(splits[0]); s_++) { \
        char *got_ = parse_split((in), (n), splits[s_], (unauth)); \
        CHECK_STR(got_, (want)); \
        free(got_); } } while (0)
#define EXPECT(lit, want) EXPECT_U(lit, sizeof(lit) - 1, 0, want)
#define EXPECT_UNAUTH(lit, want) EXPECT_U(lit, sizeof(lit) - 1, 1, want)

TEST_CASE(multibulk_basic)
{
    EXPECT("*1\r\n$4\r\nPING\r\n", "[PING]");
    EXPECT("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "[ECHO|]");
    EXPECT("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0\r\nb\r\n", "[SET|k|a\\x00\\x0d\\x0ab]");
    EXPECT("*1\r\n$4\r\nPING", "");
    EXPECT("*1\r\n$4\r\nPING\r", "");
    EXPECT("*1\r\n$4\r\nPINGxx", "[PING]");          /* trailer bytes unchecked, as Redis */
    EXPECT("*1\rX$4\rXPINGxx", "[PING]");             /* any byte after \r, as Redis */
    EXPECT("*0\r\n*-1\r\n*-10\r\n*1\r\n$1\r\nx\r\n", "[x]");
}

TEST_CASE(multibulk_pipelined)
{
    EXPECT("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n",
           "[PING][GET|k][PING][QUIT]");
    EXPECT("*1\r\n$4\r\nPING\r\n*1\r\nxx\r\n", "[PING]ERR:Protocol error: expected '$', got 'x'");
}

TEST_CASE(multibulk_errors)
{
    EXPECT("*\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*01\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*+1\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*1 \r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*1\n$4\r\nPING\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*1048577\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*99999999999999999999\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT("*1048576\r\n", "");
    EXPECT("*1\r\nfooz\r\n", "ERR:Protocol error: expected '$', got 'f'");
    EXPECT("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "ERR:Protocol error: expected '$', got 'f'");
    EXPECT("*1\r\n\r\n", "ERR:Protocol error: expected '$', got ' '");
    EXPECT("*1\r\n\n\r\n", "ERR:Protocol error: expected '$', got ' '");
    EXPECT("*1\r\n\xff\r\n", "ERR:Protocol error: expected '$', got '\xff'");
    EXPECT("*1\r\n$\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$-1\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$-0\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$01\r\na\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$+1\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$536870913\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$2147483648\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT("*1\r\n$536870912\r\n", "");
    EXPECT("*1\r\n$1\r\nx\r\n*2\r\n$1\r\na\r\n$x\r\n", "[x]ERR:Protocol error: invalid bulk length");
}

/* A NUL before the line end hides it, as strchr() does in Redis. */
TEST_CASE(nul_hides_line_end)
{
    EXPECT("PING\0\r\n", "");
    EXPECT("*1\0\r\n", "");
    EXPECT("*1\r\n$4\0\r\nPING\r\n", "");
}

static void expect_long_line(const char *head, size_t total, char fill, const char *want)
{
    char *in = malloc(total);
    size_t hl = strlen(head);
    memcpy(in, head, hl);
    memset(in + hl, fill, total - hl);
    EXPECT_U(in, total, 0, want);
    free(in);
}

TEST_CASE(too_big_lines)
{
    expect_long_line("", RESP_MAX_INLINE, 'P', "");
    expect_long_line("", RESP_MAX_INLINE + 1, 'P', "ERR:Protocol error: too big inline request");
    expect_long_line("PING\0", RESP_MAX_INLINE + 1, 'P', "ERR:Protocol error: too big inline request");
    expect_long_line("*", RESP_MAX_INLINE, '1', "");
    expect_long_line("*", RESP_MAX_INLINE + 1, '1', "ERR:Protocol error: too big mbulk count string");
    expect_long_line("*1\r\n$", RESP_MAX_INLINE + 4, '1', "");
    expect_long_line("*1\r\n$", RESP_MAX_INLINE + 5, '1', "ERR:Protocol error: too big bulk count string");
    /* a line of exactly RESP_MAX_INLINE bytes before its terminator is fine */
    char *in = malloc(RESP_MAX_INLINE + 2);
    memset(in, 'a', RESP_MAX_INLINE);
    memcpy(in, "ECHO ", 5);
    in[RESP_MAX_INLINE] = '\n';
    char *got = parse_split(in, RESP_MAX_INLINE + 1, 4096, 0);
    CHECK_INT(strlen(got), 4 + 1 + (RESP_MAX_INLINE - 5) + 2);
    free(got);
    in[RESP_MAX_INLINE] = 'a';
    in[RESP_MAX_INLINE + 1] = '\n';
    got = parse_split(in, RESP_MAX_INLINE + 2, 4096, 0);
    CHECK_STR(got, "ERR:Protocol error: too big inline request");
    free(got);
    free(in);
}

TEST_CASE(unauthenticated_limits)
{
    EXPECT_UNAUTH("*11\r\n", "ERR:Protocol error: unauthenticated multibulk length");
    EXPECT_UNAUTH("*2147483647\r\n", "ERR:Protocol error: invalid multibulk length");
    EXPECT_UNAUTH("*1\r\n$16385\r\n", "ERR:Protocol error: unauthenticated bulk length");
    EXPECT_UNAUTH("*1\r\n$536870913\r\n", "ERR:Protocol error: invalid bulk length");
    EXPECT_UNAUTH("*10\r\n$16384\r\n", "");
    EXPECT_UNAUTH("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", "[AUTH|pw]");
    EXPECT("*11\r\n", "");
    EXPECT("*1\r\n$16385\r\n", "");
}

TEST_CASE(inline_commands)
{
    EXPECT("PING\r\n", "[PING]");
    EXPECT("PING\n", "[PING]");
    EXPECT("\r\n\r\n\n   \r\n\t\nPING\n", "[PING]");
    EXPECT("   \r\n\n\t\n PING \x0b \n", "[PING]");
    EXPECT("ECHO a\x0b" "b\n", "[ECHO|a\\x0bb]");
    EXPECT("SET  k   v \r\n", "[SET|k|v]");
    EXPECT("PING\r\r\n", "[PING]");
    EXPECT("a\rb\n", "[a|b]");
    EXPECT("PING", "");
    EXPECT("PING\r", "");
    EXPECT("PING\r\n\"a\" 'b'\n", "[PING][a|b]");
}

TEST_CASE(inline_quoting)
{
    EXPECT("ECHO \"a\\x41\\n\"\n", "[ECHO|aA\\x0a]");
    EXPECT("ECHO \"\\xff\\x00\\x7F\"\n", "[ECHO|\\xff\\x00\\x7f]");
    EXPECT("ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n", "[ECHO|\\x0a\\x0d\\x09\\x08\\x07\\x5c\"q]");
    EXPECT("ECHO \"a\\qb\\x4g\"\n", "[ECHO|aqbx4g]");
    EXPECT("ECHO 'a\\'b'\n", "[ECHO|a'b]");
    EXPECT("ECHO 'a\\nb\"'\n", "[ECHO|a\\x5cnb\"]");
    EXPECT("ECHO '' \"\"\n", "[ECHO||]");
    EXPECT("ECHO ab\"c d\"\n", "[ECHO|abc d]");
    EXPECT("ECHO \"a\"\t'b'\r\n", "[ECHO|a|b]");
    EXPECT("ECHO \"a\"\rb\n", "[ECHO|a|b]");
}

TEST_CASE(inline_unbalanced)
{
    EXPECT("ECHO \"abc\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("ECHO 'abc\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("ECHO \"abc\"x\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("ECHO 'abc'x\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("ECHO a\"b c\"d\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("ECHO \"a\\\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("ECHO \"a\\\"\n", "ERR:Protocol error: unbalanced quotes in request");
    EXPECT("PING\nECHO \"\n", "[PING]ERR:Protocol error: unbalanced quotes in request");
}

TEST_CASE(sticky_error)
{
    struct resp_reader r;
    resp_reader_init(&r);
    CHECK_INT(resp_reader_feed(&r, "*x\r\nPING\r\n", 10), 0);
    CHECK_INT(resp_reader_next(&r), RESP_ERR);
    CHECK_STR(r.errstr, "Protocol error: invalid multibulk length");
    CHECK_INT(resp_reader_next(&r), RESP_ERR);
    CHECK_INT(resp_reader_feed(&r, "PING\r\n", 6), -1);
    CHECK_INT(resp_reader_next(&r), RESP_ERR);
    CHECK_STR(r.errstr, "Protocol error: invalid multibulk length");
    resp_reader_free(&r);
    resp_reader_free(&r);   /* idempotent */
}

TEST_CASE(query_buffer_limit)
{
    struct resp_reader r;
    static const char byte = 'x';
    resp_reader_init(&r);
    /* rejected before a single byte is read or allocated */
    CHECK_INT(resp_reader_feed(&r, &byte, (size_t)RESP_MAX_QUERYBUF + 1), -1);
    CHECK_INT(r.failed, 1);
    CHECK_INT(r.cap, 0);
    CHECK_INT(resp_reader_next(&r), RESP_ERR);
    resp_reader_free(&r);
}

/* A huge claimed bulk must not be allocated before its bytes arrive. */
TEST_CASE(no_allocation_for_claims)
{
    struct resp_reader r;
    resp_reader_init(&r);
    CHECK_INT(resp_reader_feed(&r, "*1048576\r\n$536870912\r\nabc", 25), 0);
    CHECK_INT(resp_reader_next(&r), RESP_NEED_MORE);
    CHECK(r.cap <= 64 * 1024);
    CHECK(r.arena_cap <= 64 * 1024);
    CHECK(r.argv_cap <= 64);
    CHECK_INT(resp_reader_pending(&r), 3);
    resp_reader_free(&r);
}

/* Pipelined commands fed and read in a loop keep the buffers small. */
TEST_CASE(compaction_under_pipelining)
{
    struct resp_reader r;
    static const char cmd[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n";
    size_t maxcap = 0;
    int got = 0;
    resp_reader_init(&r);
    for (int i = 0; i < 100000; i++) {
        CHECK_INT(resp_reader_feed(&r, cmd, sizeof(cmd) - 1), 0);
        while (resp_reader_next(&r) == RESP_OK)
            got++;
        if (r.cap > maxcap)
            maxcap = r.cap;
    }
    CHECK_INT(got, 200000);
    CHECK_INT(resp_reader_pending(&r), 0);
    CHECK(maxcap <= 16 * 1024);
    resp_reader_free(&r);
}

/* Memory of a big argument is given back once it has been handled. */
TEST_CASE(big_argument_then_small)
{
    struct resp_reader r;
    size_t n = 1000000;
    char *big = malloc(n + 32);
    int hl = sprintf(big, "*1\r\n$%zu\r\n", n);
    memset(big + hl, 'z', n);
    memcpy(big + hl + n, "\r\n", 2);
    resp_reader_init(&r);
    for (size_t off = 0; off < hl + n + 2; off += 16384) {
        size_t c = hl + n + 2 - off < 16384 ? hl + n + 2 - off : 16384;
        CHECK_INT(resp_reader_feed(&r, big + off, c), 0);
        if (off + c < hl + n + 2)
            CHECK_INT(resp_reader_next(&r), RESP_NEED_MORE);
    }
    CHECK_INT(resp_reader_next(&r), RESP_OK);
    CHECK_INT(r.argc, 1);
    CHECK_INT(r.argv[0].len, n);
    CHECK_INT(r.argv[0].ptr[n - 1], 'z');
    CHECK_INT(resp_reader_next(&r), RESP_NEED_MORE);
    CHECK_INT(resp_reader_feed(&r, "PING\r\n", 6), 0);
    CHECK_INT(resp_reader_next(&r), RESP_OK);
    CHECK(r.cap <= 64 * 1024);
    CHECK(r.arena_cap <= 64 * 1024);
    resp_reader_free(&r);
    free(big);
}

/* argv stays valid across a feed until the next resp_reader_next. */
TEST_CASE(argv_survives_feed)
{
    struct resp_reader r;
    char filler[100000];
    memset(filler, 'q', sizeof(filler));
    resp_reader_init(&r);
    CHECK_INT(resp_reader_feed(&r, "ECHO hello\r\n", 12), 0);
    CHECK_INT(resp_reader_next(&r), RESP_OK);
    CHECK_INT(resp_reader_feed(&r, filler, sizeof(filler)), 0);
    CHECK_STR(r.argv[1].ptr, "hello");
    resp_reader_free(&r);
}

TEST_CASE(qbuf_like_redis)
{
    struct resp_reader r;
    static const char cl[] = "*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n";
    resp_reader_init(&r);
    CHECK_INT(resp_reader_feed(&r, cl, sizeof(cl) - 1), 0);
    CHECK_INT(resp_reader_next(&r), RESP_OK);
    CHECK_INT(resp_reader_qbuf_len(&r), 26);   /* CLIENT LIST shows qbuf=26 */
    CHECK_INT(resp_reader_pending(&r), 0);
    CHECK_INT(resp_reader_next(&r), RESP_NEED_MORE);
    CHECK_INT(resp_reader_qbuf_len(&r), 0);
    CHECK_INT(resp_reader_feed(&r, "PING\r\nPI", 8), 0);
    CHECK_INT(resp_reader_next(&r), RESP_OK);
    CHECK_INT(resp_reader_pending(&r), 2);
    CHECK_INT(resp_reader_next(&r), RESP_NEED_MORE);
    CHECK_INT(resp_reader_qbuf_len(&r), 2);
    resp_reader_free(&r);
}

/* Writer: compare the buffer with the bytes Redis 7.0 sends. */
#define EXPECT_OUT(b, lit) do { CHECK_MEM((b)->buf, (b)->len, lit, sizeof(lit) - 1); \
    CHECK_INT((b)->oom, 0); sbuf_reset(b); } while (0)

TEST_CASE(writer_sbuf)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_append(&b, "ab", 2);
    sbuf_appendc(&b, 'c');
    sbuf_appends(&b, "de");
    sbuf_printf(&b, "%d-%s", 42, "x");
    EXPECT_OUT(&b, "abcde42-x");
    sbuf_append_u64(&b, 0);
    sbuf_appendc(&b, ' ');
    sbuf_append_u64(&b, UINT64_MAX);
    sbuf_appendc(&b, ' ');
    sbuf_append_i64(&b, INT64_MIN);
    sbuf_appendc(&b, ' ');
    sbuf_append_i64(&b, -7);
    EXPECT_OUT(&b, "0 18446744073709551615 -9223372036854775808 -7");
    char big[1000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    sbuf_printf(&b, "<%s>", big);
    CHECK_INT(b.len, 1001);
    CHECK_INT(b.buf[1000], '>');
    sbuf_reset(&b);
    sbuf_free(&b);
    CHECK(b.buf == NULL);
}

TEST_CASE(writer_oom_is_sticky)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_appends(&b, "ok");
    sbuf_append(&b, "x", SIZE_MAX - 1);   /* cannot be allocated */
    CHECK_INT(b.oom, 1);
    sbuf_appends(&b, "more");
    resp_int(&b, 5);
    CHECK_INT(b.len, 2);
    sbuf_free(&b);
}

TEST_CASE(writer_resp2)
{
    struct sbuf b;
    sbuf_init(&b);
    resp_simple(&b, "OK");
    EXPECT_OUT(&b, "+OK\r\n");
    resp_simple(&b, "a\r\nb");
    EXPECT_OUT(&b, "+a  b\r\n");
    resp_error(&b, "ERR unknown command 'FOO', with args beginning with: 'a' ");
    EXPECT_OUT(&b, "-ERR unknown command 'FOO', with args beginning with: 'a' \r\n");
    resp_int(&b, -2);
    EXPECT_OUT(&b, ":-2\r\n");
    resp_bulk(&b, "a\0b", 3);
    EXPECT_OUT(&b, "$3\r\na\0b\r\n");
    resp_bulks(&b, "");
    EXPECT_OUT(&b, "$0\r\n\r\n");
    resp_bulk_u64(&b, 18446744073709551615ULL);
    EXPECT_OUT(&b, "$20\r\n18446744073709551615\r\n");
    resp_null(&b, 2);
    resp_null_array(&b, 2);
    EXPECT_OUT(&b, "$-1\r\n*-1\r\n");
    resp_array(&b, 3);
    resp_map(&b, 7, 2);
    resp_set(&b, 2, 2);
    resp_push(&b, 3, 2);
    EXPECT_OUT(&b, "*3\r\n*14\r\n*2\r\n*3\r\n");
    resp_double(&b, 1.5, 2);
    resp_double(&b, 0.1, 2);
    resp_double(&b, INFINITY, 2);
    resp_double(&b, -INFINITY, 2);
    resp_double(&b, 3.0, 2);
    EXPECT_OUT(&b, "$3\r\n1.5\r\n$19\r\n0.10000000000000001\r\n$3\r\ninf\r\n$4\r\n-inf\r\n$1\r\n3\r\n");
    resp_bool(&b, 1, 2);
    resp_bool(&b, 0, 2);
    EXPECT_OUT(&b, ":1\r\n:0\r\n");
    resp_verbatim(&b, "# Server\r\n", 10, 2);
    EXPECT_OUT(&b, "$10\r\n# Server\r\n\r\n");
    sbuf_free(&b);
}

TEST_CASE(writer_resp3)
{
    struct sbuf b;
    sbuf_init(&b);
    resp_null(&b, 3);
    resp_null_array(&b, 3);
    EXPECT_OUT(&b, "_\r\n_\r\n");
    resp_map(&b, 7, 3);
    resp_map(&b, 0, 3);
    resp_set(&b, 2, 3);
    resp_push(&b, 3, 3);
    resp_array(&b, 0);
    EXPECT_OUT(&b, "%7\r\n%0\r\n~2\r\n>3\r\n*0\r\n");
    resp_double(&b, 1.5, 3);
    resp_double(&b, INFINITY, 3);
    resp_double(&b, -INFINITY, 3);
    resp_double(&b, 1e300, 3);
    resp_double(&b, -0.0, 3);
    EXPECT_OUT(&b, ",1.5\r\n,inf\r\n,-inf\r\n,1.0000000000000001e+300\r\n,-0\r\n");
    resp_bool(&b, 1, 3);
    resp_bool(&b, 0, 3);
    EXPECT_OUT(&b, "#t\r\n#f\r\n");
    resp_verbatim(&b, "hello", 5, 3);
    resp_verbatim(&b, "", 0, 3);
    EXPECT_OUT(&b, "=9\r\ntxt:hello\r\n=4\r\ntxt:\r\n");
    resp_int(&b, 9223372036854775807LL);
    EXPECT_OUT(&b, ":9223372036854775807\r\n");
    sbuf_free(&b);
}

/* The in-place encoders: every digit count around a power of ten, the most
 * negative header, and a bulk that makes the buffer grow. */
TEST_CASE(writer_numbers_in_place)
{
    struct sbuf b;
    char big[300];
    sbuf_init(&b);
    resp_int(&b, 0);
    resp_int(&b, 9);
    resp_int(&b, 10);
    resp_int(&b, 99);
    resp_int(&b, 100);
    resp_int(&b, -100);
    resp_int(&b, 1000001);
    EXPECT_OUT(&b, ":0\r\n:9\r\n:10\r\n:99\r\n:100\r\n:-100\r\n:1000001\r\n");
    resp_int(&b, -9223372036854775807LL - 1);
    EXPECT_OUT(&b, ":-9223372036854775808\r\n");
    resp_array(&b, -1);
    resp_map(&b, 12, 2);
    EXPECT_OUT(&b, "*-1\r\n*24\r\n");
    resp_bulk_u64(&b, 0);
    resp_bulk_u64(&b, 10);
    resp_bulk_u64(&b, 1795727759ULL);
    EXPECT_OUT(&b, "$1\r\n0\r\n$2\r\n10\r\n$10\r\n1795727759\r\n");
    memset(big, 'x', sizeof(big));
    resp_bulk(&b, big, sizeof(big));
    CHECK_INT(b.len, 4 + 2 + sizeof(big) + 2);
    CHECK_MEM(b.buf, 6, "$300\r\n", 6);
    CHECK_MEM(b.buf + 6 + sizeof(big), 2, "\r\n", 2);
    CHECK_INT(b.oom, 0);
    sbuf_free(&b);
}

/* Redis' sdscatrepr, as MONITOR prints arguments and CONFIG REWRITE quotes values. */
TEST_CASE(writer_repr)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_append_repr(&b, "a\x01\"b\\\n\r\t\a\b \xff~", 13);
    CHECK_MEM(b.buf, b.len, "\"a\\x01\\\"b\\\\\\n\\r\\t\\a\\b \\xff~\"", 28);
    sbuf_reset(&b);
    sbuf_append_repr(&b, "", 0);
    CHECK_MEM(b.buf, b.len, "\"\"", 2);
    sbuf_free(&b);
}

int main(void)
{
    RUN(multibulk_basic);
    RUN(multibulk_pipelined);
    RUN(multibulk_errors);
    RUN(nul_hides_line_end);
    RUN(too_big_lines);
    RUN(unauthenticated_limits);
    RUN(inline_commands);
    RUN(inline_quoting);
    RUN(inline_unbalanced);
    RUN(sticky_error);
    RUN(query_buffer_limit);
    RUN(no_allocation_for_claims);
    RUN(compaction_under_pipelining);
    RUN(big_argument_then_small);
    RUN(argv_survives_feed);
    RUN(qbuf_like_redis);
    RUN(writer_sbuf);
    RUN(writer_oom_is_sticky);
    RUN(writer_resp2);
    RUN(writer_resp3);
    RUN(writer_numbers_in_place);
    RUN(writer_repr);
    return CHECK_DONE("resp");
}
