/*
 * The `queue` section: the memory queue and the optional disk spool.
 */
#include "agent/config/config.h"
#include "agent/config/config_queue.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <string.h>

static const char *const queue_keys[] = {
    "mem.max_bytes",  "disk.path",  "disk.max_bytes",
    "disk.mode",      "disk.fsync", "disk.fsync_interval",
    "disk.on_full",
};

/* Smallest accepted queue.mem.max_bytes: room for a few events. */
#define QUEUE_MEM_MIN_BYTES (64 * 1024)
/* Smallest accepted queue.disk.max_bytes: two minimum segments. */
#define QUEUE_DISK_MIN_BYTES (128 * 1024)

/*
 * Reads the string at `key` of `queue` and stores the index of the entry
 * of `names` it equals in `out`, or `def` when the key is absent.
 */
static int parse_choice(const struct lf_conf_node *queue, const char *key,
                        const char *const *names, size_t count, int def,
                        const char *expected, int *out, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc;

    rc = lf_conf_get_str(queue, key, names[def], &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    lf_conf_child(queue, key, &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "invalid value \"%s\": expected %s", name,
                         expected);
}

static int parse_disk(const struct lf_conf_node *queue,
                      struct lf_queue_options *options, char *errbuf,
                      size_t errlen)
{
    static const char *const modes[] = {"overflow", "always"};
    static const char *const fsyncs[] = {"batch", "interval", "never"};
    static const char *const on_full[] = {"block", "drop_oldest"};
    struct lf_conf_node node;
    long long value;
    int choice = 0;
    int rc;

    rc = lf_conf_get_str(queue, "disk.path", NULL, &options->disk_path,
                         errbuf, errlen);
    if (rc == 0 && options->disk_path != NULL &&
        options->disk_path[0] == '\0') {
        lf_conf_child(queue, "disk.path", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a directory path for the spool, got "
                             "an empty string; remove the key to run "
                             "without a spool");
    }
    if (rc == 0) {
        rc = lf_conf_get_bytes(queue, "disk.max_bytes",
                               (long long)LF_SPOOL_MAX_BYTES_DEFAULT, &value,
                               errbuf, errlen);
    }
    if (rc == 0 && value < QUEUE_DISK_MIN_BYTES) {
        lf_conf_child(queue, "disk.max_bytes", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid size %lld: expected at least %d "
                             "bytes (128KiB)", value, QUEUE_DISK_MIN_BYTES);
    }
    options->disk_max_bytes = (uint64_t)value;
    if (rc == 0) {
        rc = parse_choice(queue, "disk.mode", modes, LF_ARRAY_SIZE(modes), 0,
                          "overflow or always", &choice, errbuf, errlen);
        options->disk_mode = (enum lf_queue_disk_mode)choice;
    }
    if (rc == 0) {
        rc = parse_choice(queue, "disk.fsync", fsyncs, LF_ARRAY_SIZE(fsyncs),
                          0, "batch, interval or never", &choice, errbuf,
                          errlen);
        options->disk_fsync = (enum lf_spool_fsync)choice;
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(queue, "disk.fsync_interval",
                                     LF_QUEUE_FSYNC_INTERVAL_MS_DEFAULT,
                                     &value, errbuf, errlen);
    }
    if (rc == 0 && value == 0) {
        lf_conf_child(queue, "disk.fsync_interval", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid duration 0: expected at least 1ms");
    }
    options->disk_fsync_interval_ms = (uint64_t)value;
    if (rc == 0) {
        rc = parse_choice(queue, "disk.on_full", on_full,
                          LF_ARRAY_SIZE(on_full), 0, "block or drop_oldest",
                          &choice, errbuf, errlen);
        options->disk_drop_oldest = choice == 1;
    }
    return rc;
}

int lf_config_parse_queue(const struct lf_conf_node *root,
                          struct lf_queue_options *options, char *errbuf,
                          size_t errlen)
{
    struct lf_conf_node queue;
    struct lf_conf_node node;
    long long value;
    int rc;

    memset(options, 0, sizeof(*options));
    lf_conf_child(root, "queue", &queue);
    rc = lf_conf_check_keys(&queue, queue_keys, LF_ARRAY_SIZE(queue_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bytes(&queue, "mem.max_bytes",
                               (long long)LF_QUEUE_MEM_MAX_BYTES_DEFAULT,
                               &value, errbuf, errlen);
    }
    if (rc == 0 && value < QUEUE_MEM_MIN_BYTES) {
        lf_conf_child(&queue, "mem.max_bytes", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid size %lld: expected at least %d "
                             "bytes (64KiB)", value, QUEUE_MEM_MIN_BYTES);
    }
    options->mem_max_bytes = (uint64_t)value;
    if (rc == 0) {
        rc = parse_disk(&queue, options, errbuf, errlen);
    }
    return rc;
}
