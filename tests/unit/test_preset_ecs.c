/*
 * Checks every field that the presets set, on the golden files and on a
 * sample line per format, against the ECS field table in
 * tests/fixtures/ecs/fields.csv. Each field must exist in ECS with a type
 * that fits its value, sit under labels.*, or be one of the fields that
 * docs/fields.md documents.
 */
#include "lf_test.h"

#include "lf/event.h"
#include "lf/mem.h"
#include "parsers/presets.h"

#include <arpa/inet.h>
#include <stdbool.h>

/* 2024-03-10T00:00:00Z, the read time for lines without a year. */
#define NOW_NS (INT64_C(1710028800) * INT64_C(1000000000))

enum { MAX_ECS_FIELDS = 4096, MAX_SEEN = 128 };

/* The fields outside ECS that docs/fields.md documents. */
static const char *const documented_fields[] = {
    "nginx.error.connection_id",
    "apache.error.module",
};

struct ecs_field {
    char *name;
    char *type;
};

struct ecs_check {
    struct ecs_field fields[MAX_ECS_FIELDS];
    size_t field_count;
    const char *seen[MAX_SEEN]; /* distinct keys, borrowed from `fields` */
    size_t seen_count;
};

static char *read_fixture(const char *relative, size_t *len_out)
{
    FILE *f = fopen(lf_test_fixture(relative), "rb");
    char *data = NULL;
    long size;

    *len_out = 0;
    if (f == NULL) {
        LF_FAIL_AT("cannot open fixture %s", lf_test_fixture(relative));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        data = lf_malloc((size_t)size + 1);
        *len_out = fread(data, 1, (size_t)size, f);
        data[*len_out] = '\0';
    }
    fclose(f);
    return data;
}

/*
 * Loads the Field and Type columns, the 4th and 5th. No column before
 * them contains a comma.
 */
static void load_ecs(struct ecs_check *check)
{
    size_t len;
    char *data = read_fixture("ecs/fields.csv", &len);
    char *line = data;

    while (line != NULL && *line != '\0') {
        char *next = strchr(line, '\n');
        char *cols[5];
        int n = 0;
        char *p = line;

        if (next != NULL) {
            *next++ = '\0';
        }
        while (n < 5 && p != NULL) {
            cols[n++] = p;
            p = strchr(p, ',');
            if (p != NULL) {
                *p++ = '\0';
            }
        }
        /* The first line is the header. */
        if (n == 5 && strcmp(cols[3], "Field") != 0 &&
            check->field_count < MAX_ECS_FIELDS) {
            check->fields[check->field_count].name = lf_strdup(cols[3]);
            check->fields[check->field_count].type = lf_strdup(cols[4]);
            check->field_count++;
        }
        line = next;
    }
    lf_free(data);
}

static void free_ecs(struct ecs_check *check)
{
    for (size_t i = 0; i < check->field_count; i++) {
        lf_free(check->fields[i].name);
        lf_free(check->fields[i].type);
    }
}

static const char *ecs_type(const struct ecs_check *check, const char *key)
{
    for (size_t i = 0; i < check->field_count; i++) {
        if (strcmp(check->fields[i].name, key) == 0) {
            return check->fields[i].type;
        }
    }
    return NULL;
}

static bool is_ip_text(const struct lf_value *v)
{
    char text[64];
    unsigned char addr[16];

    if (v->u.str.len >= sizeof(text)) {
        return false;
    }
    memcpy(text, v->u.str.ptr, v->u.str.len);
    text[v->u.str.len] = '\0';
    return inet_pton(AF_INET, text, addr) == 1 ||
           inet_pton(AF_INET6, text, addr) == 1;
}

/* Tells whether a value of this type may be sent for the ECS type. */
static bool type_fits(const struct lf_value *v, const char *type)
{
    switch (v->type) {
    case LF_VALUE_STRING:
        if (strcmp(type, "ip") == 0) {
            return is_ip_text(v);
        }
        return strcmp(type, "keyword") == 0 || strcmp(type, "wildcard") == 0 ||
               strcmp(type, "match_only_text") == 0 ||
               strcmp(type, "constant_keyword") == 0;
    case LF_VALUE_INT:
        return strcmp(type, "long") == 0 || strcmp(type, "integer") == 0;
    case LF_VALUE_FLOAT:
        return strcmp(type, "float") == 0 || strcmp(type, "double") == 0 ||
               strcmp(type, "scaled_float") == 0;
    case LF_VALUE_BOOL:
        return strcmp(type, "boolean") == 0;
    case LF_VALUE_TIMESTAMP:
        return strcmp(type, "date") == 0;
    case LF_VALUE_JSON:
        /* No preset sets JSON values: any one is a finding. */
        return false;
    }
    return false;
}

static void note_seen(struct ecs_check *check, const char *key)
{
    for (size_t i = 0; i < check->seen_count; i++) {
        if (strcmp(check->seen[i], key) == 0) {
            return;
        }
    }
    if (check->seen_count < MAX_SEEN) {
        check->seen[check->seen_count++] = key;
    }
}

/* Checks that the presets set exactly the `expected` keys, in any order. */
static void check_seen(const struct ecs_check *check,
                       const char *const *expected, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        bool found = false;

        for (size_t k = 0; k < check->seen_count; k++) {
            found |= strcmp(check->seen[k], expected[i]) == 0;
        }
        if (!found) {
            LF_FAIL_AT("field %s was never set", expected[i]);
        }
    }
    LF_CHECK_INT_EQ(check->seen_count, count);
}

static void check_event(struct ecs_check *check, const struct lf_event *ev,
                        const char *preset, const char *line, size_t len)
{
    for (size_t i = 0; i < ev->field_count; i++) {
        const struct lf_field *f = &ev->fields[i];
        const char *type;

        if (strncmp(f->key, "labels.", LF_STRLEN("labels.")) == 0) {
            continue;
        }
        note_seen(check, f->key);
        type = ecs_type(check, f->key);
        if (type == NULL) {
            bool documented = false;

            for (size_t d = 0; d < LF_ARRAY_SIZE(documented_fields); d++) {
                documented |= strcmp(f->key, documented_fields[d]) == 0;
            }
            if (!documented) {
                LF_FAIL_AT("%s: field %s is not in ECS, in line %.*s", preset,
                           f->key, (int)len, line);
            }
        } else if (!type_fits(&f->value, type)) {
            LF_FAIL_AT("%s: field %s has value type %d, ECS type %s, in "
                       "line %.*s",
                       preset, f->key, (int)f->value.type, type, (int)len,
                       line);
        }
    }
}

/* Applies a preset to each line of `text`. Returns how many matched. */
static int check_lines(struct ecs_check *check, const char *preset_name,
                       const char *text, size_t len)
{
    struct lf_preset *preset = NULL;
    struct lf_event ev;
    int matched = 0;

    LF_CHECK_INT_EQ(lf_preset_new(preset_name, &preset), 0);
    lf_event_init(&ev);
    for (size_t start = 0; preset != NULL && start < len;) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;

        lf_event_reset(&ev);
        if (lf_preset_apply(preset, &ev, text + start, end - start, NOW_NS) ==
            0) {
            matched++;
            check_event(check, &ev, preset_name, text + start, end - start);
        }
        start = end + 1;
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
    return matched;
}

static int check_fixture(struct ecs_check *check, const char *preset_name,
                         const char *path)
{
    size_t len;
    char *data = read_fixture(path, &len);
    int matched = check_lines(check, preset_name, data, len);

    lf_free(data);
    return matched;
}

static void test_preset_ecs_golden_files(void)
{
    static const char *const expected[] = {
        "@timestamp",
        "source.address",
        "source.ip",
        "destination.address",
        "destination.domain",
        "destination.ip",
        "destination.port",
        "http.request.method",
        "url.original",
        "url.path",
        "url.query",
        "http.version",
        "http.response.status_code",
        "http.response.body.bytes",
        "http.request.referrer",
        "user_agent.original",
        "log.level",
        "process.pid",
        "process.thread.id",
        "nginx.error.connection_id",
        "apache.error.module",
        "url.domain",
        "url.port",
    };
    static struct ecs_check check;
    int matched = 0;

    load_ecs(&check);
    LF_CHECK_INT_EQ(check.field_count, 2725);
    matched += check_fixture(&check, "nginx", "filebeat-access/nginx/test.log");
    matched += check_fixture(&check, "nginx",
                             "filebeat-access/nginx/test-with-host.log");
    matched +=
        check_fixture(&check, "nginx", "filebeat-modules/nginx/error.log");
    matched +=
        check_fixture(&check, "apache", "filebeat-access/apache/test.log");
    matched += check_fixture(&check, "apache",
                             "filebeat-access/apache/darwin-2.4.23.log");
    matched += check_fixture(&check, "apache",
                             "filebeat-access/apache/test-vhost.log");
    matched += check_fixture(&check, "apache",
                             "filebeat-modules/apache/error-ubuntu-2.2.22.log");
    matched += check_fixture(&check, "apache",
                             "filebeat-modules/apache/error-darwin-2.4.23.log");
    /* Every line but the two continuation lines of one nginx event. */
    LF_CHECK_INT_EQ(matched, 46);
    check_seen(&check, expected, LF_ARRAY_SIZE(expected));
    free_ecs(&check);
}

static void test_preset_ecs_sample_lines(void)
{
    static const struct {
        const char *preset;
        const char *lines;
    } samples[] = {
        {"app",
         "2024-03-05T07:08:09.123Z ERROR [main] c.e.App - [txn=t1] GET "
         "/a?b=1 503 12ms trace_id=x span_id=y request_id=z user=u pid=7 "
         "logger=l thread=t k=v\n"
         "level=info time=\"2024-03-05T07:08:09Z\" method=GET path=/p "
         "status=200 took=1s\n"
         "Mar  5 07:08:09 host INFO x\n"
         "ERROR:root:boom\n"},
        {"python", "2024-03-05 07:08:09,123 - a.b - ERROR - x\n"},
        {"java", "2024-03-05T07:08:09.123Z  INFO 1 --- [app] [main] a.B : x\n"
                 "07:08:09.123 [main] INFO a.B - x\n"},
        {"go", "time=\"2024-03-05T07:08:09Z\" level=info msg=x k=v\n"
               "2024-03-05T07:08:09.123Z\tINFO\tl\ta/b.go:1\tx\n"},
        {"rails",
         "I, [2024-03-05T07:08:09.123456 #1]  INFO -- w: Started GET \"/a?b\" "
         "for 1.2.3.4 at 2024-03-05 07:08:09 +0000\n"
         "Completed 200 OK in 12ms\n"},
    };
    static const char *const expected[] = {
        "@timestamp",
        "log.level",
        "log.logger",
        "process.thread.name",
        "process.pid",
        "transaction.id",
        "trace.id",
        "span.id",
        "http.request.id",
        "user.id",
        "http.request.method",
        "url.path",
        "url.query",
        "http.response.status_code",
        "event.duration",
        "service.name",
        "log.origin.file.name",
        "log.origin.file.line",
        "source.address",
        "source.ip",
    };
    static struct ecs_check check;
    int matched = 0;

    load_ecs(&check);
    for (size_t i = 0; i < LF_ARRAY_SIZE(samples); i++) {
        matched += check_lines(&check, samples[i].preset, samples[i].lines,
                               strlen(samples[i].lines));
    }
    LF_CHECK_INT_EQ(matched, 11);
    check_seen(&check, expected, LF_ARRAY_SIZE(expected));
    free_ecs(&check);
}

int main(void)
{
    LF_RUN(test_preset_ecs_golden_files);
    LF_RUN(test_preset_ecs_sample_lines);
    return lf_test_end();
}
