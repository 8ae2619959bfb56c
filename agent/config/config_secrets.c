/*
 * Warns about secrets in a configuration file that other users can read,
 * and about ${file:...} secret files that other users can read. The check
 * looks at key names and URLs in the loaded document, so it covers every
 * section, including those added later, without a list of secret settings
 * per output.
 */
#include "agent/config/config_secrets.h"
#include "lf/buf.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <jansson.h>

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

/* Names of keys whose value is a secret, compared with the last key. */
static const char *const secret_keys[] = {
    "password",      "api_key",           "bearer_token",
    "auth",          "secret_access_key", "aws_secret_access_key",
    "session_token", "key_passphrase",
};

/* Returns the last key of a path such as "output.elasticsearch.password". */
static const char *last_key(const char *path)
{
    const char *dot = strrchr(path, '.');

    return dot != NULL ? dot + 1 : path;
}

static bool is_secret_key(const char *path)
{
    const char *key = last_key(path);

    if (strcmp(key, "auth") == 0) {
        /* `auth` alone is too common a name; cloud.auth is Elastic's. */
        size_t len = strlen(path);
        return len >= strlen("cloud.auth") &&
               strcmp(path + len - strlen("cloud.auth"), "cloud.auth") == 0;
    }
    for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
        if (strcmp(key, secret_keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Returns true for "scheme://user:password@host...". */
static bool is_url_with_password(const char *value)
{
    const char *start = strstr(value, "://");
    const char *at;
    const char *colon;

    if (start == NULL) {
        return false;
    }
    start += strlen("://");
    at = strchr(start, '@');
    if (at == NULL || memchr(start, '/', (size_t)(at - start)) != NULL) {
        return false;
    }
    colon = memchr(start, ':', (size_t)(at - start));
    return colon != NULL && colon + 1 < at;
}

/* Stores the path of the first secret under `node` in `out`. */
static bool find_secret(const struct lf_conf_node *node, struct lf_buf *out)
{
    struct lf_conf_node child;
    const char *key;
    const char *value;

    switch (lf_conf_kind(node)) {
    case LF_CONF_MAP:
        for (size_t i = 0; lf_conf_entry(node, i, &key, &child) == 0; i++) {
            if (find_secret(&child, out)) {
                return true;
            }
        }
        return false;
    case LF_CONF_LIST:
        for (size_t i = 0; lf_conf_at(node, i, &child) == 0; i++) {
            if (find_secret(&child, out)) {
                return true;
            }
        }
        return false;
    case LF_CONF_SCALAR:
        value = json_string_value(node->json);
        if (value[0] != '\0' &&
            (is_secret_key(node->path) || is_url_with_password(value))) {
            lf_buf_append_str(out, node->path);
            return true;
        }
        return false;
    case LF_CONF_MISSING:
    case LF_CONF_NULL:
        break;
    }
    return false;
}

static const char *readers_of(unsigned mode)
{
    return (mode & S_IROTH) != 0 ? "every user" : "its group";
}

static void start_line(struct lf_buf *message)
{
    if (message->len > 0) {
        lf_buf_append_char(message, '\n');
    }
}

static void check_config_file(const char *path,
                              const struct lf_conf_node *root,
                              struct lf_buf *message)
{
    struct lf_buf secret;
    struct stat st;
    unsigned mode;

    if (stat(path, &st) != 0 || (st.st_mode & (S_IRGRP | S_IROTH)) == 0) {
        return;
    }
    lf_buf_init(&secret);
    if (find_secret(root, &secret)) {
        mode = (unsigned)(st.st_mode & 07777);
        start_line(message);
        lf_buf_appendf(message, "configuration file %s contains a secret "
                       "(%s) and is readable by %s (mode %04o); run chmod "
                       "600 %s", path, secret.data, readers_of(mode), mode,
                       path);
    }
    lf_buf_cleanup(&secret);
}

/*
 * Checks the modes that the secret files had when they were read, so the
 * warning is about the content the agent uses.
 */
static void check_secret_files(const struct lf_conf *conf,
                               struct lf_buf *message)
{
    struct lf_conf_secret_file file;

    for (size_t i = 0; lf_conf_secret_file_at(conf, i, &file); i++) {
        if ((file.mode & (S_IRGRP | S_IROTH)) == 0) {
            continue;
        }
        start_line(message);
        lf_buf_appendf(message, "secret file %s (read for %s) is readable "
                       "by %s (mode %04o); run chmod 600 %s", file.path,
                       file.key, readers_of(file.mode), file.mode, file.path);
    }
}

char *lf_config_check_secrets(const char *path,
                              const struct lf_conf_node *root)
{
    struct lf_buf message;

    lf_buf_init(&message);
    check_config_file(path, root, &message);
    check_secret_files(root->conf, &message);
    if (message.len == 0) {
        lf_buf_cleanup(&message);
        return NULL;
    }
    return message.data; /* owned by the caller */
}

void lf_config_log_secrets(const char *warnings)
{
    while (warnings != NULL && *warnings != '\0') {
        const char *end = strchr(warnings, '\n');
        int len = end != NULL ? (int)(end - warnings) : (int)strlen(warnings);

        lf_log_warn("config", "%.*s", len, warnings);
        warnings = end != NULL ? end + 1 : NULL;
    }
}
