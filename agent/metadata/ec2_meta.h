/*
 * EC2 instance metadata through IMDSv2 for add_cloud_metadata: a session
 * token from PUT /latest/api/token, then the instance identity document
 * from GET /latest/dynamic/instance-identity/document with that token.
 */
#ifndef LF_AGENT_METADATA_EC2_META_H
#define LF_AGENT_METADATA_EC2_META_H

#include <stddef.h>

#include <uv.h>

#include "agent/metadata/meta_set.h"
#include "agent/metadata/meta_source.h"

/* The link-local address of the instance metadata service on EC2. */
#define LF_EC2_META_DEFAULT_ENDPOINT "http://169.254.169.254"

/* Environment variable that replaces the default endpoint. */
#define LF_EC2_META_ENDPOINT_ENV "LOGFERRY_IMDS_ENDPOINT"

/* Default of the `timeout` option: both requests together, in ms. */
enum { LF_EC2_META_DEFAULT_TIMEOUT_MS = 3000 };

/* Maximum TCP connect time of each request, in ms. */
enum { LF_EC2_META_CONNECT_TIMEOUT_MS = 1000 };

struct lf_ec2_meta_options {
    const char *endpoint; /* "http://host[:port]"; NULL: see below */
    long timeout_ms;      /* 0: LF_EC2_META_DEFAULT_TIMEOUT_MS */
};

/*
 * Returns the endpoint to use: `configured` when not NULL, else `env` (the
 * value of LOGFERRY_IMDS_ENDPOINT) when set and not empty, else the
 * default.
 */
const char *lf_ec2_meta_endpoint(const char *configured, const char *env);

/*
 * Parses an instance identity document into a new set in `*out`:
 * cloud.provider "aws", cloud.account.id, cloud.region,
 * cloud.availability_zone, cloud.instance.id, cloud.machine.type and
 * aws.ec2.image.id (ECS has no field for the image). Returns 0, or
 * LF_EPARSE with a message in `errbuf` when the text is not a JSON object
 * or lacks instanceId or region.
 */
int lf_ec2_meta_parse_identity(const char *json, size_t len,
                               struct lf_meta_set **out, char *errbuf,
                               size_t errlen);

/*
 * Creates a source that fetches the identity document once at start. The
 * endpoint comes from lf_ec2_meta_endpoint() with the process environment.
 * Returns 0, or LF_ECONFIG with a message in `errbuf` for an endpoint that
 * is not an http:// or https:// URL without a path.
 */
int lf_ec2_meta_source_new(uv_loop_t *loop,
                           const struct lf_ec2_meta_options *opts,
                           struct lf_meta_source **out, char *errbuf,
                           size_t errlen);

#endif
