/*
 * rename and copy_fields: move or copy values between fields, pair by
 * pair. A pair fails when its source is missing (unless ignore_missing)
 * or its target already exists. With fail_on_error, the pairs already
 * done are then undone in reverse order, so the event is as before.
 */
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <string.h>

static const char *const move_keys[] = {"fields", "ignore_missing",
                                        "fail_on_error", "when"};

static const char *const pair_keys[] = {"from", "to"};

struct pair {
    const char *from; /* borrowed */
    const char *to;   /* borrowed */
};

/* The undo record of a pair in the event being processed. */
enum pair_state {
    PAIR_SKIPPED,   /* nothing changed */
    PAIR_DONE,      /* the value moved or was copied */
    PAIR_FROM_LINE, /* rename took the event's line as `message` */
};

struct move {
    const char *name; /* "rename" or "copy_fields", for messages */
    bool remove_source;
    struct pair *pairs;
    size_t count;
    bool ignore_missing;
    bool fail_on_error;
    unsigned char *states; /* enum pair_state per pair, for the undo */
};

static int pair_name(const struct lf_conf_node *pair, const char *key,
                     const char **out, char *errbuf, size_t errlen)
{
    int rc = lf_conf_get_str(pair, key, NULL, out, errbuf, errlen);

    if (rc == 0 && (*out == NULL || (*out)[0] == '\0')) {
        return lf_conf_error(pair, errbuf, errlen,
                             "each entry needs `%s:`, a field name, such as "
                             "`{from: source.ip, to: client.ip}`",
                             key);
    }
    return rc;
}

static int pair_from_conf(const struct lf_conf_node *node, struct pair *pair,
                          char *errbuf, size_t errlen)
{
    int rc;

    rc = lf_conf_check_keys(node, pair_keys, LF_ARRAY_SIZE(pair_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = pair_name(node, "from", &pair->from, errbuf, errlen);
    }
    if (rc == 0) {
        rc = pair_name(node, "to", &pair->to, errbuf, errlen);
    }
    if (rc == 0 && strcmp(pair->from, pair->to) == 0) {
        rc = lf_conf_error(node, errbuf, errlen,
                           "from and to are both '%s'; name two different "
                           "fields",
                           pair->from);
    }
    if (rc == 0 &&
        (strcmp(pair->to, "@timestamp") == 0 || strcmp(pair->to, "tags") == 0 ||
         strcmp(pair->to, "log.flags") == 0)) {
        rc = lf_conf_error(node, errbuf, errlen,
                           "to cannot be '%s': logferry builds that field "
                           "itself; choose another target",
                           pair->to);
    }
    return rc;
}

static int move_create(const struct lf_conf_node *spec, const char *name,
                       bool remove_source, void **out, char *errbuf,
                       size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node item;
    struct move *mv;
    int rc;

    rc = lf_conf_check_keys(spec, move_keys, LF_ARRAY_SIZE(move_keys), errbuf,
                            errlen);
    if (rc != 0) {
        return rc;
    }
    lf_conf_child(spec, "fields", &list);
    if (lf_conf_kind(&list) != LF_CONF_LIST || lf_conf_size(&list) == 0) {
        return lf_conf_error(lf_conf_kind(&list) == LF_CONF_MISSING ? spec
                                                                    : &list,
                             errbuf, errlen,
                             "%s needs `fields:`, a non-empty list of "
                             "{from, to} pairs, such as `fields: [{from: "
                             "source.ip, to: client.ip}]`",
                             name);
    }
    mv = lf_calloc(1, sizeof(*mv));
    *out = mv;
    mv->name = name;
    mv->remove_source = remove_source;
    mv->count = lf_conf_size(&list);
    mv->pairs = lf_calloc(mv->count, sizeof(*mv->pairs));
    mv->states = lf_calloc(mv->count, sizeof(*mv->states));
    for (size_t i = 0; rc == 0 && i < mv->count; i++) {
        lf_conf_at(&list, i, &item);
        rc = pair_from_conf(&item, &mv->pairs[i], errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "ignore_missing", false,
                              &mv->ignore_missing, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "fail_on_error", true, &mv->fail_on_error,
                              errbuf, errlen);
    }
    return rc;
}

static int rename_create(const struct lf_conf_node *spec, void **out,
                         char *errbuf, size_t errlen)
{
    return move_create(spec, "rename", true, out, errbuf, errlen);
}

static int copy_fields_create(const struct lf_conf_node *spec, void **out,
                              char *errbuf, size_t errlen)
{
    return move_create(spec, "copy_fields", false, out, errbuf, errlen);
}

/* Returns true when `key` is a field of `ev`, or its line for message. */
static bool has_field(const struct lf_event *ev, const char *key)
{
    struct lf_value tmp;

    return lf_processor_get(ev, key, &tmp) != NULL;
}

/* Moves or copies one pair. Returns false when the pair fails. */
static bool apply_pair(struct move *mv, size_t index, struct lf_event *ev)
{
    const struct pair *pair = &mv->pairs[index];
    const struct lf_value *found;
    struct lf_value tmp;
    struct lf_value value;

    mv->states[index] = PAIR_SKIPPED;
    found = lf_processor_get(ev, pair->from, &tmp);
    if (found == NULL) {
        if (mv->ignore_missing) {
            return true;
        }
        lf_processor_fail(ev, "%s: field '%s' not found", mv->name, pair->from);
        return false;
    }
    if (has_field(ev, pair->to)) {
        lf_processor_fail(ev, "%s: target field '%s' already exists", mv->name,
                          pair->to);
        return false;
    }
    value = *found;
    mv->states[index] = PAIR_DONE;
    if (mv->remove_source && !lf_event_remove(ev, pair->from)) {
        /* Only the line, read as `message`, has no field to remove. */
        ev->message = NULL;
        ev->message_len = 0;
        mv->states[index] = PAIR_FROM_LINE;
    }
    lf_event_set(ev, pair->to, &value);
    return true;
}

/* Reverts the pairs before `end`, last first. */
static void undo_pairs(struct move *mv, size_t end, struct lf_event *ev)
{
    for (size_t i = end; i > 0; i--) {
        const struct pair *pair = &mv->pairs[i - 1];
        const struct lf_value *moved;
        struct lf_value value;

        if (mv->states[i - 1] == PAIR_SKIPPED) {
            continue;
        }
        moved = lf_event_get(ev, pair->to);
        if (moved == NULL) {
            continue;
        }
        value = *moved;
        lf_event_remove(ev, pair->to);
        if (mv->states[i - 1] == PAIR_FROM_LINE) {
            ev->message = value.u.str.ptr;
            ev->message_len = value.u.str.len;
        } else if (mv->remove_source) {
            lf_event_set(ev, pair->from, &value);
        }
    }
}

static enum lf_processor_result move_apply(void *state, struct lf_event *ev)
{
    struct move *mv = state;

    for (size_t i = 0; i < mv->count; i++) {
        if (!apply_pair(mv, i, ev) && mv->fail_on_error) {
            undo_pairs(mv, i, ev);
            break;
        }
    }
    return LF_PROCESSOR_KEEP;
}

static void move_destroy(void *state)
{
    struct move *mv = state;

    lf_free(mv->pairs);
    lf_free(mv->states);
    lf_free(mv);
}

const struct lf_processor_kind lf_rename_kind = {
    .name = "rename",
    .create = rename_create,
    .apply = move_apply,
    .destroy = move_destroy,
};

const struct lf_processor_kind lf_copy_fields_kind = {
    .name = "copy_fields",
    .create = copy_fields_create,
    .apply = move_apply,
    .destroy = move_destroy,
};
