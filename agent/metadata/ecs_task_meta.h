/*
 * Amazon ECS task metadata (endpoint version 4) for add_ecs_task_metadata:
 * GET ${ECS_CONTAINER_METADATA_URI_V4}/task for the task and
 * GET ${ECS_CONTAINER_METADATA_URI_V4} for the container the agent runs
 * in, on EC2 and Fargate launch types alike.
 */
#ifndef LF_AGENT_METADATA_ECS_TASK_META_H
#define LF_AGENT_METADATA_ECS_TASK_META_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "agent/metadata/meta_set.h"
#include "agent/metadata/meta_source.h"

/* Set by the ECS container agent in every container of a task. */
#define LF_ECS_TASK_META_URI_ENV "ECS_CONTAINER_METADATA_URI_V4"

/* Default of the `refresh_interval` option, in ms. */
enum { LF_ECS_TASK_META_DEFAULT_REFRESH_MS = 5 * 60 * 1000 };

/* Both requests of a fetch run in parallel and must end within this. */
enum { LF_ECS_TASK_META_TIMEOUT_MS = 3000 };

/* Maximum TCP connect time of each request, in ms. */
enum { LF_ECS_TASK_META_CONNECT_TIMEOUT_MS = 1000 };

struct lf_ecs_task_meta_options {
    const char *uri;     /* NULL: the ECS_CONTAINER_METADATA_URI_V4 value */
    uint64_t refresh_ms; /* 0: LF_ECS_TASK_META_DEFAULT_REFRESH_MS */
};

/*
 * Parses the task document and the container document (NULL when absent)
 * into a new set in `*out`. From the task: cloud.provider "aws",
 * cloud.region and cloud.account.id (from the task ARN),
 * cloud.availability_zone, orchestrator.type "ecs",
 * orchestrator.cluster.name, orchestrator.resource.type "task",
 * orchestrator.resource.id (the task ID), aws.ecs.task.arn,
 * aws.ecs.task.family, aws.ecs.task.revision, aws.ecs.launch_type and
 * aws.ecs.service.name. From the container: container.id, container.name,
 * container.image.name, container.image.tag, container.image.hash.all and
 * aws.ecs.container.arn. Returns 0, or LF_EPARSE with a message in `errbuf`
 * when a document is not a JSON object or the task ARN is missing or
 * malformed.
 */
int lf_ecs_task_meta_parse(const char *task_json, size_t task_len,
                           const char *container_json, size_t container_len,
                           struct lf_meta_set **out, char *errbuf,
                           size_t errlen);

/*
 * Creates a source that fetches both documents at start and every
 * refresh interval. Without a URI (option and environment both unset) the
 * source never fetches, and start logs one warning. Returns 0, or
 * LF_ECONFIG with a message in `errbuf` for a URI that is not http:// or
 * https://.
 */
int lf_ecs_task_meta_source_new(uv_loop_t *loop,
                                const struct lf_ecs_task_meta_options *opts,
                                struct lf_meta_source **out, char *errbuf,
                                size_t errlen);

#endif
