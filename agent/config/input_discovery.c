/*
 * Discovery options of an input. Kept apart from config.c so that the
 * options of file discovery and watching read as one group.
 */
#include "agent/config/input_discovery.h"
#include "lf/error.h"

#include <string.h>

/* Smallest accepted stat poll interval: each poll is one stat per path. */
#define MIN_STAT_POLL_INTERVAL_MS 100
/* Largest accepted `recursive_glob.max_depth`. */
#define MAX_RECURSIVE_GLOB_DEPTH 64

const char *const lf_input_discovery_keys[] = {
    "stat_poll.interval",
    "stat_poll.max_interval",
    "recursive_glob.max_depth",
    "ignore_older",
    "harvester_limit",
    "start_position",
};
const size_t lf_input_discovery_key_count =
    sizeof(lf_input_discovery_keys) / sizeof(lf_input_discovery_keys[0]);

static int parse_stat_poll(const struct lf_conf_node *input_node,
                           struct lf_input_config *input, char *errbuf,
                           size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    rc = lf_conf_get_duration_ms(input_node, "stat_poll.interval",
                                 LF_CONFIG_DEFAULT_STAT_POLL_INTERVAL_MS,
                                 &input->stat_poll_interval_ms, errbuf,
                                 errlen);
    if (rc != 0) {
        return rc;
    }
    if (input->stat_poll_interval_ms < MIN_STAT_POLL_INTERVAL_MS) {
        lf_conf_child(input_node, "stat_poll.interval", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected at least 100ms, got %lld ms",
                             input->stat_poll_interval_ms);
    }
    rc = lf_conf_get_duration_ms(input_node, "stat_poll.max_interval",
                                 LF_CONFIG_DEFAULT_STAT_POLL_MAX_INTERVAL_MS,
                                 &input->stat_poll_max_interval_ms, errbuf,
                                 errlen);
    if (rc != 0) {
        return rc;
    }
    if (input->stat_poll_max_interval_ms < input->stat_poll_interval_ms) {
        lf_conf_child(input_node, "stat_poll.max_interval", &node);
        if (node.json == NULL) {
            /* Only the interval was set, above the default maximum. */
            input->stat_poll_max_interval_ms = input->stat_poll_interval_ms;
            return 0;
        }
        return lf_conf_error(&node, errbuf, errlen,
                             "expected at least stat_poll.interval "
                             "(%lld ms), got %lld ms",
                             input->stat_poll_interval_ms,
                             input->stat_poll_max_interval_ms);
    }
    return 0;
}

static int parse_start_position(const struct lf_conf_node *input_node,
                                struct lf_input_config *input, char *errbuf,
                                size_t errlen)
{
    struct lf_conf_node node;
    const char *value;
    int rc;

    rc = lf_conf_get_str(input_node, "start_position", "beginning", &value,
                         errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(value, "beginning") == 0) {
        input->start_at_end = false;
    } else if (strcmp(value, "end") == 0) {
        input->start_at_end = true;
    } else {
        lf_conf_child(input_node, "start_position", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected beginning or end, got '%s'", value);
    }
    return 0;
}

int lf_input_discovery_parse(const struct lf_conf_node *input_node,
                             struct lf_input_config *input, char *errbuf,
                             size_t errlen)
{
    long long value;
    int rc;

    rc = parse_stat_poll(input_node, input, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_int(input_node, "recursive_glob.max_depth",
                             LF_CONFIG_DEFAULT_RECURSIVE_GLOB_MAX_DEPTH, 1,
                             MAX_RECURSIVE_GLOB_DEPTH, &value, errbuf,
                             errlen);
        input->recursive_glob_max_depth = (int)value;
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(input_node, "ignore_older", 0,
                                     &input->ignore_older_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_int(input_node, "harvester_limit", 0, 0, 1000000,
                             &value, errbuf, errlen);
        input->harvester_limit = (size_t)value;
    }
    if (rc == 0) {
        rc = parse_start_position(input_node, input, errbuf, errlen);
    }
    return rc;
}
