/*
 * convert: changes the type of field values, in place or into another
 * field (`to`). Types follow Filebeat's: integer (32-bit), long, float
 * and double (both stored as double), boolean, string and ip (a string
 * that must be an IPv4 or IPv6 address).
 */
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const convert_keys[] = {"fields", "ignore_missing",
                                           "fail_on_error", "when"};

static const char *const rule_keys[] = {"from", "to", "type"};

enum convert_type {
    CONVERT_INTEGER,
    CONVERT_LONG,
    CONVERT_FLOAT,
    CONVERT_DOUBLE,
    CONVERT_BOOLEAN,
    CONVERT_STRING,
    CONVERT_IP,
};

static const char *const type_names[] = {
    "integer", "long", "float", "double", "boolean", "string", "ip",
};

#define TYPE_LIST "integer, long, float, double, boolean, string or ip"

/* Maximum length of an IPv6 address in text, with an IPv4 tail and a NUL. */
#define IP_TEXT_MAX 46

struct rule {
    const char *from; /* borrowed */
    const char *to;   /* borrowed; `from` when converted in place */
    enum convert_type type;
};

/* The target's value before the rule ran, for the undo. */
struct undo {
    bool changed;
    bool had_value;
    struct lf_value old;
};

struct convert {
    struct rule *rules;
    size_t count;
    bool ignore_missing;
    bool fail_on_error;
    struct undo *undo; /* per rule */
};

static int rule_type(const struct lf_conf_node *node, struct rule *rule,
                     char *errbuf, size_t errlen)
{
    struct lf_conf_node type_node;
    const char *name;
    int rc;

    rc = lf_conf_get_str(node, "type", NULL, &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (name == NULL) {
        return lf_conf_error(node, errbuf, errlen,
                             "each entry needs `type:`, one of %s", TYPE_LIST);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(type_names); i++) {
        if (strcmp(name, type_names[i]) == 0) {
            rule->type = (enum convert_type)i;
            return 0;
        }
    }
    lf_conf_child(node, "type", &type_node);
    return lf_conf_error(&type_node, errbuf, errlen,
                         "unknown type '%s': expected %s", name, TYPE_LIST);
}

static int rule_from_conf(const struct lf_conf_node *node, struct rule *rule,
                          char *errbuf, size_t errlen)
{
    int rc;

    rc = lf_conf_check_keys(node, rule_keys, LF_ARRAY_SIZE(rule_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(node, "from", NULL, &rule->from, errbuf, errlen);
    }
    if (rc == 0 && (rule->from == NULL || rule->from[0] == '\0')) {
        rc = lf_conf_error(node, errbuf, errlen,
                           "each entry needs `from:`, the field to convert, "
                           "such as `{from: http.response.status_code, "
                           "type: long}`");
    }
    if (rc == 0) {
        rc = lf_conf_get_str(node, "to", rule->from, &rule->to, errbuf, errlen);
    }
    if (rc == 0 && rule->to[0] == '\0') {
        rule->to = rule->from;
    }
    if (rc == 0) {
        rc = rule_type(node, rule, errbuf, errlen);
    }
    return rc;
}

static int convert_create(const struct lf_conf_node *spec, void **out,
                          char *errbuf, size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node item;
    struct convert *cv;
    int rc;

    rc = lf_conf_check_keys(spec, convert_keys, LF_ARRAY_SIZE(convert_keys),
                            errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    lf_conf_child(spec, "fields", &list);
    if (lf_conf_kind(&list) != LF_CONF_LIST || lf_conf_size(&list) == 0) {
        return lf_conf_error(lf_conf_kind(&list) == LF_CONF_MISSING ? spec
                                                                    : &list,
                             errbuf, errlen,
                             "convert needs `fields:`, a non-empty list of "
                             "{from, to, type} entries, such as `fields: "
                             "[{from: status, to: http.response.status_code,"
                             " type: long}]`");
    }
    cv = lf_calloc(1, sizeof(*cv));
    *out = cv;
    cv->count = lf_conf_size(&list);
    cv->rules = lf_calloc(cv->count, sizeof(*cv->rules));
    cv->undo = lf_calloc(cv->count, sizeof(*cv->undo));
    for (size_t i = 0; rc == 0 && i < cv->count; i++) {
        lf_conf_at(&list, i, &item);
        rc = rule_from_conf(&item, &cv->rules[i], errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "ignore_missing", false,
                              &cv->ignore_missing, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "fail_on_error", true, &cv->fail_on_error,
                              errbuf, errlen);
    }
    return rc;
}

/* ---- conversions ---- */

/* Parses a decimal integer, optionally signed, that fills all of `s`. */
static bool parse_int64(const char *s, size_t len, int64_t *out)
{
    char text[32];
    char *end;
    long long value;

    if (len == 0 || len >= sizeof(text)) {
        return false;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    if (!(text[0] == '-' || text[0] == '+' ||
          (text[0] >= '0' && text[0] <= '9'))) {
        return false;
    }
    errno = 0;
    value = strtoll(text, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        return false;
    }
    *out = (int64_t)value;
    return true;
}

/* Parses a finite decimal number that fills all of `s`. */
static bool parse_double(const char *s, size_t len, double *out)
{
    char text[64];
    char *end;

    if (len == 0 || len >= sizeof(text)) {
        return false;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    /* strtod() also reads "nan", "inf" and hex; a number starts so. */
    if (!(text[0] == '-' || text[0] == '+' || text[0] == '.' ||
          (text[0] >= '0' && text[0] <= '9')) ||
        strpbrk(text, "xXnN") != NULL) {
        return false;
    }
    errno = 0;
    *out = strtod(text, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

/* The spellings Go's strconv.ParseBool accepts, which Filebeat uses. */
static bool parse_bool(const char *s, size_t len, bool *out)
{
    static const char *const true_names[] = {"1",    "t",    "T",
                                             "TRUE", "true", "True"};
    static const char *const false_names[] = {"0",     "f",     "F",
                                              "FALSE", "false", "False"};

    for (size_t i = 0; i < LF_ARRAY_SIZE(true_names); i++) {
        if (strlen(true_names[i]) == len &&
            memcmp(s, true_names[i], len) == 0) {
            *out = true;
            return true;
        }
        if (strlen(false_names[i]) == len &&
            memcmp(s, false_names[i], len) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool to_integer(const struct lf_value *in, bool long_range,
                       struct lf_value *out)
{
    int64_t i;

    switch (in->type) {
    case LF_VALUE_INT:
        i = in->u.i;
        break;
    case LF_VALUE_FLOAT:
        /* Truncates toward zero, as Filebeat does. */
        if (!(in->u.f > -9223372036854775808.0 &&
              in->u.f < 9223372036854775808.0)) {
            return false;
        }
        i = (int64_t)in->u.f;
        break;
    case LF_VALUE_BOOL:
        i = in->u.b ? 1 : 0;
        break;
    case LF_VALUE_STRING:
        if (!parse_int64(in->u.str.ptr, in->u.str.len, &i)) {
            return false;
        }
        break;
    default:
        return false;
    }
    if (!long_range && (i < INT32_MIN || i > INT32_MAX)) {
        return false;
    }
    out->type = LF_VALUE_INT;
    out->u.i = i;
    return true;
}

static bool to_double(const struct lf_value *in, struct lf_value *out)
{
    out->type = LF_VALUE_FLOAT;
    switch (in->type) {
    case LF_VALUE_INT:
        out->u.f = (double)in->u.i;
        return true;
    case LF_VALUE_FLOAT:
        out->u.f = in->u.f;
        return true;
    case LF_VALUE_BOOL:
        out->u.f = in->u.b ? 1.0 : 0.0;
        return true;
    case LF_VALUE_STRING:
        return parse_double(in->u.str.ptr, in->u.str.len, &out->u.f);
    default:
        return false;
    }
}

static bool to_boolean(const struct lf_value *in, struct lf_value *out)
{
    out->type = LF_VALUE_BOOL;
    switch (in->type) {
    case LF_VALUE_INT:
        out->u.b = in->u.i != 0;
        return true;
    case LF_VALUE_FLOAT:
        out->u.b = in->u.f != 0.0;
        return true;
    case LF_VALUE_BOOL:
        out->u.b = in->u.b;
        return true;
    case LF_VALUE_STRING:
        return parse_bool(in->u.str.ptr, in->u.str.len, &out->u.b);
    default:
        return false;
    }
}

/* Formats a double with the fewest digits that read back the same. */
static int format_double(double f, char *buf, size_t size)
{
    int n = 0;

    for (int precision = 1; precision <= 17; precision++) {
        n = snprintf(buf, size, "%.*g", precision, f);
        if (strtod(buf, NULL) == f) {
            break;
        }
    }
    return n;
}

static bool to_string(struct lf_event *ev, const struct lf_value *in,
                      struct lf_value *out)
{
    char text[32];
    int n;

    out->type = LF_VALUE_STRING;
    switch (in->type) {
    case LF_VALUE_STRING:
        *out = *in;
        return true;
    case LF_VALUE_BOOL:
        out->u.str.ptr = in->u.b ? "true" : "false";
        out->u.str.len = strlen(out->u.str.ptr);
        return true;
    case LF_VALUE_INT:
        n = snprintf(text, sizeof(text), "%" PRId64, in->u.i);
        break;
    case LF_VALUE_FLOAT:
        n = format_double(in->u.f, text, sizeof(text));
        break;
    default:
        return false;
    }
    if (n < 0 || (size_t)n >= sizeof(text)) {
        return false;
    }
    out->u.str.ptr = lf_event_copy_str(ev, text, (size_t)n);
    out->u.str.len = (size_t)n;
    return true;
}

static bool to_ip(const struct lf_value *in, struct lf_value *out)
{
    char text[IP_TEXT_MAX];
    unsigned char addr[16];

    if (in->type != LF_VALUE_STRING || in->u.str.len >= sizeof(text)) {
        return false;
    }
    memcpy(text, in->u.str.ptr, in->u.str.len);
    text[in->u.str.len] = '\0';
    if (inet_pton(AF_INET, text, addr) != 1 &&
        inet_pton(AF_INET6, text, addr) != 1) {
        return false;
    }
    *out = *in;
    return true;
}

static bool convert_value(struct lf_event *ev, enum convert_type type,
                          const struct lf_value *in, struct lf_value *out)
{
    switch (type) {
    case CONVERT_INTEGER:
        return to_integer(in, false, out);
    case CONVERT_LONG:
        return to_integer(in, true, out);
    case CONVERT_FLOAT:
    case CONVERT_DOUBLE:
        return to_double(in, out);
    case CONVERT_BOOLEAN:
        return to_boolean(in, out);
    case CONVERT_STRING:
        return to_string(ev, in, out);
    case CONVERT_IP:
        return to_ip(in, out);
    }
    return false;
}

/* ---- apply ---- */

/* Converts one field. Returns false when the rule fails. */
static bool apply_rule(struct convert *cv, size_t index, struct lf_event *ev)
{
    const struct rule *rule = &cv->rules[index];
    struct undo *undo = &cv->undo[index];
    const struct lf_value *found;
    const struct lf_value *target;
    struct lf_value tmp;
    struct lf_value converted;

    undo->changed = false;
    found = lf_processor_get(ev, rule->from, &tmp);
    if (found == NULL) {
        if (cv->ignore_missing) {
            return true;
        }
        lf_processor_fail(ev, "convert: field '%s' not found", rule->from);
        return false;
    }
    if (!convert_value(ev, rule->type, found, &converted)) {
        lf_processor_fail(ev, "convert: field '%s' cannot be converted to %s",
                          rule->from, type_names[rule->type]);
        return false;
    }
    target = lf_event_get(ev, rule->to);
    undo->changed = true;
    undo->had_value = target != NULL;
    if (target != NULL) {
        undo->old = *target;
    }
    lf_event_set(ev, rule->to, &converted);
    return true;
}

/* Restores the targets of the rules before `end`, last first. */
static void undo_rules(struct convert *cv, size_t end, struct lf_event *ev)
{
    for (size_t i = end; i > 0; i--) {
        const struct undo *undo = &cv->undo[i - 1];

        if (!undo->changed) {
            continue;
        }
        if (undo->had_value) {
            lf_event_set(ev, cv->rules[i - 1].to, &undo->old);
        } else {
            lf_event_remove(ev, cv->rules[i - 1].to);
        }
    }
}

static enum lf_processor_result convert_apply(void *state, struct lf_event *ev)
{
    struct convert *cv = state;

    for (size_t i = 0; i < cv->count; i++) {
        if (!apply_rule(cv, i, ev) && cv->fail_on_error) {
            undo_rules(cv, i, ev);
            break;
        }
    }
    return LF_PROCESSOR_KEEP;
}

static void convert_destroy(void *state)
{
    struct convert *cv = state;

    lf_free(cv->rules);
    lf_free(cv->undo);
    lf_free(cv);
}

const struct lf_processor_kind lf_convert_kind = {
    .name = "convert",
    .create = convert_create,
    .apply = convert_apply,
    .destroy = convert_destroy,
};
