/*
 * The interface each built-in preset implements. A preset is one row of
 * the `preset_types` table in presets.c. To add one, write these three
 * functions in a file of its own, declare its type below and add the row.
 */
#ifndef LF_PARSERS_PRESET_TYPE_H
#define LF_PARSERS_PRESET_TYPE_H

#include <stddef.h>
#include <stdint.h>

#include "lf/event.h"

struct lf_preset_type {
    const char *name; /* the value of `preset: NAME` */
    /*
     * Builds the preset's state (compiled layouts and the like) and stores
     * it in `*state_out`. NULL when the preset keeps no state. Returns 0
     * or a negative LF_E* code.
     */
    int (*create)(void **state_out);
    /*
     * Parses `text` (`len` bytes, not NUL-terminated) into fields of `ev`.
     * `now_ns` is the read time, for timestamps without a year. Returns 0
     * on a match, or LF_ENOMATCH with the event unchanged. Runs once per
     * line: no allocation but the event's own arena, no I/O.
     */
    int (*apply)(void *state, struct lf_event *ev, const char *text, size_t len,
                 int64_t now_ns);
    /* Frees the state; NULL when create is NULL. Accepts NULL. */
    void (*destroy)(void *state);
};

/*
 * Sets http.request.method, url.original, url.path, url.query,
 * url.fragment and http.version from a request line such as
 * "GET /a?b HTTP/1.1"; sets nothing for other text (presets.c).
 */
void lf_preset_set_request(struct lf_event *ev, const char *ptr, size_t len);

/*
 * Sets source.address to `ptr`, and source.ip too when it is an IPv4 or
 * IPv6 address (presets.c).
 */
void lf_preset_set_client(struct lf_event *ev, const char *ptr, size_t len);

/* Access logs first, then error logs (presets.c). */
extern const struct lf_preset_type lf_preset_nginx;
extern const struct lf_preset_type lf_preset_apache;
/* Typical application lines, found by keywords (app.c). */
extern const struct lf_preset_type lf_preset_app;
/* Python's logging module (python.c). */
extern const struct lf_preset_type lf_preset_python;
/* Spring Boot, logback and log4j default layouts (java.c). */
extern const struct lf_preset_type lf_preset_java;
/* logrus text and zap console lines (go.c). */
extern const struct lf_preset_type lf_preset_go;
/* Ruby Logger lines and Rails request lines (rails.c). */
extern const struct lf_preset_type lf_preset_rails;

#endif
