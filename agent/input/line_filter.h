/*
 * The `include_lines` and `exclude_lines` options of an input: lists of
 * regular expressions applied to each event's message after multiline
 * grouping, as in Filebeat. When include_lines is set, only messages that
 * one of its patterns finds are kept. A kept message that one of the
 * exclude_lines patterns finds is then dropped.
 */
#ifndef LF_AGENT_INPUT_LINE_FILTER_H
#define LF_AGENT_INPUT_LINE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/conf.h"

struct lf_line_filter;

/*
 * Compiles the `include_lines` and `exclude_lines` lists of `input_node`.
 * Stores NULL when neither is set. Returns 0 or LF_ECONFIG with a message
 * in errbuf that names the invalid pattern.
 */
int lf_line_filter_parse(const struct lf_conf_node *input_node,
                         struct lf_line_filter **out, char *errbuf,
                         size_t errlen);

void lf_line_filter_free(struct lf_line_filter *filter);

/* Returns true when the message passes the filter; NULL keeps everything. */
bool lf_line_filter_keeps(const struct lf_line_filter *filter,
                          const char *data, size_t len);

#endif
