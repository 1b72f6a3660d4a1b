/* check.h - minimal unit-test harness: named cases, assertions that print both values. */
#ifndef FC_CHECK_H
#define FC_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_ = 0, check_passed_ = 0, check_case_failed_ = 0;
static const char *check_case_ = "";

#define CHECK_FAIL_(fmt, ...) do { \
    fprintf(stderr, "  FAIL %s:%d [%s] " fmt "\n", __FILE__, __LINE__, check_case_, __VA_ARGS__); \
    check_case_failed_ = 1; } while (0)

#define CHECK(cond) do { if (!(cond)) CHECK_FAIL_("%s", #cond); } while (0)
#define CHECK_INT(a, b) do { long long va_ = (long long)(a), vb_ = (long long)(b); \
    if (va_ != vb_) CHECK_FAIL_("%s == %s: got %lld, want %lld", #a, #b, va_, vb_); } while (0)
#define CHECK_STR(a, b) do { const char *sa_ = (a), *sb_ = (b); \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) \
        CHECK_FAIL_("%s == %s: got \"%s\", want \"%s\"", #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); } while (0)
#define CHECK_MEM(a, alen, b, blen) do { size_t la_ = (alen), lb_ = (blen); \
    if (la_ != lb_ || memcmp((a), (b), la_) != 0) \
        CHECK_FAIL_("%s == %s: got \"%.*s\" (%zu), want \"%.*s\" (%zu)", #a, #b, \
                    (int)la_, (const char *)(a), la_, (int)lb_, (const char *)(b), lb_); } while (0)

#define TEST_CASE(name) static void name(void)
#define RUN(name) do { check_case_ = #name; check_case_failed_ = 0; name(); \
    if (check_case_failed_) { check_failed_++; fprintf(stderr, "not ok %s\n", #name); } \
    else { check_passed_++; } } while (0)
/* Prints the plain closing line CI reads and returns the exit status. */
#define CHECK_DONE(suite) (printf("%s: %d passed, %d failed\n", (suite), check_passed_, check_failed_), \
                           check_failed_ ? 1 : 0)

#endif
