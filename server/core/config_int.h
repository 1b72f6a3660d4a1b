/* config_int.h - what config.c shares with config_rewrite.c: the directive table's shape and helpers
 * (start-up and loop thread). */
#ifndef FC_CONFIG_INT_H
#define FC_CONFIG_INT_H

#include <stddef.h>

struct fc_config;

enum dtype { D_INT, D_U64, D_LL, D_DOUBLE, D_BOOL, D_STR, D_LIST, D_ENUM, D_MEM, D_EVENTS };

/* Directive flags, as Redis' config flags. */
enum {
    DF_MUTABLE = 1,                  /* CONFIG SET may change it */
    DF_SENSITIVE = 2,                /* its value is redacted (MONITOR, SLOWLOG) and CONFIG GET hides it */
    DF_PROTECTED = 4,                /* CONFIG SET needs enable-protected-configs (a path the server writes) */
};

struct directive {
    const char *name;
    enum dtype type;
    size_t off;                      /* offset in struct fc_config */
    size_t count_off;                /* D_LIST: offset of the int count */
    double min, max;
    const char *const *choices;      /* D_ENUM */
    const char *help;
    unsigned flags;                  /* DF_* */
};

/* The table, in --help and CONFIG REWRITE order. */
const struct directive *config_directives(size_t *n);

/* The directive named name (any case), or NULL. */
const struct directive *config_directive_find(const char *name);

/* d's value in c as text: CONFIG GET's form, or with human --help's (sizes as 64mb, "" for an empty
 * string or list). */
void config_directive_format(const struct fc_config *c, const struct directive *d, int human, char *buf,
                             size_t len);

/* Splits a config line into words: "..." (with Redis' \xhh \n \r \t \a \b escapes) and '...' quoting,
 * # comments. Returns the number of words, or -1 (unbalanced quotes, more than max words). */
int config_split_line(char *line, char **words, int max);

#endif
