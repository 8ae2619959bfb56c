/*
 * Settings of the CloudWatch Logs output (`output.cloudwatch`) and the
 * name templates of its log groups and streams.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_CW_CONFIG_H
#define LF_OUTPUTS_CLOUDWATCH_CW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/buf.h"
#include "lf/conf.h"
#include "lf/event.h"
#include "outputs/cloudwatch/cw_batch.h"

enum lf_cw_format {
    LF_CW_FORMAT_MESSAGE, /* the original line */
    LF_CW_FORMAT_JSON,    /* the whole ECS document, as JSON */
};

/* One piece of a name template: literal text or a `{field}` reference. */
struct lf_cw_name_part {
    bool field;
    char *text; /* owned: the literal or the dotted field name */
    size_t len;
};

/* A parsed `log_group` or `log_stream` value. */
struct lf_cw_name_template {
    struct lf_cw_name_part *parts; /* owned */
    size_t count;
};

struct lf_cw_config {
    const char *region;    /* borrowed from the document or environment */
    char *endpoint;        /* owned base URL without a trailing '/' */
    const char *log_group; /* template text, borrowed */
    const char *log_stream;
    struct lf_cw_name_template group_template;
    struct lf_cw_name_template stream_template;
    bool auto_create;
    int retention_days; /* 0: no PutRetentionPolicy */
    enum lf_cw_format format;
    const char *profile;              /* shared-file profile, or NULL */
    const char *role_arn;             /* role to assume, or NULL */
    const char *role_session_name;    /* or NULL */
    const char *external_id;          /* or NULL */
    struct lf_cw_batch_options batch; /* limits and policies */
    long long flush_interval_ms;
    long long timeout_ms;
    long long credential_process_timeout_ms;
    long long backoff_init_ms;
    long long backoff_max_ms;
    size_t max_pending_events; /* publish returns LF_EFULL beyond this */
};

/*
 * Reads the `output.cloudwatch` map at `section`. The region falls back
 * to AWS_REGION, then AWS_DEFAULT_REGION. Returns 0, or LF_ECONFIG with
 * a message naming the key, its line and the fix.
 */
int lf_cw_config_parse(const struct lf_conf_node *section,
                       struct lf_cw_config *out, char *errbuf, size_t errlen);

/* Frees what lf_cw_config_parse() allocated; accepts a zeroed config. */
void lf_cw_config_cleanup(struct lf_cw_config *config);

/*
 * Parses a name template: literal text and `{a.b}` field references.
 * Returns 0, or LF_EINVAL with the reason in `*reason`.
 */
int lf_cw_name_template_parse(const char *text, struct lf_cw_name_template *out,
                              const char **reason);

void lf_cw_name_template_cleanup(struct lf_cw_name_template *tpl);

/*
 * Appends the template's value for `ev` to `out`. A missing field is
 * written as `-`, numbers in decimal. With `group_name`, characters a log
 * group name may not contain become '_'; otherwise ':' and '*', which a
 * stream name may not contain, do. The value is cut at 512 bytes on a
 * UTF-8 boundary. Returns the number of missing fields.
 */
size_t lf_cw_name_template_format(const struct lf_cw_name_template *tpl,
                                  const struct lf_event *ev, bool group_name,
                                  struct lf_buf *out);

#endif
