/*
 * The document of one line, built into a reused event so that building
 * allocates nothing.
 */
#include "agent/pipeline/event_build.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "lf/parser.h"
#include "lf_build_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum lf_processor_result lf_event_build(struct lf_event *ev,
                                        const struct lf_config *config,
                                        const struct lf_input_config *input,
                                        const struct lf_event_origin *origin,
                                        const struct lf_line *line,
                                        int64_t read_time_ns,
                                        bool *parse_failed)
{

    lf_event_reset(ev);
    ev->message = line->data;
    ev->message_len = line->len;
    if (line->truncated) {
        ev->log_flags |= LF_LOG_FLAG_TRUNCATED;
    }
    if (line->multiline) {
        ev->log_flags |= LF_LOG_FLAG_MULTILINE;
    }

    *parse_failed = input->parsers != NULL &&
                    lf_parser_chain_apply(input->parsers, ev, read_time_ns) != 0;
    if (lf_event_get(ev, "@timestamp") == NULL) {
        lf_event_set_timestamp(ev, "@timestamp",
                               line->has_timestamp ? line->timestamp_ns
                                                   : read_time_ns);
    }

    /* The input's fields win over parsed values of the same name. */
    for (size_t i = 0; i < input->field_count; i++) {
        lf_event_set(ev, input->fields[i].key, &input->fields[i].value);
    }
    if (input->preserve_original_event) {
        lf_event_set_str(ev, "event.original", line->data, line->len);
    }
    if (line->stream != NULL) {
        lf_event_set_str(ev, "stream", line->stream, strlen(line->stream));
    }
    if (origin->path != NULL) {
        lf_event_set_str(ev, "log.file.path", origin->path, origin->path_len);
    }
    lf_event_set_int(ev, "log.offset", (int64_t)line->offset);
    lf_event_set_str(ev, "host.name", origin->hostname, origin->hostname_len);
    lf_event_set_str(ev, "agent.type", "logferry", LF_STRLEN("logferry"));
    lf_event_set_str(ev, "agent.version", LF_VERSION, LF_STRLEN(LF_VERSION));
    lf_event_set_str(ev, "input.type", "filestream", LF_STRLEN("filestream"));

    if (input->processors != NULL &&
        lf_processors_apply(input->processors, ev) == LF_PROCESSOR_DROP) {
        return LF_PROCESSOR_DROP;
    }
    if (config->processors != NULL) {
        return lf_processors_apply(config->processors, ev);
    }
    return LF_PROCESSOR_KEEP;
}

size_t lf_event_hostname(char *buf, size_t size)
{
    if (gethostname(buf, size) != 0) {
        snprintf(buf, size, "unknown");
    }
    buf[size - 1] = '\0';
    return strlen(buf);
}
