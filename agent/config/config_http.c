/*
 * The `http` section: the endpoint that serves /metrics, /healthz,
 * /readyz and /stats.
 */
#include "agent/config/config_http.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <string.h>
#include <uv.h>

static const char *const http_keys[] = {
    "enabled", "host", "port", "ready_timeout",
};

static bool is_ip_literal(const char *host)
{
    unsigned char addr[16];

    return uv_inet_pton(AF_INET, host, addr) == 0 ||
           uv_inet_pton(AF_INET6, host, addr) == 0;
}

int lf_config_parse_http(const struct lf_conf_node *root,
                         struct lf_http_options *options, char *errbuf,
                         size_t errlen)
{
    struct lf_conf_node http;
    struct lf_conf_node node;
    long long port = LF_HTTP_DEFAULT_PORT;
    int rc;

    memset(options, 0, sizeof(*options));
    lf_conf_child(root, "http", &http);
    rc = lf_conf_check_keys(&http, http_keys, LF_ARRAY_SIZE(http_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bool(&http, "enabled", false, &options->enabled,
                              errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(&http, "host", LF_HTTP_DEFAULT_HOST,
                             &options->host, errbuf, errlen);
    }
    if (rc == 0 && !is_ip_literal(options->host)) {
        lf_conf_child(&http, "host", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid value \"%s\": expected an IPv4 or "
                             "IPv6 address such as 127.0.0.1 or ::1",
                             options->host);
    }
    if (rc == 0) {
        rc = lf_conf_get_int(&http, "port", LF_HTTP_DEFAULT_PORT, 0, 65535,
                             &port, errbuf, errlen);
    }
    options->port = (int)port;
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(&http, "ready_timeout",
                                     LF_HTTP_DEFAULT_READY_TIMEOUT_MS,
                                     &options->ready_timeout_ms, errbuf,
                                     errlen);
    }
    if (rc == 0 && options->ready_timeout_ms == 0) {
        lf_conf_child(&http, "ready_timeout", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a duration of at least 1ms, got 0");
    }
    return rc;
}
