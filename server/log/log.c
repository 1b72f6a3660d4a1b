/* log.c - the server log: redis-server's line format on stdout, a log file or syslog (any thread writes; start-up opens). */
#include "server/log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum { LOG_MSG_MAX = 1024 };         /* Redis' LOG_MAX_LEN */

/* The level is the one thing that changes while threads log (CONFIG SET loglevel): an atomic. The rest is
 * set by log_open before any thread starts; log_reopen swaps the file under the same descriptor number
 * (dup2), so a thread writing meanwhile writes whole lines to the old file or the new one. */
static _Atomic int log_min_level = LL_NOTICE;
static int log_fd = STDOUT_FILENO;
static int log_to_syslog;
static char log_path[PATH_MAX];

const char *const log_syslog_facilities[] = { "user", "local0", "local1", "local2", "local3", "local4",
                                              "local5", "local6", "local7", NULL };
static const int syslog_facility_codes[] = { LOG_USER, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                                             LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7 };

/* Opens path for appending. Returns the descriptor, or -1 with err. */
static int log_file_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        snprintf(err, errlen, "can't open the log file '%s': %s", path, strerror(errno));
    return fd;
}

int log_open(const struct log_config *lc, char *err, size_t errlen)
{
    int nfac = (int)(sizeof(syslog_facility_codes) / sizeof(syslog_facility_codes[0]));
    if (lc->path && *lc->path) {
        if (strlen(lc->path) >= sizeof(log_path)) {
            snprintf(err, errlen, "log file name too long");
            return -1;
        }
        int fd = log_file_open(lc->path, err, errlen);
        if (fd < 0)
            return -1;
        snprintf(log_path, sizeof(log_path), "%s", lc->path);
        log_fd = fd;
    }
    if (lc->syslog_enabled) {
        int fac = lc->syslog_facility >= 0 && lc->syslog_facility < nfac ? lc->syslog_facility : 0;
        openlog(lc->syslog_ident && *lc->syslog_ident ? lc->syslog_ident : "flowcached",
                LOG_PID | LOG_NDELAY | LOG_NOWAIT, syslog_facility_codes[fac]);
        log_to_syslog = 1;
    }
    log_level_set(lc->level);
    return 0;
}

int log_reopen(char *err, size_t errlen)
{
    if (!log_path[0])
        return 0;
    int fd = log_file_open(log_path, err, errlen);
    if (fd < 0)
        return -1;
    if (dup2(fd, log_fd) < 0) {
        snprintf(err, errlen, "can't reopen the log file '%s': %s", log_path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

void log_level_set(int level)
{
    if (level < LL_DEBUG)
        level = LL_DEBUG;
    if (level > LL_WARNING)
        level = LL_WARNING;
    atomic_store_explicit(&log_min_level, level, memory_order_relaxed);
}

int log_level_enabled(int level)
{
    return level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

void log_msg(int level, const char *fmt, ...)
{
    static const int syslog_levels[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING };
    static const char marks[] = ".-*#";
    if (level < LL_DEBUG || level > LL_WARNING || !log_level_enabled(level))
        return;
    char msg[LOG_MSG_MAX], line[LOG_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%d:M ", (int)getpid());   /* M: the role redis-server's master shows */
    n += (int)strftime(line + n, sizeof(line) - (size_t)n, "%d %b %Y %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03d %c %s", (int)(tv.tv_usec / 1000), marks[level], msg);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    line[n++] = '\n';
    ssize_t w;
    do
        w = write(log_fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    if (log_to_syslog)
        syslog(syslog_levels[level], "%s", msg);
}

void log_close(void)
{
    if (log_fd != STDOUT_FILENO) {
        close(log_fd);
        log_fd = STDOUT_FILENO;
    }
    log_path[0] = '\0';
    if (log_to_syslog)
        closelog();
    log_to_syslog = 0;
}
