/*
 * An independent check of what the bulk reply reader reports for one
 * item: the item's text is parsed again with jansson, and an item the
 * reader counts as stored (indexed or duplicate) must be shown as stored
 * in that parse. Used by test_es_reply_mutate and tests/fuzz/fuzz_es_reply.c.
 */
#ifndef LF_TESTS_ES_REPLY_ORACLE_H
#define LF_TESTS_ES_REPLY_ORACLE_H

#include "outputs/elasticsearch/es_reply.h"
#include "lf/mem.h"

#include <jansson.h>

#include <stdbool.h>
#include <string.h>

/*
 * Reads a JSON number as an HTTP status: an integer, or a real with no
 * fractional part, from 100 to 599. Returns 0 for anything else.
 */
static int oracle_status(json_t *value)
{
    double real;

    if (json_is_integer(value)) {
        json_int_t n = json_integer_value(value);

        return n >= 100 && n < 600 ? (int)n : 0;
    }
    if (json_is_real(value)) {
        real = json_real_value(value);
        if (real >= 100 && real < 600 && real == (double)(int)real) {
            return (int)real;
        }
    }
    return 0;
}

/* Returns the error type of an item's `error`, "" when there is none. */
static void oracle_error_type(json_t *error, char *out, size_t size)
{
    const char *text = "";
    size_t len;

    if (json_is_object(error)) {
        text = json_string_value(json_object_get(error, "type"));
        text = text != NULL ? text : "";
    } else if (json_is_string(error)) {
        text = json_string_value(error);
    }
    len = strcspn(text, "[");
    if (len >= size) {
        len = size - 1;
    }
    memcpy(out, text, len);
    out[len] = '\0';
}

static bool oracle_is_conflict(const char *type)
{
    static const char *const types[] = {
        "version_conflict_engine_exception",
        "document_already_exists_exception",
        "VersionConflictEngineException",
        "DocumentAlreadyExistsException",
    };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Checks `item`, read from the `len` bytes at `text` (one item, a leading
 * comma and white space allowed). Returns NULL when the reply supports
 * the outcome, else a description of the violation.
 */
static const char *lf_es_oracle_check(const char *text, size_t len,
                                      const struct lf_es_item_result *item)
{
    const char *verdict = NULL;
    char type[LF_ES_REPLY_TYPE_SIZE];
    json_t *root = NULL;
    json_t *result;
    json_t *error;
    json_t *status_value;
    const char *action;
    char *copy;
    int status;

    if (item->outcome != LF_ES_ITEM_INDEXED &&
        item->outcome != LF_ES_ITEM_DUPLICATE) {
        return NULL;
    }
    while (len > 0 && (*text == ',' || *text == ' ' || *text == '\n' ||
                       *text == '\r' || *text == '\t')) {
        text++;
        len--;
    }

    /*
     * jansson rejects invalid UTF-8 and lone surrogates, which the reader
     * copies as they are or turns into U+FFFD. Bytes past ASCII become
     * letters, every surrogate escape \uFFFD and \u0000 \u0001 (which
     * the reader never matches in a member name), keeping the structure.
     */
    copy = lf_malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        copy[i] = (unsigned char)text[i] >= 0x80 ? 'x' : text[i];
        if (text[i] != '\\' || i + 1 >= len) {
            continue;
        }
        i++;
        copy[i] = text[i];
        if (text[i] == 'u' && i + 4 < len &&
            (text[i + 1] == 'd' || text[i + 1] == 'D') &&
            strchr("89abcdefABCDEF", text[i + 2]) != NULL &&
            text[i + 2] != '\0') {
            memcpy(copy + i + 1, "FFFD", 4);
            i += 4;
        } else if (text[i] == 'u' && i + 4 < len &&
                   memcmp(text + i + 1, "0000", 4) == 0) {
            memcpy(copy + i + 1, "0001", 4);
            i += 4;
        }
    }
    root =
        json_loadb(copy, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
    lf_free(copy);
    if (!json_is_object(root) || json_object_size(root) != 1) {
        verdict = "stored, but the item is not a JSON object of one member";
        goto done;
    }
    action = json_object_iter_key(json_object_iter(root));
    result = json_object_iter_value(json_object_iter(root));
    if (!json_is_object(result)) {
        verdict = "stored, but the item's result is not an object";
        goto done;
    }
    error = json_object_get(result, "error");
    status_value = json_object_get(result, "status");
    status = oracle_status(status_value);
    oracle_error_type(json_is_null(error) ? NULL : error, type, sizeof(type));
    if (item->outcome == LF_ES_ITEM_DUPLICATE) {
        if (status != 409 && !oracle_is_conflict(type)) {
            verdict = "duplicate, but neither 409 nor a conflict error";
        }
        goto done;
    }
    if (error != NULL && !json_is_null(error)) {
        verdict = "indexed, but the item has an error";
    } else if (status_value == NULL) {
        if (!json_is_true(json_object_get(result, "ok"))) {
            verdict = "indexed, but the item has no status and no \"ok\"";
        }
    } else if (status >= 200 && status < 300) {
        verdict = NULL;
    } else if (status == 404 && strcmp(action, "delete") == 0) {
        verdict = NULL;
    } else {
        verdict = "indexed, but the status is not 2xx";
    }
done:
    json_decref(root);
    return verdict;
}

#endif
