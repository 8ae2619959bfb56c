/*
 * CloudWatch Logs requests and replies over the AWS JSON 1.1 protocol:
 * the PutLogEvents body, the reply's rejectedLogEventsInfo, and error
 * replies with their code, message and expectedSequenceToken. Pure code:
 * no I/O, no logging.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_CW_ENCODE_H
#define LF_OUTPUTS_CLOUDWATCH_CW_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/buf.h"
#include "outputs/cloudwatch/cw_batch.h"

/* Content-Type of every request and reply of the JSON 1.1 protocol. */
#define LF_CW_CONTENT_TYPE "application/x-amz-json-1.1"

/* X-Amz-Target values: the model's targetPrefix, '.', the operation. */
#define LF_CW_TARGET_PREFIX "Logs_20140328"
#define LF_CW_TARGET_PUT_LOG_EVENTS LF_CW_TARGET_PREFIX ".PutLogEvents"
#define LF_CW_TARGET_CREATE_LOG_GROUP LF_CW_TARGET_PREFIX ".CreateLogGroup"
#define LF_CW_TARGET_CREATE_LOG_STREAM LF_CW_TARGET_PREFIX ".CreateLogStream"
#define LF_CW_TARGET_PUT_RETENTION_POLICY                                      \
    LF_CW_TARGET_PREFIX ".PutRetentionPolicy"

/* Signing name of the service ("endpointPrefix" of the model). */
#define LF_CW_SIGNING_NAME "logs"

/* Name limits, in characters, of the LogGroupName and LogStreamName
 * shapes of the model. */
#define LF_CW_NAME_MIN_CHARS 1
#define LF_CW_NAME_MAX_CHARS 512

/* Maximum length of a stored error code; longer codes are cut. */
#define LF_CW_ERROR_CODE_MAX 127

/* Action of the output after an error reply. */
enum lf_cw_error_action {
    LF_CW_ERROR_RETRY,               /* throttling, 429, 5xx: back off */
    LF_CW_ERROR_CREATE,              /* ResourceNotFoundException */
    LF_CW_ERROR_ALREADY_EXISTS,      /* ResourceAlreadyExistsException */
    LF_CW_ERROR_REFRESH_CREDENTIALS, /* expired or unrecognised token */
    LF_CW_ERROR_DENIED,              /* permission or signature refused */
    LF_CW_ERROR_RESEND_WITH_TOKEN,   /* InvalidSequenceTokenException */
    LF_CW_ERROR_ALREADY_ACCEPTED,    /* DataAlreadyAcceptedException */
    LF_CW_ERROR_REJECT,              /* any other client error */
};

/* A parsed PutLogEvents reply (HTTP 200). */
struct lf_cw_put_reply {
    struct lf_cw_rejected_info rejected; /* all -1 when absent */
    char *next_sequence_token;           /* owned; NULL when absent */
};

/* A parsed error reply. */
struct lf_cw_error {
    int status;                          /* HTTP status */
    char code[LF_CW_ERROR_CODE_MAX + 1]; /* "ThrottlingException", or "" */
    char *message;                       /* owned; NULL when absent */
    char *expected_sequence_token;       /* owned; NULL when absent */
    enum lf_cw_error_action action;
};

/*
 * Returns true when `name` is a valid log group name: 1 to 512
 * characters from [.-_/#A-Za-z0-9].
 */
bool lf_cw_log_group_name_valid(const char *name, size_t len);

/*
 * Returns true when `name` is a valid log stream name: 1 to 512 UTF-8
 * characters, none of them ':' or '*'.
 */
bool lf_cw_log_stream_name_valid(const char *name, size_t len);

/*
 * Appends the PutLogEvents body for `batch` to `buf`:
 *
 *     {"logGroupName":"G","logStreamName":"S","logEvents":[
 *      {"timestamp":1440938160000,"message":"..."},...]}
 *
 * on one line. Messages are escaped as RFC 8259 requires: '"', '\' and
 * control characters below U+0020 are escaped, and other characters are
 * copied as UTF-8. `sequence_token`, NULL to leave it out, adds the
 * "sequenceToken" member: the service now ignores it, but an endpoint
 * that still sends InvalidSequenceTokenException expects the token that
 * the error named. Returns 0, or LF_EINVAL with `buf` unchanged when a
 * name is invalid, the token is empty or the batch is empty.
 */
int lf_cw_encode_put_log_events(struct lf_buf *buf, const char *group,
                                const char *stream,
                                const struct lf_cw_batch *batch,
                                const char *sequence_token);

void lf_cw_put_reply_init(struct lf_cw_put_reply *reply);

void lf_cw_put_reply_cleanup(struct lf_cw_put_reply *reply);

/*
 * Parses the body of a successful PutLogEvents reply. An empty body is a
 * reply with no members. Returns 0, or LF_EPROTO when the body is not a
 * JSON object or a known member has the wrong type.
 */
int lf_cw_parse_put_reply(const char *body, size_t len,
                          struct lf_cw_put_reply *reply);

void lf_cw_error_init(struct lf_cw_error *err);

void lf_cw_error_cleanup(struct lf_cw_error *err);

/*
 * Parses an error reply. As the JSON 1.1 protocol specifies, the code
 * comes from the X-Amzn-Errortype header (`error_type`, NULL when
 * absent), else from the body's "code" or "__type" member. Only the
 * shape name is kept: the text after the last '#' and before a ':'. The
 * message is the "message" or "Message" member. A body that is empty or
 * not JSON leaves them empty, and the action then follows the status.
 * Cleans up what `err` held first.
 */
void lf_cw_parse_error(int status, const char *error_type, const char *body,
                       size_t len, struct lf_cw_error *err);

/*
 * Returns the action for an error code and HTTP status. Besides the
 * throttling codes, 429 and 5xx are retried. ExpiredTokenException,
 * ExpiredToken and UnrecognizedClientException (a revoked or rotated
 * session token) ask for fresh credentials. The caller refreshes them
 * once, and rejects the batch if the resend fails the same way.
 */
enum lf_cw_error_action lf_cw_error_action_for(const char *code, int status);

#endif
