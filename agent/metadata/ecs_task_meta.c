/*
 * add_ecs_task_metadata. The ECS container agent (or Fargate) serves the
 * task metadata on a link-local address given to each container in
 * ECS_CONTAINER_METADATA_URI_V4. The task document names the cluster, the
 * task and its definition; the container document names the container
 * that the agent itself runs in. Field names follow ECS where it has one.
 */
#include "agent/metadata/ecs_task_meta.h"

#include "agent/metadata/meta_json.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "arn:PARTITION:ecs:REGION:ACCOUNT:task/[CLUSTER/]ID" */
struct arn_parts {
    const char *region;
    size_t region_len;
    const char *account;
    size_t account_len;
    const char *resource; /* "task/...", NUL-terminated */
};

enum { ECS_DETAIL_LEN = 512 };

struct ecs_request {
    struct ecs_fetch *fetch;
    struct lf_buf url;
    struct lf_buf body;
    int error;
    long status;
};

struct ecs_fetch {
    char *uri; /* base URI without a trailing "/" */
    lf_meta_fetch_done_cb done;
    void *done_arg;
    struct ecs_request task;
    struct ecs_request container;
    int pending; /* requests in flight */
    char detail[ECS_DETAIL_LEN];
};

/* Splits an ARN into its parts; returns false when it is not one. */
static bool split_arn(const char *arn, struct arn_parts *out)
{
    const char *field[6];
    const char *p = arn;

    for (size_t i = 0; i < 6; i++) {
        field[i] = p;
        if (i < 5) {
            p = strchr(p, ':');
            if (p == NULL) {
                return false;
            }
            p++;
        }
    }
    if (strncmp(arn, "arn:", LF_STRLEN("arn:")) != 0) {
        return false;
    }
    out->region = field[3];
    out->region_len = (size_t)(field[4] - field[3]) - 1;
    out->account = field[4];
    out->account_len = (size_t)(field[5] - field[4]) - 1;
    out->resource = field[5];
    return out->region_len > 0 && out->account_len > 0;
}

static int add_task_arn(struct lf_meta_builder *b, const json_t *task,
                        char *errbuf, size_t errlen)
{
    const char *arn = json_string_value(json_object_get(task, "TaskARN"));
    struct arn_parts parts;
    const char *id;
    int rc;

    if (arn == NULL || !split_arn(arn, &parts) ||
        strncmp(parts.resource, "task/", LF_STRLEN("task/")) != 0) {
        snprintf(errbuf, errlen, "task metadata has no valid TaskARN: %s",
                 arn != NULL ? arn : "(missing)");
        return LF_EPARSE;
    }
    id = strrchr(parts.resource, '/') + 1;

    rc = lf_meta_builder_add_str(b, "cloud.region", parts.region,
                                 parts.region_len);
    if (rc == 0) {
        rc = lf_meta_builder_add_str(b, "cloud.account.id", parts.account,
                                     parts.account_len);
    }
    if (rc == 0 && id[0] != '\0') {
        rc = lf_meta_builder_add_str(b, "orchestrator.resource.id", id,
                                     strlen(id));
    }
    if (rc == 0) {
        rc = lf_meta_builder_add_str(b, "aws.ecs.task.arn", arn, strlen(arn));
    }
    return rc;
}

/* Cluster is a short name or an ARN ending in "cluster/NAME". */
static int add_cluster(struct lf_meta_builder *b, const json_t *task)
{
    const char *cluster = json_string_value(json_object_get(task, "Cluster"));
    const char *name = cluster;
    struct arn_parts parts;

    if (cluster == NULL || cluster[0] == '\0') {
        return 0;
    }
    if (split_arn(cluster, &parts) &&
        strncmp(parts.resource, "cluster/", LF_STRLEN("cluster/")) == 0) {
        name = parts.resource + LF_STRLEN("cluster/");
    }
    if (name[0] == '\0') {
        return 0;
    }
    return lf_meta_builder_add_str(b, "orchestrator.cluster.name", name,
                                   strlen(name));
}

static int add_task(struct lf_meta_builder *b, const json_t *task,
                    char *errbuf, size_t errlen)
{
    static const struct {
        const char *key;
        const char *member;
    } fields[] = {
        {"cloud.availability_zone", "AvailabilityZone"},
        {"aws.ecs.task.family", "Family"},
        {"aws.ecs.task.revision", "Revision"},
        {"aws.ecs.launch_type", "LaunchType"},
        {"aws.ecs.service.name", "ServiceName"},
    };
    int rc;

    rc = lf_meta_builder_add_str(b, "cloud.provider", "aws",
                                 LF_STRLEN("aws"));
    if (rc == 0) {
        rc = add_task_arn(b, task, errbuf, errlen);
    }
    if (rc == 0) {
        rc = add_cluster(b, task);
    }
    if (rc == 0) {
        rc = lf_meta_builder_add_str(b, "orchestrator.type", "ecs",
                                     LF_STRLEN("ecs"));
    }
    if (rc == 0) {
        rc = lf_meta_builder_add_str(b, "orchestrator.resource.type", "task",
                                     LF_STRLEN("task"));
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(fields) && rc == 0; i++) {
        rc = lf_meta_json_add(b, fields[i].key, task, fields[i].member);
    }
    return rc;
}

/*
 * Splits an image reference "[REGISTRY/]REPOSITORY[:TAG][@DIGEST]" into
 * container.image.name (registry and repository) and container.image.tag.
 * A colon before the last "/" belongs to a registry port, not a tag.
 */
static int add_image(struct lf_meta_builder *b, const char *image)
{
    size_t len = strcspn(image, "@");
    const char *colon = NULL;
    int rc;

    for (size_t i = 0; i < len; i++) {
        if (image[i] == '/') {
            colon = NULL;
        } else if (image[i] == ':') {
            colon = &image[i];
        }
    }
    if (colon == NULL) {
        return len > 0 ? lf_meta_builder_add_str(b, "container.image.name",
                                                 image, len)
                       : 0;
    }
    rc = lf_meta_builder_add_str(b, "container.image.name", image,
                                 (size_t)(colon - image));
    if (rc == 0 && colon + 1 < image + len) {
        rc = lf_meta_builder_append_str(b, "container.image.tag", colon + 1,
                                        (size_t)(image + len - colon - 1));
    }
    return rc;
}

static int add_container(struct lf_meta_builder *b, const json_t *container)
{
    const char *image = json_string_value(json_object_get(container, "Image"));
    const json_t *image_id = json_object_get(container, "ImageID");
    int rc;

    rc = lf_meta_json_add(b, "container.id", container, "DockerId");
    if (rc == 0) {
        rc = lf_meta_json_add(b, "container.name", container, "Name");
    }
    if (rc == 0 && image != NULL) {
        rc = add_image(b, image);
    }
    if (rc == 0 && json_is_string(image_id) &&
        json_string_length(image_id) > 0) {
        rc = lf_meta_builder_append_str(b, "container.image.hash.all",
                                        json_string_value(image_id),
                                        json_string_length(image_id));
    }
    if (rc == 0) {
        rc = lf_meta_json_add(b, "aws.ecs.container.arn", container,
                              "ContainerARN");
    }
    return rc;
}

int lf_ecs_task_meta_parse(const char *task_json, size_t task_len,
                           const char *container_json, size_t container_len,
                           struct lf_meta_set **out, char *errbuf,
                           size_t errlen)
{
    struct lf_meta_builder b;
    json_t *task = NULL;
    json_t *container = NULL;
    int rc;

    *out = NULL;
    lf_meta_builder_init(&b);
    rc = lf_meta_json_load_object(task_json, task_len, "task metadata",
                                  &task, errbuf, errlen);
    if (rc == 0 && container_json != NULL) {
        rc = lf_meta_json_load_object(container_json, container_len,
                                      "container metadata", &container,
                                      errbuf, errlen);
    }
    if (rc == 0) {
        rc = add_task(&b, task, errbuf, errlen);
    }
    if (rc == 0 && container != NULL) {
        rc = add_container(&b, container);
    }
    if (rc == 0) {
        *out = lf_meta_builder_finish(&b);
    }

    json_decref(task);
    json_decref(container);
    lf_meta_builder_cleanup(&b);
    return rc;
}

static void finish(struct ecs_fetch *f)
{
    struct lf_meta_set *set = NULL;
    lf_meta_fetch_done_cb done = f->done;
    char errbuf[256];
    int rc = f->task.error != 0 ? f->task.error : f->container.error;

    if (rc == 0) {
        rc = lf_ecs_task_meta_parse(f->task.body.data, f->task.body.len,
                                    f->container.body.data,
                                    f->container.body.len, &set, errbuf,
                                    sizeof(errbuf));
        if (rc != 0) {
            snprintf(f->detail, sizeof(f->detail), "%s from %s", errbuf,
                     f->uri);
        }
    }
    f->done = NULL;
    done(f->done_arg, rc, set, f->detail);
}

static void on_response(void *arg, const struct lf_http_response *res)
{
    struct ecs_request *r = arg;
    struct ecs_fetch *f = r->fetch;

    if (res->error != 0) {
        r->error = res->error;
    } else if (res->status != 200) {
        r->error = LF_EPROTO;
    } else {
        lf_buf_append(&r->body, res->body, res->body_len);
    }
    /* The first failure names the fetch; a second adds nothing useful. */
    if (r->error != 0 && f->detail[0] == '\0') {
        if (res->error != 0) {
            snprintf(f->detail, sizeof(f->detail), "GET %s failed: %s",
                     r->url.data, res->error_text);
        } else {
            snprintf(f->detail, sizeof(f->detail),
                     "GET %s returned HTTP status %ld", r->url.data,
                     res->status);
        }
    }
    f->pending--;
    if (f->pending == 0) {
        finish(f);
    }
}

static int send_get(struct ecs_request *r, struct lf_http_client *http,
                    long timeout_ms)
{
    struct lf_http_request req = {0};

    r->error = 0;
    lf_buf_reset(&r->body);
    req.method = "GET";
    req.url = r->url.data;
    req.timeout_ms = timeout_ms;
    req.connect_timeout_ms = timeout_ms < LF_ECS_TASK_META_CONNECT_TIMEOUT_MS
                                 ? timeout_ms
                                 : LF_ECS_TASK_META_CONNECT_TIMEOUT_MS;
    req.no_proxy = 1;
    return lf_http_client_send(http, &req, on_response, r);
}

static int ecs_fetch(void *state, struct lf_http_client *http,
                     long timeout_ms, lf_meta_fetch_done_cb done, void *arg)
{
    struct ecs_fetch *f = state;
    int rc;

    f->detail[0] = '\0';
    f->done = done;
    f->done_arg = arg;
    rc = send_get(&f->task, http, timeout_ms);
    if (rc != 0) {
        return rc;
    }
    f->pending = 1;

    /* The task request is in flight and will report; a failure to start
       the second one is reported through it rather than returned. */
    rc = send_get(&f->container, http, timeout_ms);
    if (rc == 0) {
        f->pending++;
    } else {
        f->container.error = rc;
        snprintf(f->detail, sizeof(f->detail), "GET %s could not start",
                 f->container.url.data);
    }
    return 0;
}

static void ecs_free(void *state)
{
    struct ecs_fetch *f = state;

    lf_buf_cleanup(&f->task.url);
    lf_buf_cleanup(&f->task.body);
    lf_buf_cleanup(&f->container.url);
    lf_buf_cleanup(&f->container.body);
    lf_free(f->uri);
    lf_free(f);
}

int lf_ecs_task_meta_source_new(uv_loop_t *loop,
                                const struct lf_ecs_task_meta_options *opts,
                                struct lf_meta_source **out, char *errbuf,
                                size_t errlen)
{
    const char *uri = opts->uri != NULL ? opts->uri
                                        : getenv(LF_ECS_TASK_META_URI_ENV);
    struct lf_meta_source_options source_opts = {0};
    struct lf_meta_fetcher fetcher = {0};
    struct ecs_fetch *f;
    char *base = NULL;
    int rc;

    *out = NULL;
    if (uri != NULL && uri[0] != '\0') {
        rc = lf_meta_base_url(uri, true, LF_ECS_TASK_META_URI_ENV, &base,
                              errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
    } else {
        source_opts.disabled_reason =
            LF_ECS_TASK_META_URI_ENV " is not set, so no task metadata "
                                     "endpoint is known";
    }

    f = lf_calloc(1, sizeof(*f));
    f->uri = base;
    f->task.fetch = f;
    f->container.fetch = f;
    lf_buf_init(&f->task.url);
    lf_buf_init(&f->task.body);
    lf_buf_init(&f->container.url);
    lf_buf_init(&f->container.body);
    if (base != NULL) {
        lf_buf_appendf(&f->task.url, "%s/task", base);
        lf_buf_append_str(&f->container.url, base);
    }

    fetcher.component = "add_ecs_task_metadata";
    fetcher.state = f;
    fetcher.fetch = ecs_fetch;
    fetcher.free = ecs_free;
    fetcher.host = f->uri;
    source_opts.timeout_ms = LF_ECS_TASK_META_TIMEOUT_MS;
    source_opts.refresh_ms = opts->refresh_ms > 0
                                 ? opts->refresh_ms
                                 : LF_ECS_TASK_META_DEFAULT_REFRESH_MS;
    return lf_meta_source_new(loop, &fetcher, &source_opts, out);
}
