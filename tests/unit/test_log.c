/* test_log.c - server/log/log.c: redis-server's line format, levels, the log file, reopen, whole lines from several threads. */
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "server/log/log.h"

static char log_name[64];

/* The whole log file, NUL-terminated (static buffer). */
static const char *log_text(void)
{
    static char buf[1 << 20];
    FILE *f = fopen(log_name, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void open_log(int level)
{
    struct log_config lc = { log_name, level, 0, "flowcached-test", 1 };
    char err[256] = "";
    log_close();
    unlink(log_name);
    CHECK_INT(log_open(&lc, err, sizeof(err)), 0);
}

TEST_CASE(a_line_has_redis_server_format)
{
    open_log(LL_NOTICE);
    log_msg(LL_NOTICE, "hello %d", 42);
    log_msg(LL_WARNING, "careful");
    const char *text = log_text();
    regex_t re;
    CHECK_INT(regcomp(&re, "^[0-9]+:M [0-3][0-9] [A-Z][a-z][a-z] [0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3} "
                      "\\* hello 42\n[0-9]+:M .* # careful\n$", REG_EXTENDED), 0);
    CHECK(regexec(&re, text, 0, NULL, 0) == 0);
    if (regexec(&re, text, 0, NULL, 0) != 0)
        fprintf(stderr, "  log was: %s", text);
    regfree(&re);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d:M ", (int)getpid());
    CHECK(strncmp(text, pid, strlen(pid)) == 0);
}

TEST_CASE(lines_below_the_level_are_dropped)
{
    open_log(LL_WARNING);
    log_msg(LL_DEBUG, "d");
    log_msg(LL_VERBOSE, "v");
    log_msg(LL_NOTICE, "n");
    log_msg(LL_WARNING, "w");
    CHECK(!log_level_enabled(LL_NOTICE) && log_level_enabled(LL_WARNING));
    log_level_set(LL_DEBUG);
    log_msg(LL_DEBUG, "d2");
    log_msg(LL_VERBOSE, "v2");
    const char *text = log_text();
    CHECK(strstr(text, " # w\n") && strstr(text, " . d2\n") && strstr(text, " - v2\n"));
    CHECK(!strstr(text, " . d\n") && !strstr(text, " - v\n") && !strstr(text, " * n\n"));
    log_level_set(LL_NOTICE);
}

TEST_CASE(a_long_message_is_cut_to_one_line)
{
    open_log(LL_NOTICE);
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_msg(LL_NOTICE, "%s", big);
    const char *text = log_text();
    CHECK_INT(count_lines(text, "\n"), 1);
    CHECK(strlen(text) > 1000 && strlen(text) < 1100);
}

TEST_CASE(reopen_follows_a_moved_file)
{
    char moved[80];
    char err[256] = "";
    open_log(LL_NOTICE);
    log_msg(LL_NOTICE, "before");
    snprintf(moved, sizeof(moved), "%s.1", log_name);
    CHECK_INT(rename(log_name, moved), 0);
    log_msg(LL_NOTICE, "still the old file");
    CHECK_INT(log_reopen(err, sizeof(err)), 0);
    log_msg(LL_NOTICE, "after");
    CHECK(strstr(log_text(), " * after\n") && !strstr(log_text(), "before"));
    unlink(moved);
}

TEST_CASE(a_file_that_cannot_be_opened_is_an_error)
{
    struct log_config lc = { "/nonexistent-dir/x.log", LL_NOTICE, 0, NULL, 0 };
    char err[256] = "";
    log_close();
    CHECK_INT(log_open(&lc, err, sizeof(err)), -1);
    CHECK(strstr(err, "/nonexistent-dir/x.log") != NULL);
}

enum { THREADS = 4, LINES = 2000 };

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < LINES; i++)
        log_msg(LL_NOTICE, "thread %ld line %d %s", id, i, "padding padding padding padding padding padding");
    return NULL;
}

TEST_CASE(threads_write_whole_lines)
{
    pthread_t t[THREADS];
    open_log(LL_NOTICE);
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    log_level_set(LL_WARNING);        /* a level change while they write is safe (an atomic) */
    log_level_set(LL_NOTICE);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    const char *text = log_text();
    int whole = count_lines(text, " padding\n");
    CHECK(whole > 0 && whole <= THREADS * LINES);
    CHECK_INT(count_lines(text, "\n"), whole);          /* every line ends as it began */
    CHECK_INT(count_lines(text, ":M "), whole);
}

int main(void)
{
    snprintf(log_name, sizeof(log_name), "/tmp/fc-test-log-%d.log", (int)getpid());
    RUN(a_line_has_redis_server_format);
    RUN(lines_below_the_level_are_dropped);
    RUN(a_long_message_is_cut_to_one_line);
    RUN(reopen_follows_a_moved_file);
    RUN(a_file_that_cannot_be_opened_is_an_error);
    RUN(threads_write_whole_lines);
    log_close();
    unlink(log_name);
    return CHECK_DONE("test_log");
}
