/* cmd_util.c - what the command handlers share: error texts, strict integers, key lookups, argument echoes (loop thread). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "server/commands/cmd_internal.h"
#include "server/core/server.h"

const char err_wrongtype[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
const char err_readonly[] = "READONLY You can't write against a read only replica.";
const char err_syntax[] = "ERR syntax error";
const char err_notint[] = "ERR value is not an integer or out of range";

int cmd_parse_ll(const struct resp_arg *a, long long *out)
{
    char *end;
    if (a->len == 0 || a->len > 20 || isspace((unsigned char)a->ptr[0]) || a->ptr[0] == '+' ||
        (a->len > 1 && a->ptr[0] == '0') || (a->len > 2 && a->ptr[0] == '-' && a->ptr[1] == '0'))
        return -1;
    errno = 0;
    long long v = strtoll(a->ptr, &end, 10);
    if (errno || *end || (size_t)(end - a->ptr) != a->len)
        return -1;
    *out = v;
    return 0;
}

enum kv_type cmd_lookup(struct client *c, const struct resp_arg *key, struct kv_view *v)
{
    enum kv_type t = keyspace_lookup(c->srv->cache, key->ptr, key->len, v);
    if (t == KV_NONE) c->srv->st.keyspace_misses++; else c->srv->st.keyspace_hits++;
    return t;
}

void cmd_arg_sanitize(const struct resp_arg *a, char out[129])
{
    size_t n = a->len < 128 ? a->len : 128;
    for (size_t i = 0; i < n; i++)
        out[i] = (a->ptr[i] == '\r' || a->ptr[i] == '\n') ? ' ' : a->ptr[i];
    out[n] = '\0';
}

void cmd_error_arg(struct client *c, const char *fmt, const struct resp_arg *a)
{
    char arg[129], msg[512];
    cmd_arg_sanitize(a, arg);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof(msg), fmt, arg);
#pragma GCC diagnostic pop
    resp_error(&c->out, msg);
}

int cmd_arg_redacted(int argc, const struct resp_arg *argv, int i)
{
    const char *name = argv[0].ptr;
    if (!strcasecmp(name, "auth"))
        return i >= 1 && argc <= 3;
    if (!strcasecmp(name, "config"))         /* CONFIG SET name value...: the values of secrets */
        return argc >= 4 && !strcasecmp(argv[1].ptr, "set") && i >= 3 && i % 2 == 1 &&
               config_is_sensitive(argv[i - 1].ptr);
    if (strcasecmp(name, "hello") || argc < 2)
        return 0;
    long long ver;
    if (cmd_parse_ll(&argv[1], &ver) != 0 || ver < 2 || ver > 3)
        return 0;
    for (int j = 2; j < argc && j < i; j++) {
        int more = argc - j - 1;
        if (!strcasecmp(argv[j].ptr, "auth") && more >= 2) {
            if (i == j + 1 || i == j + 2)
                return 1;
            j += 2;
        } else if (!strcasecmp(argv[j].ptr, "setname") && more >= 1) {
            j++;
        } else {
            return 0;
        }
    }
    return 0;
}
