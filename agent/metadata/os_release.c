/*
 * os-release(5) reader for the host metadata. The file is a list of
 * shell-compatible variable assignments; only the subset of shell quoting
 * that os-release(5) allows is understood, and nothing is expanded.
 */
#include "agent/metadata/os_release.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* os-release files are a few hundred bytes; anything larger is not one. */
enum { LF_OS_RELEASE_MAX_BYTES = 64 * 1024 };

struct family_rule {
    const char *id;
    const char *family;
};

/* Distribution IDs, as their os-release files spell them, by family. */
static const struct family_rule family_rules[] = {
    {"debian", "debian"},      {"ubuntu", "debian"},
    {"raspbian", "debian"},    {"linuxmint", "debian"},
    {"rhel", "redhat"},        {"centos", "redhat"},
    {"fedora", "redhat"},      {"amzn", "redhat"},
    {"rocky", "redhat"},       {"almalinux", "redhat"},
    {"ol", "redhat"},          {"scientific", "redhat"},
    {"suse", "suse"},          {"sles", "suse"},
    {"opensuse", "suse"},      {"opensuse-leap", "suse"},
    {"opensuse-tumbleweed", "suse"},
    {"arch", "arch"},          {"manjaro", "arch"},
};

void lf_os_release_init(struct lf_os_release *osr)
{
    memset(osr, 0, sizeof(*osr));
}

void lf_os_release_cleanup(struct lf_os_release *osr)
{
    lf_free(osr->id);
    lf_free(osr->id_like);
    lf_free(osr->name);
    lf_free(osr->version);
    lf_free(osr->version_id);
    lf_free(osr->pretty_name);
    lf_os_release_init(osr);
}

static char **slot_for_key(struct lf_os_release *osr, const char *key,
                           size_t key_len)
{
    static const struct {
        const char *name;
        size_t offset;
    } keys[] = {
        {"ID", offsetof(struct lf_os_release, id)},
        {"ID_LIKE", offsetof(struct lf_os_release, id_like)},
        {"NAME", offsetof(struct lf_os_release, name)},
        {"VERSION", offsetof(struct lf_os_release, version)},
        {"VERSION_ID", offsetof(struct lf_os_release, version_id)},
        {"PRETTY_NAME", offsetof(struct lf_os_release, pretty_name)},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(keys); i++) {
        if (strlen(keys[i].name) == key_len &&
            memcmp(keys[i].name, key, key_len) == 0) {
            return (char **)((char *)osr + keys[i].offset);
        }
    }
    return NULL;
}

/*
 * Unquotes the value `p[0..len)` into `out`. Returns 0, or LF_EPARSE for an
 * unterminated quote or text after a closing quote.
 */
static int unquote(const char *p, size_t len, struct lf_buf *out)
{
    char quote = 0;
    size_t i = 0;

    if (len > 0 && (p[0] == '"' || p[0] == '\'')) {
        quote = p[0];
        i = 1;
    }
    for (; i < len; i++) {
        if (quote != 0 && p[i] == quote) {
            return i + 1 == len ? 0 : LF_EPARSE;
        }
        if (p[i] == '\\' && quote != '\'' && i + 1 < len) {
            i++;
        }
        lf_buf_append_char(out, p[i]);
    }
    return quote == 0 ? 0 : LF_EPARSE;
}

static void parse_line(const char *line, size_t len, struct lf_os_release *osr,
                       struct lf_buf *value)
{
    const char *eq;
    char **slot;

    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
                       line[len - 1] == '\r')) {
        len--;
    }
    if (len == 0 || line[0] == '#') {
        return;
    }
    eq = memchr(line, '=', len);
    if (eq == NULL || eq == line) {
        return;
    }
    slot = slot_for_key(osr, line, (size_t)(eq - line));
    if (slot == NULL) {
        return;
    }

    lf_buf_reset(value);
    if (unquote(eq + 1, len - (size_t)(eq + 1 - line), value) != 0) {
        return;
    }
    lf_free(*slot);
    *slot = value->len > 0 ? lf_strndup(value->data, value->len) : NULL;
}

void lf_os_release_parse(const char *text, size_t len,
                         struct lf_os_release *osr)
{
    struct lf_buf value;
    const char *end = text + len;

    lf_buf_init(&value);
    while (text < end) {
        const char *nl = memchr(text, '\n', (size_t)(end - text));
        const char *line_end = nl != NULL ? nl : end;

        parse_line(text, (size_t)(line_end - text), osr, &value);
        text = nl != NULL ? nl + 1 : end;
    }
    lf_buf_cleanup(&value);
}

/* Reads the whole file at `path` into `out`. */
static int read_file(const char *path, struct lf_buf *out)
{
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    int rc = 0;

    if (f == NULL) {
        return -errno;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);

        lf_buf_append(out, chunk, n);
        if (out->len > LF_OS_RELEASE_MAX_BYTES) {
            rc = LF_ETOOBIG;
            break;
        }
        if (n < sizeof(chunk)) {
            rc = ferror(f) ? LF_EIO : 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

int lf_os_release_read(const char *root, struct lf_os_release *osr)
{
    static const char *const paths[] = {"/etc/os-release",
                                        "/usr/lib/os-release"};
    struct lf_buf path;
    struct lf_buf text;
    int rc = LF_ENOENT;

    lf_buf_init(&path);
    lf_buf_init(&text);
    for (size_t i = 0; i < LF_ARRAY_SIZE(paths) && rc == LF_ENOENT; i++) {
        lf_buf_reset(&path);
        lf_buf_appendf(&path, "%s%s", root, paths[i]);
        lf_buf_reset(&text);
        rc = read_file(path.data, &text);
    }
    if (rc == 0) {
        lf_os_release_parse(text.data, text.len, osr);
    }
    lf_buf_cleanup(&path);
    lf_buf_cleanup(&text);
    return rc;
}

static const char *family_of(const char *id, size_t len)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(family_rules); i++) {
        if (strlen(family_rules[i].id) == len &&
            memcmp(family_rules[i].id, id, len) == 0) {
            return family_rules[i].family;
        }
    }
    return NULL;
}

const char *lf_os_release_family(const struct lf_os_release *osr)
{
    const char *family = NULL;
    const char *p = osr->id_like;

    if (osr->id != NULL) {
        family = family_of(osr->id, strlen(osr->id));
    }
    while (family == NULL && p != NULL && *p != '\0') {
        size_t len = strcspn(p, " \t");

        family = family_of(p, len);
        p += len;
        p += strspn(p, " \t");
    }
    return family != NULL ? family : osr->id;
}
