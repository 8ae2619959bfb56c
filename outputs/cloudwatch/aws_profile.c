/*
 * Reader of the AWS shared config and credentials files. Each file is
 * parsed into a flat list of (profile, key, value, line) entries. A
 * profile is assembled from the config entries, then the credentials
 * entries, so later values win and the credentials file wins over the
 * config file.
 */
#include "outputs/cloudwatch/aws_profile.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROFILE_PREFIX "profile"

struct entry {
    enum lf_aws_file_kind kind;
    char *profile; /* profile name the section gives */
    char *key;     /* lowercase; NULL for the section header itself */
    struct lf_buf value;
    size_t line;
};

struct lf_aws_shared_config {
    struct entry *entries;
    size_t count;
    size_t cap;
    char *file_names[2]; /* by enum lf_aws_file_kind, for messages */
};

/* Parser state of one file. */
struct parser {
    struct lf_aws_shared_config *cfg;
    enum lf_aws_file_kind kind;
    const char *file_name;
    size_t line_no;
    bool in_section;
    char *profile;      /* owned; NULL in a section that is no profile */
    struct entry *last; /* entry that an indented line continues */
    size_t last_indent; /* indentation of that entry's line */
    char *errbuf;
    size_t errlen;
};

/* Name and field offset of a profile key in struct lf_aws_profile. */
struct known_key {
    const char *name;
    size_t offset;
};

/* clang-format off */
#define KEY(field) {#field, offsetof(struct lf_aws_profile, field)}
/* clang-format on */

static const struct known_key known_keys[] = {
    KEY(aws_access_key_id),
    KEY(aws_secret_access_key),
    KEY(aws_session_token),
    KEY(region),
    KEY(role_arn),
    KEY(source_profile),
    KEY(web_identity_token_file),
    KEY(credential_source),
    KEY(role_session_name),
    KEY(external_id),
    KEY(credential_process),
};

#define KNOWN_KEY_COUNT (sizeof(known_keys) / sizeof(known_keys[0]))

void lf_aws_profile_env_from_process(struct lf_aws_profile_env *env)
{
    env->home = getenv("HOME");
    env->profile = getenv("AWS_PROFILE");
    env->credentials_file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    env->config_file = getenv("AWS_CONFIG_FILE");
}

const char *lf_aws_profile_select(const struct lf_aws_profile_env *env,
                                  const char *explicit_name)
{
    if (explicit_name != NULL && explicit_name[0] != '\0') {
        return explicit_name;
    }
    if (env->profile != NULL && env->profile[0] != '\0') {
        return env->profile;
    }
    return LF_AWS_DEFAULT_PROFILE;
}

int lf_aws_profile_path(const struct lf_aws_profile_env *env,
                        enum lf_aws_file_kind kind, char *path_out,
                        size_t path_len)
{
    const char *set =
        kind == LF_AWS_FILE_CONFIG ? env->config_file : env->credentials_file;
    const char *home = env->home;
    int n;

    if (set != NULL && set[0] != '\0') {
        if (set[0] == '~' && set[1] == '/' && home != NULL) {
            n = snprintf(path_out, path_len, "%s/%s", home, set + 2);
        } else {
            n = snprintf(path_out, path_len, "%s", set);
        }
    } else if (home != NULL && home[0] != '\0') {
        n = snprintf(path_out, path_len, "%s/.aws/%s", home,
                     kind == LF_AWS_FILE_CONFIG ? "config" : "credentials");
    } else {
        return LF_ENOENT;
    }
    return n < 0 || (size_t)n >= path_len ? LF_ENAMETOOLONG : 0;
}

struct lf_aws_shared_config *lf_aws_shared_config_new(void)
{
    return lf_calloc(1, sizeof(struct lf_aws_shared_config));
}

static void wipe_buf(struct lf_buf *buf)
{
    if (buf->data != NULL) {
        explicit_bzero(buf->data, buf->cap);
    }
    lf_buf_cleanup(buf);
}

void lf_aws_shared_config_free(struct lf_aws_shared_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->count; i++) {
        lf_free(cfg->entries[i].profile);
        lf_free(cfg->entries[i].key);
        wipe_buf(&cfg->entries[i].value);
    }
    lf_free(cfg->entries);
    lf_free(cfg->file_names[0]);
    lf_free(cfg->file_names[1]);
    lf_free(cfg);
}

/* ---- Parsing ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims blanks from both ends of [*start, *end). */
static void trim(const char **start, const char **end)
{
    while (*start < *end && is_blank(**start)) {
        (*start)++;
    }
    while (*end > *start && is_blank((*end)[-1])) {
        (*end)--;
    }
}

static int fail(struct parser *p, const char *what, const char *fix)
{
    snprintf(p->errbuf, p->errlen, "%s:%zu: %s; %s", p->file_name, p->line_no,
             what, fix);
    return LF_EPARSE;
}

static const char *section_hint(const struct parser *p)
{
    return p->kind == LF_AWS_FILE_CONFIG
               ? "add a [default] or [profile NAME] line above it"
               : "add a [default] or [NAME] line above it";
}

/*
 * Returns the profile a section header names, or NULL when the section
 * is not a profile: in the config file only "default" and "profile NAME"
 * with NAME a single word are.
 */
static char *section_profile(enum lf_aws_file_kind kind, const char *name,
                             const char *end)
{
    size_t prefix_len = strlen(PROFILE_PREFIX);
    const char *word;

    if (kind == LF_AWS_FILE_CREDENTIALS) {
        return lf_strndup(name, (size_t)(end - name));
    }
    if ((size_t)(end - name) == strlen(LF_AWS_DEFAULT_PROFILE) &&
        memcmp(name, LF_AWS_DEFAULT_PROFILE, (size_t)(end - name)) == 0) {
        return lf_strdup(LF_AWS_DEFAULT_PROFILE);
    }
    if ((size_t)(end - name) <= prefix_len ||
        memcmp(name, PROFILE_PREFIX, prefix_len) != 0 ||
        !is_blank(name[prefix_len])) {
        return NULL;
    }
    word = name + prefix_len;
    trim(&word, &end);
    for (const char *c = word; c < end; c++) {
        if (is_blank(*c)) {
            return NULL;
        }
    }
    return word < end ? lf_strndup(word, (size_t)(end - word)) : NULL;
}

static struct entry *push_entry(struct lf_aws_shared_config *cfg)
{
    struct entry *e;

    if (cfg->count == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 16;
        cfg->entries =
            lf_realloc(cfg->entries, cfg->cap * sizeof(*cfg->entries));
    }
    e = &cfg->entries[cfg->count++];
    memset(e, 0, sizeof(*e));
    lf_buf_init(&e->value);
    return e;
}

static int parse_section(struct parser *p, const char *start, const char *end)
{
    const char *close = end;

    /* As configparser does, the header runs to the last ']' and what
     * follows it is ignored. */
    while (close > start && close[-1] != ']') {
        close--;
    }
    if (close <= start + 1) {
        return fail(p, "section header has no closing ']'",
                    "write it as [NAME]");
    }
    start++;
    close--;
    trim(&start, &close);
    if (start == close) {
        return fail(p, "section header has no name", "write it as [NAME]");
    }
    lf_free(p->profile);
    p->profile = section_profile(p->kind, start, close);
    p->in_section = true;
    p->last = NULL;
    if (p->profile != NULL) {
        struct entry *e = push_entry(p->cfg);

        e->kind = p->kind;
        e->profile = lf_strdup(p->profile);
        e->line = p->line_no;
    }
    return 0;
}

static int parse_key_value(struct parser *p, const char *start, const char *end,
                           size_t indent)
{
    const char *sep = start;
    const char *key_end;
    const char *value;
    struct entry *e;

    while (sep < end && *sep != '=' && *sep != ':') {
        sep++;
    }
    if (sep == end) {
        return fail(p,
                    "line is not a [section] header, a key = value "
                    "pair or a comment",
                    "fix the line or put '#' before it");
    }
    key_end = sep;
    trim(&start, &key_end);
    if (start == key_end) {
        return fail(p, "key = value pair has no key",
                    "write the key before '='");
    }
    if (!p->in_section) {
        return fail(p, "key outside a section", section_hint(p));
    }
    if (p->profile == NULL) {
        p->last = NULL;
        return 0;
    }

    value = sep + 1;
    trim(&value, &end);
    e = push_entry(p->cfg);
    e->kind = p->kind;
    e->profile = lf_strdup(p->profile);
    e->key = lf_strndup(start, (size_t)(key_end - start));
    for (char *c = e->key; *c != '\0'; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    lf_buf_append(&e->value, value, (size_t)(end - value));
    e->line = p->line_no;
    p->last = e;
    p->last_indent = indent;
    return 0;
}

static int parse_line(struct parser *p, const char *start, const char *end)
{
    const char *text = start;
    size_t indent;

    if (end > start && end[-1] == '\r') {
        end--;
    }
    while (text < end && is_blank(*text)) {
        text++;
    }
    indent = (size_t)(text - start);
    if (text == end) {
        p->last = NULL;
        return 0;
    }
    if (*text == '#' || *text == ';') {
        return 0;
    }
    if (p->last != NULL && indent > p->last_indent) {
        const char *value_end = end;

        trim(&text, &value_end);
        lf_buf_append_char(&p->last->value, '\n');
        lf_buf_append(&p->last->value, text, (size_t)(value_end - text));
        return 0;
    }
    if (*text == '[') {
        return parse_section(p, text, end);
    }
    return parse_key_value(p, text, end, indent);
}

int lf_aws_shared_config_parse(struct lf_aws_shared_config *cfg,
                               enum lf_aws_file_kind kind,
                               const char *file_name, const char *text,
                               size_t len, char *errbuf, size_t errlen)
{
    struct parser p = {
        .cfg = cfg,
        .kind = kind,
        .file_name = file_name,
        .errbuf = errbuf,
        .errlen = errlen,
    };
    const char *end = text + len;
    const char *line = text;
    int rc = 0;

    lf_free(cfg->file_names[kind]);
    cfg->file_names[kind] = lf_strdup(file_name);
    while (line < end && rc == 0) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = nl != NULL ? nl : end;

        p.line_no++;
        rc = parse_line(&p, line, line_end);
        line = line_end + 1;
    }
    lf_free(p.profile);
    return rc;
}

static int read_file(const char *path, struct lf_buf *out, char *errbuf,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char chunk[4096];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        rc = -errno;
        if (rc != LF_ENOENT) {
            snprintf(errbuf, errlen, "cannot open %s: %s", path,
                     lf_strerror(rc));
        }
        return rc;
    }
    /* Sized up front, so that no copy of a secret is left behind in a
     * block that a growing buffer frees. */
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
        lf_buf_reserve(out, (size_t)st.st_size);
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        lf_buf_append(out, chunk, n);
    }
    if (ferror(f)) {
        rc = LF_EIO;
        snprintf(errbuf, errlen, "cannot read %s: %s", path, lf_strerror(rc));
    }
    explicit_bzero(chunk, sizeof(chunk));
    fclose(f);
    return rc;
}

int lf_aws_shared_config_load(struct lf_aws_shared_config *cfg,
                              const struct lf_aws_profile_env *env,
                              char *errbuf, size_t errlen)
{
    static const enum lf_aws_file_kind order[] = {LF_AWS_FILE_CONFIG,
                                                  LF_AWS_FILE_CREDENTIALS};
    char path[4096];
    struct lf_buf text;
    int rc = 0;

    lf_buf_init(&text);
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        rc = lf_aws_profile_path(env, order[i], path, sizeof(path));
        if (rc == LF_ENOENT) {
            rc = 0;
            continue;
        }
        if (rc != 0) {
            snprintf(errbuf, errlen, "path of the AWS %s file is too long",
                     order[i] == LF_AWS_FILE_CONFIG ? "config" : "credentials");
            break;
        }
        lf_buf_reset(&text);
        rc = read_file(path, &text, errbuf, errlen);
        if (rc == LF_ENOENT) {
            rc = 0;
            continue;
        }
        if (rc == 0) {
            rc = lf_aws_shared_config_parse(cfg, order[i], path, text.data,
                                            text.len, errbuf, errlen);
        }
    }
    wipe_buf(&text);
    return rc;
}

/* ---- Profiles ---- */

/* Origin of each known key of the profile being assembled, indexed like
 * known_keys: the key ID, secret key and session token come first. */
struct origin {
    const struct entry *entries[KNOWN_KEY_COUNT];
};

static char **field(struct lf_aws_profile *p, size_t key_index)
{
    return (char **)((char *)p + known_keys[key_index].offset);
}

static void apply_entries(const struct lf_aws_shared_config *cfg,
                          enum lf_aws_file_kind kind, const char *name,
                          struct origin *origin, bool *found)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const struct entry *e = &cfg->entries[i];

        if (e->kind != kind || strcmp(e->profile, name) != 0) {
            continue;
        }
        *found = true;
        if (e->key == NULL) {
            continue;
        }
        for (size_t k = 0; k < KNOWN_KEY_COUNT; k++) {
            if (strcmp(e->key, known_keys[k].name) == 0) {
                origin->entries[k] = e;
            }
        }
    }
}

static const char *file_name(const struct lf_aws_shared_config *cfg,
                             const struct entry *e)
{
    const char *name = cfg->file_names[e->kind];

    return name != NULL ? name : "(unnamed)";
}

static int check_credentials(const struct lf_aws_shared_config *cfg,
                             const struct origin *o, const char *name,
                             char *errbuf, size_t errlen)
{
    const struct entry *id = o->entries[0];
    const struct entry *secret = o->entries[1];
    const struct entry *token = o->entries[2];

    if (id != NULL && secret == NULL) {
        snprintf(errbuf, errlen,
                 "profile \"%s\" has aws_access_key_id (%s:%zu) but no "
                 "aws_secret_access_key; add the secret key to the profile "
                 "or remove the key ID",
                 name, file_name(cfg, id), id->line);
    } else if (secret != NULL && id == NULL) {
        snprintf(errbuf, errlen,
                 "profile \"%s\" has aws_secret_access_key (%s:%zu) but no "
                 "aws_access_key_id; add the key ID to the profile or "
                 "remove the secret key",
                 name, file_name(cfg, secret), secret->line);
    } else if (token != NULL && id == NULL) {
        snprintf(errbuf, errlen,
                 "profile \"%s\" has aws_session_token (%s:%zu) but no "
                 "access key; add aws_access_key_id and "
                 "aws_secret_access_key to the profile",
                 name, file_name(cfg, token), token->line);
    } else {
        return 0;
    }
    return LF_ECONFIG;
}

int lf_aws_shared_config_get(const struct lf_aws_shared_config *cfg,
                             const char *name, struct lf_aws_profile *out,
                             char *errbuf, size_t errlen)
{
    struct origin origin;
    bool found = false;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&origin, 0, sizeof(origin));
    apply_entries(cfg, LF_AWS_FILE_CONFIG, name, &origin, &found);
    apply_entries(cfg, LF_AWS_FILE_CREDENTIALS, name, &origin, &found);
    if (!found) {
        snprintf(errbuf, errlen,
                 "profile \"%s\" not found in %s or %s; add it to one of "
                 "them or set AWS_PROFILE to an existing profile",
                 name,
                 cfg->file_names[LF_AWS_FILE_CREDENTIALS]
                     ? cfg->file_names[LF_AWS_FILE_CREDENTIALS]
                     : "the credentials file (not found)",
                 cfg->file_names[LF_AWS_FILE_CONFIG]
                     ? cfg->file_names[LF_AWS_FILE_CONFIG]
                     : "the config file (not found)");
        return LF_ENOENT;
    }
    rc = check_credentials(cfg, &origin, name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }

    out->name = lf_strdup(name);
    for (size_t k = 0; k < KNOWN_KEY_COUNT; k++) {
        if (origin.entries[k] != NULL) {
            *field(out, k) = lf_strdup(origin.entries[k]->value.data);
        }
    }
    return 0;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        lf_free(s);
    }
}

void lf_aws_profile_cleanup(struct lf_aws_profile *p)
{
    lf_free(p->name);
    for (size_t k = 0; k < KNOWN_KEY_COUNT; k++) {
        free_secret(*field(p, k));
    }
    memset(p, 0, sizeof(*p));
}

/* ---- Credential chains ---- */

void lf_aws_chain_cleanup(struct lf_aws_chain *chain)
{
    lf_aws_profile_cleanup(&chain->base);
    for (size_t i = 0; i < chain->role_count; i++) {
        struct lf_aws_chain_role *r = &chain->roles[i];

        lf_free(r->profile);
        lf_free(r->role_arn);
        lf_free(r->role_session_name);
        lf_free(r->external_id);
    }
    lf_free(chain->roles);
    memset(chain, 0, sizeof(*chain));
}

/* Values of credential_source, spelled as botocore accepts them. */
static const struct {
    const char *name;
    enum lf_aws_chain_source source;
} credential_sources[] = {
    {"Environment", LF_AWS_CHAIN_ENVIRONMENT},
    {"Ec2InstanceMetadata", LF_AWS_CHAIN_EC2_METADATA},
    {"EcsContainer", LF_AWS_CHAIN_ECS_CONTAINER},
};

static void push_role(struct lf_aws_chain *chain,
                      const struct lf_aws_profile *prof)
{
    struct lf_aws_chain_role *r;

    chain->roles =
        lf_realloc(chain->roles, (chain->role_count + 1) * sizeof(*r));
    r = &chain->roles[chain->role_count++];
    r->profile = lf_strdup(prof->name);
    r->role_arn = lf_strdup(prof->role_arn);
    r->role_session_name = prof->role_session_name != NULL
                               ? lf_strdup(prof->role_session_name)
                               : NULL;
    r->external_id =
        prof->external_id != NULL ? lf_strdup(prof->external_id) : NULL;
}

/* Writes "a -> b -> c" for the profiles of `visited` and `last`. */
static void format_loop(char *buf, size_t len, char *const *visited,
                        size_t count, const char *last)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < count && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s -> ", visited[i]);

        used += n > 0 ? (size_t)n : 0;
    }
    if (used < len) {
        snprintf(buf + used, len - used, "%s", last);
    }
}

/*
 * Takes the credential_source of `prof` as the chain's source. Returns 0
 * or LF_ECONFIG for a value that is not one of credential_sources.
 */
static int set_credential_source(struct lf_aws_chain *chain,
                                 const struct lf_aws_profile *prof,
                                 char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(credential_sources); i++) {
        if (strcmp(prof->credential_source, credential_sources[i].name) == 0) {
            chain->source = credential_sources[i].source;
            return 0;
        }
    }
    snprintf(errbuf, errlen,
             "profile \"%s\" has credential_source \"%s\", which is not "
             "valid; use Environment, Ec2InstanceMetadata or EcsContainer",
             prof->name, prof->credential_source);
    return LF_ECONFIG;
}

/*
 * Returns true when the source_profile of `prof` was visited before. A
 * profile may name itself when it has keys, which then sign its role.
 */
static bool is_loop(const struct lf_aws_profile *prof, char *const *visited,
                    size_t visited_count)
{
    if (strcmp(prof->source_profile, prof->name) == 0) {
        return prof->aws_access_key_id == NULL;
    }
    for (size_t i = 0; i < visited_count; i++) {
        if (strcmp(visited[i], prof->source_profile) == 0) {
            return true;
        }
    }
    return false;
}

static int reject_web_identity(const struct lf_aws_profile *prof, char *errbuf,
                               size_t errlen)
{
    snprintf(errbuf, errlen,
             "profile \"%s\" uses web_identity_token_file, which logferry "
             "does not read; set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN "
             "instead",
             prof->name);
    return LF_ECONFIG;
}

/* Checks the role keys of `prof`, which has role_arn. */
static int check_role_profile(const struct lf_aws_profile *prof, char *errbuf,
                              size_t errlen)
{
    if (prof->source_profile != NULL && prof->credential_source != NULL) {
        snprintf(errbuf, errlen,
                 "profile \"%s\" has both source_profile and "
                 "credential_source; keep one of them",
                 prof->name);
        return LF_ECONFIG;
    }
    if (prof->source_profile == NULL && prof->credential_source == NULL) {
        if (prof->web_identity_token_file != NULL) {
            return reject_web_identity(prof, errbuf, errlen);
        }
        snprintf(errbuf, errlen,
                 "profile \"%s\" has role_arn but neither source_profile "
                 "nor credential_source; add one of them",
                 prof->name);
        return LF_ECONFIG;
    }
    return 0;
}

/*
 * Follows the source_profile links from `name`, adding the roles to
 * `out->roles` from the selected profile inward; the caller reverses
 * them. `visited` has room for one name per entry of `cfg`.
 */
static int resolve_links(const struct lf_aws_shared_config *cfg,
                         const char *name, struct lf_aws_chain *out,
                         char **visited, size_t *visited_count, char *errbuf,
                         size_t errlen)
{
    struct lf_aws_profile prof;
    const char *parent = NULL;
    char *next_name = NULL; /* owned copy of a source_profile */
    char loop[256];
    int rc;

    memset(&prof, 0, sizeof(prof));
    for (size_t depth = 0;; depth++) {
        char *source;

        rc = lf_aws_shared_config_get(cfg, name, &prof, errbuf, errlen);
        if (rc == LF_ENOENT && depth > 0) {
            snprintf(errbuf, errlen,
                     "profile \"%s\" names source_profile \"%s\", which "
                     "does not exist; add that profile or fix the name",
                     parent, name);
            rc = LF_ECONFIG;
        }
        if (rc != 0) {
            lf_free(next_name);
            return rc;
        }
        if (depth > 0 && prof.aws_access_key_id != NULL) {
            break;
        }
        if (prof.role_arn != NULL) {
            rc = check_role_profile(&prof, errbuf, errlen);
            if (rc != 0) {
                break;
            }
            push_role(out, &prof);
            if (prof.credential_source != NULL) {
                rc = set_credential_source(out, &prof, errbuf, errlen);
                break;
            }
            source = prof.source_profile;
            if (is_loop(&prof, visited, *visited_count)) {
                format_loop(loop, sizeof(loop), visited, *visited_count,
                            prof.name);
                snprintf(errbuf, errlen,
                         "AWS profiles form a source_profile loop: %s -> %s; "
                         "end the chain at a profile with keys, "
                         "credential_process or credential_source",
                         loop, source);
                rc = LF_ECONFIG;
                break;
            }
            visited[(*visited_count)++] = lf_strdup(prof.name);
            parent = visited[*visited_count - 1];
            lf_free(next_name);
            next_name = lf_strdup(source);
            name = next_name;
            lf_aws_profile_cleanup(&prof);
            continue;
        }
        /* NOTE: botocore prefers credential_process to keys that are in
         * the config file, but the merged profile no longer shows which
         * file the keys came from, so keys always win here. */
        if (prof.aws_access_key_id != NULL) {
            break;
        }
        if (prof.credential_process != NULL) {
            out->source = LF_AWS_CHAIN_PROCESS;
            break;
        }
        if (prof.web_identity_token_file != NULL) {
            rc = reject_web_identity(&prof, errbuf, errlen);
        } else if (depth == 0) {
            rc = LF_ENOENT;
            snprintf(errbuf, errlen, "profile \"%s\" has no credentials",
                     prof.name);
        } else {
            snprintf(errbuf, errlen,
                     "source_profile \"%s\" of profile \"%s\" has no "
                     "aws_access_key_id, role_arn or credential_process; "
                     "add one of them",
                     prof.name, parent);
            rc = LF_ECONFIG;
        }
        break;
    }
    lf_free(next_name);
    out->base = prof;
    return rc;
}

int lf_aws_shared_config_resolve(const struct lf_aws_shared_config *cfg,
                                 const char *name, struct lf_aws_chain *out,
                                 char *errbuf, size_t errlen)
{
    /* A chain without a loop visits each profile once, and each has at
     * least one entry. */
    char **visited = lf_calloc(cfg->count + 1, sizeof(*visited));
    size_t visited_count = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->source = LF_AWS_CHAIN_KEYS;
    rc = resolve_links(cfg, name, out, visited, &visited_count, errbuf, errlen);
    for (size_t i = 0; i < visited_count; i++) {
        lf_free(visited[i]);
    }
    lf_free(visited);
    if (rc != 0) {
        lf_aws_chain_cleanup(out);
        return rc;
    }
    /* Assume the innermost role first. */
    for (size_t i = 0; i < out->role_count / 2; i++) {
        struct lf_aws_chain_role tmp = out->roles[i];

        out->roles[i] = out->roles[out->role_count - 1 - i];
        out->roles[out->role_count - 1 - i] = tmp;
    }
    return 0;
}
