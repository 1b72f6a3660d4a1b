/* log.h - the server log as redis-server writes it: "pid:M dd Mon yyyy hh:mm:ss.mmm <c> message" lines on
 * stdout or in a log file, and to syslog when asked (any thread). */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <stddef.h>

/* Redis' levels, in its order (the `loglevel` directive's choices); a line is written when its level is at
 * least the current one. Its mark in a line: debug '.', verbose '-', notice '*', warning '#'. */
enum log_level { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING };

/* Where lines go: path NULL or "" = standard output, as redis-server; syslog_enabled also sends each
 * line to syslog(3) under ident with facility (0 user, 1..8 local0..local7: `syslog-facility`). */
struct log_config {
    const char *path;
    int level;
    int syslog_enabled;
    const char *syslog_ident;
    int syslog_facility;
};

/* The `syslog-facility` choices, in the order of log_config.syslog_facility (NULL-terminated). */
extern const char *const log_syslog_facilities[];

/* Opens the log: the file (created 0644 when missing, appended to) and syslog. Until it is called, lines
 * go to standard output at notice. Call once at start-up, before any other thread runs (and before
 * `user` drops root, so the file may be root's). Returns 0, or -1 with err (and the log unchanged). */
int log_open(const struct log_config *lc, char *err, size_t errlen);

/* Opens the log file again under the same name (after logrotate moved it away; SIGHUP). Returns 0 (also
 * when the log is standard output), or -1 with err, the old file still written to. Loop thread. */
int log_reopen(char *err, size_t errlen);

/* Sets the level below which lines are dropped (CONFIG SET loglevel). Any thread. */
void log_level_set(int level);

/* Whether a line of level would be written now: to skip building an expensive message. Any thread. */
int log_level_enabled(int level);

/* Writes one line of level (printf format, cut at 1024 bytes; no trailing newline needed) with one
 * write(2), so lines of several threads never interleave; and to syslog when enabled. Nothing is
 * reported when writing fails (as redis-server). Any thread. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Closes the log file and syslog; later lines go to standard output again. At exit, threads stopped. */
void log_close(void);

#endif
