/*
 * TLS options of a libcurl easy handle, from struct lf_http_tls. Only
 * http_client.c includes this header.
 */
#ifndef LF_AGENT_NET_HTTP_TLS_H
#define LF_AGENT_NET_HTTP_TLS_H

#include <curl/curl.h>

#include "agent/net/http_client.h"

/*
 * Sets the CA, client certificate, verification and CA pinning options
 * of `easy`. `tls` must outlive the transfer. Returns CURLE_OK, or
 * CURLE_NOT_BUILT_IN when CA pinning is requested and libcurl does not
 * use OpenSSL.
 */
CURLcode lf_http_tls_apply(CURL *easy, const struct lf_http_tls *tls);

#endif
