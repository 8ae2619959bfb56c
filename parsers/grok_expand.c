/*
 * Grok expansion, done once when a grok step is built. Logstash compiles
 * grok with Oniguruma in Ruby syntax. So besides replacing references,
 * this file translates the Ruby constructs that PCRE2 reads differently.
 * `\h` is a hex digit in Ruby but horizontal space in PCRE2. Ruby's `(?m)`
 * is PCRE2's `(?s)`. PCRE2 accepts neither classes nested in a class nor
 * group names such as `(?<[a][b]>...)`.
 */
#include "parsers/grok_expand.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HEX_CLASS_BODY "0-9A-Fa-f"

struct expander {
    struct lf_grok_expansion *x;
    /* Names being expanded, outermost first, to detect cycles. */
    const char *stack[LF_GROK_MAX_DEPTH];
    size_t stack_len[LF_GROK_MAX_DEPTH];
    size_t depth;
    char *reason;
    size_t reason_len;
};

static int fail(struct expander *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int expand_text(struct expander *e, const char *s, size_t len);

/* Writes the reason, naming the definition being expanded, if any. */
static int fail(struct expander *e, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(e->reason, e->reason_len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < e->reason_len && e->depth > 0) {
        snprintf(e->reason + n, e->reason_len - (size_t)n,
                 " (in the definition of %.*s)",
                 (int)e->stack_len[e->depth - 1], e->stack[e->depth - 1]);
    }
    return LF_EINVAL;
}

void lf_grok_expansion_init(struct lf_grok_expansion *x,
                            const struct lf_grok_def *library,
                            size_t library_count,
                            const struct lf_grok_def *custom,
                            size_t custom_count)
{
    memset(x, 0, sizeof(*x));
    x->library = library;
    x->library_count = library_count;
    x->custom = custom;
    x->custom_count = custom_count;
    lf_buf_init(&x->regex);
}

void lf_grok_expansion_cleanup(struct lf_grok_expansion *x)
{
    for (size_t i = 0; i < x->capture_count; i++) {
        lf_free(x->captures[i].key);
    }
    lf_free(x->captures);
    x->captures = NULL;
    x->capture_count = 0;
    lf_buf_cleanup(&x->regex);
}

static int compare_name(const char *name, size_t len, const char *def_name)
{
    int c = strncmp(name, def_name, len);

    if (c != 0) {
        return c;
    }
    return def_name[len] == '\0' ? 0 : -1;
}

const struct lf_grok_def *lf_grok_find(const struct lf_grok_def *table,
                                       size_t count, const char *name,
                                       size_t len)
{
    size_t low = 0;
    size_t high = count;

    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int c = compare_name(name, len, table[mid].name);

        if (c == 0) {
            return &table[mid];
        }
        if (c < 0) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    return NULL;
}

static const char *find_definition(const struct lf_grok_expansion *x,
                                   const char *name, size_t len)
{
    const struct lf_grok_def *def;

    for (size_t i = 0; i < x->custom_count; i++) {
        if (compare_name(name, len, x->custom[i].name) == 0) {
            return x->custom[i].regex;
        }
    }
    def = lf_grok_find(x->library, x->library_count, name, len);
    return def != NULL ? def->regex : NULL;
}

/*
 * Converts a Logstash field reference to a dotted path: `[a][b]` becomes
 * "a.b" and a name without brackets is kept as it is.
 */
static int field_path(struct expander *e, const char *s, size_t len, char **out)
{
    struct lf_buf path;
    size_t i = 0;

    if (len == 0 || s[0] != '[') {
        *out = lf_strndup(s, len);
        return 0;
    }
    /*
     * The ecs-v1 HTTPD24_ERRORLOG of logstash-patterns-core 4.3 writes
     * `[apache][error][proxy][error][code]?`, and its upstream spec
     * expects the value under the path without the `?`.
     */
    if (len > 2 && s[len - 2] == ']' && s[len - 1] == '?') {
        len--;
    }
    lf_buf_init(&path);
    while (i < len) {
        const char *end = memchr(s + i, ']', len - i);

        if (s[i] != '[' || end == NULL || end == s + i + 1 ||
            memchr(s + i + 1, '[', (size_t)(end - s - i - 1)) != NULL) {
            lf_buf_cleanup(&path);
            return fail(e,
                        "invalid field name '%.*s': write a dotted path "
                        "such as url.path or [url][path]",
                        (int)len, s);
        }
        if (path.len > 0) {
            lf_buf_append_char(&path, '.');
        }
        lf_buf_append(&path, s + i + 1, (size_t)(end - s - i - 1));
        i = (size_t)(end - s) + 1;
    }
    *out = path.data;
    return 0;
}

/* Appends `(?<gN>` and records group N for `field`. */
static int open_capture(struct expander *e, const char *field, size_t field_len,
                        const char *type)
{
    struct lf_grok_expansion *x = e->x;
    struct lf_grok_capture *capture;
    char *key = NULL;
    int rc;

    rc = field_path(e, field, field_len, &key);
    if (rc != 0) {
        return rc;
    }
    x->captures =
        lf_realloc(x->captures, (x->capture_count + 1) * sizeof(*x->captures));
    capture = &x->captures[x->capture_count];
    capture->key = key;
    capture->type = type;
    lf_buf_appendf(&x->regex, "(?<g%zu>", x->capture_count);
    x->capture_count++;
    return 0;
}

/* Maps a `%{NAME:field:type}` type to a field_map type name. */
static const char *capture_type(const char *s, size_t len)
{
    static const struct {
        const char *grok;
        const char *field_map;
    } types[] = {
        {"int", "integer"},
        {"integer", "integer"},
        {"float", "float"},
        {"string", "string"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(types); i++) {
        if (strlen(types[i].grok) == len &&
            memcmp(types[i].grok, s, len) == 0) {
            return types[i].field_map;
        }
    }
    return NULL;
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Expands the definition of NAME, checking depth and cycles. */
static int expand_definition(struct expander *e, const char *name,
                             size_t name_len)
{
    const char *regex = find_definition(e->x, name, name_len);
    int rc;

    if (regex == NULL) {
        return fail(e,
                    "unknown grok pattern '%.*s': define it under "
                    "pattern_definitions or check the name against the "
                    "library of the ecs_compatibility set",
                    (int)name_len, name);
    }
    for (size_t i = 0; i < e->depth; i++) {
        if (e->stack_len[i] == name_len &&
            memcmp(e->stack[i], name, name_len) == 0) {
            return fail(e,
                        "grok pattern '%.*s' refers to itself: remove the "
                        "cycle from pattern_definitions",
                        (int)name_len, name);
        }
    }
    if (e->depth == LF_GROK_MAX_DEPTH) {
        return fail(e,
                    "grok pattern '%.*s' nests more than %d references "
                    "deep: flatten the definitions",
                    (int)name_len, name, LF_GROK_MAX_DEPTH);
    }
    e->stack[e->depth] = name;
    e->stack_len[e->depth] = name_len;
    e->depth++;
    rc = expand_text(e, regex, strlen(regex));
    e->depth--;
    return rc;
}

/*
 * Expands the reference at s[*pos] ("%{..."): NAME, NAME:field or
 * NAME:field:type. Only a reference with a field captures.
 */
static int expand_reference(struct expander *e, const char *s, size_t len,
                            size_t *pos)
{
    const char *ref = s + *pos + 2;
    const char *end = memchr(ref, '}', len - *pos - 2);
    const char *name_end;
    const char *field = NULL;
    const char *field_end = NULL;
    const char *type = "string";
    int rc;

    if (end == NULL) {
        return fail(e,
                    "unterminated reference '%.*s': write %%{NAME}, "
                    "%%{NAME:field} or %%{NAME:field:type}",
                    (int)(len - *pos), s + *pos);
    }
    name_end = ref;
    while (name_end < end && is_name_char(*name_end)) {
        name_end++;
    }
    if (name_end < end && *name_end == ':') {
        field = name_end + 1;
        field_end = memchr(field, ':', (size_t)(end - field));
        if (field_end == NULL) {
            field_end = end;
        } else {
            type = capture_type(field_end + 1, (size_t)(end - field_end - 1));
        }
    }
    if (name_end == ref || (field == NULL && name_end != end) ||
        (field != NULL && field_end == field)) {
        return fail(e,
                    "invalid reference '%.*s': write %%{NAME}, "
                    "%%{NAME:field} or %%{NAME:field:type}",
                    (int)(end - s - *pos + 1), s + *pos);
    }
    if (type == NULL) {
        return fail(e, "invalid type in '%.*s': use int, float or string",
                    (int)(end - s - *pos + 1), s + *pos);
    }

    if (field != NULL) {
        rc = open_capture(e, field, (size_t)(field_end - field), type);
    } else {
        lf_buf_append_str(&e->x->regex, "(?:");
        rc = 0;
    }
    if (rc == 0) {
        rc = expand_definition(e, ref, (size_t)(name_end - ref));
    }
    if (rc == 0) {
        lf_buf_append_char(&e->x->regex, ')');
        *pos = (size_t)(end - s) + 1;
    }
    return rc;
}

/*
 * Copies the POSIX class at s[i] ("[:name:]") and returns the index after
 * it. Ruby's [:alpha:] and [:alnum:] also match non-ASCII letters. Byte
 * matching cannot tell letters from other characters, so every byte of a
 * multi-byte UTF-8 character (0x80-0xff) is added to them.
 */
static size_t copy_posix_class(struct lf_buf *out, const char *s, size_t i)
{
    const char *close = strstr(s + i, ":]");
    size_t n = close != NULL ? (size_t)(close - s - i) + 2 : 1;

    lf_buf_append(out, s + i, n);
    if (n == LF_STRLEN("[:alpha:]") && (memcmp(s + i, "[:alpha:]", n) == 0 ||
                                        memcmp(s + i, "[:alnum:]", n) == 0)) {
        lf_buf_append_str(out, "\\x80-\\xff");
    }
    return i + n;
}

/*
 * Copies the character class at s[*pos] ('['). Ruby allows classes
 * inside a class, `[a[0-9]]` meaning their union: the inner brackets are
 * dropped, which PCRE2 reads as the same set. A negated inner class has
 * no such rewrite. `\h` becomes the hex digit range.
 */
static int copy_class(struct expander *e, const char *s, size_t len,
                      size_t *pos)
{
    struct lf_buf *out = &e->x->regex;
    size_t i = *pos + 1;
    int nested = 0;

    lf_buf_append_char(out, '[');
    if (i < len && s[i] == '^') {
        lf_buf_append_char(out, s[i++]);
    }
    if (i < len && s[i] == ']') {
        lf_buf_append_char(out, s[i++]);
    }
    while (i < len) {
        if (s[i] == '\\' && i + 1 < len) {
            if (s[i + 1] == 'h') {
                lf_buf_append_str(out, HEX_CLASS_BODY);
            } else {
                lf_buf_append(out, s + i, 2);
            }
            i += 2;
        } else if (s[i] == '[' && i + 1 < len && s[i + 1] == ':') {
            i = copy_posix_class(out, s, i);
        } else if (s[i] == '[') {
            if (i + 1 < len && s[i + 1] == '^') {
                return fail(e,
                            "a negated class inside a character class "
                            "has no PCRE2 form: rewrite '%.*s' without it",
                            (int)(len - *pos), s + *pos);
            }
            nested++;
            i++;
        } else if (s[i] == ']') {
            i++;
            if (nested == 0) {
                lf_buf_append_char(out, ']');
                break;
            }
            nested--;
        } else {
            lf_buf_append_char(out, s[i++]);
        }
    }
    *pos = i;
    return 0;
}

/*
 * Copies the group opening at s[*pos] ('('). A named group `(?<field>`
 * becomes a capture, and Ruby's option `m` becomes PCRE2's `s`.
 */
static int copy_group(struct expander *e, const char *s, size_t len,
                      size_t *pos)
{
    struct lf_buf *out = &e->x->regex;
    size_t i = *pos;
    size_t j;

    if (i + 2 < len && s[i + 1] == '?' && s[i + 2] == '<' && i + 3 < len &&
        s[i + 3] != '=' && s[i + 3] != '!') {
        const char *name = s + i + 3;
        const char *end = memchr(name, '>', len - i - 3);

        if (end == NULL || end == name) {
            return fail(e, "invalid named group '%.*s': write (?<field>...)",
                        (int)(len - i), s + i);
        }
        *pos = (size_t)(end - s) + 1;
        return open_capture(e, name, (size_t)(end - name), "string");
    }
    j = i + 2;
    while (j < len && s[i + 1] == '?' && strchr("imx-", s[j]) != NULL) {
        j++;
    }
    if (j > i + 2 && j < len && (s[j] == ')' || s[j] == ':')) {
        lf_buf_append_str(out, "(?");
        for (size_t k = i + 2; k < j; k++) {
            lf_buf_append_char(out, s[k] == 'm' ? 's' : s[k]);
        }
        *pos = j;
        return 0;
    }
    lf_buf_append_char(out, '(');
    *pos = i + 1;
    return 0;
}

static int expand_text(struct expander *e, const char *s, size_t len)
{
    struct lf_buf *out = &e->x->regex;
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        if (s[i] == '\\' && i + 1 < len) {
            if (s[i + 1] == 'h') {
                lf_buf_append_str(out, "[" HEX_CLASS_BODY "]");
            } else if (s[i + 1] == 'H') {
                lf_buf_append_str(out, "[^" HEX_CLASS_BODY "]");
            } else {
                lf_buf_append(out, s + i, 2);
            }
            i += 2;
        } else if (s[i] == '%' && i + 1 < len && s[i + 1] == '{') {
            rc = expand_reference(e, s, len, &i);
        } else if (s[i] == '[') {
            rc = copy_class(e, s, len, &i);
        } else if (s[i] == '(') {
            rc = copy_group(e, s, len, &i);
        } else if (s[i] == '?' && i + 1 < len && s[i + 1] == '*' && i > 0 &&
                   s[i - 1] != '(') {
            /* Ruby reads `x?*` as `x*`, and PCRE2 rejects it. */
            lf_buf_append_char(out, '*');
            i += 2;
        } else {
            lf_buf_append_char(out, s[i++]);
        }
    }
    return rc;
}

int lf_grok_expand(struct lf_grok_expansion *x, const char *pattern,
                   char *reason, size_t reason_len)
{
    struct expander e = {
        .x = x,
        .reason = reason,
        .reason_len = reason_len,
    };

    return expand_text(&e, pattern, strlen(pattern));
}
