/*
 * Host selection of the Elasticsearch output: round robin over the live
 * hosts. A host whose request failed with a connection error, a timeout,
 * a TLS error or a 5xx is skipped for a growing interval, and a host that
 * responds again is live at once.
 */
#include "outputs/elasticsearch/es_output_private.h"
#include "lf/log.h"
#include "lf/mem.h"

/* The skip interval doubles from backoff.init; the shift stops here. */
enum { ES_HOST_MAX_SHIFT = 30 };

struct lf_es_host_state {
    unsigned failures;      /* failed requests in a row */
    uint64_t down_until_ms; /* loop time the host is skipped until */
};

void lf_es_hosts_init(struct lf_es_output *output)
{
    output->host_states =
        lf_calloc(output->config->host_count, sizeof(*output->host_states));
    output->host_rng_state = uv_hrtime() | 1; /* xorshift must not be 0 */
}

void lf_es_hosts_cleanup(struct lf_es_output *output)
{
    lf_free(output->host_states);
    output->host_states = NULL;
}

static bool is_down(const struct lf_es_output *output, size_t host)
{
    return output->host_states[host].down_until_ms > uv_now(output->loop);
}

size_t lf_es_hosts_pick(struct lf_es_output *output)
{
    size_t count = output->config->host_count;
    size_t best = output->next_host;

    for (size_t i = 0; i < count; i++) {
        size_t host = (output->next_host + i) % count;

        if (!is_down(output, host)) {
            output->next_host = (host + 1) % count;
            return host;
        }
        if (output->host_states[host].down_until_ms <
            output->host_states[best].down_until_ms) {
            best = host;
        }
    }
    /* Every host is down: try the one whose interval ends first. */
    output->next_host = (best + 1) % count;
    return best;
}

/* xorshift64: jitter needs spread, not quality. */
static uint64_t next_random(struct lf_es_output *output)
{
    uint64_t x = output->host_rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    output->host_rng_state = x;
    return x;
}

/*
 * Returns half to all of backoff.init * 2^(failures - 1), capped at
 * backoff.max, so that hosts marked down together are retried apart.
 * It is at least 1 ms, so that a host marked down is down.
 */
static uint64_t skip_interval_ms(struct lf_es_output *output, unsigned failures)
{
    uint64_t init = (uint64_t)output->config->backoff_init_ms;
    uint64_t max = (uint64_t)output->config->backoff_max_ms;
    unsigned shift = failures - 1;
    uint64_t delay = max;

    if (shift < ES_HOST_MAX_SHIFT && (init << shift) < max) {
        delay = init << shift;
    }
    delay = delay / 2 + next_random(output) % (delay - delay / 2 + 1);
    return delay > 0 ? delay : 1;
}

bool lf_es_hosts_mark_down(struct lf_es_output *output, size_t host,
                           uint64_t *interval_ms_out)
{
    struct lf_es_host_state *state = &output->host_states[host];

    *interval_ms_out = 0;
    /* Requests that were in flight when the host went down extend nothing. */
    if (!is_down(output, host)) {
        state->failures++;
        *interval_ms_out = skip_interval_ms(output, state->failures);
        state->down_until_ms = uv_now(output->loop) + *interval_ms_out;
    }
    for (size_t i = 0; i < output->config->host_count; i++) {
        if (!is_down(output, i)) {
            return true;
        }
    }
    return false;
}

void lf_es_hosts_mark_up(struct lf_es_output *output, size_t host)
{
    struct lf_es_host_state *state = &output->host_states[host];

    if (state->failures > 0 && output->config->host_count > 1) {
        lf_log_info(LF_ES_LOG, "host responds again failed_attempts=%u host=%s",
                    state->failures, output->config->hosts[host]);
    }
    state->failures = 0;
    state->down_until_ms = 0;
}
