/* tshark_rows.h - for the dissector tests: finds a public capture of ../shared/pcaps and reads tshark's fields of its packets (single thread). */
#ifndef FC_TSHARK_ROWS_H
#define FC_TSHARK_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TSHARK_FIELDS_MAX 12
#define TSHARK_CMD_MAX    2048

/* Path of ../shared/pcaps/<rel> into buf: ../shared from the repository, or
 * ../../shared from a git worktree one folder deeper (FC_SHARED overrides).
 * Returns buf, or NULL when the capture is not there (the test then skips). */
static const char *tshark_shared_pcap(const char *rel, char *buf, size_t cap)
{
    const char *env = getenv("FC_SHARED");
    const char *roots[] = { env, "../shared", "../../shared" };
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        if (!roots[i])
            continue;
        snprintf(buf, cap, "%s/pcaps/%s", roots[i], rel);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* 1 when tshark can be run. */
static int tshark_present(void)
{
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* Decodes the hex text h (tshark's "-e udp.payload") into out[cap].
 * Returns the byte count, or -1 on odd or bad text or when it does not fit. */
static long tshark_unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = strlen(h), o = 0;
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (o >= cap || sscanf(h + i, "%2x", &v) != 1)
            return -1;
        out[o++] = (uint8_t)v;
    }
    return (long)o;
}

/* Called per packet with its fields (empty strings when absent); the
 * pointers are valid during the call only. */
typedef void (*tshark_row_cb)(void *arg, char **fields, int nfields);

/* Runs tshark -r pcap [opts] -Y filter with the fields, first occurrence
 * of each (last with occurrence 'l'), and calls on_row per packet.
 * Returns the packets seen, or -1 when tshark could not be run. */
static long tshark_rows(const char *pcap, const char *opts, const char *filter, char occurrence,
                        const char *const *fields, int nfields, tshark_row_cb on_row, void *arg)
{
    char cmd[TSHARK_CMD_MAX];
    int o = snprintf(cmd, sizeof(cmd), "tshark -n %s -r '%s' -Y '%s' -T fields -E separator=/t -E occurrence=%c",
                     opts, pcap, filter, occurrence);
    for (int i = 0; i < nfields && o > 0 && (size_t)o < sizeof(cmd); i++)
        o += snprintf(cmd + o, sizeof(cmd) - (size_t)o, " -e %s", fields[i]);
    if (o <= 0 || (size_t)o + 20 >= sizeof(cmd) || nfields > TSHARK_FIELDS_MAX)
        return -1;
    strcat(cmd, " 2>/dev/null");
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    long rows = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        char *cols[TSHARK_FIELDS_MAX];
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        char *s = line;
        for (int i = 0; i < nfields; i++) {
            cols[i] = s;
            char *tab = s ? strchr(s, '\t') : NULL;
            if (tab)
                *tab = '\0';
            s = tab ? tab + 1 : NULL;
            if (!cols[i])
                cols[i] = (char *)"";
        }
        on_row(arg, cols, nfields);
        rows++;
    }
    free(line);
    return pclose(f) == 0 ? rows : -1;
}

/* Calls fn for each capture of rels[0..n) found under ../shared/pcaps.
 * Prints "<suite>: ... skipped" when tshark or every capture is missing.
 * Returns the captures fn was called for. */
static int tshark_each_shared(const char *suite, const char *const *rels, size_t n,
                              void (*fn)(const char *rel, const char *path))
{
    char path[1024];
    int found = 0;
    if (!tshark_present()) {
        printf("%s: no tshark, the public captures are skipped\n", suite);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (tshark_shared_pcap(rels[i], path, sizeof(path))) {
            fn(rels[i], path);
            found++;
        }
    if (!found)
        printf("%s: no ../shared/pcaps, the public captures are skipped\n", suite);
    return found;
}

#endif
