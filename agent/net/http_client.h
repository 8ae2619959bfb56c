/*
 * Asynchronous HTTP client: libcurl's multi interface driven by the agent's
 * libuv loop (a uv_poll_t per socket and one uv_timer_t). Connections are
 * kept alive and reused between requests to the same host.
 */
#ifndef LF_AGENT_NET_HTTP_CLIENT_H
#define LF_AGENT_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "lf/buf.h"

struct lf_http_client;

/* Verification applied to a TLS peer. */
enum lf_tls_verify {
    LF_TLS_VERIFY_FULL,        /* certificate chain and host name */
    LF_TLS_VERIFY_CERTIFICATE, /* certificate chain only */
    LF_TLS_VERIFY_NONE,        /* nothing: any peer is accepted */
};

/* Length of a SHA-256 digest, the CA fingerprint of struct lf_http_tls. */
#define LF_TLS_SHA256_LEN 32

/*
 * TLS settings of a request. PEM strings are borrowed until the request
 * callback runs; NULL means libcurl's default (the system CA store, no
 * client certificate).
 */
struct lf_http_tls {
    enum lf_tls_verify verify;
    const char *ca_pem;   /* trusted CA certificates, replacing the system
                             store */
    const char *cert_pem; /* client certificate (chain), or NULL */
    const char *key_pem;  /* its private key, unencrypted, or NULL */
    bool pin_ca;          /* ca_sha256 is set */
    /*
     * SHA-256 of the DER form of a CA certificate: when a certificate of
     * the chain the server sends has this digest, it is trusted as a root
     * for that connection, in addition to the other trusted CAs.
     */
    unsigned char ca_sha256[LF_TLS_SHA256_LEN];
};

struct lf_http_request {
    const char *method;          /* "GET", "POST", ... */
    const char *url;             /* copied by lf_http_client_send() */
    const char *const *headers;  /* "Name: value" strings, copied */
    size_t header_count;
    const char *body;            /* borrowed until the callback runs */
    size_t body_len;
    long timeout_ms;             /* whole transfer; 0 means no limit */
    long connect_timeout_ms;     /* TCP connect and TLS handshake; 0 means
                                    the client's default of 10 s */
    int no_proxy;                /* nonzero: connect directly, ignoring
                                    http_proxy and the like */
    const char *proxy_url;       /* proxy for this request, used for every
                                    host whatever no_proxy says; NULL for
                                    libcurl's default (http_proxy etc.) */
    const struct lf_http_tls *tls; /* NULL: libcurl's defaults */
    const char *capture_header;  /* response header whose value to return
                                    in lf_http_response.header_value */
};

struct lf_http_response {
    int error;        /* 0, or LF_ECONNREFUSED, LF_ETIMEDOUT, LF_ERESOLVE,
                         LF_ETLS, LF_EHTTP (other transport failure) */
    long status;      /* HTTP status; 0 when error != 0 */
    const char *body; /* NUL-terminated, valid only during the callback */
    size_t body_len;
    const char *error_text; /* libcurl's detail when error != 0, else "" */
    double total_s;         /* transfer time in seconds */
    const char *header_value; /* the first value of the request's
                                 capture_header, or NULL when absent */
};

/*
 * Called once per request with its result, also when the client is closed
 * with the request still in flight (error LF_ECANCELED).
 */
typedef void (*lf_http_done_cb)(void *arg, const struct lf_http_response *res);

/*
 * Initialises libcurl for the process. Call once from main() before any
 * thread starts; returns 0 or LF_EHTTP. lf_http_global_cleanup() undoes it
 * at exit.
 */
int lf_http_global_init(void);
void lf_http_global_cleanup(void);

/* Creates a client on `loop`. Returns 0 or a negative LF_E* code. */
int lf_http_client_new(uv_loop_t *loop, struct lf_http_client **out);

/*
 * Starts a request. Returns 0 and later calls `cb(arg, ...)` exactly once,
 * never from inside this call; or returns a negative LF_E* code and never
 * calls `cb`.
 */
int lf_http_client_send(struct lf_http_client *client,
                        const struct lf_http_request *req, lf_http_done_cb cb,
                        void *arg);

/* Returns the number of requests started and not yet completed. */
size_t lf_http_client_active(const struct lf_http_client *client);

/*
 * Cancels requests in flight, closes every handle and frees the client once
 * they are closed, then calls `done(arg)` if it is not NULL. Callbacks of
 * canceled requests run from the loop with LF_ECANCELED, never inside this
 * call; a transfer that had already finished keeps its real result. After
 * close, lf_http_client_send() returns LF_ESTATE.
 */
void lf_http_client_close(struct lf_http_client *client,
                          void (*done)(void *arg), void *arg);

/*
 * Checks that `key_pem`, an unencrypted PEM private key, is the key of the
 * first certificate in `cert_pem`. Returns 0, LF_EPARSE when either cannot
 * be read, or LF_EINVAL when the two do not match.
 */
int lf_http_tls_check_client_key(const char *cert_pem, const char *key_pem);

#endif
