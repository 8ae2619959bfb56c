/*
 * A metadata source on the agent's loop. It fetches a field set from a
 * local HTTP metadata service (EC2 instance metadata, ECS task metadata)
 * without blocking the loop. It keeps the latest set for events to share
 * and refreshes it on a timer.
 *
 *     lf_ec2_meta_source_new(loop, &opts, &src, errbuf, len);
 *     lf_meta_source_start(src, on_ready, arg);  // on_ready within timeout
 *     set = lf_meta_source_acquire(src);  // per batch; NULL: no fields
 *     ... lf_meta_set_unref(set);
 *     lf_meta_source_close(src, on_closed, arg);
 */
#ifndef LF_AGENT_METADATA_META_SOURCE_H
#define LF_AGENT_METADATA_META_SOURCE_H

#include <stdint.h>

#include <uv.h>

#include "agent/metadata/meta_set.h"
#include "agent/net/http_client.h"

/*
 * Result of one fetch. On success `error` is 0 and the callee takes the
 * reference `set`. On failure `set` is NULL, `error` is a negative LF_E*
 * code and `detail` describes the failure; it is valid during the call
 * only.
 */
typedef void (*lf_meta_fetch_done_cb)(void *arg, int error,
                                      struct lf_meta_set *set,
                                      const char *detail);

/* One kind of metadata service; the source owns `state`. */
struct lf_meta_fetcher {
    const char *component; /* names the source in log lines */
    void *state;
    /*
     * Starts one fetch, which ends within `timeout_ms` unless that is 0
     * (no limit, as for local calls). Returns 0 and later calls `done`
     * exactly once, never from inside this call; or returns a negative
     * LF_E* code and never calls `done`. The source starts the next fetch
     * only after `done` has run.
     */
    int (*fetch)(void *state, struct lf_http_client *http, long timeout_ms,
                 lf_meta_fetch_done_cb done, void *arg);
    void (*free)(void *state);
    /*
     * Base URL of the service, named as host= in failure warnings; owned
     * by `state`. NULL for a source that reads local files.
     */
    const char *host;
};

struct lf_meta_source;

struct lf_meta_source_options {
    long timeout_ms;          /* whole fetch, all requests together; 0:
                                 the fetcher sets no limit */
    uint64_t refresh_ms;      /* 0: fetch once at start */
    const char *disabled_reason; /* not NULL: never fetch, warn this once */
};

/*
 * Creates a source on `loop` that runs `fetcher` (copied; the source owns
 * its state from now on, also on failure). Returns 0 or a negative LF_E*
 * code. After a failure that happens once the timer exists, the memory is
 * released when the loop next runs.
 */
int lf_meta_source_new(uv_loop_t *loop, const struct lf_meta_fetcher *fetcher,
                       const struct lf_meta_source_options *opts,
                       struct lf_meta_source **out);

/*
 * Starts the first fetch and the refresh timer. `ready(arg)` runs once from
 * the loop when the first fetch has ended, successfully or not, within the
 * timeout. The agent may wait for it before it starts reading, so that the
 * first events carry the fields. A failed fetch logs one warning and
 * leaves the source without fields until a refresh succeeds. Returns 0,
 * or LF_ESTATE when called twice or after close.
 */
int lf_meta_source_start(struct lf_meta_source *src, void (*ready)(void *arg),
                         void *arg);

/*
 * Returns a new reference to the latest set, or NULL when no fetch has
 * succeeded yet. Call on the loop thread; the reference may be released on
 * any thread with lf_meta_set_unref().
 */
struct lf_meta_set *lf_meta_source_acquire(struct lf_meta_source *src);

/*
 * Cancels a fetch in flight, stops the timer and frees the source once its
 * handles are closed, then calls `done(arg)` if not NULL. `ready` is not
 * called after this. Accepts NULL.
 */
void lf_meta_source_close(struct lf_meta_source *src, void (*done)(void *arg),
                          void *arg);

#endif
