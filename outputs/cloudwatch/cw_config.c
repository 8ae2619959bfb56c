/*
 * `output.cloudwatch`: typed settings with their defaults, and the name
 * templates of log groups and streams.
 */
#include "outputs/cloudwatch/cw_config.h"
#include "lf/error.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/aws_creds.h"
#include "outputs/cloudwatch/cw_encode.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CW_DEFAULT_STREAM "{host.name}/{log.file.path}"
#define CW_DEFAULT_FLUSH_MS 5000
#define CW_DEFAULT_TIMEOUT_MS 30000
#define CW_DEFAULT_BACKOFF_INIT_MS 1000
#define CW_DEFAULT_BACKOFF_MAX_MS 60000
/* Two full batches per stream of a busy agent; bounds memory. */
#define CW_DEFAULT_MAX_PENDING 20000
#define CW_NAME_MAX_BYTES 512

static const char *const cw_keys[] = {
    "region",
    "endpoint",
    "fips",
    "log_group",
    "log_stream",
    "auto_create",
    "retention_days",
    "format",
    "profile",
    "role_arn",
    "role_session_name",
    "external_id",
    "out_of_window",
    "large_event",
    "max_event_bytes",
    "max_batch_bytes",
    "max_batch_events",
    "flush_interval",
    "timeout",
    "credential_process_timeout",
    "backoff.init",
    "backoff.max",
    "max_pending_events",
};

/* Values of the RetentionInDays enum of PutRetentionPolicy (API model). */
static const int retention_values[] = {
    1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
    365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
};

/* ---- name templates ---- */

void lf_cw_name_template_cleanup(struct lf_cw_name_template *tpl)
{
    for (size_t i = 0; i < tpl->count; i++) {
        lf_free(tpl->parts[i].text);
    }
    lf_free(tpl->parts);
    tpl->parts = NULL;
    tpl->count = 0;
}

static void add_part(struct lf_cw_name_template *tpl, bool field,
                     const char *text, size_t len)
{
    tpl->parts = lf_realloc(tpl->parts, (tpl->count + 1) * sizeof(*tpl->parts));
    tpl->parts[tpl->count].field = field;
    tpl->parts[tpl->count].text = lf_strndup(text, len);
    tpl->parts[tpl->count].len = len;
    tpl->count++;
}

static bool is_field_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
           c == '-';
}

int lf_cw_name_template_parse(const char *text, struct lf_cw_name_template *out,
                              const char **reason)
{
    const char *p = text;

    memset(out, 0, sizeof(*out));
    if (*text == '\0') {
        *reason = "the name is empty";
        return LF_EINVAL;
    }
    while (*p != '\0') {
        const char *open = strchr(p, '{');
        const char *close = strchr(p, '}');
        const char *name;

        if (close != NULL && (open == NULL || close < open)) {
            *reason = "'}' without a matching '{'";
            goto fail;
        }
        if (open == NULL) {
            add_part(out, false, p, strlen(p));
            break;
        }
        if (open > p) {
            add_part(out, false, p, (size_t)(open - p));
        }
        if (close == NULL) {
            *reason = "'{' without a matching '}'";
            goto fail;
        }
        name = open + 1;
        if (close == name) {
            *reason = "'{}' names no field";
            goto fail;
        }
        for (const char *c = name; c < close; c++) {
            if (!is_field_char(*c)) {
                *reason = "a field name may contain only letters, digits "
                          "and '_', '.', '@', '-'";
                goto fail;
            }
        }
        add_part(out, true, name, (size_t)(close - name));
        p = close + 1;
    }
    return 0;

fail:
    lf_cw_name_template_cleanup(out);
    return LF_EINVAL;
}

static bool group_char_valid(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
           c == '/' || c == '#';
}

/* Appends a field value, replacing characters the name may not contain. */
static void append_name_text(struct lf_buf *out, const char *s, size_t len,
                             bool group_name)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (group_name ? !group_char_valid(c) : (c == ':' || c == '*')) {
            c = '_';
        }
        lf_buf_append_char(out, (char)c);
    }
}

size_t lf_cw_name_template_format(const struct lf_cw_name_template *tpl,
                                  const struct lf_event *ev, bool group_name,
                                  struct lf_buf *out)
{
    size_t start = out->len;
    size_t missing = 0;
    char num[32];

    for (size_t i = 0; i < tpl->count; i++) {
        const struct lf_cw_name_part *part = &tpl->parts[i];
        const struct lf_value *v;

        if (!part->field) {
            lf_buf_append(out, part->text, part->len);
            continue;
        }
        v = lf_event_get(ev, part->text);
        if (v != NULL && v->type == LF_VALUE_STRING && v->u.str.len > 0) {
            append_name_text(out, v->u.str.ptr, v->u.str.len, group_name);
        } else if (v != NULL && v->type == LF_VALUE_INT) {
            snprintf(num, sizeof(num), "%" PRId64, v->u.i);
            lf_buf_append_str(out, num);
        } else {
            lf_buf_append_char(out, '-');
            missing++;
        }
    }
    if (out->len - start > CW_NAME_MAX_BYTES) {
        out->len = start + lf_cw_utf8_cut(out->data + start, out->len - start,
                                          CW_NAME_MAX_BYTES);
        out->data[out->len] = '\0';
    }
    return missing;
}

/* ---- settings ---- */

static int parse_enum(const struct lf_conf_node *section, const char *key,
                      const char *const *names, size_t count, int def, int *out,
                      char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    const char *text;
    int rc;

    rc = lf_conf_get_str(section, key, NULL, &text, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    *out = def;
    if (text == NULL) {
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    lf_conf_child(section, key, &node);
    return lf_conf_error(&node, errbuf, errlen, "expected %s or %s, got '%s'",
                         names[0], names[1], text);
}

static int parse_template(const struct lf_conf_node *section, const char *key,
                          const char *text, struct lf_cw_name_template *tpl,
                          char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    const char *reason;

    if (lf_cw_name_template_parse(text, tpl, &reason) == 0) {
        return 0;
    }
    lf_conf_child(section, key, &node);
    return lf_conf_error(&node, errbuf, errlen, "invalid template '%s': %s",
                         text, reason);
}

/* Checks the literal parts of the group template against the name rules. */
static int check_group_literals(const struct lf_conf_node *section,
                                const struct lf_cw_config *out, char *errbuf,
                                size_t errlen)
{
    struct lf_conf_node node;

    for (size_t i = 0; i < out->group_template.count; i++) {
        const struct lf_cw_name_part *part = &out->group_template.parts[i];

        if (part->field) {
            continue;
        }
        for (size_t j = 0; j < part->len; j++) {
            if (!group_char_valid((unsigned char)part->text[j])) {
                lf_conf_child(section, "log_group", &node);
                return lf_conf_error(
                    &node, errbuf, errlen,
                    "invalid log group name '%s': '%c' is not allowed; use "
                    "letters, digits and '.', '-', '_', '/', '#'",
                    out->log_group, part->text[j]);
            }
        }
    }
    for (size_t i = 0; i < out->stream_template.count; i++) {
        const struct lf_cw_name_part *part = &out->stream_template.parts[i];

        if (!part->field && (memchr(part->text, ':', part->len) != NULL ||
                             memchr(part->text, '*', part->len) != NULL)) {
            lf_conf_child(section, "log_stream", &node);
            return lf_conf_error(&node, errbuf, errlen,
                                 "invalid log stream name '%s': ':' and '*' "
                                 "are not allowed",
                                 out->log_stream);
        }
    }
    return 0;
}

static int parse_names(const struct lf_conf_node *section,
                       struct lf_cw_config *out, char *errbuf, size_t errlen)
{
    int rc;

    rc = lf_conf_get_str(section, "log_group", NULL, &out->log_group, errbuf,
                         errlen);
    if (rc != 0) {
        return rc;
    }
    if (out->log_group == NULL) {
        return lf_conf_error(section, errbuf, errlen,
                             "missing 'log_group': name the log group, such "
                             "as /ecs/rewards-api");
    }
    rc = lf_conf_get_str(section, "log_stream", CW_DEFAULT_STREAM,
                         &out->log_stream, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = parse_template(section, "log_group", out->log_group,
                        &out->group_template, errbuf, errlen);
    if (rc == 0) {
        rc = parse_template(section, "log_stream", out->log_stream,
                            &out->stream_template, errbuf, errlen);
    }
    if (rc == 0) {
        rc = check_group_literals(section, out, errbuf, errlen);
    }
    return rc;
}

static int parse_endpoint(const struct lf_conf_node *section,
                          struct lf_cw_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    const char *endpoint;
    const char *prefix = "logs";
    bool fips;
    size_t len;
    int rc;

    rc = lf_conf_get_str(section, "region", NULL, &out->region, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (out->region == NULL || out->region[0] == '\0') {
        out->region = getenv("AWS_REGION");
    }
    if (out->region == NULL || out->region[0] == '\0') {
        out->region = getenv("AWS_DEFAULT_REGION");
    }
    if (out->region == NULL || out->region[0] == '\0') {
        return lf_conf_error(section, errbuf, errlen,
                             "missing 'region': set it, or AWS_REGION, to "
                             "the AWS region of the log groups, such as "
                             "us-east-1");
    }
    for (const char *c = out->region; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-')) {
            lf_conf_child(section, "region", &node);
            return lf_conf_error(&node, errbuf, errlen,
                                 "invalid region '%s': expected a name such "
                                 "as us-east-1",
                                 out->region);
        }
    }
    rc = lf_conf_get_str(section, "endpoint", NULL, &endpoint, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = lf_conf_get_bool(section, "fips", false, &fips, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (endpoint == NULL) {
        struct lf_buf url;

        /* The endpoint rules of the API model: GovCloud endpoints are
         * FIPS endpoints, other regions have a logs-fips host. */
        if (fips && strncmp(out->region, "us-gov-", 7) != 0) {
            prefix = "logs-fips";
        }
        lf_buf_init(&url);
        lf_buf_appendf(&url, "https://%s.%s.amazonaws.com%s", prefix,
                       out->region,
                       strncmp(out->region, "cn-", 3) == 0 ? ".cn" : "");
        out->endpoint = url.data;
        return 0;
    }
    if (fips) {
        lf_conf_child(section, "fips", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "fips and endpoint are both set: remove fips, "
                             "or the endpoint to use the FIPS endpoint of "
                             "the region");
    }
    if (strncmp(endpoint, "http://", 7) != 0 &&
        strncmp(endpoint, "https://", 8) != 0) {
        lf_conf_child(section, "endpoint", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid endpoint '%s': expected an http:// or "
                             "https:// URL",
                             endpoint);
    }
    len = strlen(endpoint);
    while (len > 0 && endpoint[len - 1] == '/') {
        len--;
    }
    out->endpoint = lf_strndup(endpoint, len);
    return 0;
}

static int parse_retention(const struct lf_conf_node *section,
                           struct lf_cw_config *out, char *errbuf,
                           size_t errlen)
{
    struct lf_conf_node node;
    long long days;
    int rc;

    rc = lf_conf_get_int(section, "retention_days", 0, 0, 3653, &days, errbuf,
                         errlen);
    if (rc != 0 || days == 0) {
        return rc;
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(retention_values); i++) {
        if (retention_values[i] == days) {
            out->retention_days = (int)days;
            return 0;
        }
    }
    lf_conf_child(section, "retention_days", &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "invalid retention_days %lld: CloudWatch Logs "
                         "accepts 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
                         "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, "
                         "3288 or 3653",
                         days);
}

static int parse_role(const struct lf_conf_node *section,
                      struct lf_cw_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    size_t len;
    int rc;

    rc = lf_conf_get_str(section, "role_arn", NULL, &out->role_arn, errbuf,
                         errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(section, "role_session_name", NULL,
                             &out->role_session_name, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(section, "external_id", NULL, &out->external_id,
                             errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if (out->role_arn != NULL && strncmp(out->role_arn, "arn:", 4) != 0) {
        lf_conf_child(section, "role_arn", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid role_arn '%s': expected an IAM role "
                             "ARN such as "
                             "arn:aws:iam::123456789012:role/logferry",
                             out->role_arn);
    }
    len = out->role_session_name != NULL ? strlen(out->role_session_name) : 0;
    if (out->role_session_name != NULL &&
        (len < 2 || len > 64 ||
         strspn(out->role_session_name,
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_+=,.@-") != len)) {
        lf_conf_child(section, "role_session_name", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid role_session_name '%s': use 2 to 64 "
                             "letters, digits and _+=,.@-",
                             out->role_session_name);
    }
    if ((out->role_session_name != NULL || out->external_id != NULL) &&
        out->role_arn == NULL) {
        return lf_conf_error(section, errbuf, errlen,
                             "role_session_name and external_id need "
                             "role_arn: set the role to assume");
    }
    return 0;
}

static int parse_limits(const struct lf_conf_node *section,
                        struct lf_cw_config *out, char *errbuf, size_t errlen)
{
    static const char *const window_names[] = {"drop", "clamp"};
    static const char *const large_names[] = {"split", "truncate"};
    static const char *const format_names[] = {"message", "json"};
    long long value;
    int choice;
    int rc;

    rc = parse_enum(section, "format", format_names, 2, LF_CW_FORMAT_MESSAGE,
                    &choice, errbuf, errlen);
    out->format = (enum lf_cw_format)choice;
    if (rc == 0) {
        rc = parse_enum(section, "out_of_window", window_names, 2,
                        LF_CW_OUT_OF_WINDOW_DROP, &choice, errbuf, errlen);
        out->batch.out_of_window = (enum lf_cw_out_of_window)choice;
    }
    if (rc == 0) {
        rc = parse_enum(section, "large_event", large_names, 2,
                        LF_CW_LARGE_EVENT_SPLIT, &choice, errbuf, errlen);
        out->batch.large_event = (enum lf_cw_large_event)choice;
    }
    if (rc == 0) {
        rc = lf_conf_get_int(section, "max_event_bytes", LF_CW_MAX_EVENT_BYTES,
                             1024, LF_CW_MAX_EVENT_BYTES, &value, errbuf,
                             errlen);
        out->batch.max_event_bytes = (size_t)value;
    }
    if (rc == 0) {
        rc = lf_conf_get_int(section, "max_batch_bytes", LF_CW_MAX_BATCH_BYTES,
                             1024, LF_CW_MAX_BATCH_BYTES, &value, errbuf,
                             errlen);
        out->batch.max_batch_bytes = (size_t)value;
    }
    if (rc == 0) {
        rc =
            lf_conf_get_int(section, "max_batch_events", LF_CW_MAX_BATCH_EVENTS,
                            1, LF_CW_MAX_BATCH_EVENTS, &value, errbuf, errlen);
        out->batch.max_batch_events = (size_t)value;
    }
    if (rc == 0) {
        rc = lf_conf_get_int(section, "max_pending_events",
                             CW_DEFAULT_MAX_PENDING, 1, 10000000, &value,
                             errbuf, errlen);
        out->max_pending_events = (size_t)value;
    }
    if (rc == 0 && out->batch.max_event_bytes > out->batch.max_batch_bytes) {
        return lf_conf_error(section, errbuf, errlen,
                             "max_event_bytes (%zu) is larger than "
                             "max_batch_bytes (%zu): lower max_event_bytes",
                             out->batch.max_event_bytes,
                             out->batch.max_batch_bytes);
    }
    return rc;
}

static int parse_durations(const struct lf_conf_node *section,
                           struct lf_cw_config *out, char *errbuf,
                           size_t errlen)
{
    int rc;

    rc = lf_conf_get_duration_ms(section, "flush_interval", CW_DEFAULT_FLUSH_MS,
                                 &out->flush_interval_ms, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(section, "timeout", CW_DEFAULT_TIMEOUT_MS,
                                     &out->timeout_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(
            section, "credential_process_timeout", LF_AWS_PROCESS_TIMEOUT_MS,
            &out->credential_process_timeout_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(section, "backoff.init",
                                     CW_DEFAULT_BACKOFF_INIT_MS,
                                     &out->backoff_init_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(section, "backoff.max",
                                     CW_DEFAULT_BACKOFF_MAX_MS,
                                     &out->backoff_max_ms, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if (out->flush_interval_ms <= 0 || out->timeout_ms <= 0 ||
        out->credential_process_timeout_ms <= 0 || out->backoff_init_ms <= 0) {
        return lf_conf_error(section, errbuf, errlen,
                             "flush_interval, timeout, "
                             "credential_process_timeout and backoff.init "
                             "must be greater than 0");
    }
    if (out->backoff_max_ms < out->backoff_init_ms) {
        return lf_conf_error(section, errbuf, errlen,
                             "backoff.max (%lldms) is shorter than "
                             "backoff.init (%lldms): raise backoff.max",
                             out->backoff_max_ms, out->backoff_init_ms);
    }
    return 0;
}

int lf_cw_config_parse(const struct lf_conf_node *section,
                       struct lf_cw_config *out, char *errbuf, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    lf_cw_batch_options_init(&out->batch);
    rc = lf_conf_check_keys(section, cw_keys, LF_ARRAY_SIZE(cw_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = parse_endpoint(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_names(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(section, "auto_create", false, &out->auto_create,
                              errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_retention(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(section, "profile", NULL, &out->profile, errbuf,
                             errlen);
    }
    if (rc == 0) {
        rc = parse_role(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_limits(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_durations(section, out, errbuf, errlen);
    }
    if (rc != 0) {
        lf_cw_config_cleanup(out);
    }
    return rc;
}

void lf_cw_config_cleanup(struct lf_cw_config *config)
{
    lf_free(config->endpoint);
    config->endpoint = NULL;
    lf_cw_name_template_cleanup(&config->group_template);
    lf_cw_name_template_cleanup(&config->stream_template);
}
