/* fuzz_config.c - libFuzzer target for server/config.c: config files, argv overrides, config_set values (single thread). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/core/config.h"

/* Input layout: byte 0 picks the mode, the rest is the text.
 *   mode % 3 == 0: the text is a config file, loaded with config_load(argv = {prog, file}).
 *   mode % 3 == 1: the text is argv: words split on '\n' (a leading word not starting
 *                  with "--" is taken as a config file name, so a file of the text is named).
 *   mode % 3 == 2: byte 1 picks a directive, the rest is its one value for config_set.
 * After every successful load config_each must format every directive. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ARGS 256

static char fuzz_path[64];
static const char *fuzz_names[128];
static int fuzz_nnames;

static void fuzz_collect(void *arg, const char *name, const char *val)
{
    (void)arg;
    (void)val;
    if (fuzz_nnames < (int)(sizeof(fuzz_names) / sizeof(fuzz_names[0])))
        fuzz_names[fuzz_nnames++] = name;   /* names are static strings of the directive table */
}

static size_t fuzz_total;

static void fuzz_format(void *arg, const char *name, const char *val)
{
    (void)arg;
    fuzz_total += strlen(name) + strlen(val);
}

static void fuzz_cleanup(void)
{
    unlink(fuzz_path);
}

static int fuzz_init(void)
{
    if (fuzz_path[0])
        return 0;
    snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/fuzz_config.%d.conf", (int)getpid());
    struct fc_config c;
    if (config_defaults(&c) != 0)
        abort();
    config_each(&c, fuzz_collect, NULL);
    config_free(&c);
    atexit(fuzz_cleanup);
    return 0;
}

static void fuzz_write_file(const uint8_t *data, size_t size)
{
    FILE *f = fopen(fuzz_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

/* Errors must be non-empty; those of a config file are one line naming the
 * file and line (argv values may hold a newline, echoed in the message). */
static void fuzz_check_err(const char *err, const char *prefix)
{
    if (err[0] == '\0' || (prefix && strchr(err, '\n')))
        abort();
    if (prefix && strncmp(err, prefix, strlen(prefix)) != 0 && strncmp(err, "cannot open", 11) != 0)
        abort();
}

static void fuzz_load(int argc, char **argv, const char *prefix)
{
    struct fc_config c;
    char err[1024] = "";
    if (config_defaults(&c) != 0)
        abort();
    if (config_load(&c, argc, argv, err, sizeof(err)) == 0)
        config_each(&c, fuzz_format, NULL);
    else
        fuzz_check_err(err, prefix);
    config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    fuzz_init();
    int mode = data[0] % 3;
    data++;
    size--;
    if (mode == 0) {
        char prog[] = "flowcached";
        char *argv[] = { prog, fuzz_path, NULL };
        fuzz_write_file(data, size);
        fuzz_load(2, argv, fuzz_path);
    } else if (mode == 1) {
        char *text = malloc(size + 1), *argv[FUZZ_MAX_ARGS + 2];
        char prog[] = "flowcached";
        int argc = 0;
        if (!text)
            return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        argv[argc++] = prog;
        for (char *p = text, *nl; argc < FUZZ_MAX_ARGS + 1; p = nl + 1) {
            nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            argv[argc++] = p;
            if (!nl)
                break;
        }
        argv[argc] = NULL;
        if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
            fuzz_write_file(data, size);   /* the first word names a file holding the text */
            argv[1] = fuzz_path;
        }
        fuzz_load(argc, argv, NULL);
        free(text);
    } else {
        if (size < 1 || fuzz_nnames == 0)
            return 0;
        const char *name = fuzz_names[data[0] % fuzz_nnames];
        char *val = malloc(size);
        struct fc_config c;
        char err[1024] = "";
        if (!val)
            return 0;
        memcpy(val, data + 1, size - 1);
        val[size - 1] = '\0';
        char *argv[] = { val, NULL };
        if (config_defaults(&c) != 0)
            abort();
        if (config_set(&c, name, 1, argv, err, sizeof(err)) == 0)
            config_each(&c, fuzz_format, NULL);
        else
            fuzz_check_err(err, NULL);
        config_free(&c);
        free(val);
    }
    return 0;
}
