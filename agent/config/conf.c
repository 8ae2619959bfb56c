/*
 * The YAML document loader behind every configuration file. libyaml events
 * become a jansson tree in which every scalar is a string. A side table
 * keeps the line of each node and whether a scalar was written plain, so
 * the typed getters can convert values and point at the line of a mistake.
 */
#include "lf/conf.h"
#include "agent/config/conf_private.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <yaml.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A configuration file larger than this is almost certainly the wrong file. */
#define CONF_MAX_FILE_MIB 16
#define CONF_MAX_FILE_BYTES ((size_t)CONF_MAX_FILE_MIB * 1024 * 1024)
#define CONF_READ_CHUNK_BYTES 8192

/* Maximum nesting of maps and lists. The example in the docs nests 8 deep. */
#define CONF_MAX_DEPTH 64

/* Maximum nesting of `${A:-${B:-...}}` inside variable defaults. */
#define CONF_MAX_SUBST_DEPTH 8

/* A `${file:...}` secret file larger than this is rejected as a mistake. */
#define CONF_MAX_SECRET_FILE_BYTES (64 * 1024)

#define CONF_DEFAULT_NAME "config"

enum conf_meta_flag {
    CONF_META_PLAIN = 1u << 0,    /* scalar written without quotes or tag */
    CONF_META_IMPLICIT = 1u << 1, /* map created by dotted keys only */
};

struct conf_meta {
    const json_t *json; /* NULL marks a free slot */
    int line;
    unsigned flags; /* enum conf_meta_flag bits */
};

/* Open addressing keyed by node address, linear probing, at most half full. */
struct conf_meta_table {
    struct conf_meta *slots;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t count;
};

struct lf_conf {
    char *name;
    json_t *root;
    struct conf_meta_table meta; /* every node except nulls */
    /*
     * jansson shares one json_null() object, so the line of a null value
     * cannot be keyed by address: it is stored under the node's key path.
     */
    json_t *null_lines;
    /* [{"path", "key", "mode"}] per ${file:...} read; NULL when none. */
    json_t *secret_files;
};

/* A map or list still open while events are read. */
struct conf_frame {
    json_t *container;
    char path[LF_CONF_PATH_MAX];
    char *key; /* owned; the map key waiting for its value, or NULL */
    int key_line;
};

struct conf_loader {
    struct lf_conf *conf;
    const char *text;
    size_t len;
    struct conf_frame frames[CONF_MAX_DEPTH];
    size_t depth;
    int documents;
    char *errbuf;
    size_t errlen;
};

/* Destination of a new value, with its key path for messages. */
struct conf_slot {
    json_t *parent;   /* NULL for the document root */
    const char *key;  /* final key segment in a map, borrowed from the frame */
    json_t *existing; /* value already stored under `key`, or NULL */
    char path[LF_CONF_PATH_MAX];
    int line;
};

static int vformat_error(const char *name, int line, const char *path,
                         char *errbuf, size_t errlen, const char *fmt,
                         va_list ap) __attribute__((format(printf, 6, 0)));
static int format_error(const char *name, int line, const char *path,
                        char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int load_error(struct conf_loader *ld, int line, const char *path,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- side table ---- */

static size_t meta_hash(const json_t *json)
{
    uint64_t x = (uint64_t)(uintptr_t)json;

    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)x;
}

static struct conf_meta *meta_slot(struct conf_meta *slots, size_t cap,
                                   const json_t *json)
{
    size_t i = meta_hash(json) & (cap - 1);

    while (slots[i].json != NULL && slots[i].json != json) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

static void meta_grow(struct conf_meta_table *table)
{
    size_t cap = table->cap == 0 ? 64 : table->cap * 2;
    struct conf_meta *slots = lf_calloc(cap, sizeof(*slots));

    for (size_t i = 0; i < table->cap; i++) {
        if (table->slots[i].json != NULL) {
            *meta_slot(slots, cap, table->slots[i].json) = table->slots[i];
        }
    }
    lf_free(table->slots);
    table->slots = slots;
    table->cap = cap;
}

static void meta_put(struct conf_meta_table *table, const json_t *json,
                     int line, unsigned flags)
{
    struct conf_meta *slot;

    if ((table->count + 1) * 2 > table->cap) {
        meta_grow(table);
    }
    slot = meta_slot(table->slots, table->cap, json);
    if (slot->json == NULL) {
        table->count++;
    }
    slot->json = json;
    slot->line = line;
    slot->flags = flags;
}

static struct conf_meta *meta_get(const struct conf_meta_table *table,
                                  const json_t *json)
{
    struct conf_meta *slot;

    if (table->cap == 0) {
        return NULL;
    }
    slot = meta_slot(table->slots, table->cap, json);
    return slot->json == NULL ? NULL : slot;
}

/* ---- paths and messages ---- */

/*
 * Copies a formatted path to `dst`. A path longer than LF_CONF_PATH_MAX - 1
 * bytes ends in "..." so that messages show it was cut.
 */
static void path_store(char *dst, char *tmp, int n)
{
    static const char ellipsis[] = "...";

    if (n >= LF_CONF_PATH_MAX) {
        memcpy(tmp + LF_CONF_PATH_MAX - sizeof(ellipsis), ellipsis,
               sizeof(ellipsis));
    }
    memcpy(dst, tmp, LF_CONF_PATH_MAX);
}

/* `dst` may be `parent`. */
static void path_key(char *dst, const char *parent, const char *key,
                     size_t key_len)
{
    char tmp[LF_CONF_PATH_MAX];
    int key_width = key_len > INT_MAX ? INT_MAX : (int)key_len;
    int n;

    if (parent[0] == '\0') {
        n = snprintf(tmp, sizeof(tmp), "%.*s", key_width, key);
    } else {
        n = snprintf(tmp, sizeof(tmp), "%s.%.*s", parent, key_width, key);
    }
    path_store(dst, tmp, n);
}

static void path_index(char *dst, const char *parent, size_t index)
{
    char tmp[LF_CONF_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s[%zu]", parent, index);

    path_store(dst, tmp, n);
}

static int vformat_error(const char *name, int line, const char *path,
                         char *errbuf, size_t errlen, const char *fmt,
                         va_list ap)
{
    int n;

    if (errbuf == NULL || errlen == 0) {
        return LF_ECONFIG;
    }
    if (line > 0) {
        n = snprintf(errbuf, errlen, "%s:%d: ", name, line);
    } else {
        n = snprintf(errbuf, errlen, "%s: ", name);
    }
    if (n >= 0 && (size_t)n < errlen && path != NULL && path[0] != '\0') {
        n += snprintf(errbuf + n, errlen - (size_t)n, "%s: ", path);
    }
    if (n >= 0 && (size_t)n < errlen) {
        vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
    }
    return LF_ECONFIG;
}

static int format_error(const char *name, int line, const char *path,
                        char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vformat_error(name, line, path, errbuf, errlen, fmt, ap);
    va_end(ap);
    return LF_ECONFIG;
}

static int load_error(struct conf_loader *ld, int line, const char *path,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vformat_error(ld->conf->name, line, path, ld->errbuf, ld->errlen, fmt, ap);
    va_end(ap);
    return LF_ECONFIG;
}

static int out_of_memory(struct conf_loader *ld)
{
    format_error(ld->conf->name, 0, NULL, ld->errbuf, ld->errlen,
                 "out of memory while loading the configuration");
    return LF_ENOMEM;
}

static int node_line(const struct lf_conf *conf, const json_t *json,
                     const char *path)
{
    const struct conf_meta *meta;
    json_t *line;

    if (conf == NULL || json == NULL) {
        return 0;
    }
    if (json_is_null(json)) {
        line = json_object_get(conf->null_lines, path);
        return line == NULL ? 0 : (int)json_integer_value(line);
    }
    meta = meta_get(&conf->meta, json);
    return meta == NULL ? 0 : meta->line;
}

static const char *conf_name(const struct lf_conf_node *node)
{
    return node->conf == NULL ? CONF_DEFAULT_NAME : node->conf->name;
}

/* ---- ${VAR} substitution ---- */

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t prefix_len = strlen(prefix);

    return len >= prefix_len && memcmp(text, prefix, prefix_len) == 0;
}

/*
 * Returns the offset of the '}' that closes a default starting at `start`,
 * skipping nested `${...}` and `$${` escapes, or `len` when there is none.
 */
static size_t find_default_end(const char *text, size_t len, size_t start)
{
    size_t depth = 0;
    size_t i = start;

    while (i < len) {
        if (starts_with(text + i, len - i, "$${")) {
            i += LF_STRLEN("$${");
        } else if (starts_with(text + i, len - i, "${")) {
            depth++;
            i += LF_STRLEN("${");
        } else if (text[i] == '}') {
            if (depth == 0) {
                return i;
            }
            depth--;
            i++;
        } else {
            i++;
        }
    }
    return len;
}

static int expand_vars(struct conf_loader *ld, const char *text, size_t len,
                       int line, const char *path, int depth,
                       struct lf_buf *out);

static int reference_error(struct conf_loader *ld, const char *ref,
                           size_t ref_len, int line, const char *path)
{
    return load_error(ld, line, path,
                      "invalid variable reference '%.*s': expected ${NAME}, "
                      "${NAME:-default} or ${file:/path} (write $${ for a "
                      "literal ${)",
                      lf_conf_quote_width(ref_len), ref);
}

/*
 * Reads the secret file `file` into `out` and stores its permission bits in
 * `*mode_out`. Returns 0 or a negative LF_E* code.
 */
static int read_secret_file(const char *file, struct lf_buf *out,
                            unsigned *mode_out)
{
    char chunk[4096];
    struct stat st;
    /*
     * O_NONBLOCK, because opening a FIFO without a writer would otherwise
     * block start-up for ever. Only regular files are read.
     */
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? LF_EISDIR : LF_EINVAL;
    }
    *mode_out = (unsigned)(st.st_mode & 07777);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        if (out->len + (size_t)n > CONF_MAX_SECRET_FILE_BYTES) {
            rc = LF_ETOOBIG;
            break;
        }
        lf_buf_append(out, chunk, (size_t)n);
    }
    memset(chunk, 0, sizeof(chunk));
    close(fd);
    return rc;
}

/* Records that the value at key path `key` was read from `file`. */
static void record_secret_file(struct lf_conf *conf, const char *file,
                               const char *key, unsigned mode)
{
    if (conf->secret_files == NULL) {
        conf->secret_files = json_array();
    }
    json_array_append_new(conf->secret_files,
                          json_pack("{s:s, s:s, s:I}", "path", file, "key",
                                    key, "mode", (json_int_t)mode));
}

/*
 * Expands "${file:/path}" at text[*pos] to the content of the file, read
 * now, without one trailing newline. Errors name the file and never
 * quote its content.
 */
static int expand_file_reference(struct conf_loader *ld, const char *text,
                                 size_t len, size_t *pos, int line,
                                 const char *path, struct lf_buf *out)
{
    size_t start = *pos + LF_STRLEN("${file:");
    const char *brace = memchr(text + start, '}', len - start);
    struct lf_buf content;
    unsigned mode = 0;
    char *file;
    int rc;

    if (brace == NULL) {
        return load_error(ld, line, path,
                          "variable reference '%.*s' has no closing '}'",
                          lf_conf_quote_width(len - *pos), text + *pos);
    }
    file = lf_strndup(text + start, (size_t)(brace - text) - start);
    *pos = (size_t)(brace - text) + 1;
    if (file[0] != '/') {
        rc = load_error(ld, line, path,
                        "secret file '%s' must be an absolute path, as in "
                        "${file:/run/secrets/es_password}",
                        file);
        lf_free(file);
        return rc;
    }

    lf_buf_init(&content);
    rc = read_secret_file(file, &content, &mode);
    if (rc != 0) {
        const char *reason = lf_strerror(rc);

        if (rc == LF_ETOOBIG) {
            reason = "larger than 64 KiB";
        } else if (rc == LF_EINVAL) {
            reason = "not a regular file";
        }
        rc = load_error(ld, line, path, "reading secret file '%s' failed: %s",
                        file, reason);
    } else if (content.len > 0 &&
               memchr(content.data, '\0', content.len) != NULL) {
        rc = load_error(ld, line, path, "secret file '%s' contains a NUL byte",
                        file);
    } else {
        size_t n = content.len;

        if (n > 0 && content.data[n - 1] == '\n') {
            n--;
            if (n > 0 && content.data[n - 1] == '\r') {
                n--;
            }
        }
        lf_buf_append(out, content.data, n);
        record_secret_file(ld->conf, file, path, mode);
    }
    if (content.data != NULL) {
        memset(content.data, 0, content.len);
    }
    lf_buf_cleanup(&content);
    lf_free(file);
    return rc;
}

/*
 * Expands the reference that starts with "${" at text[*pos] and advances
 * *pos past its closing brace. `:-` takes the default when the variable is
 * unset or empty, as in the POSIX shell.
 */
static int expand_reference(struct conf_loader *ld, const char *text,
                            size_t len, size_t *pos, int line, const char *path,
                            int depth, struct lf_buf *out)
{
    size_t start = *pos;
    size_t name_start = start + LF_STRLEN("${");
    size_t name_end = name_start;
    size_t default_start = 0;
    size_t end;
    char *name = NULL;
    const char *value;
    int rc = 0;

    if (starts_with(text + name_start, len - name_start, "file:")) {
        return expand_file_reference(ld, text, len, pos, line, path, out);
    }
    if (name_end < len && is_name_start(text[name_end])) {
        name_end++;
        while (name_end < len && is_name_char(text[name_end])) {
            name_end++;
        }
    }
    if (name_end == name_start) {
        return reference_error(ld, text + start, len - start, line, path);
    }

    if (name_end < len && text[name_end] == '}') {
        end = name_end;
    } else if (starts_with(text + name_end, len - name_end, ":-")) {
        default_start = name_end + LF_STRLEN(":-");
        end = find_default_end(text, len, default_start);
    } else if (name_end == len) {
        end = len;
    } else {
        return reference_error(ld, text + start, len - start, line, path);
    }
    if (end == len) {
        return load_error(ld, line, path,
                          "variable reference '%.*s' has no closing '}'",
                          lf_conf_quote_width(len - start), text + start);
    }

    name = lf_strndup(text + name_start, name_end - name_start);
    value = getenv(name);
    if (default_start != 0 && (value == NULL || value[0] == '\0')) {
        rc = expand_vars(ld, text + default_start, end - default_start, line,
                         path, depth + 1, out);
    } else if (value == NULL) {
        rc = load_error(ld, line, path,
                        "environment variable %s is not set: set it or give "
                        "a default with ${%s:-default}",
                        name, name);
    } else {
        lf_buf_append_str(out, value);
    }
    lf_free(name);
    *pos = end + 1;
    return rc;
}

static int expand_vars(struct conf_loader *ld, const char *text, size_t len,
                       int line, const char *path, int depth,
                       struct lf_buf *out)
{
    size_t i = 0;
    int rc = 0;

    if (depth > CONF_MAX_SUBST_DEPTH) {
        return load_error(ld, line, path,
                          "variable defaults are nested more than %d deep",
                          CONF_MAX_SUBST_DEPTH);
    }
    while (rc == 0 && i < len) {
        const char *dollar = memchr(text + i, '$', len - i);
        size_t at = dollar == NULL ? len : (size_t)(dollar - text);

        lf_buf_append(out, text + i, at - i);
        i = at;
        if (i == len) {
            break;
        }
        if (starts_with(text + i, len - i, "$${")) {
            lf_buf_append_str(out, "${");
            i += LF_STRLEN("$${");
        } else if (starts_with(text + i, len - i, "${")) {
            rc = expand_reference(ld, text, len, &i, line, path, depth, out);
        } else {
            lf_buf_append_char(out, '$');
            i++;
        }
    }
    return rc;
}

/* ---- building the tree from events ---- */

static int mark_line(yaml_mark_t mark)
{
    return mark.line >= (size_t)INT_MAX ? INT_MAX : (int)mark.line + 1;
}

static bool is_null_text(const char *text, size_t len)
{
    static const char *const names[] = {"", "~", "null", "Null", "NULL"};

    for (size_t i = 0; i < LF_ARRAY_SIZE(names); i++) {
        if (len == strlen(names[i]) && memcmp(text, names[i], len) == 0) {
            return true;
        }
    }
    return false;
}

static int reject_anchor(struct conf_loader *ld, const yaml_char_t *anchor,
                         int line, const char *path)
{
    if (anchor == NULL) {
        return 0;
    }
    return load_error(ld, line, path,
                      "anchors (&%s) and aliases are not supported: repeat "
                      "the value instead",
                      (const char *)anchor);
}

/*
 * Accepts no tag, the non-specific "!" and the standard tag of the node's
 * kind (`expected`). Sets *tagged when a tag is present, because a tagged
 * scalar is a string that is never typed, like a quoted one.
 */
static int check_tag(struct conf_loader *ld, const yaml_char_t *tag,
                     const char *expected, int line, const char *path,
                     bool *tagged)
{
    const char *name = (const char *)tag;

    *tagged = false;
    if (name == NULL) {
        return 0;
    }
    if (strcmp(name, "!") == 0 || strcmp(name, expected) == 0) {
        *tagged = true;
        return 0;
    }
    return load_error(ld, line, path,
                      "unsupported tag '%s': remove it (only !!str, !!map "
                      "and !!seq are accepted)",
                      name);
}

static int store_key(struct conf_loader *ld, struct conf_frame *frame,
                     const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    int line = mark_line(ev->start_mark);
    bool tagged;
    int rc;

    rc = reject_anchor(ld, ev->data.scalar.anchor, line, frame->path);
    if (rc == 0) {
        rc = check_tag(ld, ev->data.scalar.tag, YAML_STR_TAG, line, frame->path,
                       &tagged);
    }
    if (rc != 0) {
        return rc;
    }

    if (len == 0) {
        return load_error(ld, line, frame->path, "empty key: give it a name");
    }
    if (memchr(text, '\0', len) != NULL) {
        return load_error(ld, line, frame->path,
                          "key contains a NUL character");
    }
    if (text[0] == '.' || text[len - 1] == '.' || strstr(text, "..")) {
        return load_error(ld, line, frame->path,
                          "invalid key '%s': a dotted key needs a name "
                          "between every two dots",
                          text);
    }
    frame->key = lf_strndup(text, len);
    frame->key_line = line;
    return 0;
}

static int duplicate_error(struct conf_loader *ld, const struct conf_slot *slot)
{
    int first = node_line(ld->conf, slot->existing, slot->path);

    return load_error(ld, slot->line, slot->path,
                      "duplicate key, first set on line %d", first);
}

/*
 * Walks the dotted key of `frame` to the map that receives the value,
 * creating the intermediate maps. `a.b: 1` and `a: {b: 1}` thus give the
 * same tree, and writing both is a duplicate key.
 */
static int resolve_map_slot(struct conf_loader *ld, struct conf_frame *frame,
                            struct conf_slot *slot)
{
    json_t *parent = frame->container;
    char *segment = frame->key;
    char full_path[LF_CONF_PATH_MAX];
    char *dot;

    path_key(full_path, frame->path, frame->key, strlen(frame->key));
    memcpy(slot->path, frame->path, sizeof(slot->path));
    slot->line = frame->key_line;
    while ((dot = strchr(segment, '.')) != NULL) {
        json_t *child;

        *dot = '\0';
        path_key(slot->path, slot->path, segment, strlen(segment));
        child = json_object_get(parent, segment);
        if (child == NULL) {
            child = json_object();
            if (json_object_set_new_nocheck(parent, segment, child) != 0) {
                return out_of_memory(ld);
            }
            meta_put(&ld->conf->meta, child, frame->key_line,
                     CONF_META_IMPLICIT);
        } else if (!json_is_object(child)) {
            return load_error(ld, frame->key_line, full_path,
                              "duplicate key: '%s' is already set on line "
                              "%d and is not a map",
                              slot->path,
                              node_line(ld->conf, child, slot->path));
        }
        parent = child;
        segment = dot + 1;
    }
    path_key(slot->path, slot->path, segment, strlen(segment));
    slot->parent = parent;
    slot->key = segment;
    slot->existing = json_object_get(parent, segment);
    return 0;
}

static int resolve_slot(struct conf_loader *ld, const yaml_event_t *ev,
                        struct conf_slot *slot)
{
    struct conf_frame *frame;

    slot->parent = NULL;
    slot->key = NULL;
    slot->existing = NULL;
    slot->path[0] = '\0';
    slot->line = mark_line(ev->start_mark);
    if (ld->depth == 0) {
        return 0;
    }
    frame = &ld->frames[ld->depth - 1];
    if (json_is_array(frame->container)) {
        path_index(slot->path, frame->path, json_array_size(frame->container));
        slot->parent = frame->container;
        return 0;
    }
    return resolve_map_slot(ld, frame, slot);
}

/* Stores `value` (a new reference) at `slot` and records its line. */
static int attach(struct conf_loader *ld, const struct conf_slot *slot,
                  json_t *value, unsigned flags)
{
    int rc;

    if (value == NULL) {
        return out_of_memory(ld);
    }
    if (json_is_null(value)) {
        rc = json_object_set_new_nocheck(ld->conf->null_lines, slot->path,
                                         json_integer(slot->line));
    } else {
        meta_put(&ld->conf->meta, value, slot->line, flags);
        rc = 0;
    }

    if (slot->parent == NULL) {
        ld->conf->root = value;
    } else if (json_is_array(slot->parent)) {
        rc |= json_array_append_new(slot->parent, value);
    } else {
        rc |= json_object_set_new_nocheck(slot->parent, slot->key, value);
    }
    return rc == 0 ? 0 : out_of_memory(ld);
}

/* Drops the key of the innermost map once its value has been attached. */
static void consume_key(struct conf_loader *ld)
{
    if (ld->depth > 0) {
        lf_free(ld->frames[ld->depth - 1].key);
        ld->frames[ld->depth - 1].key = NULL;
    }
}

static int scalar_value(struct conf_loader *ld, const yaml_event_t *ev,
                        const struct conf_slot *slot)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool tagged;
    bool plain;
    struct lf_buf expanded;
    json_t *value;
    int rc;

    rc = check_tag(ld, ev->data.scalar.tag, YAML_STR_TAG, slot->line,
                   slot->path, &tagged);
    if (rc != 0) {
        return rc;
    }
    plain = !tagged && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (plain && is_null_text(text, len)) {
        return attach(ld, slot, json_null(), 0);
    }
    if (memchr(text, '\0', len) != NULL) {
        return load_error(ld, slot->line, slot->path,
                          "value contains a NUL character");
    }
    if (memchr(text, '$', len) == NULL) {
        return attach(ld, slot, json_stringn(text, len),
                      plain ? CONF_META_PLAIN : 0);
    }

    lf_buf_init(&expanded);
    rc = expand_vars(ld, text, len, mark_line(ev->start_mark), slot->path, 0,
                     &expanded);
    if (rc == 0) {
        value = json_stringn(expanded.data, expanded.len);
        if (value == NULL) {
            rc = load_error(ld, slot->line, slot->path,
                            "value is not valid UTF-8 after substituting "
                            "environment variables");
        } else {
            rc = attach(ld, slot, value, plain ? CONF_META_PLAIN : 0);
        }
    }
    lf_buf_cleanup(&expanded);
    return rc;
}

static int handle_scalar(struct conf_loader *ld, const yaml_event_t *ev)
{
    struct conf_frame *frame =
        ld->depth > 0 ? &ld->frames[ld->depth - 1] : NULL;
    struct conf_slot slot;
    int rc;

    if (frame != NULL && json_is_object(frame->container) &&
        frame->key == NULL) {
        return store_key(ld, frame, ev);
    }
    rc = resolve_slot(ld, ev, &slot);
    if (rc == 0) {
        rc = reject_anchor(ld, ev->data.scalar.anchor, slot.line, slot.path);
    }
    if (rc == 0 && slot.existing != NULL) {
        rc = duplicate_error(ld, &slot);
    }
    if (rc == 0) {
        rc = scalar_value(ld, ev, &slot);
    }
    if (rc == 0) {
        consume_key(ld);
    }
    return rc;
}

static int collection_tag(struct conf_loader *ld, const yaml_event_t *ev,
                          const struct conf_slot *slot, bool is_map)
{
    const yaml_char_t *anchor =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const yaml_char_t *tag =
        is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    bool tagged;
    int rc;

    rc = reject_anchor(ld, anchor, slot->line, slot->path);
    if (rc == 0) {
        rc = check_tag(ld, tag, is_map ? YAML_MAP_TAG : YAML_SEQ_TAG,
                       slot->line, slot->path, &tagged);
    }
    return rc;
}

/*
 * Opens a map or list. A map written under a key that dotted keys already
 * created (`a.b: 1` then `a: {c: 2}`) is merged into that map.
 */
static int handle_start(struct conf_loader *ld, const yaml_event_t *ev,
                        bool is_map)
{
    struct conf_slot slot;
    struct conf_meta *meta;
    struct conf_frame *frame;
    json_t *container;
    int rc;

    frame = ld->depth > 0 ? &ld->frames[ld->depth - 1] : NULL;
    if (frame != NULL && json_is_object(frame->container) &&
        frame->key == NULL) {
        return load_error(ld, mark_line(ev->start_mark), frame->path,
                          "complex keys (a map or list used as a key) are "
                          "not supported");
    }
    rc = resolve_slot(ld, ev, &slot);
    if (rc == 0) {
        rc = collection_tag(ld, ev, &slot, is_map);
    }
    if (rc == 0 && ld->depth == CONF_MAX_DEPTH) {
        rc = load_error(ld, slot.line, slot.path,
                        "maps and lists are nested more than %d deep",
                        CONF_MAX_DEPTH);
    }
    if (rc != 0) {
        return rc;
    }

    meta =
        slot.existing == NULL ? NULL : meta_get(&ld->conf->meta, slot.existing);
    if (is_map && meta != NULL && (meta->flags & CONF_META_IMPLICIT)) {
        meta->flags &= ~(unsigned)CONF_META_IMPLICIT;
        container = slot.existing;
    } else if (slot.existing != NULL) {
        return duplicate_error(ld, &slot);
    } else {
        container = is_map ? json_object() : json_array();
        rc = attach(ld, &slot, container, 0);
        if (rc != 0) {
            return rc;
        }
    }
    consume_key(ld);

    frame = &ld->frames[ld->depth++];
    frame->container = container;
    memcpy(frame->path, slot.path, sizeof(frame->path));
    frame->key = NULL;
    frame->key_line = 0;
    return 0;
}

static void handle_end(struct conf_loader *ld)
{
    if (ld->depth > 0) {
        ld->depth--;
        lf_free(ld->frames[ld->depth].key);
        ld->frames[ld->depth].key = NULL;
    }
}

static int handle_event(struct conf_loader *ld, const yaml_event_t *ev)
{
    int line = mark_line(ev->start_mark);

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (ld->documents++ > 0) {
            return load_error(ld, line, NULL,
                              "a second YAML document starts here, but a "
                              "configuration file holds exactly one");
        }
        return 0;
    case YAML_ALIAS_EVENT:
        return load_error(ld, line, NULL,
                          "aliases (*%s) and anchors are not supported: "
                          "repeat the value instead",
                          (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        return handle_scalar(ld, ev);
    case YAML_MAPPING_START_EVENT:
        return handle_start(ld, ev, true);
    case YAML_SEQUENCE_START_EVENT:
        return handle_start(ld, ev, false);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        handle_end(ld);
        return 0;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        break;
    }
    return 0;
}

/* Reports a libyaml failure with its line and problem text. */
static int syntax_error(struct conf_loader *ld, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "unknown error";
    size_t index = parser->problem_mark.index;
    int line = mark_line(parser->problem_mark);
    const char *hint = "";

    if (parser->error == YAML_MEMORY_ERROR) {
        return out_of_memory(ld);
    }
    if (parser->error == YAML_READER_ERROR) {
        size_t offset = parser->problem_offset;
        size_t end = offset < ld->len ? offset : ld->len;
        int newlines = 0;

        for (size_t i = 0; i < end && newlines < INT_MAX - 1; i++) {
            newlines += ld->text[i] == '\n';
        }
        if (parser->problem_value < 0) {
            return load_error(ld, newlines + 1, NULL,
                              "invalid YAML: %s at byte offset %zu", problem,
                              offset);
        }
        return load_error(ld, newlines + 1, NULL,
                          "invalid YAML: %s (#%X at byte offset %zu)", problem,
                          (unsigned)parser->problem_value, offset);
    }

    if (index < ld->len && ld->text[index] == '\t') {
        hint = " (YAML does not allow tabs for indentation)";
    }
    if (parser->context == NULL) {
        return load_error(ld, line, NULL, "invalid YAML: %s at column %zu%s",
                          problem, parser->problem_mark.column + 1, hint);
    }
    return load_error(ld, line, NULL,
                      "invalid YAML: %s at column %zu, %s that starts on "
                      "line %d%s",
                      problem, parser->problem_mark.column + 1, parser->context,
                      mark_line(parser->context_mark), hint);
}

static int parse_events(struct conf_loader *ld, yaml_parser_t *parser)
{
    yaml_event_t event;
    bool done = false;
    int rc = 0;

    while (rc == 0 && !done) {
        if (!yaml_parser_parse(parser, &event)) {
            return syntax_error(ld, parser);
        }
        done = event.type == YAML_STREAM_END_EVENT;
        rc = handle_event(ld, &event);
        yaml_event_delete(&event);
    }
    return rc;
}

/* An empty file, or one holding only `---`, is an empty map. */
static int finish_root(struct conf_loader *ld)
{
    struct lf_conf *conf = ld->conf;

    if (conf->root != NULL && !json_is_null(conf->root)) {
        return 0;
    }
    conf->root = json_object();
    if (conf->root == NULL) {
        return out_of_memory(ld);
    }
    meta_put(&conf->meta, conf->root, 1, 0);
    return 0;
}

/* ---- loading ---- */

int lf_conf_load_string(const char *text, size_t len, const char *name,
                        struct lf_conf **out, char *errbuf, size_t errlen)
{
    struct lf_conf *conf = lf_calloc(1, sizeof(*conf));
    struct conf_loader *ld = lf_calloc(1, sizeof(*ld));
    yaml_parser_t parser;
    bool parser_ready = false;
    int rc;

    *out = NULL;
    conf->name = lf_strdup(name != NULL ? name : CONF_DEFAULT_NAME);
    ld->conf = conf;
    ld->text = text;
    ld->len = len;
    ld->errbuf = errbuf;
    ld->errlen = errlen;

    conf->null_lines = json_object();
    if (conf->null_lines == NULL || !yaml_parser_initialize(&parser)) {
        rc = out_of_memory(ld);
        goto fail;
    }
    parser_ready = true;
    yaml_parser_set_input_string(
        &parser, (const unsigned char *)(text != NULL ? text : ""), len);

    rc = parse_events(ld, &parser);
    if (rc == 0) {
        rc = finish_root(ld);
    }
    if (rc != 0) {
        goto fail;
    }
    *out = conf;
    conf = NULL;

fail:
    if (parser_ready) {
        yaml_parser_delete(&parser);
    }
    while (ld->depth > 0) {
        handle_end(ld);
    }
    lf_free(ld);
    lf_conf_free(conf);
    return rc;
}

static int read_file(const char *path, struct lf_buf *text, char *errbuf,
                     size_t errlen)
{
    char chunk[CONF_READ_CHUNK_BYTES];
    ssize_t n = 1;
    int fd;
    int rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    while (n != 0) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            goto fail;
        }
        if (n > 0) {
            lf_buf_append(text, chunk, (size_t)n);
        }
        if (text->len > CONF_MAX_FILE_BYTES) {
            rc = LF_ECONFIG;
            goto fail;
        }
    }
    close(fd);
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    if (rc == LF_ECONFIG) {
        format_error(path, 0, NULL, errbuf, errlen,
                     "file is larger than %d MiB, so it is not a "
                     "configuration file",
                     CONF_MAX_FILE_MIB);
    } else {
        format_error(path, 0, NULL, errbuf, errlen,
                     "cannot read the configuration file: %s", lf_strerror(rc));
    }
    return rc;
}

int lf_conf_load_file(const char *path, struct lf_conf **out, char *errbuf,
                      size_t errlen)
{
    struct lf_buf text;
    int rc;

    *out = NULL;
    lf_buf_init(&text);
    rc = read_file(path, &text, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_load_string(text.data != NULL ? text.data : "", text.len,
                                 path, out, errbuf, errlen);
    }
    lf_buf_cleanup(&text);
    return rc;
}

void lf_conf_free(struct lf_conf *conf)
{
    if (conf == NULL) {
        return;
    }
    json_decref(conf->root);
    json_decref(conf->null_lines);
    json_decref(conf->secret_files);
    lf_free(conf->meta.slots);
    lf_free(conf->name);
    lf_free(conf);
}

const char *lf_conf_name(const struct lf_conf *conf)
{
    return conf->name;
}

bool lf_conf_secret_file_at(const struct lf_conf *conf, size_t index,
                            struct lf_conf_secret_file *out)
{
    json_t *entry = json_array_get(conf->secret_files, index);

    if (entry == NULL) {
        return false;
    }
    out->path = json_string_value(json_object_get(entry, "path"));
    out->key = json_string_value(json_object_get(entry, "key"));
    out->mode = (unsigned)json_integer_value(json_object_get(entry, "mode"));
    return true;
}

/* ---- navigation ---- */

/* `path` may be out->path itself. */
static void node_set(struct lf_conf_node *out, const struct lf_conf *conf,
                     json_t *json, const char *path)
{
    size_t len = strnlen(path, sizeof(out->path) - 1);

    out->conf = conf;
    out->json = json;
    memmove(out->path, path, len);
    out->path[len] = '\0';
}

void lf_conf_root(const struct lf_conf *conf, struct lf_conf_node *out)
{
    node_set(out, conf, conf->root, "");
}

enum lf_conf_kind lf_conf_kind(const struct lf_conf_node *node)
{
    if (node == NULL || node->json == NULL) {
        return LF_CONF_MISSING;
    }
    if (json_is_object(node->json)) {
        return LF_CONF_MAP;
    }
    if (json_is_array(node->json)) {
        return LF_CONF_LIST;
    }
    if (json_is_string(node->json)) {
        return LF_CONF_SCALAR;
    }
    return LF_CONF_NULL;
}

int lf_conf_line(const struct lf_conf_node *node)
{
    if (node == NULL) {
        return 0;
    }
    return node_line(node->conf, node->json, node->path);
}

bool lf_conf_is_plain(const struct lf_conf_node *node)
{
    const struct conf_meta *meta;

    if (lf_conf_kind(node) != LF_CONF_SCALAR || node->conf == NULL) {
        return false;
    }
    meta = meta_get(&node->conf->meta, node->json);
    return meta != NULL && (meta->flags & CONF_META_PLAIN);
}

/*
 * A dotted `key` descends one map per segment, matching how the loader
 * stores dotted keys.
 */
int lf_conf_child(const struct lf_conf_node *map, const char *key,
                  struct lf_conf_node *out)
{
    const struct lf_conf *conf = map->conf;
    json_t *json = map->json;
    char path[LF_CONF_PATH_MAX];

    memcpy(path, map->path, sizeof(path));
    for (;;) {
        const char *dot = strchr(key, '.');
        size_t len = dot == NULL ? strlen(key) : (size_t)(dot - key);

        json = json_is_object(json) ? json_object_getn(json, key, len) : NULL;
        path_key(path, path, key, len);
        if (dot == NULL) {
            break;
        }
        key = dot + 1;
    }
    node_set(out, conf, json, path);
    return json == NULL ? LF_ENOENT : 0;
}

size_t lf_conf_size(const struct lf_conf_node *node)
{
    switch (lf_conf_kind(node)) {
    case LF_CONF_MAP:
        return json_object_size(node->json);
    case LF_CONF_LIST:
        return json_array_size(node->json);
    case LF_CONF_MISSING:
    case LF_CONF_NULL:
    case LF_CONF_SCALAR:
        break;
    }
    return 0;
}

int lf_conf_at(const struct lf_conf_node *list, size_t index,
               struct lf_conf_node *out)
{
    json_t *json =
        json_is_array(list->json) ? json_array_get(list->json, index) : NULL;
    char path[LF_CONF_PATH_MAX];

    path_index(path, list->path, index);
    node_set(out, list->conf, json, path);
    return json == NULL ? LF_ENOENT : 0;
}

int lf_conf_entry(const struct lf_conf_node *map, size_t index,
                  const char **key_out, struct lf_conf_node *out)
{
    void *iter = json_is_object(map->json) ? json_object_iter(map->json) : NULL;
    char path[LF_CONF_PATH_MAX];
    const char *key;

    for (size_t i = 0; iter != NULL && i < index; i++) {
        iter = json_object_iter_next(map->json, iter);
    }
    if (iter == NULL) {
        *key_out = NULL;
        node_set(out, map->conf, NULL, map->path);
        return LF_ENOENT;
    }
    key = json_object_iter_key(iter);
    path_key(path, map->path, key, strlen(key));
    node_set(out, map->conf, json_object_iter_value(iter), path);
    *key_out = key;
    return 0;
}

int lf_conf_error(const struct lf_conf_node *node, char *errbuf, size_t errlen,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vformat_error(conf_name(node), lf_conf_line(node), node->path, errbuf,
                  errlen, fmt, ap);
    va_end(ap);
    return LF_ECONFIG;
}

int lf_conf_error_line(const struct lf_conf_node *node, int line, char *errbuf,
                       size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vformat_error(conf_name(node), line, node->path, errbuf, errlen, fmt, ap);
    va_end(ap);
    return LF_ECONFIG;
}
