/*
 * The glue between metadata processors (agent/processors/metadata.c) and
 * metadata sources (agent/metadata). Each source's latest set is turned
 * into event fields when it changes, not per event: arrays such as
 * host.ip become one JSON value each.
 */
#include "agent/metadata_bind.h"

#include "agent/metadata/ec2_meta.h"
#include "agent/metadata/ecs_task_meta.h"
#include "agent/metadata/host_meta.h"
#include "agent/metadata/meta_source.h"
#include "agent/processors/processors.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <string.h>

/* One source and the event fields of its latest set. */
struct provider {
    struct provider *next;
    struct lf_metadata_binds *binds;
    struct lf_metadata_request request;
    struct lf_meta_source *source;
    struct lf_meta_set *set; /* the set `view` was built from; a ref */
    struct lf_field *fields; /* keys and strings borrowed from `set` */
    struct lf_buf *arrays;   /* the JSON text of each array field */
    struct lf_metadata_fields view;
};

struct lf_metadata_binds {
    struct provider *providers;
    size_t pending; /* sources whose first fetch has not ended */
    void (*ready)(void *arg);
    void *ready_arg;
    bool closed;
};

static void release_view(struct provider *p)
{
    for (size_t i = 0; p->arrays != NULL && i < p->view.count; i++) {
        lf_buf_cleanup(&p->arrays[i]);
    }
    lf_free(p->arrays);
    lf_free(p->fields);
    p->arrays = NULL;
    p->fields = NULL;
    p->view.fields = NULL;
    p->view.count = 0;
    lf_meta_set_unref(p->set);
    p->set = NULL;
}

/* Builds the event fields of `set`, whose reference `p` takes. */
static void build_view(struct provider *p, struct lf_meta_set *set)
{
    size_t count = lf_meta_set_count(set);

    release_view(p);
    p->set = set;
    p->fields = lf_calloc(count == 0 ? 1 : count, sizeof(*p->fields));
    p->arrays = lf_calloc(count == 0 ? 1 : count, sizeof(*p->arrays));
    for (size_t i = 0; i < count; i++) {
        const struct lf_meta_field *mf = lf_meta_set_at(set, i);
        struct lf_field *field = &p->fields[i];
        struct lf_buf *text = &p->arrays[i];

        lf_buf_init(text);
        field->key = mf->key;
        if (!mf->is_array) {
            field->value = mf->values[0];
            continue;
        }
        lf_buf_append_char(text, '[');
        for (size_t v = 0; v < mf->value_count; v++) {
            if (v > 0) {
                lf_buf_append_char(text, ',');
            }
            lf_json_append_string(text, mf->values[v].u.str.ptr,
                                  mf->values[v].u.str.len);
        }
        lf_buf_append_char(text, ']');
        field->value.type = LF_VALUE_JSON;
        field->value.u.str.ptr = text->data;
        field->value.u.str.len = text->len;
    }
    p->view.fields = p->fields;
    p->view.count = count;
}

/*
 * Returns the fields of the source's latest set. The set an event
 * borrowed from is released only when a newer one comes, which happens
 * between events: the loop thread builds and encodes one event at a time.
 */
static const struct lf_metadata_fields *provider_fields(void *arg)
{
    struct provider *p = arg;
    struct lf_meta_set *set;

    if (p->source == NULL) {
        /* Closed at shutdown: events read while draining keep the last. */
        return p->set != NULL ? &p->view : NULL;
    }
    set = lf_meta_source_acquire(p->source);
    if (set == NULL) {
        return p->set != NULL ? &p->view : NULL;
    }
    if (set == p->set) {
        lf_meta_set_unref(set);
    } else {
        build_view(p, set);
    }
    return &p->view;
}

static void on_source_ready(void *arg)
{
    struct provider *p = arg;
    struct lf_metadata_binds *binds = p->binds;

    if (binds->pending > 0 && --binds->pending == 0 && !binds->closed) {
        binds->ready(binds->ready_arg);
    }
}

static bool same_request(const struct lf_metadata_request *a,
                         const struct lf_metadata_request *b)
{
    if (a->kind != b->kind || a->timeout_ms != b->timeout_ms ||
        a->refresh_ms != b->refresh_ms) {
        return false;
    }
    if (a->endpoint == NULL || b->endpoint == NULL) {
        return a->endpoint == b->endpoint;
    }
    return strcmp(a->endpoint, b->endpoint) == 0;
}

static int new_source(uv_loop_t *loop, const struct lf_metadata_request *req,
                      struct lf_meta_source **out)
{
    char errbuf[256] = "";
    int rc;

    switch (req->kind) {
    case LF_METADATA_HOST:
        rc = lf_host_meta_source_new(loop, "/", req->refresh_ms, out);
        break;
    case LF_METADATA_CLOUD: {
        struct lf_ec2_meta_options opts = {
            .endpoint = req->endpoint,
            .timeout_ms = req->timeout_ms,
        };

        rc = lf_ec2_meta_source_new(loop, &opts, out, errbuf, sizeof(errbuf));
        break;
    }
    case LF_METADATA_ECS_TASK: {
        struct lf_ecs_task_meta_options opts = {
            .refresh_ms = req->refresh_ms,
        };

        rc = lf_ecs_task_meta_source_new(loop, &opts, out, errbuf,
                                         sizeof(errbuf));
        break;
    }
    default:
        rc = LF_EINVAL;
        break;
    }
    if (rc != 0) {
        lf_log_error("metadata", "starting a metadata source failed: %s%s%s",
                     lf_strerror(rc), errbuf[0] != '\0' ? ": " : "", errbuf);
    }
    return rc;
}

/* Binds every metadata step of `procs`, starting sources as needed. */
static int bind_list(uv_loop_t *loop, struct lf_metadata_binds *binds,
                     struct lf_processors *procs)
{
    struct lf_metadata_step *step;

    for (size_t i = 0; (step = lf_processors_metadata_step(procs, i)) != NULL;
         i++) {
        const struct lf_metadata_request *req = lf_metadata_step_request(step);
        struct provider *p = binds->providers;
        int rc;

        while (p != NULL && !same_request(&p->request, req)) {
            p = p->next;
        }
        if (p == NULL) {
            p = lf_calloc(1, sizeof(*p));
            p->binds = binds;
            p->request = *req;
            rc = new_source(loop, req, &p->source);
            if (rc != 0) {
                lf_free(p);
                return rc;
            }
            p->next = binds->providers;
            binds->providers = p;
        }
        lf_metadata_step_bind(step, provider_fields, p);
    }
    return 0;
}

int lf_metadata_binds_start(uv_loop_t *loop, const struct lf_config *config,
                            void (*ready)(void *arg), void *arg,
                            struct lf_metadata_binds **out)
{
    struct lf_metadata_binds *binds = lf_calloc(1, sizeof(*binds));
    int rc = 0;

    binds->ready = ready;
    binds->ready_arg = arg;
    *out = binds;
    for (size_t i = 0; rc == 0 && i < config->input_count; i++) {
        rc = bind_list(loop, binds, config->inputs[i].processors);
    }
    if (rc == 0) {
        rc = bind_list(loop, binds, config->processors);
    }
    if (rc != 0) {
        return rc;
    }
    for (struct provider *p = binds->providers; p != NULL; p = p->next) {
        binds->pending++;
    }
    if (binds->pending == 0) {
        ready(arg);
        return 0;
    }
    for (struct provider *p = binds->providers; p != NULL; p = p->next) {
        rc = lf_meta_source_start(p->source, on_source_ready, p);
        if (rc != 0) {
            lf_log_error("metadata", "starting a metadata fetch failed: %s",
                         lf_strerror(rc));
            return rc;
        }
    }
    return 0;
}

bool lf_metadata_binds_empty(const struct lf_metadata_binds *binds)
{
    return binds->providers == NULL;
}

void lf_metadata_binds_close(struct lf_metadata_binds *binds)
{
    if (binds == NULL || binds->closed) {
        return;
    }
    binds->closed = true;
    for (struct provider *p = binds->providers; p != NULL; p = p->next) {
        lf_meta_source_close(p->source, NULL, NULL);
        p->source = NULL;
    }
}

void lf_metadata_binds_free(struct lf_metadata_binds *binds)
{
    struct provider *next;

    if (binds == NULL) {
        return;
    }
    for (struct provider *p = binds->providers; p != NULL; p = next) {
        next = p->next;
        release_view(p);
        lf_free(p);
    }
    lf_free(binds);
}
