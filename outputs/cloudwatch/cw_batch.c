/*
 * PutLogEvents batch builder of the CloudWatch Logs output. Each event
 * is cleaned (UTF-8, time window, size, empty) when it is added, then
 * kept pending. lf_cw_batcher_take() sorts the pending entries by
 * timestamp and cuts the earliest ones into a batch that obeys every
 * limit.
 */
#include "outputs/cloudwatch/cw_batch.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum length of a UTF-8 character. A part of a split event is never
 * shorter. */
#define UTF8_MAX_CHAR_BYTES 4

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define REPLACEMENT_CHAR "\xef\xbf\xbd"
#define REPLACEMENT_CHAR_LEN 3

#define DEFAULT_EMPTY_PLACEHOLDER "-"

struct pending {
    struct lf_cw_entry entry;
    uint64_t seq; /* order of addition, the tie-break of the sort */
};

struct lf_cw_batcher {
    struct lf_cw_batch_options opts;
    char *truncate_marker; /* owned copies of the option strings */
    char *empty_placeholder;
    struct pending *pending;
    size_t head; /* first pending entry not yet taken */
    size_t count;
    size_t cap;
    size_t sorted_end; /* pending[head..sorted_end) is in sort order */
    uint64_t next_seq;
    struct lf_cw_batch_stats stats;
};

void lf_cw_batch_options_init(struct lf_cw_batch_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_batch_bytes = LF_CW_MAX_BATCH_BYTES;
    opts->max_batch_events = LF_CW_MAX_BATCH_EVENTS;
    opts->max_event_bytes = LF_CW_MAX_EVENT_BYTES;
    opts->max_batch_span_ms = LF_CW_MAX_BATCH_SPAN_MS;
    opts->max_event_age_ms = LF_CW_MAX_EVENT_AGE_MS;
    opts->max_event_ahead_ms = LF_CW_MAX_EVENT_AHEAD_MS;
    opts->clamp_margin_ms = LF_CW_CLAMP_MARGIN_MS;
    opts->out_of_window = LF_CW_OUT_OF_WINDOW_DROP;
    opts->large_event = LF_CW_LARGE_EVENT_SPLIT;
    opts->empty_message = LF_CW_EMPTY_MESSAGE_DROP;
    opts->truncate_marker = LF_CW_TRUNCATE_MARKER;
    opts->empty_placeholder = DEFAULT_EMPTY_PLACEHOLDER;
}

static int check_options(const struct lf_cw_batch_options *o, char *errbuf,
                         size_t errlen)
{
    size_t min_event = LF_CW_EVENT_OVERHEAD_BYTES + UTF8_MAX_CHAR_BYTES;
    size_t max_message = o->max_event_bytes - LF_CW_EVENT_OVERHEAD_BYTES;

    if (o->max_batch_events == 0) {
        snprintf(errbuf, errlen,
                 "max_batch_events 0 is invalid: set 1 or "
                 "more");
    } else if (o->max_event_bytes < min_event) {
        snprintf(errbuf, errlen,
                 "max_event_bytes %zu is too small: set at least %zu (%d "
                 "bytes of overhead plus one 4-byte character)",
                 o->max_event_bytes, min_event, LF_CW_EVENT_OVERHEAD_BYTES);
    } else if (o->max_batch_bytes < o->max_event_bytes) {
        snprintf(errbuf, errlen,
                 "max_batch_bytes %zu is smaller than max_event_bytes %zu: "
                 "a batch must hold the largest event",
                 o->max_batch_bytes, o->max_event_bytes);
    } else if (o->max_batch_span_ms < 0) {
        snprintf(errbuf, errlen,
                 "max_batch_span_ms %lld is invalid: set 0 or more",
                 (long long)o->max_batch_span_ms);
    } else if (o->max_event_ahead_ms < 0) {
        snprintf(errbuf, errlen,
                 "max_event_ahead_ms %lld is invalid: set 0 or more",
                 (long long)o->max_event_ahead_ms);
    } else if (o->max_event_age_ms <= 0) {
        snprintf(errbuf, errlen,
                 "max_event_age_ms %lld is invalid: set 1 or more",
                 (long long)o->max_event_age_ms);
    } else if (o->clamp_margin_ms < 0 ||
               o->clamp_margin_ms >= o->max_event_age_ms) {
        snprintf(errbuf, errlen,
                 "clamp_margin_ms %lld is invalid: set it between 0 and "
                 "max_event_age_ms (%lld) minus 1",
                 (long long)o->clamp_margin_ms, (long long)o->max_event_age_ms);
    } else if (o->large_event == LF_CW_LARGE_EVENT_TRUNCATE &&
               (o->truncate_marker == NULL ||
                strlen(o->truncate_marker) + UTF8_MAX_CHAR_BYTES >
                    max_message)) {
        snprintf(errbuf, errlen,
                 "truncate marker is missing or too long for "
                 "max_event_bytes %zu: it must leave room for one 4-byte "
                 "character",
                 o->max_event_bytes);
    } else if (o->empty_message == LF_CW_EMPTY_MESSAGE_PLACEHOLDER &&
               (o->empty_placeholder == NULL ||
                o->empty_placeholder[0] == '\0' ||
                strlen(o->empty_placeholder) > max_message)) {
        snprintf(errbuf, errlen,
                 "empty message placeholder is missing or longer than %zu "
                 "bytes: set 1 to %zu bytes",
                 max_message, max_message);
    } else {
        return 0;
    }
    return LF_ECONFIG;
}

struct lf_cw_batcher *lf_cw_batcher_new(const struct lf_cw_batch_options *opts,
                                        char *errbuf, size_t errlen)
{
    struct lf_cw_batcher *b;

    if (check_options(opts, errbuf, errlen) != 0) {
        return NULL;
    }
    b = lf_calloc(1, sizeof(*b));
    b->opts = *opts;
    if (opts->truncate_marker != NULL) {
        b->truncate_marker = lf_strdup(opts->truncate_marker);
    }
    if (opts->empty_placeholder != NULL) {
        b->empty_placeholder = lf_strdup(opts->empty_placeholder);
    }
    b->opts.truncate_marker = b->truncate_marker;
    b->opts.empty_placeholder = b->empty_placeholder;
    return b;
}

void lf_cw_batcher_free(struct lf_cw_batcher *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = b->head; i < b->count; i++) {
        lf_free(b->pending[i].entry.message);
    }
    lf_free(b->pending);
    lf_free(b->truncate_marker);
    lf_free(b->empty_placeholder);
    lf_free(b);
}

size_t lf_cw_batcher_pending(const struct lf_cw_batcher *b)
{
    return b->count - b->head;
}

const struct lf_cw_batch_stats *
lf_cw_batcher_stats(const struct lf_cw_batcher *b)
{
    return &b->stats;
}

/* ---- UTF-8 ---- */

/*
 * Returns the length of the well-formed UTF-8 character at `s` (Unicode
 * table 3-7: no overlong forms, surrogates or code points past U+10FFFF),
 * or 0 when the bytes there are not one.
 */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t n;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

size_t lf_cw_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = u[i] < 0x80 ? 1 : utf8_char_len(u + i, len - i);

        if (n == 0) {
            break;
        }
        i += n;
    }
    return i;
}

/*
 * Returns a NUL-terminated copy of `s` in which every byte that does not
 * belong to a well-formed character is replaced by U+FFFD.
 */
static char *copy_utf8(const char *s, size_t len, size_t *len_out,
                       bool *replaced_out)
{
    size_t valid = lf_cw_utf8_valid_prefix(s, len);
    struct lf_buf buf;

    *replaced_out = valid < len;
    if (valid == len) {
        *len_out = len;
        return lf_strndup(s, len);
    }
    lf_buf_init(&buf);
    lf_buf_append(&buf, s, valid);
    for (size_t i = valid; i < len;) {
        size_t n = utf8_char_len((const unsigned char *)s + i, len - i);

        if (n == 0) {
            lf_buf_append(&buf, REPLACEMENT_CHAR, REPLACEMENT_CHAR_LEN);
            i++;
        } else {
            lf_buf_append(&buf, s + i, n);
            i += n;
        }
    }
    *len_out = buf.len;
    return buf.data;
}

size_t lf_cw_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t i = max;

    if (len <= max) {
        return len;
    }
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80) {
        i--;
    }
    return i;
}

/* ---- Adding ---- */

static struct lf_cw_entry *push_entry(struct lf_cw_batcher *b)
{
    struct pending *p;

    if (b->head == b->count) {
        b->head = 0;
        b->count = 0;
        b->sorted_end = 0;
    }
    if (b->count == b->cap) {
        if (b->head > b->cap / 2) {
            memmove(b->pending, b->pending + b->head,
                    (b->count - b->head) * sizeof(*b->pending));
            b->count -= b->head;
            b->sorted_end -= b->head;
            b->head = 0;
        } else {
            b->cap = b->cap ? b->cap * 2 : 64;
            b->pending = lf_realloc(b->pending, b->cap * sizeof(*b->pending));
        }
    }
    p = &b->pending[b->count++];
    memset(p, 0, sizeof(*p));
    p->seq = b->next_seq++;
    p->entry.part = 1;
    p->entry.part_count = 1;
    return &p->entry;
}

static void queue_entry(struct lf_cw_batcher *b, int64_t timestamp_ms,
                        char *message, size_t len, struct lf_cw_event_ref ref,
                        bool clamped)
{
    struct lf_cw_entry *e = push_entry(b);
    size_t index = b->count - 1;

    /* The sorted run grows while events arrive in timestamp order. */
    if (index == b->sorted_end &&
        (index == b->head ||
         b->pending[index - 1].entry.timestamp_ms <= timestamp_ms)) {
        b->sorted_end = index + 1;
    }
    e->timestamp_ms = timestamp_ms;
    e->message = message;
    e->message_len = len;
    e->ref = ref;
    e->clamped = clamped;
}

/*
 * Applies the time window policy. Returns false when the event is
 * dropped, else true with the timestamp to send in `*ts`.
 */
static bool apply_window(struct lf_cw_batcher *b, int64_t *ts, int64_t now_ms,
                         bool *clamped_out)
{
    const struct lf_cw_batch_options *o = &b->opts;
    bool clamp = o->out_of_window == LF_CW_OUT_OF_WINDOW_CLAMP;

    *clamped_out = false;
    if (*ts < now_ms - o->max_event_age_ms) {
        if (!clamp) {
            b->stats.too_old_dropped++;
            return false;
        }
        b->stats.too_old_clamped++;
        *ts = now_ms - o->max_event_age_ms + o->clamp_margin_ms;
        *clamped_out = true;
    } else if (*ts > now_ms + o->max_event_ahead_ms) {
        if (!clamp) {
            b->stats.too_new_dropped++;
            return false;
        }
        b->stats.too_new_clamped++;
        *ts = now_ms;
        *clamped_out = true;
    }
    return true;
}

static void queue_split(struct lf_cw_batcher *b, int64_t ts, char *message,
                        size_t len, struct lf_cw_event_ref ref, bool clamped)
{
    size_t max_message = b->opts.max_event_bytes - LF_CW_EVENT_OVERHEAD_BYTES;
    uint32_t parts = 0;
    uint32_t part = 0;

    for (size_t off = 0; off < len; parts++) {
        off += lf_cw_utf8_cut(message + off, len - off, max_message);
    }
    for (size_t off = 0; off < len;) {
        size_t n = lf_cw_utf8_cut(message + off, len - off, max_message);

        queue_entry(b, ts, lf_strndup(message + off, n), n, ref, clamped);
        b->pending[b->count - 1].entry.part = ++part;
        b->pending[b->count - 1].entry.part_count = parts;
        off += n;
    }
    b->stats.split_events++;
    b->stats.split_parts += parts;
    lf_free(message);
}

static void queue_truncated(struct lf_cw_batcher *b, int64_t ts, char *message,
                            size_t len, struct lf_cw_event_ref ref,
                            bool clamped)
{
    size_t max_message = b->opts.max_event_bytes - LF_CW_EVENT_OVERHEAD_BYTES;
    size_t marker_len = strlen(b->truncate_marker);
    size_t keep = lf_cw_utf8_cut(message, len, max_message - marker_len);

    memcpy(message + keep, b->truncate_marker, marker_len);
    message[keep + marker_len] = '\0';
    queue_entry(b, ts, message, keep + marker_len, ref, clamped);
    b->pending[b->count - 1].entry.truncated = true;
    b->stats.truncated++;
}

int lf_cw_batcher_add(struct lf_cw_batcher *b, int64_t timestamp_ms,
                      const char *message, size_t len,
                      struct lf_cw_event_ref ref, int64_t now_ms,
                      enum lf_cw_add_result *result_out)
{
    size_t max_message = b->opts.max_event_bytes - LF_CW_EVENT_OVERHEAD_BYTES;
    bool clamped;
    bool replaced;
    char *copy;

    *result_out = LF_CW_ADD_DROPPED;
    if (!apply_window(b, &timestamp_ms, now_ms, &clamped)) {
        return 0;
    }
    if (len == 0 && b->opts.empty_message == LF_CW_EMPTY_MESSAGE_DROP) {
        b->stats.empty_dropped++;
        return 0;
    }
    if (len == 0) {
        b->stats.empty_replaced++;
        message = b->empty_placeholder;
        len = strlen(message);
    }

    copy = copy_utf8(message, len, &len, &replaced);
    b->stats.invalid_utf8 += replaced ? 1 : 0;
    *result_out = LF_CW_ADD_QUEUED;
    if (len <= max_message) {
        queue_entry(b, timestamp_ms, copy, len, ref, clamped);
    } else if (b->opts.large_event == LF_CW_LARGE_EVENT_SPLIT) {
        queue_split(b, timestamp_ms, copy, len, ref, clamped);
    } else {
        queue_truncated(b, timestamp_ms, copy, len, ref, clamped);
    }
    return 0;
}

/* ---- Taking batches ---- */

static int compare_pending(const void *pa, const void *pb)
{
    const struct pending *a = pa;
    const struct pending *b = pb;

    if (a->entry.timestamp_ms != b->entry.timestamp_ms) {
        return a->entry.timestamp_ms < b->entry.timestamp_ms ? -1 : 1;
    }
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/*
 * Sorts the pending entries: the entries added out of order since the
 * sorted run are sorted on their own, then merged with the run. Most of
 * the run is already in place, so this costs less than sorting all.
 */
static void sort_pending(struct lf_cw_batcher *b)
{
    struct pending *run = b->pending + b->head;
    struct pending *tail = b->pending + b->sorted_end;
    size_t run_len = b->sorted_end - b->head;
    size_t tail_len = b->count - b->sorted_end;
    struct pending *copy;
    size_t i = 0;
    size_t j = 0;
    size_t k = 0;

    qsort(tail, tail_len, sizeof(*tail), compare_pending);
    b->sorted_end = b->count;
    if (run_len == 0 || compare_pending(&run[run_len - 1], tail) <= 0) {
        return;
    }

    /* Merge from a copy of the run into the array. The write position
     * k never passes the next unread tail entry, at run_len + j. */
    copy = lf_malloc(run_len * sizeof(*copy));
    memcpy(copy, run, run_len * sizeof(*copy));
    while (i < run_len && j < tail_len) {
        if (compare_pending(&tail[j], &copy[i]) < 0) {
            run[k++] = tail[j++];
        } else {
            run[k++] = copy[i++];
        }
    }
    while (i < run_len) {
        run[k++] = copy[i++];
    }
    lf_free(copy);
}

struct lf_cw_batch *lf_cw_batcher_take(struct lf_cw_batcher *b)
{
    const struct lf_cw_batch_options *o = &b->opts;
    struct lf_cw_batch *batch;
    struct pending *first;
    size_t avail = b->count - b->head;
    size_t n = 0;
    size_t bytes = 0;

    if (avail == 0) {
        return NULL;
    }
    if (b->sorted_end < b->count) {
        sort_pending(b);
    }

    first = &b->pending[b->head];
    while (n < avail && n < o->max_batch_events) {
        const struct lf_cw_entry *e = &first[n].entry;
        size_t event_bytes = e->message_len + LF_CW_EVENT_OVERHEAD_BYTES;

        if (bytes + event_bytes > o->max_batch_bytes ||
            e->timestamp_ms - first->entry.timestamp_ms >
                o->max_batch_span_ms) {
            break;
        }
        bytes += event_bytes;
        n++;
    }

    batch = lf_calloc(1, sizeof(*batch));
    batch->entries = lf_malloc(n * sizeof(*batch->entries));
    for (size_t i = 0; i < n; i++) {
        batch->entries[i] = first[i].entry;
    }
    batch->count = n;
    batch->size_bytes = bytes;
    batch->first_timestamp_ms = batch->entries[0].timestamp_ms;
    batch->last_timestamp_ms = batch->entries[n - 1].timestamp_ms;
    b->head += n;
    return batch;
}

void lf_cw_batch_free(struct lf_cw_batch *batch)
{
    if (batch == NULL) {
        return;
    }
    for (size_t i = 0; i < batch->count; i++) {
        lf_free(batch->entries[i].message);
    }
    lf_free(batch->entries);
    lf_free(batch);
}

/* ---- Replies ---- */

static bool index_valid(int64_t index, size_t count)
{
    return index == -1 || (index >= 0 && (uint64_t)index <= count);
}

int lf_cw_batch_map_rejected(const struct lf_cw_batch *batch,
                             const struct lf_cw_rejected_info *info,
                             enum lf_cw_event_status *status_out)
{
    int rejected = 0;

    for (size_t i = 0; i < batch->count; i++) {
        status_out[i] = LF_CW_EVENT_ACCEPTED;
    }
    if (!index_valid(info->too_new_start_index, batch->count) ||
        !index_valid(info->too_old_end_index, batch->count) ||
        !index_valid(info->expired_end_index, batch->count)) {
        return LF_EPROTO;
    }

    for (size_t i = 0; i < batch->count; i++) {
        int64_t index = (int64_t)i;

        if (index < info->expired_end_index) {
            status_out[i] = LF_CW_EVENT_EXPIRED;
        } else if (index < info->too_old_end_index) {
            status_out[i] = LF_CW_EVENT_TOO_OLD;
        } else if (info->too_new_start_index >= 0 &&
                   index >= info->too_new_start_index) {
            status_out[i] = LF_CW_EVENT_TOO_NEW;
        } else {
            continue;
        }
        rejected++;
    }
    return rejected;
}
