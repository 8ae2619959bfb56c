/*
 * Drives one metadata fetcher on the agent's loop: the first fetch at
 * start, one refresh per interval, the latest set shared by reference and
 * the log lines for failures. A failed refresh keeps the previous set,
 * because slightly old metadata is more useful than none.
 */
#include "agent/metadata/meta_source.h"

#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <stdbool.h>

enum lf_meta_source_state {
    LF_META_SOURCE_NEW,      /* created, not started */
    LF_META_SOURCE_FETCHING, /* a fetch is in flight */
    LF_META_SOURCE_WAITING,  /* between fetches; the timer may be armed */
    LF_META_SOURCE_CLOSING,  /* waiting for `close_pending` to reach 0 */
};

static const char *const state_names[] = {"new", "fetching", "waiting",
                                          "closing"};

struct lf_meta_source {
    uv_loop_t *loop;
    struct lf_meta_fetcher fetcher;
    long timeout_ms;
    uint64_t refresh_ms;
    char *disabled_reason;        /* owned; not NULL: never fetch */
    enum lf_meta_source_state state;
    struct lf_http_client *http;  /* NULL once closing */
    uv_timer_t timer;             /* next refresh, or the deferred ready */
    struct lf_meta_set *current;  /* latest successful fetch, or NULL */
    void (*ready)(void *arg);
    void *ready_arg;
    bool ready_sent;
    bool ready_due;               /* the timer runs `ready` next */
    bool failing;                 /* the last fetch failed */
    uint64_t failures;            /* failed fetches since start */
    int close_pending;            /* handles and fetch that have not ended */
    void (*close_done)(void *arg);
    void *close_arg;
};

static void on_timer(uv_timer_t *timer);

static void set_state(struct lf_meta_source *src,
                      enum lf_meta_source_state state)
{
    lf_log_debug(src->fetcher.component, "metadata source %s -> %s",
                 state_names[src->state], state_names[state]);
    src->state = state;
}

static void free_source(struct lf_meta_source *src)
{
    void (*done)(void *arg) = src->close_done;
    void *arg = src->close_arg;

    lf_meta_set_unref(src->current);
    src->fetcher.free(src->fetcher.state);
    lf_free(src->disabled_reason);
    lf_free(src);
    if (done != NULL) {
        done(arg);
    }
}

/* Counts one handle or fetch as ended; the last one frees the source. */
static void release_pending(struct lf_meta_source *src)
{
    src->close_pending--;
    if (src->close_pending == 0) {
        free_source(src);
    }
}

static void on_timer_closed(uv_handle_t *handle)
{
    release_pending(handle->data);
}

static void on_http_closed(void *arg)
{
    release_pending(arg);
}

int lf_meta_source_new(uv_loop_t *loop, const struct lf_meta_fetcher *fetcher,
                       const struct lf_meta_source_options *opts,
                       struct lf_meta_source **out)
{
    struct lf_meta_source *src = lf_calloc(1, sizeof(*src));
    int rc;

    *out = NULL;
    src->loop = loop;
    src->fetcher = *fetcher;
    src->timeout_ms = opts->timeout_ms;
    src->refresh_ms = opts->refresh_ms;
    src->state = LF_META_SOURCE_NEW;
    if (opts->disabled_reason != NULL) {
        src->disabled_reason = lf_strdup(opts->disabled_reason);
    }

    rc = lf_http_client_new(loop, &src->http);
    if (rc != 0) {
        free_source(src);
        return rc;
    }
    rc = uv_timer_init(loop, &src->timer);
    if (rc != 0) {
        /* The client has live handles, so only the close path frees. */
        set_state(src, LF_META_SOURCE_CLOSING);
        src->close_pending = 1;
        lf_http_client_close(src->http, on_http_closed, src);
        return rc;
    }
    src->timer.data = src;
    *out = src;
    return 0;
}

static void notify_ready(struct lf_meta_source *src)
{
    if (src->ready_sent || src->state == LF_META_SOURCE_CLOSING) {
        return;
    }
    src->ready_sent = true;
    if (src->ready != NULL) {
        src->ready(src->ready_arg);
    }
}

static void schedule_refresh(struct lf_meta_source *src)
{
    if (src->refresh_ms > 0 && src->state == LF_META_SOURCE_WAITING &&
        src->disabled_reason == NULL) {
        uv_timer_start(&src->timer, on_timer, src->refresh_ms, 0);
    }
}

/*
 * Logs a failed fetch. The first failure after a success (or at start) is
 * a warning and the next ones are debug lines, so a service that stays
 * down costs one warning and not one per refresh.
 */
static void report_failure(struct lf_meta_source *src, int error,
                           const char *detail)
{
    const char *component = src->fetcher.component;

    src->failures++;
    if (src->failing) {
        lf_log_debug(component, "metadata fetch failed again: %s (%s)%s",
                     detail, lf_err_name(error),
                     src->current != NULL ? "; keeping the last fields" : "");
        return;
    }
    src->failing = true;
    lf_log_warn(component, "metadata fetch failed: %s (%s); %s%s%s", detail,
                lf_err_name(error),
                src->current != NULL ? "keeping the fields of the last fetch"
                                     : "events get no fields from it",
                src->fetcher.host != NULL ? " host=" : "",
                src->fetcher.host != NULL ? src->fetcher.host : "");
}

static void on_fetched(void *arg, int error, struct lf_meta_set *set,
                       const char *detail)
{
    struct lf_meta_source *src = arg;

    if (src->state == LF_META_SOURCE_CLOSING) {
        lf_meta_set_unref(set);
        release_pending(src);
        return;
    }
    set_state(src, LF_META_SOURCE_WAITING);

    if (error == 0) {
        if (src->failing) {
            lf_log_info(src->fetcher.component,
                        "metadata fetch succeeded after %llu failures",
                        (unsigned long long)src->failures);
        }
        src->failing = false;
        lf_meta_set_unref(src->current);
        src->current = set;
        lf_log_debug(src->fetcher.component, "metadata fetched: fields=%zu",
                     lf_meta_set_count(set));
    } else {
        report_failure(src, error, detail);
    }
    notify_ready(src);
    schedule_refresh(src);
}

static void start_fetch(struct lf_meta_source *src)
{
    int rc;

    set_state(src, LF_META_SOURCE_FETCHING);
    rc = src->fetcher.fetch(src->fetcher.state, src->http, src->timeout_ms,
                            on_fetched, src);
    if (rc == 0) {
        return;
    }
    set_state(src, LF_META_SOURCE_WAITING);
    report_failure(src, rc, "could not start the request");
    if (!src->ready_sent) {
        /* `ready` must not run inside lf_meta_source_start(). */
        src->ready_due = true;
        uv_timer_start(&src->timer, on_timer, 0, 0);
    } else {
        schedule_refresh(src);
    }
}

static void on_timer(uv_timer_t *timer)
{
    struct lf_meta_source *src = timer->data;

    if (src->ready_due) {
        src->ready_due = false;
        notify_ready(src);
        schedule_refresh(src);
        return;
    }
    start_fetch(src);
}

int lf_meta_source_start(struct lf_meta_source *src, void (*ready)(void *arg),
                         void *arg)
{
    if (src->state != LF_META_SOURCE_NEW) {
        return LF_ESTATE;
    }
    src->ready = ready;
    src->ready_arg = arg;

    if (src->disabled_reason != NULL) {
        lf_log_warn(src->fetcher.component, "%s; events get no fields from it",
                    src->disabled_reason);
        set_state(src, LF_META_SOURCE_WAITING);
        src->ready_due = true;
        uv_timer_start(&src->timer, on_timer, 0, 0);
        return 0;
    }
    start_fetch(src);
    return 0;
}

struct lf_meta_set *lf_meta_source_acquire(struct lf_meta_source *src)
{
    return src->current != NULL ? lf_meta_set_ref(src->current) : NULL;
}

/*
 * Closing waits for the timer, the HTTP client and a fetch in flight. The
 * client cancels the fetch's requests, and the fetcher then reports to
 * on_fetched(), which counts it as ended.
 */
void lf_meta_source_close(struct lf_meta_source *src, void (*done)(void *arg),
                          void *arg)
{
    struct lf_http_client *http;

    if (src == NULL || src->state == LF_META_SOURCE_CLOSING) {
        return;
    }
    src->close_pending = src->state == LF_META_SOURCE_FETCHING ? 3 : 2;
    set_state(src, LF_META_SOURCE_CLOSING);
    src->close_done = done;
    src->close_arg = arg;

    uv_timer_stop(&src->timer);
    uv_close((uv_handle_t *)&src->timer, on_timer_closed);
    http = src->http;
    src->http = NULL;
    lf_http_client_close(http, on_http_closed, src);
}
