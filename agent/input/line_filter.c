/*
 * Line filters of an input, applied by the harvester to each event before
 * it reaches the sink. The compiled patterns share one match data block,
 * which is safe because every harvester runs on the loop thread.
 */
#include "agent/input/line_filter.h"
#include "lf/error.h"
#include "lf/mem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct pattern_list {
    pcre2_code **patterns;
    size_t count;
};

struct lf_line_filter {
    struct pattern_list include;
    struct pattern_list exclude;
    pcre2_match_data *match; /* only the match result is used */
};

static void list_cleanup(struct pattern_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        pcre2_code_free(list->patterns[i]);
    }
    lf_free(list->patterns);
}

void lf_line_filter_free(struct lf_line_filter *filter)
{
    if (filter == NULL) {
        return;
    }
    list_cleanup(&filter->include);
    list_cleanup(&filter->exclude);
    pcre2_match_data_free(filter->match);
    lf_free(filter);
}

static int compile_item(const struct lf_conf_node *item,
                        struct pattern_list *list, char *errbuf,
                        size_t errlen)
{
    PCRE2_UCHAR message[256];
    PCRE2_SIZE error_offset;
    const char *text;
    pcre2_code *code;
    int error;

    if (lf_conf_kind(item) != LF_CONF_SCALAR) {
        return lf_conf_error(item, errbuf, errlen,
                             "expected a regular expression string");
    }
    lf_conf_scalar(item, &text, errbuf, errlen);
    code = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &error,
                         &error_offset, NULL);
    if (code == NULL) {
        pcre2_get_error_message(error, message, sizeof(message));
        return lf_conf_error(item, errbuf, errlen,
                             "invalid regular expression at offset %zu: %s",
                             (size_t)error_offset, (const char *)message);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    list->patterns[list->count++] = code;
    return 0;
}

static int parse_list(const struct lf_conf_node *input_node, const char *key,
                      struct pattern_list *list, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    struct lf_conf_node item;
    size_t count;
    int rc = 0;

    if (lf_conf_child(input_node, key, &node) != 0 ||
        lf_conf_kind(&node) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&node) != LF_CONF_LIST) {
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a list of regular expressions");
    }
    count = lf_conf_size(&node);
    list->patterns = lf_calloc(count + 1, sizeof(*list->patterns));
    for (size_t i = 0; rc == 0 && i < count; i++) {
        lf_conf_at(&node, i, &item);
        rc = compile_item(&item, list, errbuf, errlen);
    }
    return rc;
}

int lf_line_filter_parse(const struct lf_conf_node *input_node,
                         struct lf_line_filter **out, char *errbuf,
                         size_t errlen)
{
    struct lf_line_filter *filter = lf_calloc(1, sizeof(*filter));
    int rc;

    *out = NULL;
    rc = parse_list(input_node, "include_lines", &filter->include, errbuf,
                    errlen);
    if (rc == 0) {
        rc = parse_list(input_node, "exclude_lines", &filter->exclude, errbuf,
                        errlen);
    }
    if (rc != 0 || filter->include.count + filter->exclude.count == 0) {
        lf_line_filter_free(filter);
        return rc;
    }
    filter->match = pcre2_match_data_create(1, NULL);
    *out = filter;
    return 0;
}

static bool any_matches(const struct pattern_list *list,
                        pcre2_match_data *match, const char *data,
                        size_t len)
{
    for (size_t i = 0; i < list->count; i++) {
        if (pcre2_match(list->patterns[i], (PCRE2_SPTR)data, len, 0, 0,
                        match, NULL) >= 0) {
            return true;
        }
    }
    return false;
}

bool lf_line_filter_keeps(const struct lf_line_filter *filter,
                          const char *data, size_t len)
{
    if (filter == NULL) {
        return true;
    }
    if (filter->include.count > 0 &&
        !any_matches(&filter->include, filter->match, data, len)) {
        return false;
    }
    return !any_matches(&filter->exclude, filter->match, data, len);
}
