/*
 * Event building and acknowledgement. One event is reused for every line,
 * so building a document allocates nothing; the output copies what it
 * needs when it encodes the event.
 */
#include "agent/pipeline/pipeline.h"
#include "agent/pipeline/ack.h"
#include "agent/pipeline/event_build.h"
#include "agent/input/file_id.h"
#include "agent/metrics/log_metrics.h"
#include "agent/output.h"
#include "agent/processors/processors.h"
#include "agent/queue/queue.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "lf_build_config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * A range of a file whose published events all have a record in the spool
 * found at start: a file resumed at an offset inside it can skip to its
 * end, because the spool sends those events.
 */
struct spooled_range {
    uint64_t file_id;
    uint64_t start;
    uint64_t end;
};

/*
 * Bound of the ranges kept. Records that would start a range past it are
 * not used, so their lines are read again from the files as well.
 */
#define PIPELINE_SPOOLED_RANGES_MAX 65536

/* One file whose events are in flight or still being read. */
struct source {
    struct source *prev;
    struct source *next;
    uint64_t file_id;
    uint64_t doc_file_id;    /* the file id in document ids */
    uint64_t dev;
    uint64_t ino;
    char *path;              /* owned copy for the registry */
    uint32_t path_version;   /* lf_file_info.path_version of `path` */
    struct lf_registry_entry *entry; /* this file's registry entry */
    struct lf_ack_tracker tracker;
    uint64_t published_end;  /* commit offset of the last published event */
    /* published_end moved forward with the last published event, so the
     * next event's span may start there. */
    bool span_chained;
    /* Ranges of the spool found at start past the offset read from. */
    struct spooled_range *spooled;
    size_t spooled_count;
    bool reading;            /* the harvester is open */
    bool retired;            /* truncated: results no longer commit */
};

struct lf_pipeline {
    const struct lf_config *config;
    struct lf_registry *registry;
    struct lf_queue *queue;
    void (*on_caught_up)(void *arg);
    void *caught_up_arg;
    void (*on_commit)(void *arg);
    void *commit_arg;
    struct lf_event event;
    char hostname[256];
    size_t hostname_len;
    struct source *sources;
    struct spooled_range *spooled;
    size_t spooled_count;
    size_t spooled_cap;
    uint64_t unresolved;
    struct lf_pipeline_stats stats;
    /*
     * The `metrics` rules of the configuration the agent started with:
     * they need a restart to change, so a reload does not replace them.
     */
    struct lf_log_metrics *metrics;
    /* Parse failures per input id, kept across reloads. */
    struct input_parse_failures *parse_failures;
    size_t parse_failure_inputs;
};

struct input_parse_failures {
    char *input_id;
    uint64_t count;
};

struct lf_pipeline *lf_pipeline_new(const struct lf_config *config,
                                    struct lf_registry *registry)
{
    struct lf_pipeline *pipeline = lf_calloc(1, sizeof(*pipeline));

    pipeline->config = config;
    pipeline->registry = registry;
    pipeline->metrics = config->metrics;
    lf_event_init(&pipeline->event);
    pipeline->hostname_len =
        lf_event_hostname(pipeline->hostname, sizeof(pipeline->hostname));
    return pipeline;
}

void lf_pipeline_on_commit(struct lf_pipeline *pipeline,
                           void (*cb)(void *arg), void *arg)
{
    pipeline->on_commit = cb;
    pipeline->commit_arg = arg;
}

void lf_pipeline_set_config(struct lf_pipeline *pipeline,
                            const struct lf_config *config)
{
    pipeline->config = config;
}

size_t lf_pipeline_closed_pending(const struct lf_pipeline *pipeline)
{
    size_t count = 0;

    for (const struct source *src = pipeline->sources; src != NULL;
         src = src->next) {
        if (!src->reading) {
            count++;
        }
    }
    return count;
}

void lf_pipeline_set_queue(struct lf_pipeline *pipeline,
                           struct lf_queue *queue)
{
    pipeline->queue = queue;
}

static void free_source(struct lf_pipeline *pipeline, struct source *src)
{
    if (src->prev != NULL) {
        src->prev->next = src->next;
    } else {
        pipeline->sources = src->next;
    }
    if (src->next != NULL) {
        src->next->prev = src->prev;
    }
    lf_ack_tracker_cleanup(&src->tracker);
    lf_free(src->spooled);
    lf_free(src->path);
    lf_free(src);
    pipeline->stats.sources_open--;
}

/*
 * Finds the registry entry to resume `info` from: the latest generation of
 * the file, unless that entry's offset lies beyond the end of the file,
 * which means it was truncated while the agent was stopped. Stores the
 * generation to use in info->generation.
 */
static struct lf_registry_entry *find_resume_entry(struct lf_pipeline *pipeline,
                                                   struct lf_file_info *info)
{
    struct lf_registry_entry *entry;

    entry = lf_registry_find_latest(pipeline->registry, info->base_id);
    if (entry == NULL || entry->generation < info->generation) {
        return NULL;
    }
    if (entry->offset > info->size && !info->compressed) {
        lf_log_warn("pipeline", "file is smaller than its saved offset, "
                    "reading it from the start as a new generation path=%s "
                    "offset=%llu size=%llu", info->path,
                    (unsigned long long)entry->offset,
                    (unsigned long long)info->size);
        info->generation = entry->generation + 1;
        return NULL;
    }
    info->generation = entry->generation;
    return entry;
}

/*
 * Continues a compressed file that is the copy of a file already read,
 * recognised by its first line: returns the offset that file was read to
 * and takes its document ids. Returns 0 when there is no such file.
 */
static uint64_t resume_compressed(struct lf_pipeline *pipeline,
                                  struct lf_file_info *info)
{
    struct lf_registry_entry *origin;

    origin = lf_registry_find_head(pipeline->registry, info->head_hash);
    if (origin == NULL) {
        return 0;
    }
    info->doc_file_id = origin->doc_file_id;
    lf_log_info("pipeline", "reading a compressed copy of a file already "
                "read from that file's offset path=%s original=%s "
                "offset=%llu", info->path, origin->path,
                (unsigned long long)origin->offset);
    return origin->offset;
}

/*
 * Returns true when the file of `entry` was truncated after the entry was
 * saved: a later generation is known, or the file is below the entry's
 * offset, or it starts with another first line. The last case is a file
 * truncated and written past the old offset again before a restart.
 */
static bool entry_truncated(struct lf_pipeline *pipeline,
                            const struct lf_registry_entry *entry)
{
    struct lf_registry_entry *latest;
    struct lf_file_stat st;
    uint64_t head_hash;

    latest = lf_registry_find_latest(pipeline->registry, entry->base_id);
    if (latest != NULL && latest->generation > entry->generation) {
        return true;
    }
    if (lf_file_stat_path(entry->path, &st) != 0 || st.dev != entry->dev ||
        st.ino != entry->ino) {
        return false;
    }
    if (st.size < entry->offset) {
        return true;
    }
    return lf_file_head_hash_path(entry->path, entry->dev, entry->ino,
                                  &head_hash) == 0 &&
           head_hash != entry->head_hash;
}

/*
 * Finds the registry entry of the file that `info`, a file the registry
 * does not know, is the rotated copy of. That entry has the same first
 * line, its own file was truncated below its offset, and its offset is at
 * most the size of `info`. When several match, the most recently changed
 * wins. This recognises a copy made while the agent was stopped or
 * killed, because a running agent pairs the copy with the truncation
 * itself (agent/input/input.c). Returns NULL when there is none.
 */
static struct lf_registry_entry *find_copy_origin(struct lf_pipeline *pipeline,
                                                  const struct lf_file_info
                                                      *info)
{
    struct lf_registry_entry *found = NULL;
    struct lf_registry_entry *entry;

    for (size_t i = 0;
         (entry = lf_registry_entry_at(pipeline->registry, i)) != NULL; i++) {
        /*
         * An entry at offset 0 counts too: its lines may be indexed and
         * not yet acknowledged, and only its ids make them 409 now.
         */
        if (entry->head_hash != info->head_hash ||
            entry->offset > info->size ||
            (entry->dev == info->dev && entry->ino == info->ino) ||
            !entry_truncated(pipeline, entry)) {
            continue;
        }
        /* Files that start with a fixed header: the latest truncation. */
        if (found == NULL || entry->updated_s > found->updated_s ||
            (entry->updated_s == found->updated_s &&
             entry->offset > found->offset)) {
            found = entry;
        }
    }
    return found;
}

/*
 * Returns where a rotated copy that continues the document ids
 * `doc_file_id` must be read from: the offset its original was read to,
 * `offset`, or the original's acknowledged offset if that is lower. Lines
 * still in flight when the original was truncated are then sent again
 * from the copy, and get 409 if they were indexed, instead of being
 * lost if the agent stops before their results come.
 *
 * NOTE: the original's cuts (see agent/input/cut.h) are not given to the
 * copy, so an event that a timeout ended in flight at the truncation can
 * be read from the copy as a longer one under the same id, answered 409.
 */
static uint64_t acknowledged_offset(struct lf_pipeline *pipeline,
                                    uint64_t doc_file_id, uint64_t offset)
{
    struct lf_registry_entry *entry;

    for (size_t i = 0;
         (entry = lf_registry_entry_at(pipeline->registry, i)) != NULL; i++) {
        if (entry->doc_file_id == doc_file_id && entry->offset < offset) {
            offset = entry->offset;
        }
    }
    return offset;
}

/*
 * Finds the entry of the content that the inode of `info`, a file the
 * registry does not know, held before: it was truncated and rewritten
 * while the agent was stopped. Returns NULL when there is none, or when
 * a rotated copy already continues that content.
 */
static struct lf_registry_entry *find_replaced(struct lf_pipeline *pipeline,
                                              const struct lf_file_info *info)
{
    struct lf_registry_entry *found = NULL;
    struct lf_registry_entry *entry;

    for (size_t i = 0;
         (entry = lf_registry_entry_at(pipeline->registry, i)) != NULL; i++) {
        if (entry->dev != info->dev || entry->ino != info->ino ||
            entry->base_id == info->base_id || entry->offset == 0 ||
            entry->head_hash == 0 || strcmp(entry->path, info->path) != 0) {
            continue;
        }
        /* NOTE: updated_s has whole seconds, so two generations written
         * in the same second tie and the first one listed wins. */
        if (found == NULL || entry->updated_s > found->updated_s) {
            found = entry;
        }
    }
    for (size_t i = 0; found != NULL &&
         (entry = lf_registry_entry_at(pipeline->registry, i)) != NULL; i++) {
        if (entry != found && entry->doc_file_id == found->doc_file_id) {
            return NULL; /* a copy already continues that content */
        }
    }
    return found;
}

void lf_pipeline_add_spooled(void *arg, const struct lf_event_span *span)
{
    struct lf_pipeline *pipeline = arg;
    struct spooled_range *range;

    if (span->end <= span->prev_end) {
        return;
    }
    /* Records of one file are mostly appended in order, so look back. */
    for (size_t i = pipeline->spooled_count; i > 0; i--) {
        range = &pipeline->spooled[i - 1];
        if (range->file_id != span->file_id) {
            continue;
        }
        if (span->prev_end >= range->start && span->prev_end <= range->end) {
            if (span->end > range->end) {
                range->end = span->end;
            }
            return;
        }
        break;
    }
    if (pipeline->spooled_count == PIPELINE_SPOOLED_RANGES_MAX) {
        return;
    }
    if (pipeline->spooled_count == pipeline->spooled_cap) {
        pipeline->spooled_cap =
            pipeline->spooled_cap == 0 ? 16 : pipeline->spooled_cap * 2;
        pipeline->spooled =
            lf_realloc(pipeline->spooled,
                       pipeline->spooled_cap * sizeof(*pipeline->spooled));
    }
    range = &pipeline->spooled[pipeline->spooled_count++];
    range->file_id = span->file_id;
    range->start = span->prev_end;
    range->end = span->end;
}

/*
 * Returns the offset to read `info` from instead of `offset`: past every
 * spooled range that `offset` lies in, so that lines the spool sends are
 * not read again. A range that ends past the end of the file is not used,
 * because the file was replaced or truncated. The file's ranges past that
 * offset move to `src`, for skip_spooled_event().
 *
 * NOTE: ranges are keyed by the file id that was read, so a rotated copy
 * continuing a truncated file's document ids does not skip the lines the
 * spool holds for the original.
 */
static uint64_t skip_spooled(struct lf_pipeline *pipeline,
                             const struct lf_file_info *info,
                             struct source *src, uint64_t offset)
{
    bool moved = true;
    size_t i;

    while (moved) {
        moved = false;
        for (i = 0; i < pipeline->spooled_count; i++) {
            const struct spooled_range *range = &pipeline->spooled[i];

            if (range->file_id == info->file_id && range->start <= offset &&
                range->end > offset &&
                (info->compressed || range->end <= info->size)) {
                offset = range->end;
                moved = true;
            }
        }
    }
    i = 0;
    while (i < pipeline->spooled_count) {
        struct spooled_range range = pipeline->spooled[i];

        if (range.file_id != info->file_id) {
            i++;
            continue;
        }
        pipeline->spooled[i] = pipeline->spooled[--pipeline->spooled_count];
        if (range.start > offset && !info->compressed &&
            range.end <= info->size) {
            src->spooled = lf_realloc(src->spooled, (src->spooled_count + 1) *
                                                        sizeof(*src->spooled));
            src->spooled[src->spooled_count++] = range;
        }
    }
    return offset;
}

/*
 * Returns true when the spool found at start contains the event `line`,
 * which is read again because an event before it was not spooled. Its
 * bytes then lie within a spooled range. Forgets the ranges passed.
 */
static bool skip_spooled_event(struct source *src, const struct lf_line *line)
{
    size_t i = 0;
    bool found = false;

    while (i < src->spooled_count) {
        const struct spooled_range *range = &src->spooled[i];

        if (range->end <= line->offset) {
            src->spooled[i] = src->spooled[--src->spooled_count];
            continue;
        }
        /* Container lines can commit less than they read: not skipped. */
        if (line->commit_offset == line->end_offset &&
            line->offset >= range->start && line->end_offset <= range->end) {
            found = true;
        }
        i++;
    }
    return found;
}

/*
 * Saves the registry at once after a file's offset moved past its spooled
 * events. Once the spool has sent them and dropped their records, only
 * the saved offset keeps them from being read again after another crash.
 */
static void save_spooled_offset(struct lf_pipeline *pipeline,
                                const char *path, uint64_t offset,
                                uint64_t read_from)
{
    char errbuf[256];

    lf_log_info("pipeline", "the spool contains events of a file past its "
                "saved offset, reading the file after them path=%s "
                "offset=%llu read_from=%llu", path,
                (unsigned long long)offset, (unsigned long long)read_from);
    if (lf_registry_save(pipeline->registry, errbuf, sizeof(errbuf)) != 0) {
        lf_log_error("registry", "%s; a crash before the next save reads "
                     "the spooled events of the file again path=%s", errbuf,
                     path);
    }
}

static uint64_t open_file(void *arg, struct lf_file_info *info,
                          void **source_out)
{
    struct lf_pipeline *pipeline = arg;
    struct source *src = lf_calloc(1, sizeof(*src));
    struct lf_registry_entry *entry;
    uint64_t offset = info->start_offset;
    uint64_t read_from;

    entry = find_resume_entry(pipeline, info);
    info->file_id = lf_file_id_generation(info->base_id, info->generation);
    if (entry != NULL) {
        offset = entry->offset;
        info->doc_file_id = entry->doc_file_id;
    } else if (info->compressed) {
        offset = resume_compressed(pipeline, info);
    } else if (info->doc_file_id != 0) {
        offset = acknowledged_offset(pipeline, info->doc_file_id, offset);
    } else if (info->generation == 0 &&
               info->head_hash != 0) {
        struct lf_registry_entry *origin = find_copy_origin(pipeline, info);

        if (origin != NULL) {
            lf_log_info("pipeline", "reading the rotated copy of a file "
                        "truncated while the agent was stopped from that "
                        "file's offset path=%s original=%s offset=%llu",
                        info->path, origin->path,
                        (unsigned long long)origin->offset);
            offset = origin->offset;
            info->doc_file_id = origin->doc_file_id;
        }
    }
    if (entry == NULL && info->doc_file_id == 0 && !info->compressed) {
        struct lf_registry_entry *old = find_replaced(pipeline, info);

        if (old != NULL) {
            info->replaced_head_hash = old->head_hash;
            info->replaced_doc_file_id = old->doc_file_id;
            info->replaced_offset = old->offset;
        }
    }
    if (info->doc_file_id == 0) {
        info->doc_file_id = info->file_id;
    }
    read_from = skip_spooled(pipeline, info, src, offset);

    /*
     * The entry exists from the first read on, with the offset reading
     * starts at, so a restart can find a file that was renamed away from
     * every glob before any of its lines was acknowledged.
     */
    src->entry = lf_registry_update(pipeline->registry, info->file_id,
                                    read_from, info->path, info->dev,
                                    info->ino);
    src->entry->base_id = info->base_id;
    src->entry->generation = info->generation;
    src->entry->doc_file_id = info->doc_file_id;
    src->entry->head_hash = info->head_hash;
    lf_registry_set_input(pipeline->registry, src->entry, info->input->id);
    if (read_from != offset) {
        lf_cuts_drop_through(&src->entry->cuts, read_from);
        save_spooled_offset(pipeline, info->path, offset, read_from);
    }
    if ((entry == NULL || read_from != offset) &&
        pipeline->on_commit != NULL) {
        pipeline->on_commit(pipeline->commit_arg);
    }
    src->file_id = info->file_id;
    src->doc_file_id = info->doc_file_id;
    src->dev = info->dev;
    src->ino = info->ino;
    src->path = lf_strdup(info->path);
    src->path_version = info->path_version;
    src->reading = true;
    lf_ack_tracker_init(&src->tracker, read_from);
    src->published_end = read_from;
    src->span_chained = true;

    src->next = pipeline->sources;
    if (src->next != NULL) {
        src->next->prev = src;
    }
    pipeline->sources = src;
    pipeline->stats.sources_open++;
    *source_out = src;
    return read_from;
}

static void close_file(void *arg, void *source, bool truncated)
{
    struct lf_pipeline *pipeline = arg;
    struct source *src = source;

    src->reading = false;
    src->retired = truncated;
    if (lf_ack_tracker_pending(&src->tracker) == 0) {
        free_source(pipeline, src);
    }
}

static size_t pending(void *arg, void *source)
{
    const struct source *src = source;

    (void)arg;
    return lf_ack_tracker_pending(&src->tracker);
}

static const struct lf_cuts *source_cuts(void *arg, void *source)
{
    const struct source *src = source;

    (void)arg;
    return &src->entry->cuts;
}

/*
 * Saves the registry at once rather than after registry.flush: the event
 * ending at the cut may be indexed before the next timed save, and a
 * restart without the cut would read a longer event under the same id.
 * Cuts come from timeouts and closes, so these saves are rare.
 */
static void add_cut(void *arg, void *source, const struct lf_cut *cut)
{
    struct lf_pipeline *pipeline = arg;
    struct source *src = source;
    char errbuf[256];

    if (src->retired ||
        !lf_registry_add_cut(pipeline->registry, src->entry, cut)) {
        return;
    }
    if ((cut->kinds & LF_CUT_ENDS) == 0) {
        /*
         * A shipped-event mark matters only once the offset moves past the
         * event's start, and the save that stores that offset stores it.
         */
        return;
    }
    if (lf_registry_save(pipeline->registry, errbuf, sizeof(errbuf)) != 0) {
        lf_log_error("registry", "%s; the cut at offset %llu is not "
                     "saved, so a crash before its event is acknowledged "
                     "can lose the bytes appended after it path=%s", errbuf,
                     (unsigned long long)cut->offset, src->path);
        if (pipeline->on_commit != NULL) {
            pipeline->on_commit(pipeline->commit_arg);
        }
    }
}

void lf_pipeline_doc_id(uint64_t file_id, uint64_t offset,
                        char out[LF_DOC_ID_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    size_t n = 0;
    size_t len = 0;

    for (int shift = 60; shift >= 0; shift -= 4) {
        out[len++] = hex[(file_id >> shift) & 0xf];
    }
    out[len++] = '-';
    do {
        digits[n++] = hex[offset & 0xf];
        offset >>= 4;
    } while (offset != 0);
    while (n > 0) {
        out[len++] = digits[--n];
    }
    out[len] = '\0';
}

/*
 * Returns the monotonic time of the last timer tick, in milliseconds. Its
 * resolution is one kernel tick (1 to 10 ms, set by CONFIG_HZ), enough
 * for event ages in seconds, and clock_gettime(2) reads it cheaply.
 */
static uint64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Fills the reused event for one line. Returns LF_PROCESSOR_DROP when a
 * processor dropped it.
 */
/*
 * Adds one parse failure to input `input_id`. A linear search is enough:
 * inputs are few and only failed lines get here.
 */
static void count_parse_failure(struct lf_pipeline *pipeline,
                                const char *input_id)
{
    struct input_parse_failures *entry;

    for (size_t i = 0; i < pipeline->parse_failure_inputs; i++) {
        if (strcmp(pipeline->parse_failures[i].input_id, input_id) == 0) {
            pipeline->parse_failures[i].count++;
            return;
        }
    }
    pipeline->parse_failures =
        lf_realloc(pipeline->parse_failures,
                   (pipeline->parse_failure_inputs + 1) *
                       sizeof(*pipeline->parse_failures));
    entry = &pipeline->parse_failures[pipeline->parse_failure_inputs++];
    entry->input_id = lf_strdup(input_id);
    entry->count = 1;
}

static enum lf_processor_result build_event(struct lf_pipeline *pipeline,
                                            const struct lf_file_info *info,
                                            const struct lf_line *line)
{
    struct lf_event_origin origin = {
        .path = info->path,
        .path_len = info->path_len,
        .hostname = pipeline->hostname,
        .hostname_len = pipeline->hostname_len,
    };
    bool parse_failed = false;
    enum lf_processor_result result;

    result = lf_event_build(&pipeline->event, pipeline->config, info->input,
                            &origin, line, now_ns(), &parse_failed);
    if (parse_failed) {
        pipeline->stats.parse_failures++;
        count_parse_failure(pipeline, info->input->id);
    }
    return result;
}

static void resolve_ticket(struct lf_pipeline *pipeline, struct source *src,
                           uint64_t ticket);

/*
 * Notes a published event that commits up to `commit_offset`. An event
 * that does not move the commit offset (a container line waiting for the
 * rest of another stream's line) breaks the chain of spans, because a
 * span could not tell it apart from the event before it.
 */
static void advance_published_end(struct source *src, uint64_t commit_offset)
{
    src->span_chained = commit_offset > src->published_end;
    if (commit_offset > src->published_end) {
        src->published_end = commit_offset;
    }
}

static int on_line(void *arg, void *source, const struct lf_file_info *info,
                   const struct lf_line *line)
{
    struct lf_pipeline *pipeline = arg;
    struct source *src = source;
    struct lf_ack_ref ref = {.source = src};
    struct lf_event_span span;
    char doc_id[LF_DOC_ID_MAX + 1];
    int rc;

    if (src->path_version != info->path_version) {
        lf_free(src->path);
        src->path = lf_strdup(info->path);
        src->path_version = info->path_version;
    }

    if (src->spooled_count > 0 && skip_spooled_event(src, line)) {
        /* Sent from the spool: resolved like a filtered line. */
        pipeline->stats.events_skipped_spooled++;
        resolve_ticket(pipeline, src, lf_ack_tracker_track(
                                          &src->tracker, line->commit_offset));
        advance_published_end(src, line->commit_offset);
        return 0;
    }
    if (build_event(pipeline, info, line) == LF_PROCESSOR_DROP) {
        /* Resolved at once, like a filtered line: see on_filtered(). */
        pipeline->stats.events_dropped_processor++;
        resolve_ticket(pipeline, src, lf_ack_tracker_track(
                                          &src->tracker, line->commit_offset));
        return 0;
    }
    lf_pipeline_doc_id(src->doc_file_id, line->offset, doc_id);
    span.file_id = src->file_id;
    /* An empty span (end at prev_end) is never used to skip lines. */
    span.prev_end =
        src->span_chained ? src->published_end : line->commit_offset;
    span.end = line->commit_offset;
    ref.ticket = lf_ack_tracker_track_at(&src->tracker, line->commit_offset,
                                         monotonic_ms());
    pipeline->unresolved++;

    rc = lf_queue_publish(pipeline->queue, &pipeline->event, doc_id, &span,
                          ref);
    if (rc != 0) {
        lf_ack_tracker_untrack_from(&src->tracker, ref.ticket);
        pipeline->unresolved--;
        return rc;
    }
    advance_published_end(src, line->commit_offset);
    pipeline->stats.events_published++;
    lf_log_metrics_observe(pipeline->metrics, &pipeline->event,
                           info->input->id);
    return 0;
}

/* Commits the file's offset when resolving `ticket` moved it forward. */
static void resolve_ticket(struct lf_pipeline *pipeline, struct source *src,
                           uint64_t ticket)
{
    if (lf_ack_tracker_resolve(&src->tracker, ticket) && !src->retired) {
        lf_registry_commit(pipeline->registry, src->entry,
                           src->tracker.committed, src->path);
        if (pipeline->on_commit != NULL) {
            pipeline->on_commit(pipeline->commit_arg);
        }
    }
}

/*
 * A line the input's filters dropped is resolved at once, so the offset
 * moves past it as soon as every event before it is resolved.
 */
static void on_filtered(void *arg, void *source, uint64_t commit_offset)
{
    struct lf_pipeline *pipeline = arg;
    struct source *src = source;

    resolve_ticket(pipeline, src,
                   lf_ack_tracker_track(&src->tracker, commit_offset));
}

void lf_pipeline_on_result(struct lf_pipeline *pipeline, struct lf_ack_ref ref,
                           enum lf_delivery result)
{
    struct source *src = ref.source;

    switch (result) {
    case LF_DELIVERY_INDEXED:
        pipeline->stats.events_indexed++;
        break;
    case LF_DELIVERY_DUPLICATE:
        pipeline->stats.events_duplicate++;
        break;
    case LF_DELIVERY_REJECTED:
        pipeline->stats.events_rejected++;
        break;
    }
    pipeline->unresolved--;

    resolve_ticket(pipeline, src, ref.ticket);
    if (!src->reading && lf_ack_tracker_pending(&src->tracker) == 0) {
        free_source(pipeline, src);
    }
}

void lf_pipeline_on_spooled(struct lf_pipeline *pipeline,
                            struct lf_ack_ref ref)
{
    struct source *src = ref.source;

    pipeline->stats.events_spooled++;
    pipeline->unresolved--;
    resolve_ticket(pipeline, src, ref.ticket);
    if (!src->reading && lf_ack_tracker_pending(&src->tracker) == 0) {
        free_source(pipeline, src);
    }
}

static void caught_up(void *arg)
{
    struct lf_pipeline *pipeline = arg;

    if (pipeline->on_caught_up != NULL) {
        pipeline->on_caught_up(pipeline->caught_up_arg);
    }
}

void lf_pipeline_sink(struct lf_pipeline *pipeline,
                      struct lf_input_sink *sink,
                      void (*on_caught_up)(void *arg), void *arg)
{
    pipeline->on_caught_up = on_caught_up;
    pipeline->caught_up_arg = arg;
    sink->arg = pipeline;
    sink->open_file = open_file;
    sink->pending = pending;
    sink->cuts = source_cuts;
    sink->add_cut = add_cut;
    sink->on_line = on_line;
    sink->on_filtered = on_filtered;
    sink->close_file = close_file;
    sink->on_caught_up = caught_up;
}

bool lf_pipeline_uses_entry(void *arg, const struct lf_registry_entry *entry)
{
    const struct lf_pipeline *pipeline = arg;

    for (const struct source *src = pipeline->sources; src != NULL;
         src = src->next) {
        if (src->entry == entry) {
            return true;
        }
    }
    return false;
}

uint64_t lf_pipeline_unresolved(const struct lf_pipeline *pipeline)
{
    return pipeline->unresolved;
}

uint64_t lf_pipeline_oldest_unresolved_age_ms(
    const struct lf_pipeline *pipeline)
{
    uint64_t now = monotonic_ms();
    uint64_t oldest = now;
    uint64_t time_ms;

    for (const struct source *src = pipeline->sources; src != NULL;
         src = src->next) {
        if (lf_ack_tracker_oldest_time(&src->tracker, &time_ms) &&
            time_ms < oldest) {
            oldest = time_ms;
        }
    }
    return now - oldest;
}

void lf_pipeline_stats(const struct lf_pipeline *pipeline,
                       struct lf_pipeline_stats *out)
{
    *out = pipeline->stats;
}

uint64_t lf_pipeline_input_parse_failures(const struct lf_pipeline *pipeline,
                                          const char *input_id)
{
    for (size_t i = 0; i < pipeline->parse_failure_inputs; i++) {
        if (strcmp(pipeline->parse_failures[i].input_id, input_id) == 0) {
            return pipeline->parse_failures[i].count;
        }
    }
    return 0;
}

void lf_pipeline_free(struct lf_pipeline *pipeline)
{
    if (pipeline == NULL) {
        return;
    }
    while (pipeline->sources != NULL) {
        free_source(pipeline, pipeline->sources);
    }
    lf_event_cleanup(&pipeline->event);
    lf_free(pipeline->spooled);
    for (size_t i = 0; i < pipeline->parse_failure_inputs; i++) {
        lf_free(pipeline->parse_failures[i].input_id);
    }
    lf_free(pipeline->parse_failures);
    lf_free(pipeline);
}
