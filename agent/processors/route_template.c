/*
 * route_template: turns a request path such as /api/tasks/42/redeem into
 * a low-cardinality route, /api/tasks/{id}/redeem, so that errors can be
 * grouped by route. Configured templates are tried first, in order, and
 * the first that matches is the route. Otherwise every path segment that
 * is an id becomes {id}: a decimal number, a UUID, or a hex string of 8
 * or more characters with at least one digit (so that words such as
 * "deadbeef" or "facade" stay). The query string and fragment are
 * dropped.
 */
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <string.h>

static const char *const route_keys[] = {"field", "target", "templates",
                                         "ignore_missing", "when"};

#define ROUTE_DEFAULT_FIELD "url.path"
/* ECS 9.4 has no http.route, so the route is a label (a keyword). */
#define ROUTE_DEFAULT_TARGET "labels.http_route"

#define ROUTE_ID "{id}"
#define HEX_ID_MIN_LEN 8
#define UUID_LEN 36

struct segment {
    const char *ptr; /* borrowed from the template text */
    size_t len;
    bool placeholder; /* `{name}`: matches any non-empty segment */
};

struct template
{
    const char *text; /* borrowed; the route when the template matches */
    struct segment *segments;
    size_t count;
};

struct route {
    const char *field;  /* borrowed */
    const char *target; /* borrowed */
    bool ignore_missing;
    struct template *templates;
    size_t template_count;
};

/* ---- templates ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Returns 1 for a `{name}` segment, 0 for a literal, -1 for a stray brace. */
static int classify_segment(const char *s, size_t len)
{
    const char *open = memchr(s, '{', len);
    const char *close = memchr(s, '}', len);

    if (open == NULL && close == NULL) {
        return 0;
    }
    if (len < 3 || s[0] != '{' || s[len - 1] != '}') {
        return -1;
    }
    for (size_t i = 1; i + 1 < len; i++) {
        if (!is_name_char(s[i])) {
            return -1;
        }
    }
    return 1;
}

static int template_from_conf(const struct lf_conf_node *node,
                              struct template *tpl, char *errbuf, size_t errlen)
{
    const char *text;
    const char *p;
    int rc = lf_conf_scalar(node, &text, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    tpl->text = text;
    if (text[0] != '/') {
        return lf_conf_error(node, errbuf, errlen,
                             "template '%s' must start with '/', such as "
                             "/api/users/{user}/tasks/{id}",
                             text);
    }
    tpl->count = 1;
    for (p = text; *p != '\0'; p++) {
        tpl->count += *p == '/';
    }
    tpl->segments = lf_calloc(tpl->count, sizeof(*tpl->segments));
    p = text;
    for (size_t i = 0; i < tpl->count; i++) {
        const char *slash = strchr(p, '/');
        size_t len = slash == NULL ? strlen(p) : (size_t)(slash - p);
        int kind = classify_segment(p, len);

        if (kind < 0) {
            return lf_conf_error(node, errbuf, errlen,
                                 "template '%s' has an invalid placeholder "
                                 "'%.*s': write a whole segment as {name}, "
                                 "with letters, digits or '_'",
                                 text, (int)len, p);
        }
        tpl->segments[i] = (struct segment){p, len, kind == 1};
        p = slash == NULL ? p + len : slash + 1;
    }
    return 0;
}

static int templates_from_conf(const struct lf_conf_node *spec,
                               struct route *route, char *errbuf, size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node item;
    int rc = 0;

    if (lf_conf_child(spec, "templates", &list) != 0 ||
        lf_conf_kind(&list) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&list) != LF_CONF_LIST) {
        return lf_conf_error(&list, errbuf, errlen,
                             "templates must be a list of routes, such as "
                             "`templates: [/api/users/{user}/tasks/{id}]`");
    }
    route->template_count = lf_conf_size(&list);
    route->templates =
        lf_calloc(route->template_count + 1, sizeof(*route->templates));
    for (size_t i = 0; rc == 0 && i < route->template_count; i++) {
        lf_conf_at(&list, i, &item);
        rc = template_from_conf(&item, &route->templates[i], errbuf, errlen);
    }
    return rc;
}

static int route_create(const struct lf_conf_node *spec, void **out,
                        char *errbuf, size_t errlen)
{
    struct route *route;
    int rc;

    rc = lf_conf_check_keys(spec, route_keys, LF_ARRAY_SIZE(route_keys), errbuf,
                            errlen);
    if (rc != 0) {
        return rc;
    }
    route = lf_calloc(1, sizeof(*route));
    *out = route;
    rc = lf_conf_get_str(spec, "field", ROUTE_DEFAULT_FIELD, &route->field,
                         errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "target", ROUTE_DEFAULT_TARGET,
                             &route->target, errbuf, errlen);
    }
    if (rc == 0 && (route->field[0] == '\0' || route->target[0] == '\0')) {
        rc = lf_conf_error(spec, errbuf, errlen,
                           "field and target must name fields, such as "
                           "`field: url.path`");
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "ignore_missing", true,
                              &route->ignore_missing, errbuf, errlen);
    }
    if (rc == 0) {
        rc = templates_from_conf(spec, route, errbuf, errlen);
    }
    return rc;
}

static void route_destroy(void *state)
{
    struct route *route = state;

    for (size_t i = 0; i < route->template_count; i++) {
        lf_free(route->templates[i].segments);
    }
    lf_free(route->templates);
    lf_free(route);
}

/* ---- matching ---- */

static bool template_matches(const struct template *tpl, const char *path,
                             size_t len)
{
    const char *end = path + len;
    const char *p = path;

    for (size_t i = 0; i < tpl->count; i++) {
        const struct segment *seg = &tpl->segments[i];
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t seg_len =
            slash == NULL ? (size_t)(end - p) : (size_t)(slash - p);
        bool last = i + 1 == tpl->count;

        if (last != (slash == NULL)) {
            return false; /* the path has fewer or more segments */
        }
        if (seg->placeholder
                ? seg_len == 0
                : seg_len != seg->len || memcmp(p, seg->ptr, seg_len) != 0) {
            return false;
        }
        p = slash == NULL ? end : slash + 1;
    }
    return true;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *s, size_t len)
{
    if (len != UUID_LEN) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

/* Returns true for a segment that identifies one resource. */
static bool is_id(const char *s, size_t len)
{
    bool all_digits = len > 0;
    bool all_hex = len >= HEX_ID_MIN_LEN;
    bool has_digit = false;

    for (size_t i = 0; i < len; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';

        all_digits &= digit;
        all_hex &= is_hex(s[i]);
        has_digit |= digit;
    }
    return all_digits || (all_hex && has_digit) || is_uuid(s, len);
}

/*
 * Writes the route of `path` into `out`, or only measures it when `out`
 * is NULL. Returns its length.
 */
static size_t write_route(const char *path, size_t len, char *out)
{
    const char *end = path + len;
    const char *p = path;
    size_t n = 0;

    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t seg_len =
            slash == NULL ? (size_t)(end - p) : (size_t)(slash - p);
        bool id = is_id(p, seg_len);
        const char *text = id ? ROUTE_ID : p;
        size_t text_len = id ? LF_STRLEN(ROUTE_ID) : seg_len;

        if (out != NULL) {
            memcpy(out + n, text, text_len);
        }
        n += text_len;
        if (slash == NULL) {
            return n;
        }
        if (out != NULL) {
            out[n] = '/';
        }
        n++;
        p = slash + 1;
    }
}

/* Returns true when some segment of `path` is an id. */
static bool has_id_segment(const char *path, size_t len)
{
    const char *end = path + len;
    const char *p = path;

    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t seg_len =
            slash == NULL ? (size_t)(end - p) : (size_t)(slash - p);

        if (is_id(p, seg_len)) {
            return true;
        }
        if (slash == NULL) {
            return false;
        }
        p = slash + 1;
    }
}

/* Returns the length of `path` without its query string and fragment. */
static size_t path_length(const char *path, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '?' || path[i] == '#') {
            return i;
        }
    }
    return len;
}

static enum lf_processor_result route_apply(void *state, struct lf_event *ev)
{
    struct route *route = state;
    const struct lf_value *found;
    struct lf_value tmp;
    const char *path;
    size_t len;
    char *text;

    found = lf_processor_get(ev, route->field, &tmp);
    if (found == NULL) {
        if (!route->ignore_missing) {
            lf_processor_fail(ev, "route_template: field '%s' not found",
                              route->field);
        }
        return LF_PROCESSOR_KEEP;
    }
    if (found->type != LF_VALUE_STRING) {
        lf_processor_fail(ev, "route_template: field '%s' is not a string",
                          route->field);
        return LF_PROCESSOR_KEEP;
    }
    path = found->u.str.ptr;
    len = path_length(path, found->u.str.len);

    for (size_t i = 0; i < route->template_count; i++) {
        if (template_matches(&route->templates[i], path, len)) {
            lf_event_set_str(ev, route->target, route->templates[i].text,
                             strlen(route->templates[i].text));
            return LF_PROCESSOR_KEEP;
        }
    }
    if (!has_id_segment(path, len)) {
        lf_event_set_str(ev, route->target, path, len);
        return LF_PROCESSOR_KEEP;
    }
    text = lf_event_alloc(ev, write_route(path, len, NULL));
    lf_event_set_str(ev, route->target, text, write_route(path, len, text));
    return LF_PROCESSOR_KEEP;
}

const struct lf_processor_kind lf_route_template_kind = {
    .name = "route_template",
    .create = route_create,
    .apply = route_apply,
    .destroy = route_destroy,
};
