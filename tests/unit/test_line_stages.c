/*
 * The per-file line stages: partial_line_timeout, the newline after a
 * flushed partial line, UTF-16 decoding, line filters, the rewind offset
 * after LF_EFULL, the deadlines that the harvester's timer follows, the
 * cuts that make a second read end its events where the first read did,
 * and multiline groups per container stream.
 */
#include "agent/input/line_filter.h"
#include "agent/input/line_stages.h"
#include "lf_test.h"

#include "lf/error.h"
#include "lf/mem.h"

#define MAX_EVENTS 16

struct sink {
    char *text[MAX_EVENTS];
    uint64_t offset[MAX_EVENTS];
    uint64_t end[MAX_EVENTS];
    uint64_t commit[MAX_EVENTS];
    bool truncated[MAX_EVENTS];
    size_t count;
    uint64_t filtered_end[MAX_EVENTS];
    size_t filtered;
    size_t room; /* events taken before LF_EFULL */
    struct lf_cuts cuts; /* reported by on_cut */
};

static int on_event(void *arg, const struct lf_line *event)
{
    struct sink *sink = arg;

    if (sink->count == sink->room || sink->count == MAX_EVENTS) {
        return LF_EFULL;
    }
    sink->text[sink->count] = lf_strndup(event->data, event->len);
    sink->offset[sink->count] = event->offset;
    sink->end[sink->count] = event->end_offset;
    sink->commit[sink->count] = event->commit_offset;
    sink->truncated[sink->count] = event->truncated;
    sink->count++;
    return 0;
}

static void on_filtered(void *arg, const struct lf_line *event)
{
    struct sink *sink = arg;

    if (sink->filtered < MAX_EVENTS) {
        sink->filtered_end[sink->filtered++] = event->end_offset;
    }
}

static void on_cut(void *arg, const struct lf_cut *cut)
{
    struct sink *sink = arg;

    lf_cuts_add(&sink->cuts, cut->offset, cut->kinds, cut->start);
}

static void sink_cleanup(struct sink *sink)
{
    for (size_t i = 0; i < sink->count; i++) {
        lf_free(sink->text[i]);
    }
    lf_cuts_cleanup(&sink->cuts);
    memset(sink, 0, sizeof(*sink));
}

static struct lf_input_config plain_config(void)
{
    struct lf_input_config input = {0};

    input.id = "test";
    input.max_line_bytes = 1024;
    input.partial_line_timeout_ms = 5000;
    return input;
}

static int feed_str(struct lf_line_stages *stages, const char *text,
                    uint64_t now, struct sink *sink, uint64_t *rewind)
{
    struct lf_line_events events = {sink, on_event, on_filtered, on_cut};

    return lf_line_stages_feed(stages, text, strlen(text), now, &events,
                               rewind);
}

static int expire(struct lf_line_stages *stages, uint64_t now,
                  struct sink *sink, uint64_t *rewind)
{
    struct lf_line_events events = {sink, on_event, on_filtered, on_cut};

    return lf_line_stages_expire(stages, now, &events, rewind);
}

static void test_line_stages_partial_line_flushed(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    lf_line_stages_init(&stages, &input, 0, false);
    LF_CHECK_INT_EQ(feed_str(&stages, "one\ntw", 100, &sink, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 1);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 0);

    lf_line_stages_at_eof(&stages, 200);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 5200);
    /* A later end of file does not move the deadline: nothing grew. */
    lf_line_stages_at_eof(&stages, 300);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 5200);
    LF_CHECK_INT_EQ(expire(&stages, 5199, &sink, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 1);

    /* The line grew: the timeout starts again at the next end of file. */
    feed_str(&stages, "o", 400, &sink, &rewind);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 0);
    lf_line_stages_at_eof(&stages, 500);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 5500);
    LF_CHECK_INT_EQ(expire(&stages, 5500, &sink, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[1], "two");
    LF_CHECK_INT_EQ(sink.offset[1], 4);
    LF_CHECK_INT_EQ(sink.end[1], 7);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 0);

    /* Its newline is no event; the next line is. */
    feed_str(&stages, "\r\nthree\n", 600, &sink, &rewind);
    LF_CHECK_INT_EQ(sink.count, 3);
    LF_CHECK_STR_EQ(sink.text[2], "three");
    LF_CHECK_INT_EQ(sink.offset[2], 9);
    LF_CHECK_INT_EQ(lf_line_stages_offset(&stages), 15);
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

static void test_line_stages_rest_after_partial(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    /* Restarted just after a flushed partial line. */
    lf_line_stages_init(&stages, &input, 10, true);
    feed_str(&stages, "-more\n\n", 0, &sink, &rewind);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[0], "-more");
    LF_CHECK_INT_EQ(sink.offset[0], 10);
    /* Only the newline right after the flushed bytes is skipped. */
    LF_CHECK_STR_EQ(sink.text[1], "");
    LF_CHECK_INT_EQ(sink.offset[1], 16);
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

static void test_line_stages_timeout_zero_keeps_partial(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    input.partial_line_timeout_ms = 0;
    lf_line_stages_init(&stages, &input, 0, false);
    feed_str(&stages, "partial", 0, &sink, &rewind);
    lf_line_stages_at_eof(&stages, 0);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 0);
    LF_CHECK_INT_EQ(expire(&stages, 1000000, &sink, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 0);
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

static void test_line_stages_full_sink_rewinds(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = 1};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    lf_line_stages_init(&stages, &input, 100, false);
    LF_CHECK_INT_EQ(feed_str(&stages, "a\nbb\nccc\n", 0, &sink, &rewind),
                    LF_EFULL);
    LF_CHECK_INT_EQ(sink.count, 1);
    LF_CHECK_INT_EQ(rewind, 102);
    lf_line_stages_reset(&stages, rewind, false);
    sink.room = MAX_EVENTS;
    feed_str(&stages, "bb\nccc\n", 0, &sink, &rewind);
    LF_CHECK_INT_EQ(sink.count, 3);
    LF_CHECK_STR_EQ(sink.text[1], "bb");
    LF_CHECK_INT_EQ(sink.offset[1], 102);
    LF_CHECK_STR_EQ(sink.text[2], "ccc");
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

static struct lf_line_filter *make_filter(const char *yaml)
{
    struct lf_line_filter *filter = NULL;
    struct lf_conf *conf = NULL;
    struct lf_conf_node root;
    char errbuf[256] = "";

    if (lf_conf_load_string(yaml, strlen(yaml), "test.yml", &conf, errbuf,
                            sizeof(errbuf)) == 0) {
        lf_conf_root(conf, &root);
        if (lf_line_filter_parse(&root, &filter, errbuf, sizeof(errbuf)) !=
            0) {
            LF_FAIL_AT("filter %s: %s", yaml, errbuf);
        }
    }
    lf_conf_free(conf);
    return filter;
}

static void test_line_stages_filters(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    input.line_filter = make_filter("include_lines: ['^ERR', '^WARN']\n"
                                    "exclude_lines: ['ignored']\n");
    LF_CHECK(input.line_filter != NULL);
    lf_line_stages_init(&stages, &input, 0, false);
    feed_str(&stages, "INFO a\nERR b\nWARN ignored c\nWARN d\n", 0, &sink,
             &rewind);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[0], "ERR b");
    LF_CHECK_STR_EQ(sink.text[1], "WARN d");
    LF_CHECK_INT_EQ(sink.filtered, 2);
    LF_CHECK_INT_EQ(sink.filtered_end[0], 7);
    LF_CHECK_INT_EQ(sink.filtered_end[1], 28);
    lf_line_stages_cleanup(&stages);
    lf_line_filter_free(input.line_filter);
    sink_cleanup(&sink);
}

static void test_line_filter_errors(void)
{
    const char *yaml = "exclude_lines: ['ok', '(bad']\n";
    struct lf_line_filter *filter = NULL;
    struct lf_conf *conf = NULL;
    struct lf_conf_node root;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(lf_conf_load_string(yaml, strlen(yaml), "test.yml",
                                        &conf, errbuf, sizeof(errbuf)),
                    0);
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(lf_line_filter_parse(&root, &filter, errbuf,
                                         sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK(filter == NULL);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: exclude_lines[1]: invalid regular "
                            "expression at offset 4: missing closing "
                            "parenthesis");
    lf_conf_free(conf);

    yaml = "include_lines: 'ERR'\n";
    LF_CHECK_INT_EQ(lf_conf_load_string(yaml, strlen(yaml), "test.yml",
                                        &conf, errbuf, sizeof(errbuf)),
                    0);
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(lf_line_filter_parse(&root, &filter, errbuf,
                                         sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: include_lines: expected a list of "
                            "regular expressions");
    lf_conf_free(conf);
}

/* Feeds raw bytes, which may contain NULs. */
static int feed_bytes(struct lf_line_stages *stages, const char *data,
                      size_t len, struct sink *sink)
{
    struct lf_line_events events = {sink, on_event, on_filtered, on_cut};
    uint64_t rewind = 0;

    return lf_line_stages_feed(stages, data, len, 0, &events, &rewind);
}

static void test_line_stages_utf16le_with_bom(void)
{
    /* BOM, "h\u00e9\r\n", "\U0001F600\n", "z" then half a unit. */
    static const char data[] = "\xff\xfe"
                               "h\0\xe9\0\r\0\n\0"
                               "\x3d\xd8\x00\xde\n\0"
                               "z\0\n";
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;

    input.encoding = LF_ENCODING_UTF16LE;
    lf_line_stages_init(&stages, &input, 0, false);
    feed_bytes(&stages, data, sizeof(data) - 1, &sink);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[0], "h\xc3\xa9");
    LF_CHECK_INT_EQ(sink.offset[0], 0);
    LF_CHECK_INT_EQ(sink.end[0], 10);
    LF_CHECK_STR_EQ(sink.text[1], "\xf0\x9f\x98\x80");
    LF_CHECK_INT_EQ(sink.offset[1], 10);
    LF_CHECK_INT_EQ(sink.end[1], 16);
    /* The odd byte is left for the next read. */
    LF_CHECK_INT_EQ(lf_line_stages_offset(&stages), 18);
    LF_CHECK(!lf_line_stages_has_unread(&stages, 19));
    LF_CHECK(lf_line_stages_has_unread(&stages, 20));
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

static void test_line_stages_utf16be_invalid_units(void)
{
    /* A lone low surrogate, "a", a high surrogate before "b": U+FFFD. */
    static const char data[] = "\xdc\x00\0a\xd8\x01\0b\0\n"
                               "\0\n\0x\0\n";
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;

    input.encoding = LF_ENCODING_UTF16BE;
    lf_line_stages_init(&stages, &input, 0, false);
    feed_bytes(&stages, data, sizeof(data) - 1, &sink);
    LF_CHECK_INT_EQ(sink.count, 3);
    LF_CHECK_STR_EQ(sink.text[0], "\xef\xbf\xbd" "a\xef\xbf\xbd" "b");
    LF_CHECK_STR_EQ(sink.text[1], "");
    LF_CHECK_INT_EQ(sink.offset[1], 10);
    LF_CHECK_STR_EQ(sink.text[2], "x");
    LF_CHECK_INT_EQ(sink.offset[2], 12);
    /* "\n" as the high byte of U+0A00 does not end a line. */
    sink_cleanup(&sink);
    sink.room = MAX_EVENTS;
    lf_line_stages_reset(&stages, 0, false);
    feed_bytes(&stages, "\n\0\0\n", 4, &sink);
    LF_CHECK_INT_EQ(sink.count, 1);
    LF_CHECK_STR_EQ(sink.text[0], "\xe0\xa8\x80");
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

static void test_line_stages_utf16_cut_at_character(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    struct lf_buf data;

    /* 1023 "a" then "\u00e9": the cut must not split the 2-byte form. */
    lf_buf_init(&data);
    for (int i = 0; i < 1023; i++) {
        lf_buf_append(&data, "a\0", 2);
    }
    lf_buf_append(&data, "\xe9\0\xe9\0\n\0", 6);
    input.encoding = LF_ENCODING_UTF16LE;
    lf_line_stages_init(&stages, &input, 0, false);
    feed_bytes(&stages, data.data, data.len, &sink);
    LF_CHECK_INT_EQ(sink.count, 1);
    LF_CHECK_INT_EQ(strlen(sink.text[0]), 1023);
    LF_CHECK(sink.truncated[0]);
    LF_CHECK_INT_EQ(sink.end[0], data.len);
    lf_line_stages_cleanup(&stages);
    lf_buf_cleanup(&data);
    sink_cleanup(&sink);
}

static void test_line_stages_multiline_deadline(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    struct lf_line_events events = {&sink, on_event, on_filtered, on_cut};
    uint64_t rewind = 0;
    char errbuf[256];
    struct lf_conf *conf = NULL;
    struct lf_conf_node root;
    struct lf_conf_node node;
    struct lf_multiline_rule *parsed = NULL;
    const char *yaml = "multiline: {pattern: '^ ', timeout: 3s}\n";

    lf_conf_load_string(yaml, strlen(yaml), "t.yml", &conf, errbuf,
                        sizeof(errbuf));
    lf_conf_root(conf, &root);
    lf_conf_child(&root, "multiline", &node);
    LF_CHECK_INT_EQ(lf_multiline_rule_parse(&node, 1024, &parsed, errbuf,
                                            sizeof(errbuf)),
                    0);
    lf_conf_free(conf);
    input.multiline = parsed;

    lf_line_stages_init(&stages, &input, 0, false);
    feed_str(&stages, "head\n more\ntail", 1000, &sink, &rewind);
    LF_CHECK_INT_EQ(sink.count, 0);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 4000);
    lf_line_stages_at_eof(&stages, 1000);
    /* The partial line's deadline (6000) is later than the group's. */
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 4000);
    LF_CHECK_INT_EQ(expire(&stages, 4000, &sink, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 1);
    LF_CHECK_STR_EQ(sink.text[0], "head\n more");
    LF_CHECK_INT_EQ(sink.end[0], 11);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 6000);

    /* The flushed partial line starts a group; finish() sends it. */
    LF_CHECK_INT_EQ(expire(&stages, 6000, &sink, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 1);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 9000);
    LF_CHECK_INT_EQ(lf_line_stages_finish(&stages, &events, &rewind), 0);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[1], "tail");
    LF_CHECK_INT_EQ(sink.offset[1], 11);
    LF_CHECK_INT_EQ(sink.end[1], 15);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 0);
    lf_line_stages_cleanup(&stages);
    lf_multiline_rule_free(parsed);
    sink_cleanup(&sink);
}

static void test_line_stages_commit_before_held_part(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    input.format = LF_CONTAINER_CRI;
    lf_line_stages_init(&stages, &input, 0, false);
    /* 32 bytes each: a stdout part, a stderr line, the stdout rest. */
    feed_str(&stages, "2024-03-01T10:00:00Z stdout P a\n"
                      "2024-03-01T10:00:00Z stderr F b\n"
                      "2024-03-01T10:00:00Z stdout F c\n",
             0, &sink, &rewind);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[0], "b");
    LF_CHECK_INT_EQ(sink.offset[0], 32);
    LF_CHECK_INT_EQ(sink.end[0], 64);
    /* The registry must not pass the held stdout part at offset 0. */
    LF_CHECK_INT_EQ(sink.commit[0], 0);
    LF_CHECK_STR_EQ(sink.text[1], "ac");
    LF_CHECK_INT_EQ(sink.offset[1], 0);
    LF_CHECK_INT_EQ(sink.commit[1], 96);

    /* A rejected event rewinds to the held part, which it would lose. */
    sink_cleanup(&sink);
    lf_line_stages_reset(&stages, 0, false);
    sink.room = 0;
    LF_CHECK_INT_EQ(feed_str(&stages, "2024-03-01T10:00:00Z stdout P a\n"
                                      "2024-03-01T10:00:00Z stderr F b\n",
                             0, &sink, &rewind),
                    LF_EFULL);
    LF_CHECK_INT_EQ(rewind, 0);
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&sink);
}

/* Parses a `multiline` map written in YAML for a 1024-byte line limit. */
static struct lf_multiline_rule *parse_multiline(const char *yaml)
{
    struct lf_multiline_rule *rule = NULL;
    struct lf_conf *conf = NULL;
    struct lf_conf_node root;
    struct lf_conf_node node;
    char errbuf[256];

    LF_CHECK_INT_EQ(lf_conf_load_string(yaml, strlen(yaml), "t.yml", &conf,
                                        errbuf, sizeof(errbuf)),
                    0);
    lf_conf_root(conf, &root);
    lf_conf_child(&root, "multiline", &node);
    LF_CHECK_INT_EQ(lf_multiline_rule_parse(&node, 1024, &rule, errbuf,
                                            sizeof(errbuf)),
                    0);
    lf_conf_free(conf);
    return rule;
}

static void test_line_stages_partial_line_cut_reread(void)
{
    struct lf_input_config input = plain_config();
    struct sink first = {.room = MAX_EVENTS};
    struct sink again = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    lf_line_stages_init(&stages, &input, 0, false);
    feed_str(&stages, "one\ntw", 100, &first, &rewind);
    lf_line_stages_at_eof(&stages, 100);
    LF_CHECK_INT_EQ(expire(&stages, 5100, &first, &rewind), 0);
    LF_CHECK_INT_EQ(first.count, 2);
    LF_CHECK_STR_EQ(first.text[1], "tw");
    LF_CHECK_INT_EQ(first.cuts.count, 1);
    LF_CHECK_INT_EQ(first.cuts.items[0].offset, 6);
    LF_CHECK_INT_EQ(first.cuts.items[0].kinds, LF_CUT_LINE);
    lf_line_stages_cleanup(&stages);

    /* A restart at 0 ends the line at the cut, whatever follows. */
    lf_line_stages_init(&stages, &input, 0, false);
    lf_line_stages_set_cuts(&stages, &first.cuts);
    feed_str(&stages, "one\ntwo\nthree\n", 200, &again, &rewind);
    LF_CHECK_INT_EQ(again.count, 4);
    LF_CHECK_STR_EQ(again.text[0], "one");
    LF_CHECK_STR_EQ(again.text[1], "tw");
    LF_CHECK_INT_EQ(again.offset[1], 4);
    LF_CHECK_INT_EQ(again.end[1], 6);
    LF_CHECK_STR_EQ(again.text[2], "o");
    LF_CHECK_INT_EQ(again.offset[2], 6);
    LF_CHECK_INT_EQ(again.end[2], 8);
    LF_CHECK_STR_EQ(again.text[3], "three");
    LF_CHECK_INT_EQ(again.cuts.count, 0);
    /* The cut is behind every byte still held, so it is forgotten. */
    LF_CHECK_INT_EQ(stages.cuts.count, 0);
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&first);
    sink_cleanup(&again);
}

static void test_line_stages_group_cut_reread(void)
{
    struct lf_input_config input = plain_config();
    struct sink first = {.room = MAX_EVENTS};
    struct sink again = {.room = MAX_EVENTS};
    struct lf_line_events events = {&again, on_event, on_filtered, on_cut};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    input.multiline = parse_multiline(
        "multiline: {pattern: '^ ', timeout: 3s}\n");
    lf_line_stages_init(&stages, &input, 0, false);
    feed_str(&stages, "head\n a\n", 1000, &first, &rewind);
    LF_CHECK_INT_EQ(expire(&stages, 4000, &first, &rewind), 0);
    LF_CHECK_INT_EQ(first.count, 1);
    LF_CHECK_STR_EQ(first.text[0], "head\n a");
    LF_CHECK_INT_EQ(first.cuts.count, 1);
    LF_CHECK_INT_EQ(first.cuts.items[0].offset, 8);
    LF_CHECK_INT_EQ(first.cuts.items[0].kinds, LF_CUT_GROUP);
    lf_line_stages_cleanup(&stages);

    lf_line_stages_init(&stages, &input, 0, false);
    lf_line_stages_set_cuts(&stages, &first.cuts);
    feed_str(&stages, "head\n a\n b\nnext\n", 5000, &again, &rewind);
    LF_CHECK_INT_EQ(lf_line_stages_finish(&stages, &events, &rewind), 0);
    LF_CHECK_INT_EQ(again.count, 3);
    LF_CHECK_STR_EQ(again.text[0], "head\n a");
    LF_CHECK_INT_EQ(again.end[0], 8);
    LF_CHECK_STR_EQ(again.text[1], " b");
    LF_CHECK_INT_EQ(again.offset[1], 8);
    LF_CHECK_STR_EQ(again.text[2], "next");
    /* Only the group flushed by finish() got a new cut. */
    LF_CHECK_INT_EQ(again.cuts.count, 1);
    LF_CHECK_INT_EQ(again.cuts.items[0].offset, 16);
    lf_line_stages_cleanup(&stages);
    lf_multiline_rule_free(input.multiline);
    sink_cleanup(&first);
    sink_cleanup(&again);
}

static void test_line_stages_part_flushed_after_timeout(void)
{
    struct lf_input_config input = plain_config();
    struct sink first = {.room = MAX_EVENTS};
    struct sink again = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    input.format = LF_CONTAINER_CRI;
    lf_line_stages_init(&stages, &input, 0, false);
    /* 32 bytes each. */
    feed_str(&stages, "2024-03-01T10:00:00Z stdout P a\n"
                      "2024-03-01T10:00:00Z stderr F b\n",
             0, &first, &rewind);
    LF_CHECK_INT_EQ(first.count, 1);
    LF_CHECK_INT_EQ(first.commit[0], 0);
    lf_line_stages_at_eof(&stages, 0);
    LF_CHECK_INT_EQ(lf_line_stages_deadline(&stages), 5000);
    LF_CHECK_INT_EQ(expire(&stages, 5000, &first, &rewind), 0);
    LF_CHECK_INT_EQ(first.count, 2);
    LF_CHECK_STR_EQ(first.text[1], "a");
    LF_CHECK_INT_EQ(first.offset[1], 0);
    LF_CHECK_INT_EQ(first.end[1], 32);
    /* Nothing is held any more: the registry may pass the stderr line. */
    LF_CHECK_INT_EQ(first.commit[1], 64);
    /* "b" was sent while the part before its end was held. */
    LF_CHECK_INT_EQ(first.cuts.count, 2);
    LF_CHECK_INT_EQ(first.cuts.items[0].offset, 32);
    LF_CHECK_INT_EQ(first.cuts.items[0].kinds, LF_CUT_PARTS);
    LF_CHECK_INT_EQ(first.cuts.items[1].offset, 64);
    LF_CHECK_INT_EQ(first.cuts.items[1].kinds,
                    LF_CUT_SHIPPED << LF_CONTAINER_STDERR);
    LF_CHECK_INT_EQ(first.cuts.items[1].start, 32);
    lf_line_stages_cleanup(&stages);

    lf_line_stages_init(&stages, &input, 0, false);
    lf_line_stages_set_cuts(&stages, &first.cuts);
    feed_str(&stages, "2024-03-01T10:00:00Z stdout P a\n"
                      "2024-03-01T10:00:00Z stderr F b\n"
                      "2024-03-01T10:00:00Z stdout F c\n",
             0, &again, &rewind);
    LF_CHECK_INT_EQ(again.count, 3);
    LF_CHECK_STR_EQ(again.text[0], "a");
    LF_CHECK_STR_EQ(again.text[1], "b");
    LF_CHECK_STR_EQ(again.text[2], "c");
    LF_CHECK_INT_EQ(again.offset[2], 64);
    lf_line_stages_cleanup(&stages);
    sink_cleanup(&first);
    sink_cleanup(&again);
}

/* The CRI lines of a stderr group with a stdout part held inside it. */
static const char held_inside_group[] =
    "2024-03-01T10:00:00Z stderr F 2024 ERROR boom\n" /* 0 */
    "2024-03-01T10:00:00Z stderr F   at a\n"          /* 46 */
    "2024-03-01T10:00:00Z stdout P half\n"            /* 83 */
    "2024-03-01T10:00:00Z stderr F   at b\n"          /* 118 */
    "2024-03-01T10:00:00Z stderr F 2024 INFO ok\n";   /* 155 */

static void test_line_stages_groups_per_stream(void)
{
    struct lf_input_config input = plain_config();
    struct sink first = {.room = MAX_EVENTS};
    struct sink again = {.room = MAX_EVENTS};
    struct lf_line_events events = {&again, on_event, on_filtered, on_cut};
    struct lf_line_stages stages;
    uint64_t rewind = 0;

    input.format = LF_CONTAINER_CRI;
    input.partial_line_timeout_ms = 0;
    input.multiline = parse_multiline(
        "multiline: {pattern: '^2024 ', negate: true}\n");
    lf_line_stages_init(&stages, &input, 0, false);
    feed_str(&stages, held_inside_group, 0, &first, &rewind);
    LF_CHECK_INT_EQ(first.count, 1);
    LF_CHECK_STR_EQ(first.text[0], "2024 ERROR boom\n  at a\n  at b");
    LF_CHECK_INT_EQ(first.end[0], 155);
    LF_CHECK_INT_EQ(first.commit[0], 83);
    LF_CHECK_INT_EQ(first.cuts.count, 1);
    LF_CHECK_INT_EQ(first.cuts.items[0].offset, 155);
    LF_CHECK_INT_EQ(first.cuts.items[0].kinds,
                    LF_CUT_SHIPPED << LF_CONTAINER_STDERR);
    LF_CHECK_INT_EQ(first.cuts.items[0].start, 0);
    lf_line_stages_cleanup(&stages);

    /* Reading again at 83 skips the rest of the shipped stderr group. */
    lf_line_stages_init(&stages, &input, 83, false);
    lf_line_stages_set_cuts(&stages, &first.cuts);
    feed_str(&stages, held_inside_group + 83, 0, &again, &rewind);
    LF_CHECK_INT_EQ(again.count, 0);
    LF_CHECK_INT_EQ(lf_line_stages_finish(&stages, &events, &rewind), 0);
    LF_CHECK_INT_EQ(again.count, 1);
    LF_CHECK_STR_EQ(again.text[0], "2024 INFO ok");
    LF_CHECK_INT_EQ(again.offset[0], 155);
    LF_CHECK_INT_EQ(again.commit[0], 83);
    lf_line_stages_cleanup(&stages);
    lf_multiline_rule_free(input.multiline);
    sink_cleanup(&first);
    sink_cleanup(&again);
}

static void test_line_stages_parts_flushed_after_max_lines(void)
{
    struct lf_input_config input = plain_config();
    struct sink sink = {.room = MAX_EVENTS};
    struct lf_line_stages stages;
    struct lf_buf data;
    uint64_t rewind = 0;

    input.format = LF_CONTAINER_CRI;
    input.line_filter = make_filter("exclude_lines: ['^skip$']\n");
    LF_CHECK(input.line_filter != NULL);
    lf_buf_init(&data);
    lf_buf_append_str(&data, "2024-03-01T10:00:00Z stdout P held\n");
    for (int i = 0; i < 1024; i++) {
        lf_buf_append_str(&data, "2024-03-01T10:00:00Z stderr F skip\n");
    }
    lf_line_stages_init(&stages, &input, 0, false);
    feed_bytes(&stages, data.data, data.len, &sink);
    LF_CHECK_INT_EQ(sink.count, 0);
    LF_CHECK_INT_EQ(sink.filtered, MAX_EVENTS);
    LF_CHECK_INT_EQ(lf_container_held_offset(&stages.container), 0);

    /* The 1025th line read while the part is held flushes it first. */
    feed_str(&stages, "2024-03-01T10:00:00Z stderr F last\n", 0, &sink,
             &rewind);
    LF_CHECK_INT_EQ(sink.count, 2);
    LF_CHECK_STR_EQ(sink.text[0], "held");
    LF_CHECK_INT_EQ(sink.end[0], 35);
    LF_CHECK_STR_EQ(sink.text[1], "last");
    LF_CHECK_INT_EQ(sink.commit[1], data.len + 35);
    LF_CHECK_INT_EQ(lf_cuts_at(&sink.cuts, 35), LF_CUT_PARTS);
    lf_line_stages_cleanup(&stages);
    lf_line_filter_free(input.line_filter);
    lf_buf_cleanup(&data);
    sink_cleanup(&sink);
}

int main(void)
{
    LF_RUN(test_line_stages_partial_line_flushed);
    LF_RUN(test_line_stages_rest_after_partial);
    LF_RUN(test_line_stages_timeout_zero_keeps_partial);
    LF_RUN(test_line_stages_full_sink_rewinds);
    LF_RUN(test_line_stages_filters);
    LF_RUN(test_line_filter_errors);
    LF_RUN(test_line_stages_utf16le_with_bom);
    LF_RUN(test_line_stages_utf16be_invalid_units);
    LF_RUN(test_line_stages_utf16_cut_at_character);
    LF_RUN(test_line_stages_multiline_deadline);
    LF_RUN(test_line_stages_commit_before_held_part);
    LF_RUN(test_line_stages_partial_line_cut_reread);
    LF_RUN(test_line_stages_group_cut_reread);
    LF_RUN(test_line_stages_part_flushed_after_timeout);
    LF_RUN(test_line_stages_groups_per_stream);
    LF_RUN(test_line_stages_parts_flushed_after_max_lines);
    return lf_test_end();
}
