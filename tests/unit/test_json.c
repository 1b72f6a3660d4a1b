/* test_json.c - byte-vector tests for resp/json.c (one-line JSON objects); single-threaded test binary. */
#include <stdio.h>
#include <string.h>

#include "dissectors/dissect.h"
#include "resp/json.h"
#include "tests/unit/check.h"

/* The escape of one byte that is not part of valid UTF-8, as the probe writes it. */
static const char *escape_of(unsigned char c, char out[8])
{
    if (c == '"' || c == '\\')
        snprintf(out, 8, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
        snprintf(out, 8, "\\u00%02x", c);
    else
        snprintf(out, 8, "%c", c);
    return out;
}

TEST_CASE(members_and_numbers)
{
    struct sbuf b;
    sbuf_init(&b);
    json_begin(&b);
    json_field_str(&b, "a", "x");
    json_field(&b, "n", "18446744073709551615", 20, 1);
    json_field(&b, "i", "-9223372036854775808", 20, 1);
    json_field(&b, "t", "1700000000.123", 14, 1);
    json_field(&b, "e", "", 0, 0);
    json_end(&b);
    const char *want = "{\"a\":\"x\",\"n\":18446744073709551615,\"i\":-9223372036854775808,"
                       "\"t\":1700000000.123,\"e\":\"\"}";
    CHECK_MEM(b.buf, b.len, want, strlen(want));
    sbuf_reset(&b);
    json_begin(&b);
    json_end(&b);
    CHECK_MEM(b.buf, b.len, "{}", 2);
    sbuf_free(&b);
}

/* Every byte value, at every position of a 19-byte string (the 8-byte steps and the tail), is escaped as
 * the byte-at-a-time rule says; so is a name. */
TEST_CASE(every_byte_everywhere)
{
    struct sbuf b;
    char s[19], want[256], esc[8];
    sbuf_init(&b);
    for (int c = 0; c < 256; c++)
        for (size_t pos = 0; pos < sizeof(s); pos++) {
            memset(s, 'a', sizeof(s));
            s[pos] = (char)c;
            sbuf_reset(&b);
            json_begin(&b);
            json_field(&b, "k", s, sizeof(s), 0);
            json_end(&b);
            snprintf(want, sizeof(want), "{\"k\":\"%.*s%s%.*s\"}", (int)pos, "aaaaaaaaaaaaaaaaaaa",
                     escape_of((unsigned char)c, esc), (int)(sizeof(s) - pos - 1), "aaaaaaaaaaaaaaaaaaa");
            if (b.len != strlen(want) || memcmp(b.buf, want, b.len) != 0) {
                CHECK_MEM(b.buf, b.len, want, strlen(want));
                sbuf_free(&b);
                return;
            }
        }
    sbuf_reset(&b);
    json_begin(&b);
    json_field_str(&b, "we\"ird\x01name", "v");
    json_end(&b);
    CHECK_MEM(b.buf, b.len, "{\"we\\\"ird\\u0001name\":\"v\"}", 25);
    sbuf_free(&b);
}

/* Valid UTF-8 goes out as is, as dissectors/escape.c judges it (shortest form, no surrogate, at most
 * U+10FFFF, not cut by the end); any other byte from 0x7f up as \u00XX. The two judges agree on every
 * lead byte with every second byte and a spread of third and fourth bytes. */
TEST_CASE(utf8_as_the_dissectors_judge_it)
{
    static const unsigned char tail[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
    struct sbuf b;
    char want[64], esc[8];
    sbuf_init(&b);
    for (int lead = 0x80; lead < 0x100; lead++)
        for (int c1 = 0; c1 < 0x100; c1++)
            for (size_t i2 = 0; i2 < sizeof(tail); i2++)
                for (size_t i3 = 0; i3 < sizeof(tail); i3++) {
                    const uint8_t s[4] = { (uint8_t)lead, (uint8_t)c1, tail[i2], tail[i3] };
                    size_t k = dissect_utf8_len(s, 4), w = 0;
                    for (size_t i = 0; i < 4;) {     /* the dissectors' verdict, written out */
                        size_t q = i == 0 ? k : dissect_utf8_len(s + i, 4 - i);
                        if (q > 1 || (q == 1 && s[i] != '"')) {
                            memcpy(want + w, s + i, q);
                            w += q;
                            i += q;
                        } else {
                            w += (size_t)snprintf(want + w, sizeof(want) - w, "%s", escape_of(s[i++], esc));
                        }
                    }
                    sbuf_reset(&b);
                    json_field(&b, "", (const char *)s, 4, 0);
                    if (b.len != w + 5 || memcmp(b.buf + 4, want, w) != 0) {
                        CHECK_MEM(b.buf + 4, b.len - 5, want, w);
                        sbuf_free(&b);
                        return;
                    }
                }
    sbuf_reset(&b);
    json_field(&b, "", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3", 10, 0);   /* é € 😀 and a cut é */
    CHECK_MEM(b.buf, b.len, "\"\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u00c3\"", 20);
    sbuf_free(&b);
}

int main(void)
{
    RUN(members_and_numbers);
    RUN(every_byte_everywhere);
    RUN(utf8_as_the_dissectors_judge_it);
    return CHECK_DONE("test_json");
}
