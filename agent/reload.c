/*
 * Configuration reload. The new file is compared with the running
 * configuration as parsed documents: inputs by id, other settings by
 * top-level key. Removed and changed inputs stop at once. Added and
 * changed inputs start once the events that the stopped harvesters read
 * have results, so a changed input resumes from an acknowledged offset
 * that covers every line it sent, and sends no line twice.
 */
#include "agent/reload.h"
#include "agent/config/config_secrets.h"
#include "agent/metadata_bind.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* How often a reload checks whether the stopped files have their results. */
#define RELOAD_CHECK_MS 100

enum reload_state {
    RELOAD_IDLE,
    RELOAD_BINDING, /* the new metadata processors fetch their fields */
    RELOAD_WAITING, /* added and changed inputs wait for stopped files */
};

/* One configuration that a reload loaded. */
struct generation {
    struct generation *next;
    struct lf_config config;
    struct lf_metadata_binds *binds; /* closed when retired */
    bool loaded;  /* `config` not cleaned up yet */
    bool retired; /* replaced by a later configuration */
};

/* The changes of one reload, computed before any is applied. */
struct diff {
    bool *restart; /* per input of the new configuration: added or changed */
    size_t started;  /* inputs added or changed */
    size_t stopped;  /* inputs removed or changed */
    struct lf_buf added;   /* ids, comma separated */
    struct lf_buf removed;
    struct lf_buf changed;
    bool processors_changed;
    bool level_changed;
};

struct lf_reload {
    struct lf_reload_targets targets;
    const struct lf_config *first;   /* the configuration at start */
    const struct lf_config *current;
    struct generation *generations;  /* newest first */
    struct generation *pending;      /* loaded, not applied yet */
    struct diff diff;                /* of `pending` */
    enum reload_state state;
    bool requested;  /* a SIGHUP came while a reload was being applied */
    bool closed;
    /* last_success_time_s is 0 until a reload is accepted. */
    struct lf_reload_stats stats;
    uint64_t wait_started_ms;
    uv_timer_t timer;
};

static void count_accepted(struct lf_reload *reload)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    reload->stats.accepted++;
    reload->stats.last_rejected = false;
    reload->stats.last_success_time_s =
        (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void diff_cleanup(struct diff *diff)
{
    lf_free(diff->restart);
    lf_buf_cleanup(&diff->added);
    lf_buf_cleanup(&diff->removed);
    lf_buf_cleanup(&diff->changed);
    memset(diff, 0, sizeof(*diff));
}

static void append_id(struct lf_buf *list, const char *id)
{
    if (list->len > 0) {
        lf_buf_append_char(list, ',');
    }
    lf_buf_append_str(list, id);
}

/* Returns the JSON of `key` (dotted) in the root of `config`, or NULL. */
static json_t *root_value(const struct lf_config *config, const char *key)
{
    struct lf_conf_node root;
    struct lf_conf_node node;

    lf_conf_root(config->doc, &root);
    if (lf_conf_child(&root, key, &node) != 0) {
        return NULL;
    }
    return node.json;
}

/* Returns true when `a` and `b` are equal; NULL stands for a missing key. */
static bool same_json(json_t *a, json_t *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return json_equal(a, b) != 0;
}

/* Returns the JSON of input `index` as written in the file of `config`. */
static json_t *input_value(const struct lf_config *config, size_t index)
{
    json_t *inputs = root_value(config, "inputs");

    return json_is_array(inputs) ? json_array_get(inputs, index) : NULL;
}

static ptrdiff_t find_input(const struct lf_config *config, const char *id)
{
    for (size_t i = 0; i < config->input_count; i++) {
        if (strcmp(config->inputs[i].id, id) == 0) {
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

/* Sorts the inputs of `new` into added, changed and unchanged ones. */
static void diff_inputs(const struct lf_config *old,
                        const struct lf_config *new, struct diff *diff)
{
    diff->restart = lf_calloc(new->input_count + 1, sizeof(*diff->restart));
    for (size_t i = 0; i < new->input_count; i++) {
        const char *id = new->inputs[i].id;
        ptrdiff_t j = find_input(old, id);

        if (j < 0) {
            append_id(&diff->added, id);
        } else if (!same_json(input_value(old, (size_t)j),
                              input_value(new, i))) {
            append_id(&diff->changed, id);
            diff->stopped++;
        } else {
            continue;
        }
        diff->restart[i] = true;
        diff->started++;
    }
    for (size_t i = 0; i < old->input_count; i++) {
        if (find_input(new, old->inputs[i].id) < 0) {
            append_id(&diff->removed, old->inputs[i].id);
            diff->stopped++;
        }
    }
}

/* Keys that a reload applies; the others take effect on a restart. */
static bool is_reloadable(const char *key)
{
    return strcmp(key, "inputs") == 0 || strcmp(key, "processors") == 0 ||
           strcmp(key, "logging.level") == 0;
}

static void join_key(char *name, size_t size, const char *prefix,
                     const char *key)
{
    snprintf(name, size, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
}

/*
 * Warns about each setting under `prefix` that differs between `a` and
 * `b` (NULL: missing) but needs a restart. Maps are compared `depth`
 * levels down, so the warning names `output.elasticsearch` rather than
 * `output`.
 */
static void warn_restart_keys(const char *prefix, json_t *a, json_t *b,
                              int depth)
{
    const char *key;
    json_t *value;
    char name[LF_CONF_PATH_MAX];

    if (is_reloadable(prefix) || same_json(a, b)) {
        return;
    }
    if (depth == 0 || (!json_is_object(a) && !json_is_object(b))) {
        lf_log_warn("reload", "setting changed but needs a restart to take "
                    "effect, the running value is kept key=%s", prefix);
        return;
    }
    json_object_foreach(a, key, value) {
        join_key(name, sizeof(name), prefix, key);
        warn_restart_keys(name, value, json_object_get(b, key), depth - 1);
    }
    json_object_foreach(b, key, value) {
        if (json_object_get(a, key) == NULL) {
            join_key(name, sizeof(name), prefix, key);
            warn_restart_keys(name, NULL, value, depth - 1);
        }
    }
}

static void compute_diff(const struct lf_config *old,
                         const struct lf_config *new, struct diff *diff)
{
    struct lf_conf_node old_root;
    struct lf_conf_node new_root;

    lf_buf_init(&diff->added);
    lf_buf_init(&diff->removed);
    lf_buf_init(&diff->changed);
    diff_inputs(old, new, diff);
    diff->processors_changed = !same_json(root_value(old, "processors"),
                                          root_value(new, "processors"));
    diff->level_changed = old->log_level != new->log_level;
    lf_conf_root(old->doc, &old_root);
    lf_conf_root(new->doc, &new_root);
    /* Two levels: the root's keys, then one level inside each. */
    warn_restart_keys("", old_root.json, new_root.json, 2);
}

static bool diff_empty(const struct diff *diff)
{
    return diff->started == 0 && diff->stopped == 0 &&
           !diff->processors_changed && !diff->level_changed;
}

static struct generation *find_generation(struct lf_reload *reload,
                                          const struct lf_config *config)
{
    for (struct generation *g = reload->generations; g != NULL; g = g->next) {
        if (&g->config == config) {
            return g;
        }
    }
    return NULL;
}

/*
 * Frees the retired configuration at `*link` and unlinks its entry.
 * Metadata sources may call back until the loop ends, so an entry with
 * sources stays for lf_reload_free(). Returns true when it was unlinked.
 */
static bool free_generation(struct generation **link)
{
    struct generation *gen = *link;

    if (gen->loaded) {
        lf_config_cleanup(&gen->config);
        gen->loaded = false;
    }
    lf_metadata_binds_close(gen->binds);
    if (gen->binds != NULL && !lf_metadata_binds_empty(gen->binds)) {
        return false;
    }
    *link = gen->next;
    lf_metadata_binds_free(gen->binds);
    lf_free(gen);
    return true;
}

/*
 * Frees the retired configurations that no harvester uses any more. The
 * pipeline stopped using them when it switched.
 */
static void free_unused(struct lf_reload *reload)
{
    struct generation **link = &reload->generations;

    while (*link != NULL) {
        struct generation *gen = *link;

        if (gen->loaded && gen->retired &&
            !lf_inputs_use_config(reload->targets.inputs, &gen->config)) {
            lf_log_debug("reload", "freeing a replaced configuration");
            if (free_generation(link)) {
                continue;
            }
        }
        link = &gen->next;
    }
}

static bool has_retired_in_use(const struct lf_reload *reload)
{
    for (struct generation *g = reload->generations; g != NULL; g = g->next) {
        if (g->loaded && g->retired) {
            return true;
        }
    }
    return false;
}

static void finish_waiting(struct lf_reload *reload)
{
    uint64_t now = uv_now(reload->targets.loop);
    uint64_t timeout = (uint64_t)reload->first->shutdown_timeout_ms;
    size_t closed = lf_pipeline_closed_pending(reload->targets.pipeline);

    if (closed > 0 && now - reload->wait_started_ms < timeout) {
        return;
    }
    if (closed > 0) {
        lf_log_warn("reload", "files of stopped inputs still have events "
                    "without a result after shutdown.timeout=%.3gs; "
                    "starting the added and changed inputs anyway, which "
                    "send those events again under the same document ids "
                    "files=%zu", (double)timeout / 1000.0, closed);
    }
    lf_inputs_start_deferred(reload->targets.inputs);
    reload->state = RELOAD_IDLE;
    lf_log_info("reload", "added and changed inputs started");
}

static void on_timer(uv_timer_t *timer)
{
    struct lf_reload *reload = timer->data;

    if (reload->state == RELOAD_WAITING) {
        finish_waiting(reload);
    }
    free_unused(reload);
    if (reload->state != RELOAD_IDLE) {
        return;
    }
    if (reload->requested) {
        reload->requested = false;
        lf_reload_request(reload);
        return;
    }
    if (!has_retired_in_use(reload)) {
        uv_timer_stop(&reload->timer);
    }
}

static void log_applied(const struct diff *diff)
{
    lf_log_info("reload", "configuration reloaded: inputs added=[%s] "
                "removed=[%s] restarted=[%s] processors=%s",
                diff->added.len > 0 ? diff->added.data : "",
                diff->removed.len > 0 ? diff->removed.data : "",
                diff->changed.len > 0 ? diff->changed.data : "",
                diff->processors_changed ? "changed" : "unchanged");
}

/* Switches the inputs and the pipeline to the pending configuration. */
static void apply(struct lf_reload *reload)
{
    struct generation *gen = reload->pending;
    struct generation *old = find_generation(reload, reload->current);

    reload->pending = NULL;
    if (reload->diff.level_changed) {
        lf_log_set_level(gen->config.log_level);
    }
    lf_inputs_reload(reload->targets.inputs, &gen->config,
                     reload->diff.restart);
    lf_pipeline_set_config(reload->targets.pipeline, &gen->config);
    reload->current = &gen->config;
    if (old != NULL) {
        /* Freed by free_unused() once no harvester uses it. */
        old->retired = true;
        lf_metadata_binds_close(old->binds);
    }
    log_applied(&reload->diff);
    count_accepted(reload);

    reload->state = RELOAD_IDLE;
    if (reload->diff.started > 0) {
        reload->state = RELOAD_WAITING;
        reload->wait_started_ms = uv_now(reload->targets.loop);
    }
    diff_cleanup(&reload->diff);
    uv_timer_start(&reload->timer, on_timer, RELOAD_CHECK_MS,
                   RELOAD_CHECK_MS);
}

/* The metadata processors of the pending configuration have fields. */
static void on_binds_ready(void *arg)
{
    struct lf_reload *reload = arg;

    if (reload->closed || reload->pending == NULL) {
        return;
    }
    apply(reload);
}

/* Drops the pending configuration, which is the newest. */
static void discard_pending(struct lf_reload *reload)
{
    reload->pending = NULL;
    reload->state = RELOAD_IDLE;
    diff_cleanup(&reload->diff);
    (void)free_generation(&reload->generations);
}

struct lf_reload *lf_reload_new(const struct lf_config *config,
                                const struct lf_reload_targets *targets)
{
    struct lf_reload *reload = lf_calloc(1, sizeof(*reload));

    reload->targets = *targets;
    reload->first = config;
    reload->current = config;
    uv_timer_init(targets->loop, &reload->timer);
    reload->timer.data = reload;
    return reload;
}

void lf_reload_stats(const struct lf_reload *reload, double start_time_s,
                     struct lf_reload_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (reload != NULL) {
        *out = reload->stats;
    }
    if (out->last_success_time_s == 0) {
        out->last_success_time_s = start_time_s;
    }
}

void lf_reload_request(struct lf_reload *reload)
{
    const char *path = lf_conf_name(reload->first->doc);
    struct generation *gen;
    char errbuf[1024];
    int rc;

    if (reload->closed) {
        return;
    }
    if (reload->state != RELOAD_IDLE) {
        lf_log_info("reload", "a reload is still being applied; reloading "
                    "again when it ends");
        reload->requested = true;
        return;
    }
    lf_log_info("reload", "reloading the configuration path=%s", path);
    gen = lf_calloc(1, sizeof(*gen));
    rc = lf_config_load(path, &gen->config, errbuf, sizeof(errbuf));
    if (rc != 0) {
        lf_log_error("reload", "configuration rejected, the running one is "
                     "kept: %s path=%s", errbuf, path);
        reload->stats.rejected++;
        reload->stats.last_rejected = true;
        lf_free(gen);
        return;
    }
    gen->loaded = true;
    lf_config_log_secrets(gen->config.secrets_warning);
    gen->next = reload->generations;
    reload->generations = gen;
    reload->pending = gen;
    compute_diff(reload->current, &gen->config, &reload->diff);
    if (diff_empty(&reload->diff)) {
        lf_log_info("reload", "no input, processor or logging.level "
                    "changed; nothing to apply");
        count_accepted(reload);
        discard_pending(reload);
        return;
    }

    /* The new metadata processors fetch their fields before any event. */
    reload->state = RELOAD_BINDING;
    rc = lf_metadata_binds_start(reload->targets.loop, &gen->config,
                                 on_binds_ready, reload, &gen->binds);
    if (rc != 0) {
        lf_log_error("reload", "configuration rejected, the running one is "
                     "kept: starting its metadata sources failed: %s path=%s",
                     lf_strerror(rc), path);
        reload->stats.rejected++;
        reload->stats.last_rejected = true;
        if (reload->pending == gen) {
            discard_pending(reload);
        }
    }
}

void lf_reload_close(struct lf_reload *reload)
{
    if (reload == NULL || reload->closed) {
        return;
    }
    reload->closed = true;
    uv_timer_stop(&reload->timer);
    uv_close((uv_handle_t *)&reload->timer, NULL);
    for (struct generation *g = reload->generations; g != NULL; g = g->next) {
        lf_metadata_binds_close(g->binds);
    }
}

void lf_reload_free(struct lf_reload *reload)
{
    struct generation *next;

    if (reload == NULL) {
        return;
    }
    for (struct generation *g = reload->generations; g != NULL; g = next) {
        next = g->next;
        if (g->loaded) {
            lf_config_cleanup(&g->config);
        }
        lf_metadata_binds_free(g->binds);
        lf_free(g);
    }
    diff_cleanup(&reload->diff);
    lf_free(reload);
}
