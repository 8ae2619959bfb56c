/*
 * Settings of the Elasticsearch output (`output.elasticsearch`).
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_CONFIG_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/net/http_client.h"
#include "lf/conf.h"
#include "outputs/elasticsearch/es_index.h"

struct lf_es_config {
    const char **hosts;       /* owned copies of the base URLs, without a
                                 trailing slash: "http://127.0.0.1:9200" */
    size_t host_count;
    const char *index;        /* data stream or index name, or template */
    struct lf_es_template index_template; /* `index` parsed */
    const char *index_fallback; /* when a field of `index` is missing */
    const char *op_type;      /* bulk action: "create" or "index" */
    struct lf_es_template routing; /* no parts: no routing */
    const char *pipeline;     /* ingest pipeline, or NULL */
    const char *username;     /* basic auth, or NULL */
    const char *password;
    const char *api_key;      /* "id:key" base64 form, or NULL */
    bool compress;            /* gzip request bodies */
    int compression_level;    /* libdeflate level, 1..12 */
    size_t bulk_max_size;     /* events per request */
    size_t bulk_max_bytes;    /* request body bytes before compression */
    long long flush_interval_ms; /* send a partial batch after this long */
    int workers;              /* requests in flight */
    long long timeout_ms;     /* per request */
    long long backoff_init_ms;
    long long backoff_max_ms;
    const char *data_path;    /* path.data, set by the agent's config
                                 loader; the dead-letter queue is in its
                                 `dlq` folder. NULL: no queue */
    bool dead_letter;         /* dead_letter.enabled */
    uint64_t dead_letter_max_bytes; /* bound of the queue files */

    /* Connection settings, read by es_conn_config.c. */
    const char *path;         /* owned prefix of every request path, "/es",
                                 or NULL */
    const char *proxy_url;    /* HTTP proxy, or NULL for libcurl's default */
    const char *bearer_token; /* "Authorization: Bearer", or NULL */
    char *cloud_auth;         /* owned "user\0password" of cloud.auth that
                                 username and password point into, or NULL */
    struct lf_http_tls tls;   /* PEM strings owned */
};

/*
 * Reads the `output.elasticsearch` map at `section` (a missing node gives
 * the defaults). The hosts and their strings are owned; other strings are
 * borrowed from the document. Returns 0 or LF_ECONFIG with a message
 * naming key and line.
 */
int lf_es_config_parse(const struct lf_conf_node *section,
                       struct lf_es_config *out, char *errbuf,
                       size_t errlen);

/* Frees what lf_es_config_parse() allocated; accepts a zeroed config. */
void lf_es_config_cleanup(struct lf_es_config *config);

/*
 * Returns true when the URL path `path` has a "." or ".." segment, which
 * libcurl removes before sending, so that the request would go elsewhere.
 */
bool lf_es_path_has_dot_segment(const char *path);

/* es_conn_config.c */

#define LF_ES_CONN_KEY_COUNT 10

/* Keys of the connection settings, checked with the other keys. */
extern const char *const lf_es_conn_keys[LF_ES_CONN_KEY_COUNT];

/*
 * Reads `path`, `proxy_url`, `bearer_token`, `cloud.id`, `cloud.auth`
 * and `ssl.*` into `out`, after hosts and the other credentials are read.
 * Files named by ssl.* are read now. Returns 0 or LF_ECONFIG with a
 * message naming the key and line that never quotes a secret.
 */
int lf_es_conn_config_parse(const struct lf_conf_node *section,
                            struct lf_es_config *out, char *errbuf,
                            size_t errlen);

/* Frees what lf_es_conn_config_parse() allocated, wiping the key. */
void lf_es_conn_config_cleanup(struct lf_es_config *config);

/*
 * Decodes an Elastic Cloud ID ("name:base64") into the https URL of its
 * Elasticsearch endpoint, "https://<es id>.<host>:<port>". Returns the
 * owned URL, or NULL with `*reason` set.
 */
char *lf_es_cloud_id_decode(const char *cloud_id, const char **reason);

/* es_send.c */

/*
 * Builds the "Authorization: ..." header line of the configured
 * credentials, or returns NULL when there are none. The line is a secret:
 * never log it, and free it with lf_es_auth_header_free().
 */
char *lf_es_auth_header(const struct lf_es_config *config);

/* Wipes and frees a header from lf_es_auth_header(); accepts NULL. */
void lf_es_auth_header_free(char *header);

#endif
