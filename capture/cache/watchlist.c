/* watchlist.c - the watchlist of IPs/CIDRs: file load/save, matching (read by capture threads, written by the loop). */
#include "capture/cache/watchlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int watchlist_init(struct watchlist *wl, const char *path)
{
    memset(wl, 0, sizeof(*wl));
    pthread_rwlock_init(&wl->lock, NULL);
    wl->dirfd = -1;
    if (!path)
        return 0;
    if (!(wl->path = strdup(path)))
        return -1;
    wl->name = wl->path;
    char *slash = strrchr(wl->path, '/');
    if (slash && slash[1]) {
        *slash = '\0';
        wl->dirfd = open(slash == wl->path ? "/" : wl->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *slash = '/';
        if (wl->dirfd >= 0)
            wl->name = slash + 1;
    } else if (!slash && (wl->dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        wl->name = wl->path;
    }
    return 0;
}

/* Ends a change of the entries: publishes their count (watchlist_match reads
 * it without the lock), then unlocks. Caller holds the write lock. */
static void wl_unlock_write(struct watchlist *wl)
{
    atomic_store_explicit(&wl->nlive, wl->n, memory_order_release);
    pthread_rwlock_unlock(&wl->lock);
}

/* The directory to open wl->name in. */
static int wl_dir(const struct watchlist *wl)
{
    return wl->dirfd >= 0 ? wl->dirfd : AT_FDCWD;
}

int watchlist_can_save(const struct watchlist *wl, char *why, size_t whylen)
{
    if (!wl->path)
        return 1;
    if (wl->dirfd < 0) {
        snprintf(why, whylen, "its directory could not be opened at start-up");
        return 0;
    }
    if (faccessat(wl->dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        snprintf(why, whylen, "its directory is not writable by uid %d (%s)", (int)geteuid(), strerror(errno));
        return 0;
    }
    return 1;
}

void watchlist_destroy(struct watchlist *wl)
{
    if (wl->path && wl->dirfd >= 0)
        close(wl->dirfd);
    free(wl->v);
    free(wl->path);
    pthread_rwlock_destroy(&wl->lock);
    memset(wl, 0, sizeof(*wl));
}

int watchlist_repath(struct watchlist *wl, const char *path, char *err, size_t errlen)
{
    struct watchlist next;
    if (watchlist_init(&next, path && *path ? path : NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (watchlist_load(&next, err, errlen) != 0) {
        watchlist_destroy(&next);
        return -1;
    }
    struct watch_entry *v = wl->v;            /* the loop thread is the only writer: read without the lock */
    size_t n = wl->n, cap = wl->cap;
    pthread_rwlock_wrlock(&wl->lock);         /* the entries: capture threads match against them */
    wl->v = next.v;
    wl->n = next.n;
    wl->cap = next.cap;
    wl_unlock_write(wl);
    next.v = v;
    next.n = n;
    next.cap = cap;
    char *old_path = wl->path;                /* the file: the loop thread's only */
    int dirfd = wl->dirfd;
    const char *name = wl->name;
    wl->path = next.path;
    wl->dirfd = next.dirfd;
    wl->name = next.name;
    next.path = old_path;
    next.dirfd = dirfd;
    next.name = name;
    watchlist_destroy(&next);                 /* the old entries and file */
    return 0;
}

static void mask_addr(uint8_t *a, unsigned plen, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bits = plen > i * 8 ? plen - i * 8 : 0;
        a[i] &= bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
    }
}

int watch_entry_parse(const char *s, size_t len, struct watch_entry *e)
{
    char buf[WATCH_TEXT_MAX], a[INET6_ADDRSTRLEN];
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(e, 0, sizeof(*e));
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    e->ver = strchr(buf, ':') ? 6 : 4;
    unsigned max = e->ver == 6 ? 128 : 32;
    if (inet_pton(e->ver == 6 ? AF_INET6 : AF_INET, buf, e->addr) != 1)
        return -1;
    e->plen = (uint8_t)max;
    if (slash) {
        char *end;
        errno = 0;
        long p = strtol(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || p < 0 || p > (long)max)
            return -1;
        e->plen = (uint8_t)p;
    }
    mask_addr(e->addr, e->plen, max / 8);
    inet_ntop(e->ver == 6 ? AF_INET6 : AF_INET, e->addr, a, sizeof(a));
    if (e->plen == max)
        snprintf(e->text, sizeof(e->text), "%s", a);
    else
        snprintf(e->text, sizeof(e->text), "%s/%u", a, e->plen);
    return 0;
}

static int list_find(const struct watchlist *wl, const char *text)
{
    for (size_t i = 0; i < wl->n; i++)
        if (strcmp(wl->v[i].text, text) == 0)
            return (int)i;
    return -1;
}

static int list_push(struct watch_entry **v, size_t *n, size_t *cap, const struct watch_entry *e)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct watch_entry *nv = realloc(*v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *e;
    return 0;
}

int watchlist_load(struct watchlist *wl, char *err, size_t errlen)
{
    if (!wl->path)
        return 0;
    int fd = openat(wl_dir(wl), wl->name, O_RDONLY | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "watchlist %s: %s", wl->path, strerror(errno));
        return -1;
    }
    struct watch_entry *v = NULL, e;
    size_t n = 0, cap = 0;
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        line[strcspn(line, "\n")] = '\0';
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        if (watch_entry_parse(line, strlen(line), &e) != 0 || list_push(&v, &n, &cap, &e) != 0) {
            snprintf(err, errlen, "%s:%d: not an IP address or CIDR: '%s'", wl->path, lineno, line);
            fclose(f);
            free(v);
            return -1;
        }
    }
    fclose(f);
    pthread_rwlock_wrlock(&wl->lock);
    free(wl->v);
    wl->v = v;
    wl->n = n;
    wl->cap = cap;
    wl_unlock_write(wl);
    return 0;
}

/* Creates the file of a rewrite beside the watchlist, as mkstemp does but in its directory (dirfd):
 * a random name `.<name>.tmp.<12 hex>`, opened O_CREAT|O_EXCL|O_NOFOLLOW, so nothing planted at
 * any name is followed or reused. Returns the descriptor with its name in tmp, or -1 with errno. */
static int tmp_create(const struct watchlist *wl, char *tmp, size_t tmplen)
{
    const char *slash = strrchr(wl->name, '/');      /* wl->name has a folder only without dirfd */
    int dirlen = slash ? (int)(slash - wl->name) + 1 : 0;
    for (int tries = 0; tries < 100; tries++) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
            r = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() << 20 ^ (uint64_t)clock() ^ (uint64_t)tries;
        if (snprintf(tmp, tmplen, "%.*s.%s.tmp.%012llx", dirlen, wl->name, wl->name + dirlen,
                     (unsigned long long)(r & 0xFFFFFFFFFFFFULL)) >= (int)tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = openat(wl_dir(wl), tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Writes the list to a new file beside the watchlist (tmp_create), fsyncs it and renames it over the
 * watchlist, then fsyncs the directory. A watchlist that is a symbolic link is not rewritten:
 * replacing it would silently cut the link from the file it points at, and writing through it is
 * what an attacker who planted it wants. The new file keeps the old one's permission bits (0644
 * when there was none). Returns 0, or -1 with err (the file is then unchanged).
 * Loop thread (no lock needed to read the list). */
static int watchlist_save(struct watchlist *wl, char *err, size_t errlen)
{
    if (!wl->path)
        return 0;
    struct stat st;
    mode_t mode = 0644;
    if (fstatat(wl_dir(wl), wl->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            snprintf(err, errlen, "watchlist %s is a symbolic link: not rewritten (point the 'watchlist' "
                     "directive at the file itself)", wl->path);
            return -1;
        }
        mode = st.st_mode & 07777;
    }
    char tmp[4096];
    int fd = tmp_create(wl, tmp, sizeof(tmp));
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "watchlist %s: cannot create a file beside it: %s", wl->path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlinkat(wl_dir(wl), tmp, 0);
        }
        return -1;
    }
    fprintf(f, "# flowcached watchlist: one IP or CIDR per line (edited by SADD/SREM watchlist)\n");
    for (size_t i = 0; i < wl->n; i++)
        fprintf(f, "%s\n", wl->v[i].text);
    int bad = fchmod(fd, mode) != 0 || fflush(f) != 0 || fsync(fd) != 0;
    bad |= fclose(f) != 0;
    if (bad || renameat(wl_dir(wl), tmp, wl_dir(wl), wl->name) != 0) {
        snprintf(err, errlen, "watchlist %s: %s", wl->path, strerror(errno));
        unlinkat(wl_dir(wl), tmp, 0);
        return -1;
    }
    if (wl->dirfd >= 0)
        (void)fsync(wl->dirfd);          /* the rename made durable; a failure only weakens that */
    return 0;
}

int watchlist_add(struct watchlist *wl, const char *s, size_t len, char *err, size_t errlen)
{
    struct watch_entry e;
    if (watch_entry_parse(s, len, &e) != 0) {
        snprintf(err, errlen, "not an IP address or CIDR");
        return -1;
    }
    if (list_find(wl, e.text) >= 0)
        return 0;
    pthread_rwlock_wrlock(&wl->lock);
    int rc = list_push(&wl->v, &wl->n, &wl->cap, &e);
    wl_unlock_write(wl);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (watchlist_save(wl, err, errlen) != 0) {
        pthread_rwlock_wrlock(&wl->lock);
        wl->n--;
        wl_unlock_write(wl);
        return -1;
    }
    return 1;
}

int watchlist_remove(struct watchlist *wl, const char *s, size_t len, char *err, size_t errlen)
{
    struct watch_entry e;
    if (watch_entry_parse(s, len, &e) != 0)
        return 0;
    int i = list_find(wl, e.text);
    if (i < 0)
        return 0;
    pthread_rwlock_wrlock(&wl->lock);
    wl->v[i] = wl->v[--wl->n];
    wl_unlock_write(wl);
    if (watchlist_save(wl, err, errlen) != 0) {
        pthread_rwlock_wrlock(&wl->lock);
        list_push(&wl->v, &wl->n, &wl->cap, &e);
        wl_unlock_write(wl);
        return -1;
    }
    return 1;
}

int watchlist_replace(struct watchlist *wl, const char *text, size_t len, char *err, size_t errlen)
{
    struct watch_entry *v = NULL, e;
    size_t n = 0, cap = 0;
    int changed = 0;
    for (size_t at = 0; at < len;) {         /* the new list: the members that parse */
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        int dup = 0;
        if (watch_entry_parse(text + at, end - at, &e) == 0) {
            for (size_t i = 0; i < n && !dup; i++)
                dup = strcmp(v[i].text, e.text) == 0;
            if (!dup && list_push(&v, &n, &cap, &e) != 0) {
                free(v);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            changed += !dup && list_find(wl, e.text) < 0;
        }
        at = end + 1;
    }
    for (size_t i = 0; i < wl->n; i++) {     /* and what it drops */
        int kept = 0;
        for (size_t j = 0; j < n && !kept; j++)
            kept = strcmp(v[j].text, wl->v[i].text) == 0;
        changed += !kept;
    }
    if (!changed) {
        free(v);
        return 0;
    }
    pthread_rwlock_wrlock(&wl->lock);
    struct watch_entry *old = wl->v;
    size_t oldn = wl->n, oldcap = wl->cap;
    wl->v = v;
    wl->n = n;
    wl->cap = cap;
    wl_unlock_write(wl);
    if (watchlist_save(wl, err, errlen) != 0) {
        pthread_rwlock_wrlock(&wl->lock);
        wl->v = old;
        wl->n = oldn;
        wl->cap = oldcap;
        wl_unlock_write(wl);
        free(v);
        return -1;
    }
    free(old);
    return changed;
}

static int prefix_match(const struct watch_entry *e, const uint8_t *addr)
{
    unsigned full = e->plen / 8, rest = e->plen % 8;
    if (memcmp(e->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & m) == e->addr[full];
}

int watchlist_match(struct watchlist *wl, uint8_t ver, const uint8_t *addr, char match[WATCH_TEXT_MAX])
{
    int found = 0;
    if (!wl || atomic_load_explicit(&wl->nlive, memory_order_acquire) == 0)
        return 0;                    /* empty, the usual case: no lock per new flow */
    pthread_rwlock_rdlock(&wl->lock);
    for (size_t i = 0; i < wl->n && !found; i++)
        if (wl->v[i].ver == ver && prefix_match(&wl->v[i], addr)) {
            memcpy(match, wl->v[i].text, WATCH_TEXT_MAX);
            found = 1;
        }
    pthread_rwlock_unlock(&wl->lock);
    return found;
}

void watchlist_each(struct watchlist *wl, void (*fn)(void *arg, const char *text), void *arg)
{
    pthread_rwlock_rdlock(&wl->lock);
    for (size_t i = 0; i < wl->n; i++)
        fn(arg, wl->v[i].text);
    pthread_rwlock_unlock(&wl->lock);
}

size_t watchlist_size(struct watchlist *wl)
{
    pthread_rwlock_rdlock(&wl->lock);
    size_t n = wl->n;
    pthread_rwlock_unlock(&wl->lock);
    return n;
}
