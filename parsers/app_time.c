/*
 * Timestamp detection for the `app` preset. A line is first read for a
 * timestamp at its start. Only when there is none, the next few words
 * are tried, with the stricter rules of scan_later_time() and
 * is_prefix_field(), because a number later in a line is more often data
 * than a time.
 */
#include "parsers/app_time.h"

#include "lf/mem.h"
#include "parsers/level.h"
#include "parsers/time_scan.h"
#include "parsers/timestamp.h"

/*
 * When the line does not start with a timestamp, one is looked for at the
 * start of the second to the TIME_SEARCH_WORDS-th word. That word must
 * start within the first TIME_SEARCH_BYTES bytes, and every word before
 * it must be a machine-written field (see is_prefix_field).
 */
enum { TIME_SEARCH_WORDS = 5, TIME_SEARCH_BYTES = 64 };

/*
 * Unix seconds after the first word count as a timestamp only between
 * 2000-01-01 and 2100-01-01.
 */
#define EPOCH_MIN_NS (INT64_C(946684800) * INT64_C(1000000000))
#define EPOCH_MAX_NS (INT64_C(4102444800) * INT64_C(1000000000))

#define SYSLOG_TIME_LAYOUT "%b %e %H:%M:%S"
#define SYSLOG_TIME_LEN LF_STRLEN("Mar  5 07:08:09")

struct lf_app_time_finder {
    struct lf_timestamp_layout *syslog_layout;
    struct lf_tz tz; /* UTC: lines without a zone are read as UTC */
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alpha(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z');
}

bool lf_app_is_upper_code(const char *p, size_t len)
{
    if (len < 2 || !is_upper(p[0])) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!(is_upper(p[i]) || is_digit(p[i]) || p[i] == '_')) {
            return false;
        }
    }
    return true;
}

/*
 * Reads "Mar  5 07:08:09" with the year inferred from the read time.
 * Returns the bytes it spans, or 0.
 */
static size_t scan_syslog_time(struct lf_app_time_finder *finder, const char *p,
                               const char *end, int64_t now_ns, int64_t *ns_out)
{
    if ((size_t)(end - p) < SYSLOG_TIME_LEN || p[3] != ' ' || p[6] != ' ' ||
        p[9] != ':' || p[12] != ':' ||
        (SYSLOG_TIME_LEN < (size_t)(end - p) && !is_blank(p[15]))) {
        return 0;
    }
    if (lf_timestamp_parse_layout(finder->syslog_layout, p, SYSLOG_TIME_LEN,
                                  &finder->tz, now_ns, ns_out) != 0) {
        return 0;
    }
    return SYSLOG_TIME_LEN;
}

/*
 * Reads a timestamp in any of the formats read at the start of a line.
 * Returns its length, or 0.
 */
static size_t scan_time(struct lf_app_time_finder *finder, const char *p,
                        const char *end, int64_t now_ns, int64_t *ns_out)
{
    static size_t (*const dated_readers[])(const char *, const char *,
                                           int64_t *) = {
        lf_time_scan_iso8601,       lf_time_scan_slash_date,
        lf_time_scan_clf,           lf_time_scan_epoch,
        lf_time_scan_db2,           lf_time_scan_dotted_date,
        lf_time_scan_compact_date,  lf_time_scan_short_slash_date,
        lf_time_scan_compact_short,
    };
    size_t used;

    if (is_digit(p[0])) {
        for (size_t i = 0; i < LF_ARRAY_SIZE(dated_readers); i++) {
            used = dated_readers[i](p, end, ns_out);
            if (used != 0) {
                return used;
            }
        }
        return lf_time_scan_month_day(p, end, now_ns, ns_out);
    }
    used = lf_time_scan_ctime(p, end, ns_out);
    if (used == 0) {
        used = scan_syslog_time(finder, p, end, now_ns, ns_out);
    }
    return used;
}

/*
 * Reads a timestamp in a word after the first: only the formats that
 * carry a four-digit year and a time of day, and Unix seconds of exactly
 * 10 digits between EPOCH_MIN_NS and EPOCH_MAX_NS.
 */
static size_t scan_later_time(const char *p, const char *end, int64_t *ns_out)
{
    int64_t ns;
    size_t used;

    used = lf_time_scan_iso8601(p, end, &ns);
    if (used == 0) {
        used = lf_time_scan_db2(p, end, &ns);
    }
    if (used == 0) {
        used = lf_time_scan_slash_date(p, end, &ns);
    }
    if (used == 0) {
        used = lf_time_scan_dotted_date(p, end, &ns);
        if (used == LF_STRLEN("2005.06.03")) {
            used = 0;
        }
    }
    if (used == 0) {
        used = lf_time_scan_epoch(p, end, &ns);
        if (used < 10 || (used > 10 && is_digit(p[10])) || ns < EPOCH_MIN_NS ||
            ns >= EPOCH_MAX_NS) {
            used = 0;
        }
    }
    if (used != 0) {
        *ns_out = ns;
    }
    return used;
}

/*
 * Checks what follows a timestamp: the end, a blank, a '|' or a ','
 * before a blank. Returns where the rest of the line starts, or NULL.
 */
static const char *end_of_time(const char *s, const char *end,
                               struct lf_app_time *out)
{
    if (s == end || is_blank(*s)) {
        return s;
    }
    if (*s == '|') {
        return s + 1;
    }
    if (*s == ',' && (s + 1 == end || is_blank(s[1]))) {
        out->comma = true;
        return s + 1;
    }
    return NULL;
}

/*
 * Reads the timestamp that starts the line, bare or in brackets. Returns
 * where the rest of the line starts, or `p` when there is none.
 */
static const char *read_leading_time(struct lf_app_time_finder *finder,
                                     const char *p, const char *end,
                                     int64_t now_ns, struct lf_app_time *out)
{
    bool bracketed = p < end && *p == '[';
    const char *s = bracketed ? p + 1 : p;
    size_t used;
    int64_t ns;

    if (s >= end) {
        return p;
    }
    used = scan_time(finder, s, end, now_ns, &ns);
    if (used == 0) {
        return p;
    }
    s += used;
    if (bracketed) {
        if (s >= end || *s != ']') {
            return p;
        }
        s++;
        if (s < end && !is_blank(*s)) {
            return p;
        }
    } else {
        s = end_of_time(s, end, out);
        if (s == NULL) {
            return p;
        }
    }
    out->ns = ns;
    out->found = true;
    return s;
}

/*
 * Tells whether a word may come before a timestamp that is not at the
 * start of the line. Every such word is made of letters, digits and
 * ".-_:/". The first word must also not look like the start of a
 * sentence. So it contains a byte that is not a letter ("-", "350766",
 * "node-12", "api.log.1"), or it is an upper-case code that is not a
 * level word ("KERNDTLB").
 */
static bool is_prefix_field(const char *p, size_t len, bool first)
{
    bool has_non_letter = false;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (!lf_app_is_field_char(c)) {
            return false;
        }
        has_non_letter = has_non_letter || !is_alpha(c);
    }
    if (!first || has_non_letter) {
        return len > 0;
    }
    return lf_app_is_upper_code(p, len) && lf_level_canonical(p, len) == NULL;
}

/*
 * Looks for a timestamp at the start of a later word, within the bounds
 * of TIME_SEARCH_WORDS and TIME_SEARCH_BYTES. Returns where the rest of
 * the line starts: after the timestamp, or `text` when there is none.
 */
static const char *search_time(const char *text, const char *end,
                               struct lf_app_time *out)
{
    const char *limit =
        end - text > TIME_SEARCH_BYTES ? text + TIME_SEARCH_BYTES : end;
    const char *s = text;

    /* The word before a candidate is checked, so the loop runs once less. */
    for (int words = 1; words < TIME_SEARCH_WORDS; words++) {
        const char *word = s;
        const char *rest;
        size_t used;
        int64_t ns;

        while (s < end && lf_app_is_field_char(*s)) {
            s++;
        }
        if ((s < end && !is_blank(*s)) ||
            !is_prefix_field(word, (size_t)(s - word), words == 1)) {
            return text;
        }
        while (s < end && is_blank(*s)) {
            s++;
        }
        if (s >= limit) {
            return text;
        }
        if (!is_digit(*s)) {
            continue;
        }
        used = scan_later_time(s, end, &ns);
        rest = used == 0 ? NULL : end_of_time(s + used, end, out);
        if (rest != NULL) {
            out->ns = ns;
            out->found = true;
            return rest;
        }
    }
    return text;
}

const char *lf_app_time_find(struct lf_app_time_finder *finder,
                             const char *text, const char *end, int64_t now_ns,
                             struct lf_app_time *out)
{
    const char *rest;

    out->found = false;
    out->comma = false;
    rest = read_leading_time(finder, text, end, now_ns, out);
    if (out->found) {
        return rest;
    }
    return search_time(text, end, out);
}

void lf_app_time_finder_free(struct lf_app_time_finder *finder)
{
    if (finder == NULL) {
        return;
    }
    lf_timestamp_layout_free(finder->syslog_layout);
    lf_free(finder);
}

int lf_app_time_finder_new(struct lf_app_time_finder **out)
{
    struct lf_app_time_finder *finder = lf_calloc(1, sizeof(*finder));
    char errbuf[128];
    int rc;

    lf_tz_init_utc(&finder->tz);
    rc = lf_timestamp_layout_new(SYSLOG_TIME_LAYOUT, &finder->syslog_layout,
                                 errbuf, sizeof(errbuf));
    if (rc != 0) {
        lf_app_time_finder_free(finder);
        return rc;
    }
    *out = finder;
    return 0;
}
