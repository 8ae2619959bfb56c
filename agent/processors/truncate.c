/*
 * truncate_fields: shortens string values to at most `max_bytes` bytes or
 * `max_characters` UTF-8 characters and flags the event `truncated` in
 * log.flags. A value is shortened in place (its length only), so nothing
 * is copied.
 */
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdint.h>
#include <string.h>

static const char *const truncate_keys[] = {
    "fields",         "max_bytes",     "max_characters",
    "ignore_missing", "fail_on_error", "when",
};

/* Maximum max_bytes and max_characters: the maximum max_line_bytes. */
#define TRUNCATE_LIMIT_MAX (64LL * 1024 * 1024)

struct truncate {
    const char **names; /* borrowed */
    size_t count;
    size_t limit;
    bool by_characters; /* `limit` counts characters, not bytes */
    bool ignore_missing;
    bool fail_on_error;
    size_t *old_lens; /* per field, for the undo; SIZE_MAX: unchanged */
};

static int read_limit(const struct lf_conf_node *spec, struct truncate *tr,
                      char *errbuf, size_t errlen)
{
    struct lf_conf_node bytes;
    struct lf_conf_node chars;
    bool has_bytes = lf_conf_child(spec, "max_bytes", &bytes) == 0;
    bool has_chars = lf_conf_child(spec, "max_characters", &chars) == 0;
    long long limit;
    int rc;

    if (has_bytes == has_chars) {
        return lf_conf_error(spec, errbuf, errlen,
                             "truncate_fields needs exactly one of "
                             "max_bytes and max_characters, such as "
                             "`max_bytes: 1024`");
    }
    tr->by_characters = has_chars;
    rc = lf_conf_get_int(spec, has_chars ? "max_characters" : "max_bytes", 0, 1,
                         TRUNCATE_LIMIT_MAX, &limit, errbuf, errlen);
    tr->limit = (size_t)limit;
    return rc;
}

static int truncate_create(const struct lf_conf_node *spec, void **out,
                           char *errbuf, size_t errlen)
{
    struct truncate *tr;
    int rc;

    rc = lf_conf_check_keys(spec, truncate_keys, LF_ARRAY_SIZE(truncate_keys),
                            errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    tr = lf_calloc(1, sizeof(*tr));
    *out = tr;
    rc = lf_processor_get_str_list(spec, "fields", true, &tr->names, &tr->count,
                                   errbuf, errlen);
    if (rc == 0) {
        rc = read_limit(spec, tr, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "ignore_missing", false,
                              &tr->ignore_missing, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "fail_on_error", true, &tr->fail_on_error,
                              errbuf, errlen);
    }
    if (rc == 0) {
        tr->old_lens = lf_calloc(tr->count, sizeof(*tr->old_lens));
    }
    return rc;
}

static bool is_continuation(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

/*
 * Returns the length to cut `s` to. A cut never splits a UTF-8 sequence:
 * max_bytes backs off to the start of the sequence it would split, and
 * max_characters counts sequences by their lead bytes.
 */
static size_t cut_length(const struct truncate *tr, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    size_t cut;

    if (!tr->by_characters) {
        if (len <= tr->limit) {
            return len;
        }
        cut = tr->limit;
        while (cut > 0 && is_continuation(p[cut])) {
            cut--;
        }
        return cut;
    }
    for (cut = 0; cut < len; cut++) {
        if (!is_continuation(p[cut]) && chars++ == tr->limit) {
            return cut;
        }
    }
    return len;
}

/* Truncates one field. Returns false when the field fails. */
static bool truncate_field(struct truncate *tr, size_t index,
                           struct lf_event *ev)
{
    const char *name = tr->names[index];
    const struct lf_value *found;
    struct lf_value tmp;
    struct lf_value value;
    size_t cut;

    tr->old_lens[index] = SIZE_MAX;
    found = lf_processor_get(ev, name, &tmp);
    if (found == NULL) {
        if (tr->ignore_missing) {
            return true;
        }
        lf_processor_fail(ev, "truncate_fields: field '%s' not found", name);
        return false;
    }
    if (found->type != LF_VALUE_STRING) {
        lf_processor_fail(ev, "truncate_fields: field '%s' is not a string",
                          name);
        return false;
    }
    cut = cut_length(tr, found->u.str.ptr, found->u.str.len);
    if (cut == found->u.str.len) {
        return true;
    }
    tr->old_lens[index] = found->u.str.len;
    value = *found;
    value.u.str.len = cut;
    if (found == &tmp) {
        ev->message_len = cut; /* the line, read as `message` */
    } else {
        lf_event_set(ev, name, &value);
    }
    return true;
}

/* Restores the lengths of the fields before `end`. */
static void undo_truncation(struct truncate *tr, size_t end,
                            struct lf_event *ev)
{
    for (size_t i = 0; i < end; i++) {
        const struct lf_value *v = lf_event_get(ev, tr->names[i]);
        struct lf_value value;

        if (tr->old_lens[i] == SIZE_MAX) {
            continue;
        }
        if (v == NULL) {
            ev->message_len = tr->old_lens[i];
            continue;
        }
        value = *v;
        value.u.str.len = tr->old_lens[i];
        lf_event_set(ev, tr->names[i], &value);
    }
}

static enum lf_processor_result truncate_apply(void *state, struct lf_event *ev)
{
    struct truncate *tr = state;
    bool truncated = false;

    for (size_t i = 0; i < tr->count; i++) {
        if (!truncate_field(tr, i, ev) && tr->fail_on_error) {
            undo_truncation(tr, i, ev);
            return LF_PROCESSOR_KEEP;
        }
        truncated |= tr->old_lens[i] != SIZE_MAX;
    }
    if (truncated) {
        ev->log_flags |= LF_LOG_FLAG_TRUNCATED;
    }
    return LF_PROCESSOR_KEEP;
}

static void truncate_destroy(void *state)
{
    struct truncate *tr = state;

    lf_free(tr->names);
    lf_free(tr->old_lens);
    lf_free(tr);
}

const struct lf_processor_kind lf_truncate_fields_kind = {
    .name = "truncate_fields",
    .create = truncate_create,
    .apply = truncate_apply,
    .destroy = truncate_destroy,
};
