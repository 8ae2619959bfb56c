/*
 * Helpers shared by the loader (conf.c) and the typed getters (conf_get.c).
 * They are not part of the public API in include/lf/conf.h.
 */
#ifndef LF_AGENT_CONFIG_CONF_PRIVATE_H
#define LF_AGENT_CONFIG_CONF_PRIVATE_H

#include <stddef.h>

#include "lf/conf.h"

/* Bytes of a value quoted in an error message before it is cut. */
#define LF_CONF_QUOTE_MAX 64

/* Returns the printf precision that prints at most LF_CONF_QUOTE_MAX bytes. */
static inline int lf_conf_quote_width(size_t len)
{
    return len > LF_CONF_QUOTE_MAX ? LF_CONF_QUOTE_MAX : (int)len;
}

/*
 * Formats "FILE:LINE: PATH: expected WHAT, got X" where X describes the
 * node ("a map", "null", "'abc'"), and returns LF_ECONFIG.
 */
int lf_conf_expect_error(const struct lf_conf_node *node, char *errbuf,
                         size_t errlen, const char *what);

/*
 * As lf_conf_error(), with the line given by the caller: a message about a
 * key names the map's path but the line where the key is written.
 */
int lf_conf_error_line(const struct lf_conf_node *node, int line, char *errbuf,
                       size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
