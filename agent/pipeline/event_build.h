/*
 * Builds the document for one line: the parsed fields, the input's
 * fields and the metadata every document carries. The pipeline and
 * `logferry parse` share it, so what `parse` prints is what is shipped.
 */
#ifndef LF_AGENT_PIPELINE_EVENT_BUILD_H
#define LF_AGENT_PIPELINE_EVENT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "agent/config/config.h"
#include "agent/input/line_reader.h"
#include "agent/processors/processors.h"
#include "lf/event.h"

/* The origin of a line. Strings are borrowed for the event's lifetime. */
struct lf_event_origin {
    const char *path; /* the file read, or NULL to leave log.file.path out */
    size_t path_len;
    const char *hostname; /* host.name */
    size_t hostname_len;
};

/*
 * Resets `ev` and fills it for `line` of `input`, read at `read_time_ns`
 * (nanoseconds since the epoch, used for @timestamp when neither the
 * parsers nor the container runtime give one), then runs the input's
 * processors and the global ones of `config`. Sets `*parse_failed` when
 * the input's parsers failed on the line; the event is still built, with
 * the failure tag. Returns LF_PROCESSOR_DROP when a processor dropped the
 * event, LF_PROCESSOR_KEEP otherwise.
 */
enum lf_processor_result lf_event_build(struct lf_event *ev,
                                        const struct lf_config *config,
                                        const struct lf_input_config *input,
                                        const struct lf_event_origin *origin,
                                        const struct lf_line *line,
                                        int64_t read_time_ns,
                                        bool *parse_failed);

/*
 * Stores the host name in `buf` (NUL terminated) and returns its length;
 * "unknown" when gethostname() fails.
 */
size_t lf_event_hostname(char *buf, size_t size);

#endif
