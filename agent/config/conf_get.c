/*
 * Typed reads of a loaded configuration document: strings, integers,
 * booleans, durations and sizes, and the check that a map holds only known
 * keys. Every scalar is a string in the document, converted here.
 */
#include "lf/conf.h"
#include "agent/config/conf_private.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <jansson.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Keys longer than this get no "did you mean" suggestion. */
#define CONF_SUGGEST_MAX 64

/* Fraction digits accepted in durations and sizes ("1.5s", "0.25MiB"). */
#define CONF_MAX_FRACTION_DIGITS 6

/* Shared by durations and sizes: "12", "1.5", with the fraction exact. */
struct conf_number {
    unsigned long long whole;
    unsigned long long fraction; /* the digits after the point, as a number */
    int fraction_digits;
};

struct conf_unit {
    const char *name;
    long long factor;
};

static const struct conf_unit duration_units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60LL * 1000},
    {"h", 60LL * 60 * 1000},
};

static const struct conf_unit size_units[] = {
    {"b", 1},
    {"kb", 1000LL},
    {"mb", 1000LL * 1000},
    {"gb", 1000LL * 1000 * 1000},
    {"tb", 1000LL * 1000 * 1000 * 1000},
    {"kib", 1LL << 10},
    {"mib", 1LL << 20},
    {"gib", 1LL << 30},
    {"tib", 1LL << 40},
};

int lf_conf_expect_error(const struct lf_conf_node *node, char *errbuf,
                         size_t errlen, const char *what)
{
    const char *text;
    size_t len;

    switch (lf_conf_kind(node)) {
    case LF_CONF_MISSING:
        return lf_conf_error(node, errbuf, errlen, "expected %s, got nothing",
                             what);
    case LF_CONF_NULL:
        return lf_conf_error(node, errbuf, errlen, "expected %s, got null",
                             what);
    case LF_CONF_MAP:
        return lf_conf_error(node, errbuf, errlen, "expected %s, got a map",
                             what);
    case LF_CONF_LIST:
        return lf_conf_error(node, errbuf, errlen, "expected %s, got a list",
                             what);
    case LF_CONF_SCALAR:
        break;
    }
    text = json_string_value(node->json);
    len = json_string_length(node->json);
    return lf_conf_error(node, errbuf, errlen, "expected %s, got '%.*s%s'",
                         what, lf_conf_quote_width(len), text,
                         len > LF_CONF_QUOTE_MAX ? "..." : "");
}

/*
 * Looks up `key` for a getter. Returns 1 when it has a value, 0 when it
 * is absent or null (the getter stores its default), or LF_ECONFIG when
 * `map` is neither a map nor missing.
 */
static int lookup_value(const struct lf_conf_node *map, const char *key,
                        struct lf_conf_node *out, char *errbuf, size_t errlen)
{
    enum lf_conf_kind kind = lf_conf_kind(map);

    if (kind != LF_CONF_MAP && kind != LF_CONF_MISSING) {
        return lf_conf_expect_error(map, errbuf, errlen, "a map");
    }
    lf_conf_child(map, key, out);
    kind = lf_conf_kind(out);
    return kind == LF_CONF_MISSING || kind == LF_CONF_NULL ? 0 : 1;
}

int lf_conf_get_str(const struct lf_conf_node *map, const char *key,
                    const char *def, const char **out, char *errbuf,
                    size_t errlen)
{
    struct lf_conf_node node;
    int rc = lookup_value(map, key, &node, errbuf, errlen);

    if (rc <= 0) {
        *out = def;
        return rc;
    }
    if (lf_conf_kind(&node) != LF_CONF_SCALAR) {
        return lf_conf_expect_error(&node, errbuf, errlen, "a string");
    }
    *out = json_string_value(node.json);
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses an optionally signed decimal integer that fills all of `text`. */
static bool parse_integer(const char *text, long long *out)
{
    const char *digits = text[0] == '-' || text[0] == '+' ? text + 1 : text;
    char *end;
    long long value;

    if (!is_digit(digits[0])) {
        return false;
    }
    errno = 0;
    value = strtoll(text, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        return false;
    }
    *out = value;
    return true;
}

int lf_conf_get_int(const struct lf_conf_node *map, const char *key,
                    long long def, long long min, long long max, long long *out,
                    char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    char what[96];
    long long value;
    int rc = lookup_value(map, key, &node, errbuf, errlen);

    if (rc <= 0) {
        *out = def;
        return rc;
    }
    if (lf_conf_kind(&node) == LF_CONF_SCALAR &&
        parse_integer(json_string_value(node.json), &value) && value >= min &&
        value <= max) {
        *out = value;
        return 0;
    }
    snprintf(what, sizeof(what), "an integer from %lld to %lld", min, max);
    return lf_conf_expect_error(&node, errbuf, errlen, what);
}

int lf_conf_get_bool(const struct lf_conf_node *map, const char *key, bool def,
                     bool *out, char *errbuf, size_t errlen)
{
    static const char *const true_names[] = {"true", "True", "TRUE"};
    static const char *const false_names[] = {"false", "False", "FALSE"};
    struct lf_conf_node node;
    const char *text;
    int rc = lookup_value(map, key, &node, errbuf, errlen);

    if (rc <= 0) {
        *out = def;
        return rc;
    }
    if (lf_conf_kind(&node) != LF_CONF_SCALAR) {
        return lf_conf_expect_error(&node, errbuf, errlen, "true or false");
    }
    text = json_string_value(node.json);
    for (size_t i = 0; i < LF_ARRAY_SIZE(true_names); i++) {
        if (strcmp(text, true_names[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(text, false_names[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return lf_conf_expect_error(&node, errbuf, errlen, "true or false");
}

/* Parses "12" or "12.5" at `text`; returns the end, or NULL. */
static const char *parse_number(const char *text, struct conf_number *num)
{
    const char *p = text;

    num->whole = 0;
    num->fraction = 0;
    num->fraction_digits = 0;
    if (!is_digit(*p)) {
        return NULL;
    }
    while (is_digit(*p)) {
        if (num->whole > (ULLONG_MAX - 9) / 10) {
            return NULL;
        }
        num->whole = num->whole * 10 + (unsigned)(*p++ - '0');
    }
    if (*p != '.') {
        return p;
    }
    p++;
    if (!is_digit(*p)) {
        return NULL;
    }
    while (is_digit(*p)) {
        if (num->fraction_digits == CONF_MAX_FRACTION_DIGITS) {
            return NULL;
        }
        num->fraction = num->fraction * 10 + (unsigned)(*p++ - '0');
        num->fraction_digits++;
    }
    return p;
}

/*
 * Multiplies `num` by `factor` into *out. Fails when the result overflows
 * or is not a whole number of units ("1.5ms", "0.3B").
 */
static bool scale_number(const struct conf_number *num, long long factor,
                         long long *out)
{
    unsigned long long pow10 = 1;
    unsigned long long part;

    for (int i = 0; i < num->fraction_digits; i++) {
        pow10 *= 10;
    }
    /* fraction < 10^6 and factor <= 2^40, so the product fits. */
    part = num->fraction * (unsigned long long)factor;
    if (part % pow10 != 0) {
        return false;
    }
    if (num->whole > (unsigned long long)(LLONG_MAX / factor)) {
        return false;
    }
    part = part / pow10 + num->whole * (unsigned long long)factor;
    if (part > (unsigned long long)LLONG_MAX) {
        return false;
    }
    *out = (long long)part;
    return true;
}

static const struct conf_unit *find_unit(const struct conf_unit *units,
                                         size_t count, const char *text,
                                         size_t len, bool fold_case)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(units[i].name) != len) {
            continue;
        }
        if (fold_case ? strncasecmp(units[i].name, text, len) == 0
                      : strncmp(units[i].name, text, len) == 0) {
            return &units[i];
        }
    }
    return NULL;
}

/*
 * Parses "250ms", "1.5s", "1h30m" or a bare number of seconds into ms.
 * Returns false for anything else, including negatives and overflow.
 */
static bool parse_duration(const char *text, long long *out_ms)
{
    struct conf_number num;
    const char *p = parse_number(text, &num);
    long long total = 0;

    if (p != NULL && *p == '\0') {
        return scale_number(&num, 1000, out_ms);
    }
    while (p != NULL) {
        const char *unit_start = p;
        const struct conf_unit *unit;
        long long part;

        while (*p >= 'a' && *p <= 'z') {
            p++;
        }
        unit = find_unit(duration_units, LF_ARRAY_SIZE(duration_units),
                         unit_start, (size_t)(p - unit_start), false);
        if (unit == NULL || !scale_number(&num, unit->factor, &part) ||
            part > LLONG_MAX - total) {
            return false;
        }
        total += part;
        if (*p == '\0') {
            *out_ms = total;
            return true;
        }
        p = parse_number(p, &num);
    }
    return false;
}

/* Parses "512", "64KiB", "1.5 MB" (units in any case) into bytes. */
static bool parse_size(const char *text, long long *out)
{
    struct conf_number num;
    const char *p = parse_number(text, &num);
    const struct conf_unit *unit;
    size_t len;

    if (p == NULL) {
        return false;
    }
    while (*p == ' ') {
        p++;
    }
    len = strlen(p);
    if (len == 0) {
        return scale_number(&num, 1, out);
    }
    unit = find_unit(size_units, LF_ARRAY_SIZE(size_units), p, len, true);
    return unit != NULL && scale_number(&num, unit->factor, out);
}

int lf_conf_get_duration_ms(const struct lf_conf_node *map, const char *key,
                            long long def_ms, long long *out_ms, char *errbuf,
                            size_t errlen)
{
    struct lf_conf_node node;
    int rc = lookup_value(map, key, &node, errbuf, errlen);

    if (rc <= 0) {
        *out_ms = def_ms;
        return rc;
    }
    if (lf_conf_kind(&node) == LF_CONF_SCALAR &&
        parse_duration(json_string_value(node.json), out_ms)) {
        return 0;
    }
    return lf_conf_expect_error(
        &node, errbuf, errlen,
        "a non-negative duration in whole milliseconds such "
        "as 250ms, 5s, 2m, 1h or 1m30s (a bare number means "
        "seconds)");
}

int lf_conf_get_bytes(const struct lf_conf_node *map, const char *key,
                      long long def, long long *out, char *errbuf,
                      size_t errlen)
{
    struct lf_conf_node node;
    int rc = lookup_value(map, key, &node, errbuf, errlen);

    if (rc <= 0) {
        *out = def;
        return rc;
    }
    if (lf_conf_kind(&node) == LF_CONF_SCALAR &&
        parse_size(json_string_value(node.json), out)) {
        return 0;
    }
    return lf_conf_expect_error(
        &node, errbuf, errlen,
        "a non-negative size in whole bytes such as 512, "
        "64KiB, 10MiB or 1GB (KiB/MiB/GiB are 1024-based, "
        "KB/MB/GB 1000-based)");
}

int lf_conf_scalar(const struct lf_conf_node *node, const char **out,
                   char *errbuf, size_t errlen)
{
    if (lf_conf_kind(node) != LF_CONF_SCALAR) {
        return lf_conf_expect_error(node, errbuf, errlen, "a string");
    }
    *out = json_string_value(node->json);
    return 0;
}

/* ---- key checks ---- */

/*
 * Returns the optimal string alignment distance: insertions, deletions,
 * substitutions and swaps of two neighbours each cost 1 ("hsots" is one
 * step from "hosts"). Returns SIZE_MAX for strings too long to compare.
 */
static size_t edit_distance(const char *a, const char *b)
{
    size_t rows[3][CONF_SUGGEST_MAX + 1];
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t *before = rows[0];
    size_t *prev = rows[1];
    size_t *cur = rows[2];

    if (la > CONF_SUGGEST_MAX || lb > CONF_SUGGEST_MAX) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t *spare = before;

        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;

            if (prev[j] + 1 < best) {
                best = prev[j] + 1;
            }
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && before[j - 2] + 1 < best) {
                best = before[j - 2] + 1;
            }
            cur[j] = best;
        }
        before = prev;
        prev = cur;
        cur = spare;
    }
    return prev[lb];
}

/* Returns the length of the first segment of a dotted allowed key. */
static size_t first_segment_len(const char *allowed)
{
    const char *dot = strchr(allowed, '.');

    return dot == NULL ? strlen(allowed) : (size_t)(dot - allowed);
}

/* Returns the allowed key (first segment) closest to `key`, or NULL. */
static const char *closest_key(const char *key, const char *const *allowed,
                               size_t count, size_t *len_out)
{
    size_t key_len = strlen(key);
    size_t limit = key_len / 3 > 1 ? key_len / 3 : 1;
    size_t best = SIZE_MAX;
    const char *found = NULL;

    for (size_t i = 0; i < count; i++) {
        size_t len = first_segment_len(allowed[i]);
        char candidate[CONF_SUGGEST_MAX + 1];
        size_t distance;

        if (len > CONF_SUGGEST_MAX) {
            continue;
        }
        memcpy(candidate, allowed[i], len);
        candidate[len] = '\0';
        distance = edit_distance(key, candidate);
        if (distance <= limit && distance < best) {
            best = distance;
            found = allowed[i];
            *len_out = len;
        }
    }
    return found;
}

static int unknown_key_error(const struct lf_conf_node *map, const char *key,
                             const struct lf_conf_node *child,
                             const char *const *allowed, size_t count,
                             char *errbuf, size_t errlen)
{
    struct lf_buf valid;
    const char *near;
    size_t near_len = 0;

    lf_buf_init(&valid);
    for (size_t i = 0; i < count; i++) {
        lf_buf_appendf(&valid, "%s%s", i == 0 ? "" : ", ", allowed[i]);
    }
    near = closest_key(key, allowed, count, &near_len);
    if (near != NULL) {
        lf_conf_error_line(map, lf_conf_line(child), errbuf, errlen,
                           "unknown key '%s', did you mean '%.*s'? Valid "
                           "keys: %s",
                           key, (int)near_len, near,
                           valid.data != NULL ? valid.data : "none");
    } else {
        lf_conf_error_line(map, lf_conf_line(child), errbuf, errlen,
                           "unknown key '%s'. Valid keys: %s", key,
                           valid.data != NULL ? valid.data : "none");
    }
    lf_buf_cleanup(&valid);
    return LF_ECONFIG;
}

/*
 * Checks `child` (the value of `key`) against the allowed entries that
 * begin with "key.", so that `path.data` allows `path: {data: ...}`.
 * Returns 1 when no allowed entry has that prefix.
 */
static int check_nested(const struct lf_conf_node *child, const char *key,
                        const char *const *allowed, size_t count, char *errbuf,
                        size_t errlen)
{
    size_t key_len = strlen(key);
    const char **suffixes = lf_calloc(count, sizeof(*suffixes));
    size_t n = 0;
    int rc = 1;

    for (size_t i = 0; i < count; i++) {
        if (strncmp(allowed[i], key, key_len) == 0 &&
            allowed[i][key_len] == '.') {
            suffixes[n++] = allowed[i] + key_len + 1;
        }
    }
    if (n > 0) {
        rc = lf_conf_check_keys(child, suffixes, n, errbuf, errlen);
    }
    lf_free(suffixes);
    return rc;
}

/*
 * An allowed entry may be dotted: "output.elasticsearch" allows the key
 * `output` holding a map whose keys are checked in turn.
 */
int lf_conf_check_keys(const struct lf_conf_node *map,
                       const char *const *allowed, size_t allowed_count,
                       char *errbuf, size_t errlen)
{
    enum lf_conf_kind kind = lf_conf_kind(map);
    struct lf_conf_node child;
    const char *key;

    if (kind == LF_CONF_MISSING) {
        return 0;
    }
    if (kind != LF_CONF_MAP) {
        return lf_conf_expect_error(map, errbuf, errlen, "a map");
    }
    for (size_t i = 0; lf_conf_entry(map, i, &key, &child) == 0; i++) {
        bool exact = false;
        int rc;

        for (size_t j = 0; j < allowed_count && !exact; j++) {
            exact = strcmp(key, allowed[j]) == 0;
        }
        if (exact) {
            continue;
        }
        rc = check_nested(&child, key, allowed, allowed_count, errbuf, errlen);
        if (rc == 1) {
            rc = unknown_key_error(map, key, &child, allowed, allowed_count,
                                   errbuf, errlen);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
