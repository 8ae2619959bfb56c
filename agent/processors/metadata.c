/*
 * add_host_metadata, add_cloud_metadata and add_ecs_task_metadata. The
 * processors only copy fields: the agent fetches the metadata on its loop
 * (agent/metadata) and binds each processor to a function that returns
 * the latest field set, so no event waits for, or causes, a fetch.
 */
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <string.h>

/* Fetch timeouts over 60 s would hold back the start of reading. */
#define METADATA_MAX_TIMEOUT_MS 60000

static const char *const host_keys[] = {"refresh_interval", "when"};
static const char *const cloud_keys[] = {"endpoint", "timeout", "when"};
static const char *const ecs_keys[] = {"refresh_interval", "when"};

struct lf_metadata_step {
    struct lf_metadata_request request;
    lf_metadata_fn fetch; /* NULL until the agent binds a source */
    void *fetch_arg;
};

static int read_refresh(const struct lf_conf_node *spec,
                        struct lf_metadata_step *step, char *errbuf,
                        size_t errlen)
{
    long long ms = 0;
    int rc;

    rc = lf_conf_get_duration_ms(spec, "refresh_interval", 0, &ms, errbuf,
                                 errlen);
    if (rc == 0 && ms < 0) {
        struct lf_conf_node node;

        lf_conf_child(spec, "refresh_interval", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "refresh_interval must not be negative; write a "
                           "duration such as 5m");
    }
    step->request.refresh_ms = (uint64_t)ms;
    return rc;
}

static int metadata_create(const struct lf_conf_node *spec,
                           enum lf_metadata_kind kind, const char *const *keys,
                           size_t key_count, void **out, char *errbuf,
                           size_t errlen)
{
    struct lf_metadata_step *step = lf_calloc(1, sizeof(*step));
    int rc = 0;

    *out = step;
    step->request.kind = kind;
    if (lf_conf_kind(spec) == LF_CONF_MISSING) {
        return 0;
    }
    rc = lf_conf_check_keys(spec, keys, key_count, errbuf, errlen);
    if (rc == 0 && kind == LF_METADATA_CLOUD) {
        long long ms = 0;

        rc = lf_conf_get_str(spec, "endpoint", NULL, &step->request.endpoint,
                             errbuf, errlen);
        if (rc == 0) {
            rc = lf_conf_get_duration_ms(spec, "timeout", 0, &ms, errbuf,
                                         errlen);
        }
        if (rc == 0 && (ms < 0 || ms > METADATA_MAX_TIMEOUT_MS)) {
            struct lf_conf_node node;

            lf_conf_child(spec, "timeout", &node);
            rc = lf_conf_error(&node, errbuf, errlen,
                               "timeout must be between 0 and 60s, such as "
                               "3s");
        }
        step->request.timeout_ms = (long)ms;
    } else if (rc == 0) {
        rc = read_refresh(spec, step, errbuf, errlen);
    }
    return rc;
}

static int host_create(const struct lf_conf_node *spec, void **out,
                       char *errbuf, size_t errlen)
{
    return metadata_create(spec, LF_METADATA_HOST, host_keys,
                           LF_ARRAY_SIZE(host_keys), out, errbuf, errlen);
}

static int cloud_create(const struct lf_conf_node *spec, void **out,
                        char *errbuf, size_t errlen)
{
    return metadata_create(spec, LF_METADATA_CLOUD, cloud_keys,
                           LF_ARRAY_SIZE(cloud_keys), out, errbuf, errlen);
}

static int ecs_create(const struct lf_conf_node *spec, void **out, char *errbuf,
                      size_t errlen)
{
    return metadata_create(spec, LF_METADATA_ECS_TASK, ecs_keys,
                           LF_ARRAY_SIZE(ecs_keys), out, errbuf, errlen);
}

/*
 * Sets every field of the bound source's latest set, replacing values the
 * event already has: the metadata describes where the agent runs, which
 * is more reliable than what a log line claims.
 */
static enum lf_processor_result metadata_apply(void *state, struct lf_event *ev)
{
    struct lf_metadata_step *step = state;
    const struct lf_metadata_fields *set;

    if (step->fetch == NULL) {
        return LF_PROCESSOR_KEEP;
    }
    set = step->fetch(step->fetch_arg);
    for (size_t i = 0; set != NULL && i < set->count; i++) {
        lf_event_set(ev, set->fields[i].key, &set->fields[i].value);
    }
    return LF_PROCESSOR_KEEP;
}

static void metadata_destroy(void *state)
{
    lf_free(state);
}

const struct lf_processor_kind lf_add_host_metadata_kind = {
    .name = "add_host_metadata",
    .create = host_create,
    .apply = metadata_apply,
    .destroy = metadata_destroy,
};

const struct lf_processor_kind lf_add_cloud_metadata_kind = {
    .name = "add_cloud_metadata",
    .create = cloud_create,
    .apply = metadata_apply,
    .destroy = metadata_destroy,
};

const struct lf_processor_kind lf_add_ecs_task_metadata_kind = {
    .name = "add_ecs_task_metadata",
    .create = ecs_create,
    .apply = metadata_apply,
    .destroy = metadata_destroy,
};

const struct lf_metadata_request *
lf_metadata_step_request(const struct lf_metadata_step *step)
{
    return &step->request;
}

void lf_metadata_step_bind(struct lf_metadata_step *step, lf_metadata_fn fn,
                           void *arg)
{
    step->fetch = fn;
    step->fetch_arg = arg;
}
