/* Shared helpers of the EC2 and ECS task metadata parsers and fetchers. */
#include "agent/metadata/meta_json.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <stdio.h>
#include <string.h>

int lf_meta_json_add(struct lf_meta_builder *b, const char *key,
                     const json_t *obj, const char *name)
{
    const json_t *value = json_object_get(obj, name);

    if (!json_is_string(value) || json_string_length(value) == 0) {
        return 0;
    }
    return lf_meta_builder_add_str(b, key, json_string_value(value),
                                   json_string_length(value));
}

int lf_meta_json_load_object(const char *text, size_t len, const char *what,
                             json_t **out, char *errbuf, size_t errlen)
{
    json_error_t error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);

    *out = NULL;
    if (root == NULL) {
        snprintf(errbuf, errlen, "%s is not valid JSON: %s (line %d)", what,
                 error.text, error.line);
        return LF_EPARSE;
    }
    if (!json_is_object(root)) {
        snprintf(errbuf, errlen, "%s is not a JSON object", what);
        json_decref(root);
        return LF_EPARSE;
    }
    *out = root;
    return 0;
}

int lf_meta_base_url(const char *url, bool allow_path, const char *option,
                     char **out, char *errbuf, size_t errlen)
{
    const char *host;
    size_t len;

    *out = NULL;
    if (strncmp(url, "http://", LF_STRLEN("http://")) == 0) {
        host = url + LF_STRLEN("http://");
    } else if (strncmp(url, "https://", LF_STRLEN("https://")) == 0) {
        host = url + LF_STRLEN("https://");
    } else {
        snprintf(errbuf, errlen,
                 "invalid %s \"%s\": expected http://HOST[:PORT]%s or "
                 "https://HOST[:PORT]%s",
                 option, url, allow_path ? "[/PATH]" : "",
                 allow_path ? "[/PATH]" : "");
        return LF_ECONFIG;
    }

    len = strlen(url);
    while (len > (size_t)(host - url) && url[len - 1] == '/') {
        len--;
    }
    if (len == (size_t)(host - url) || host[0] == '/' ||
        strpbrk(url, " ?#\r\n") != NULL ||
        (!allow_path &&
         memchr(host, '/', len - (size_t)(host - url)) != NULL)) {
        snprintf(errbuf, errlen, "invalid %s \"%s\": expected %s", option,
                 url,
                 allow_path ? "a host, an optional port and a path, without "
                              "a query or fragment"
                            : "a host and optional port without a path");
        return LF_ECONFIG;
    }
    *out = lf_strndup(url, len);
    return 0;
}
