/*
 * Level normalisation for `log.level`. A short table scan that compares
 * lengths first is cheap enough for once per line. Case folding is ASCII
 * only, so no locale is consulted.
 */
#include "parsers/level.h"

#include "lf/mem.h"

#include <stdbool.h>
#include <string.h>

struct level_alias {
    const char *name; /* upper case */
    size_t len;
    const char *level;
};

#define ALIAS(name, level)                                                     \
    {                                                                          \
        name, LF_STRLEN(name), level                                           \
    }

/* Ordered by how often each spelling is seen, most frequent first. */
static const struct level_alias level_aliases[] = {
    ALIAS("INFO", "info"),      ALIAS("DEBUG", "debug"),
    ALIAS("WARN", "warn"),      ALIAS("ERROR", "error"),
    ALIAS("WARNING", "warn"),   ALIAS("TRACE", "trace"),
    ALIAS("FATAL", "fatal"),    ALIAS("I", "info"),
    ALIAS("D", "debug"),        ALIAS("W", "warn"),
    ALIAS("E", "error"),        ALIAS("T", "trace"),
    ALIAS("F", "fatal"),        ALIAS("INF", "info"),
    ALIAS("DBG", "debug"),      ALIAS("WRN", "warn"),
    ALIAS("ERR", "error"),      ALIAS("TRC", "trace"),
    ALIAS("NOTICE", "info"),    ALIAS("SEVERE", "error"),
    ALIAS("CRITICAL", "fatal"), ALIAS("CRIT", "fatal"),
    ALIAS("PANIC", "fatal"),    ALIAS("EMERG", "fatal"),
    ALIAS("ALERT", "fatal"),    ALIAS("FINE", "debug"),
    ALIAS("FINER", "trace"),    ALIAS("FINEST", "trace"),
    ALIAS("INFORMATION", "info"), /* Serilog and .NET logging */
};

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool equals_upper(const char *s, const char *upper, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (ascii_upper(s[i]) != upper[i]) {
            return false;
        }
    }
    return true;
}

const char *lf_level_canonical(const char *s, size_t len)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(level_aliases); i++) {
        const struct level_alias *alias = &level_aliases[i];

        if (alias->len == len && equals_upper(s, alias->name, len)) {
            return alias->level;
        }
    }
    return NULL;
}

void lf_level_set(struct lf_event *ev, const char *key, const char *s,
                  size_t len)
{
    const char *level = lf_level_canonical(s, len);
    char *lower;
    size_t i = 0;

    if (level != NULL) {
        lf_event_set_str(ev, key, level, strlen(level));
        return;
    }
    while (i < len && ascii_lower(s[i]) == s[i]) {
        i++;
    }
    if (i == len) {
        lf_event_set_str(ev, key, s, len);
        return;
    }
    lower = lf_event_alloc(ev, len + 1);
    for (i = 0; i < len; i++) {
        lower[i] = ascii_lower(s[i]);
    }
    lower[len] = '\0';
    lf_event_set_str(ev, key, lower, len);
}
