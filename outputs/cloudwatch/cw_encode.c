/*
 * JSON 1.1 bodies of the CloudWatch Logs output. Bodies are written
 * directly into a buffer with the core JSON string writer; replies, which
 * are small, are read with jansson.
 */
#include "outputs/cloudwatch/cw_encode.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_group_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
           c == '/' || c == '#';
}

bool lf_cw_log_group_name_valid(const char *name, size_t len)
{
    if (len < LF_CW_NAME_MIN_CHARS || len > LF_CW_NAME_MAX_CHARS) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_group_char((unsigned char)name[i])) {
            return false;
        }
    }
    return true;
}

bool lf_cw_log_stream_name_valid(const char *name, size_t len)
{
    size_t chars = 0;

    /* The limits count characters, so only lead bytes are counted. */
    if (lf_cw_utf8_valid_prefix(name, len) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c == ':' || c == '*' || c == '\0') {
            return false;
        }
        chars += (c & 0xc0) != 0x80 ? 1 : 0;
    }
    return chars >= LF_CW_NAME_MIN_CHARS && chars <= LF_CW_NAME_MAX_CHARS;
}

int lf_cw_encode_put_log_events(struct lf_buf *buf, const char *group,
                                const char *stream,
                                const struct lf_cw_batch *batch,
                                const char *sequence_token)
{
    char number[24];

    if (!lf_cw_log_group_name_valid(group, strlen(group)) ||
        !lf_cw_log_stream_name_valid(stream, strlen(stream)) ||
        batch->count == 0 ||
        (sequence_token != NULL && sequence_token[0] == '\0')) {
        return LF_EINVAL;
    }

    lf_buf_append_str(buf, "{\"logGroupName\":");
    lf_json_append_string(buf, group, strlen(group));
    lf_buf_append_str(buf, ",\"logStreamName\":");
    lf_json_append_string(buf, stream, strlen(stream));
    lf_buf_append_str(buf, ",\"logEvents\":[");
    for (size_t i = 0; i < batch->count; i++) {
        const struct lf_cw_entry *e = &batch->entries[i];
        int n = snprintf(number, sizeof(number), "%" PRId64, e->timestamp_ms);

        lf_buf_append_str(buf, i == 0 ? "{\"timestamp\":" : ",{\"timestamp\":");
        lf_buf_append(buf, number, (size_t)n);
        lf_buf_append_str(buf, ",\"message\":");
        lf_json_append_string(buf, e->message, e->message_len);
        lf_buf_append_char(buf, '}');
    }
    lf_buf_append_char(buf, ']');
    if (sequence_token != NULL) {
        lf_buf_append_str(buf, ",\"sequenceToken\":");
        lf_json_append_string(buf, sequence_token, strlen(sequence_token));
    }
    lf_buf_append_char(buf, '}');
    return 0;
}

/* ---- Replies ---- */

void lf_cw_put_reply_init(struct lf_cw_put_reply *reply)
{
    reply->rejected.too_new_start_index = -1;
    reply->rejected.too_old_end_index = -1;
    reply->rejected.expired_end_index = -1;
    reply->next_sequence_token = NULL;
}

void lf_cw_put_reply_cleanup(struct lf_cw_put_reply *reply)
{
    lf_free(reply->next_sequence_token);
    lf_cw_put_reply_init(reply);
}

/* Reads an optional integer member into `*out`; absent or null is -1. */
static int read_index(const json_t *obj, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        *out = -1;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return LF_EPROTO;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* Copies an optional string member; absent or null leaves NULL. */
static int read_string(const json_t *obj, const char *key, char **out)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return LF_EPROTO;
    }
    *out = lf_strndup(json_string_value(v), json_string_length(v));
    return 0;
}

int lf_cw_parse_put_reply(const char *body, size_t len,
                          struct lf_cw_put_reply *reply)
{
    json_t *root = NULL;
    const json_t *info;
    int rc = 0;

    lf_cw_put_reply_cleanup(reply);
    if (len == 0) {
        return 0;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        rc = LF_EPROTO;
        goto out;
    }
    rc = read_string(root, "nextSequenceToken", &reply->next_sequence_token);
    info = json_object_get(root, "rejectedLogEventsInfo");
    if (rc == 0 && info != NULL && !json_is_null(info)) {
        if (!json_is_object(info)) {
            rc = LF_EPROTO;
            goto out;
        }
        rc = read_index(info, "tooNewLogEventStartIndex",
                        &reply->rejected.too_new_start_index);
        if (rc == 0) {
            rc = read_index(info, "tooOldLogEventEndIndex",
                            &reply->rejected.too_old_end_index);
        }
        if (rc == 0) {
            rc = read_index(info, "expiredLogEventEndIndex",
                            &reply->rejected.expired_end_index);
        }
    }

out:
    if (rc != 0) {
        lf_cw_put_reply_cleanup(reply);
    }
    json_decref(root);
    return rc;
}

void lf_cw_error_init(struct lf_cw_error *err)
{
    memset(err, 0, sizeof(*err));
    err->action = LF_CW_ERROR_REJECT;
}

void lf_cw_error_cleanup(struct lf_cw_error *err)
{
    lf_free(err->message);
    lf_free(err->expected_sequence_token);
    lf_cw_error_init(err);
}

/*
 * Stores the shape name of an error type such as
 * "aws.protocoltests.restjson#FooError:http://internal.amazon.com/...":
 * the text before the first ':', after its last '#'.
 */
static void set_code(struct lf_cw_error *err, const char *type, size_t len)
{
    const char *colon = memchr(type, ':', len);
    const char *start = type;

    if (colon != NULL) {
        len = (size_t)(colon - type);
    }
    for (size_t i = 0; i < len; i++) {
        if (type[i] == '#') {
            start = type + i + 1;
        }
    }
    len -= (size_t)(start - type);
    if (len > LF_CW_ERROR_CODE_MAX) {
        len = LF_CW_ERROR_CODE_MAX;
    }
    memcpy(err->code, start, len);
    err->code[len] = '\0';
}

static char *copy_string_member(const json_t *obj, const char *key,
                                const char *fallback_key)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_string(v) && fallback_key != NULL) {
        v = json_object_get(obj, fallback_key);
    }
    if (!json_is_string(v)) {
        return NULL;
    }
    return lf_strndup(json_string_value(v), json_string_length(v));
}

static void read_error_body(struct lf_cw_error *err, const json_t *root,
                            bool have_code)
{
    const json_t *type = json_object_get(root, "code");

    if (!json_is_string(type)) {
        type = json_object_get(root, "__type");
    }
    if (!have_code && json_is_string(type)) {
        set_code(err, json_string_value(type), json_string_length(type));
    }
    err->message = copy_string_member(root, "message", "Message");
    err->expected_sequence_token =
        copy_string_member(root, "expectedSequenceToken", NULL);
}

void lf_cw_parse_error(int status, const char *error_type, const char *body,
                       size_t len, struct lf_cw_error *err)
{
    json_t *root = NULL;
    bool have_code = error_type != NULL && error_type[0] != '\0';

    lf_cw_error_cleanup(err);
    err->status = status;
    if (have_code) {
        set_code(err, error_type, strlen(error_type));
    }
    if (len > 0) {
        root = json_loadb(body, len, 0, NULL);
    }
    if (json_is_object(root)) {
        read_error_body(err, root, have_code);
    }
    json_decref(root);
    err->action = lf_cw_error_action_for(err->code, status);
}

struct code_action {
    const char *code;
    enum lf_cw_error_action action;
};

static const struct code_action code_actions[] = {
    {"ThrottlingException", LF_CW_ERROR_RETRY},
    {"ServiceUnavailableException", LF_CW_ERROR_RETRY},
    {"OperationAbortedException", LF_CW_ERROR_RETRY},
    {"RequestExpired", LF_CW_ERROR_RETRY},
    {"ResourceNotFoundException", LF_CW_ERROR_CREATE},
    {"ResourceAlreadyExistsException", LF_CW_ERROR_ALREADY_EXISTS},
    {"ExpiredTokenException", LF_CW_ERROR_REFRESH_CREDENTIALS},
    {"ExpiredToken", LF_CW_ERROR_REFRESH_CREDENTIALS},
    {"UnrecognizedClientException", LF_CW_ERROR_REFRESH_CREDENTIALS},
    /*
     * A missing IAM permission, a wrong key or a clock that is off is
     * fixed outside the agent, so the batch waits for the fix instead of
     * being dropped.
     */
    {"AccessDeniedException", LF_CW_ERROR_DENIED},
    {"InvalidSignatureException", LF_CW_ERROR_DENIED},
    {"SignatureDoesNotMatch", LF_CW_ERROR_DENIED},
    {"IncompleteSignature", LF_CW_ERROR_DENIED},
    {"IncompleteSignatureException", LF_CW_ERROR_DENIED},
    {"InvalidClientTokenId", LF_CW_ERROR_DENIED},
    {"MissingAuthenticationToken", LF_CW_ERROR_DENIED},
    {"MissingAuthenticationTokenException", LF_CW_ERROR_DENIED},
    {"InvalidSequenceTokenException", LF_CW_ERROR_RESEND_WITH_TOKEN},
    {"DataAlreadyAcceptedException", LF_CW_ERROR_ALREADY_ACCEPTED},
};

enum lf_cw_error_action lf_cw_error_action_for(const char *code, int status)
{
    for (size_t i = 0; i < sizeof(code_actions) / sizeof(code_actions[0]);
         i++) {
        if (strcmp(code, code_actions[i].code) == 0) {
            return code_actions[i].action;
        }
    }
    if (status == 429 || status >= 500) {
        return LF_CW_ERROR_RETRY;
    }
    return LF_CW_ERROR_REJECT;
}
