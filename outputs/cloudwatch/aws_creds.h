/*
 * AWS credentials for the CloudWatch Logs output, looked up on the
 * agent's loop in the order the AWS SDKs use:
 * 1. the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *    AWS_SESSION_TOKEN);
 * 2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, through
 *    STS AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS overrides the
 *    regional endpoint);
 * 3. the shared config and credentials files (profile): keys,
 *    credential_process, or role_arn assumed through STS AssumeRole. The
 *    role is signed with the credentials of a source_profile chain or of
 *    a credential_source (see lf_aws_shared_config_resolve()). A profile
 *    set in the configuration skips step 1;
 * 4. the ECS container credentials endpoint
 *    (AWS_CONTAINER_CREDENTIALS_FULL_URI or
 *    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with
 *    AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
 * 5. the EC2 instance profile through IMDSv2, unless
 *    AWS_EC2_METADATA_DISABLED is "true"
 *    (AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address).
 *
 * Temporary credentials are fetched again in the background halfway
 * through their remaining life. Requests keep being signed with the
 * current credentials while they are usable, and wait only when there
 * are none. Secrets are never logged.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_AWS_CREDS_H
#define LF_OUTPUTS_CLOUDWATCH_AWS_CREDS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "agent/net/http_client.h"

/* Address of the ECS credentials endpoint for a relative URI. */
#define LF_AWS_ECS_CREDENTIALS_HOST "http://169.254.170.2"

/* Address of the EC2 instance metadata service. */
#define LF_AWS_IMDS_HOST "http://169.254.169.254"

/*
 * Credentials are not used for a request in their last 30 seconds, or in
 * the last quarter of the life they had when fetched if that is shorter.
 */
#define LF_AWS_CREDS_EXPIRY_MARGIN_S 30

/* Shortest time between two fetches of temporary credentials. */
#define LF_AWS_CREDS_MIN_REFRESH_MS 1000

/* Default time limit of a credential_process run. A chosen value:
 * botocore 1.43 waits without a limit. */
#define LF_AWS_PROCESS_TIMEOUT_MS 60000

struct lf_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;  /* NULL for long-term credentials */
    int64_t expiration_s; /* Unix time; 0 for credentials that never expire */
};

enum lf_aws_creds_source {
    LF_AWS_CREDS_NONE,
    LF_AWS_CREDS_ENV,
    LF_AWS_CREDS_WEB_IDENTITY,
    LF_AWS_CREDS_PROFILE,
    LF_AWS_CREDS_ECS,
    LF_AWS_CREDS_IMDS,
    LF_AWS_CREDS_ASSUMED_ROLE, /* STS AssumeRole with a source above */
    LF_AWS_CREDS_PROCESS,      /* credential_process of a profile */
};

struct lf_aws_creds_provider;

/*
 * Creates a provider on `loop` that fetches over `http` (borrowed).
 * `region` (borrowed) selects the STS endpoint. `profile` (borrowed, or
 * NULL for AWS_PROFILE or "default") selects the shared-file profile.
 * `on_change(arg)` runs on the loop whenever a fetch ends, with or
 * without credentials.
 */
struct lf_aws_creds_provider *
lf_aws_creds_provider_new(uv_loop_t *loop, struct lf_http_client *http,
                          const char *region, const char *profile,
                          void (*on_change)(void *arg), void *arg);

/*
 * Makes the provider assume `role_arn` with STS AssumeRole, signed with
 * the credentials the chain finds, and return the role's credentials.
 * `role_session_name` (NULL: "logferry-<Unix time>") and `external_id`
 * (or NULL) are sent with it. The strings are borrowed.
 */
void lf_aws_creds_assume_role(struct lf_aws_creds_provider *p,
                              const char *role_arn,
                              const char *role_session_name,
                              const char *external_id);

/* Sets the time limit of a credential_process run. */
void lf_aws_creds_set_process_timeout(struct lf_aws_creds_provider *p,
                                      uint64_t timeout_ms);

/* Frees the provider. A fetch in flight ends without effect, and a
 * credential_process still running is killed. */
void lf_aws_creds_provider_free(struct lf_aws_creds_provider *p);

/*
 * Returns credentials valid for longer than the expiry margin at `now_s`,
 * or NULL. Starts a lookup when there are none,
 * or a background refresh when temporary credentials are past half their
 * remaining life. After NULL, wait for on_change. The pointer is valid
 * until the next call into the provider.
 */
const struct lf_aws_credentials *
lf_aws_creds_get(struct lf_aws_creds_provider *p, int64_t now_s);

/*
 * Drops the current credentials, after the service called them expired,
 * so that the next lf_aws_creds_get() looks them up again.
 */
void lf_aws_creds_invalidate(struct lf_aws_creds_provider *p);

/* Returns where the current credentials came from. */
enum lf_aws_creds_source
lf_aws_creds_source(const struct lf_aws_creds_provider *p);

/* Returns the number of lookups that ended with credentials. */
uint64_t lf_aws_creds_refreshes(const struct lf_aws_creds_provider *p);

/* Wipes and frees the strings of `c` and clears it. */
void lf_aws_credentials_cleanup(struct lf_aws_credentials *c);

/*
 * Parses an ISO 8601 UTC time such as "2026-12-05T01:30:00Z" (fractional
 * seconds ignored). Returns 0 or LF_EINVAL.
 */
int lf_aws_parse_time(const char *text, int64_t *out_s);

#endif
