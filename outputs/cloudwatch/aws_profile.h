/*
 * The AWS shared config and credentials files (~/.aws/config and
 * ~/.aws/credentials), read as the AWS SDKs read them, for the credential
 * chain of the CloudWatch Logs output. No logging: errors go to the
 * caller's errbuf and name the file and line, never a secret value.
 *
 * The rules follow botocore 1.43 (configloader.py and session.py), which
 * reads the files with Python's configparser:
 * - config sections are "[default]" and "[profile NAME]"; other sections
 *   ("[sso-session x]", "[services x]", "[NAME]") are not profiles.
 * - credentials sections are "[NAME]".
 * - "key = value" or "key: value"; keys are case-insensitive; values are
 *   trimmed; an indented line continues the previous value.
 * - a line whose first non-blank character is '#' or ';' is a comment.
 *   A '#' or ';' after a value is part of the value.
 * - a profile in both files takes every key of the credentials file over
 *   the same key of the config file.
 * botocore rejects a file with a repeated section or key; this reader
 * merges repeated sections and keeps the last value of a repeated key.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_AWS_PROFILE_H
#define LF_OUTPUTS_CLOUDWATCH_AWS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#define LF_AWS_DEFAULT_PROFILE "default"

enum lf_aws_file_kind {
    LF_AWS_FILE_CONFIG,
    LF_AWS_FILE_CREDENTIALS,
};

/*
 * The environment the files are found with, borrowed. Filled by
 * lf_aws_profile_env_from_process() or by a test.
 */
struct lf_aws_profile_env {
    const char *home;             /* HOME */
    const char *profile;          /* AWS_PROFILE, NULL when unset */
    const char *credentials_file; /* AWS_SHARED_CREDENTIALS_FILE */
    const char *config_file;      /* AWS_CONFIG_FILE */
};

/* The keys of one profile, merged from both files. NULL when unset. */
struct lf_aws_profile {
    char *name;
    char *aws_access_key_id;
    char *aws_secret_access_key;
    char *aws_session_token;
    char *region;
    char *role_arn;
    char *source_profile;
    char *web_identity_token_file;
    char *credential_source;
    char *role_session_name;
    char *external_id;
    char *credential_process;
};

/* Source of the first credentials of a profile's chain. */
enum lf_aws_chain_source {
    LF_AWS_CHAIN_KEYS,          /* aws_access_key_id of `base` */
    LF_AWS_CHAIN_PROCESS,       /* credential_process of `base` */
    LF_AWS_CHAIN_ENVIRONMENT,   /* credential_source = Environment */
    LF_AWS_CHAIN_EC2_METADATA,  /* credential_source = Ec2InstanceMetadata */
    LF_AWS_CHAIN_ECS_CONTAINER, /* credential_source = EcsContainer */
};

/* A role that a profile assumes with STS AssumeRole. */
struct lf_aws_chain_role {
    char *profile; /* the profile that names the role */
    char *role_arn;
    char *role_session_name; /* NULL when unset */
    char *external_id;       /* NULL when unset */
};

/*
 * Credential chain of a profile: the first credentials from `source`,
 * then each role of `roles` assumed in order with the credentials of the
 * step before.
 */
struct lf_aws_chain {
    enum lf_aws_chain_source source;
    struct lf_aws_profile base; /* the profile `source` reads */
    struct lf_aws_chain_role *roles;
    size_t role_count;
};

/* Both files, parsed. */
struct lf_aws_shared_config;

/* Fills `env` from HOME, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE. The strings belong to the process environment. */
void lf_aws_profile_env_from_process(struct lf_aws_profile_env *env);

/*
 * Returns the profile to use: `explicit_name` when set (from the
 * agent's configuration), else AWS_PROFILE when set and not empty, else
 * "default".
 */
const char *lf_aws_profile_select(const struct lf_aws_profile_env *env,
                                  const char *explicit_name);

/*
 * Writes the path of a file into `path_out`: the environment variable's
 * path with a leading "~/" replaced by HOME, else HOME/.aws/config or
 * HOME/.aws/credentials. Returns 0, LF_ENOENT when neither the variable
 * nor HOME is set, or LF_ENAMETOOLONG.
 */
int lf_aws_profile_path(const struct lf_aws_profile_env *env,
                        enum lf_aws_file_kind kind, char *path_out,
                        size_t path_len);

struct lf_aws_shared_config *lf_aws_shared_config_new(void);

void lf_aws_shared_config_free(struct lf_aws_shared_config *cfg);

/*
 * Parses the text of one file into `cfg`; `file_name` names it in error
 * messages. Parse the config file before the credentials file; either
 * order gives the credentials file precedence. Returns 0, or LF_EPARSE
 * with "FILE:LINE: what is wrong; what to do" in `errbuf`.
 */
int lf_aws_shared_config_parse(struct lf_aws_shared_config *cfg,
                               enum lf_aws_file_kind kind,
                               const char *file_name, const char *text,
                               size_t len, char *errbuf, size_t errlen);

/*
 * Reads both files at the paths lf_aws_profile_path() gives. A missing
 * file is skipped, as the SDKs do. Returns 0, LF_EPARSE as above, or a
 * negative errno when a file exists but cannot be read, with the path in
 * `errbuf`.
 */
int lf_aws_shared_config_load(struct lf_aws_shared_config *cfg,
                              const struct lf_aws_profile_env *env,
                              char *errbuf, size_t errlen);

/*
 * Fills `out` with profile `name`, merged from both files. Returns 0,
 * LF_ENOENT when neither file has it, or LF_ECONFIG when the keys do not
 * make usable credentials: an access key ID without a secret key or the
 * reverse, or a session token without both. Errors name the profile, the
 * file and line of the offending key, and the fix.
 */
int lf_aws_shared_config_get(const struct lf_aws_shared_config *cfg,
                             const char *name, struct lf_aws_profile *out,
                             char *errbuf, size_t errlen);

/*
 * Resolves the credential chain of profile `name` as botocore's
 * AssumeRoleProvider does. A profile with role_arn assumes it with the
 * credentials of its source_profile or of its credential_source (one of
 * Environment, Ec2InstanceMetadata, EcsContainer), never both. A source
 * profile with keys gives them, even when it has a role_arn of its own,
 * else its role_arn is followed, else its credential_process runs. The
 * selected profile prefers role_arn to its keys and its keys to
 * credential_process. A profile may name itself as source_profile when
 * it has keys. Returns 0, or LF_ENOENT when neither file has the profile
 * or the profile has none of these keys. Returns LF_ECONFIG for an
 * invalid chain, with the profiles and the fix in `errbuf`. A
 * source_profile loop is listed there as "a -> b -> a".
 */
int lf_aws_shared_config_resolve(const struct lf_aws_shared_config *cfg,
                                 const char *name, struct lf_aws_chain *out,
                                 char *errbuf, size_t errlen);

/* Frees the strings of `chain` and clears it. */
void lf_aws_chain_cleanup(struct lf_aws_chain *chain);

/* Frees the strings of `p` and clears it. Secrets are wiped first. */
void lf_aws_profile_cleanup(struct lf_aws_profile *p);

#endif
