/*
 * Tests of the TZif reader: offsets around real transitions of the
 * system's tzdata, the POSIX footer rule past the table, wall times in
 * DST gaps and overlaps, and TZif data built by hand, valid and broken.
 * The expected instants and offsets were computed with Python's zoneinfo
 * module (Python 3.11), which implements RFC 8536 independently.
 */
#include "lf_test.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/timestamp.h"
#include "parsers/tzfile.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS INT64_C(1000000000)

static struct lf_tzfile *load(const char *name)
{
    struct lf_tzfile *zone = NULL;
    char errbuf[256];
    int rc = lf_tzfile_load(name, &zone, errbuf, sizeof(errbuf));

    if (rc != 0) {
        fprintf(stderr, "load %s: %s\n", name, errbuf);
    }
    return zone;
}

struct offset_case {
    int64_t utc_s;
    int32_t offset_s;
};

static void check_offsets(const char *name, const struct offset_case *cases,
                          size_t count)
{
    struct lf_tzfile *zone = load(name);

    LF_CHECK(zone != NULL);
    if (zone == NULL) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, cases[i].utc_s),
                        cases[i].offset_s);
    }
    lf_tzfile_free(zone);
}

static void test_tzfile_berlin_spring_forward(void)
{
    /* 2024-03-31T00:59:59Z is 01:59:59 CET, 01:00:00Z is 03:00 CEST. */
    static const struct offset_case cases[] = {
        {1711846799, 3600},
        {1711846800, 7200},
        {1729990799, 7200}, /* 2024-10-27T00:59:59Z */
        {1729990800, 3600}, /* 2024-10-27T01:00:00Z */
    };

    check_offsets("Europe/Berlin", cases, LF_ARRAY_SIZE(cases));
}

static void test_tzfile_new_york_fall_back(void)
{
    /* 2024-11-03T06:00:00Z: 02:00 EDT becomes 01:00 EST. */
    static const struct offset_case cases[] = {
        {1730613599, -14400},
        {1730613600, -18000},
        {1710053999, -18000}, /* 2024-03-10T06:59:59Z */
        {1710054000, -14400}, /* 2024-03-10T07:00:00Z */
    };

    check_offsets("America/New_York", cases, LF_ARRAY_SIZE(cases));
}

static void test_tzfile_sydney_southern_summer(void)
{
    /* DST ends 2024-04-07 03:00 AEDT and starts 2024-10-06 02:00 AEST. */
    static const struct offset_case cases[] = {
        {1712419199, 39600}, {1712419200, 36000}, {1728143999, 36000},
        {1728144000, 39600}, {1704067200, 39600}, /* 2024-01-01T00:00:00Z,
                                                     midsummer */
        {1719792000, 36000}, /* 2024-07-01T00:00:00Z, midwinter */
    };

    check_offsets("Australia/Sydney", cases, LF_ARRAY_SIZE(cases));
}

static void test_tzfile_footer_past_2037(void)
{
    static const struct offset_case berlin[] = {
        {2216249999, 3600}, /* 2040-03-25T00:59:59Z */
        {2216250000, 7200},
        {2234998799, 7200}, /* 2040-10-28T00:59:59Z */
        {2234998800, 3600},
    };
    static const struct offset_case sydney[] = {
        {2532527999, 39600}, /* 2050-04-02T15:59:59Z */
        {2532528000, 36000},
    };
    /* IST-2IDT,M3.4.4/26,...: a rule time past 24 hours (TZif v3). */
    static const struct offset_case jerusalem[] = {
        {2373926399, 7200}, /* 2045-03-23T23:59:59Z */
        {2373926400, 10800},
    };
    /* <-02>2<-01>,M3.5.0/-1,M10.5.0/0: a negative rule time (TZif v3). */
    static const struct offset_case nuuk[] = {
        {2374102799, -7200}, /* 2045-03-26T00:59:59Z */
        {2374102800, -3600},
        {2392851599, -3600}, /* 2045-10-29T00:59:59Z */
        {2392851600, -7200},
    };

    check_offsets("Europe/Berlin", berlin, LF_ARRAY_SIZE(berlin));
    check_offsets("Australia/Sydney", sydney, LF_ARRAY_SIZE(sydney));
    check_offsets("Asia/Jerusalem", jerusalem, LF_ARRAY_SIZE(jerusalem));
    check_offsets("America/Nuuk", nuuk, LF_ARRAY_SIZE(nuuk));
}

/* Parses local ISO text in zone `name`; returns UTC seconds or -1. */
static int64_t local_to_utc(const char *name, const char *text)
{
    struct lf_tz tz;
    int64_t ns = -1;
    int rc;

    if (lf_tz_parse(name, &tz) != 0) {
        return -1;
    }
    rc = lf_timestamp_parse_iso8601(text, strlen(text), &tz, &ns);
    lf_tz_cleanup(&tz);
    return rc == 0 ? ns / NS : -1;
}

static void test_tzfile_wall_time_in_gap(void)
{
    /* 02:00-02:59 do not exist: read with the offset before the change. */
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-03-31 01:59:59"),
                    1711846799);
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-03-31 02:00:00"),
                    1711846800);
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-03-31 02:30:00"),
                    1711848600);
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-03-31 03:00:00"),
                    1711846800);
    LF_CHECK_INT_EQ(local_to_utc("America/New_York", "2024-03-10 02:30:00"),
                    1710055800);
    LF_CHECK_INT_EQ(local_to_utc("Australia/Sydney", "2024-10-06 02:30:00"),
                    1728145800);
}

static void test_tzfile_wall_time_in_overlap(void)
{
    /* A repeated wall time is the earlier of its two instants. */
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-10-27 02:30:00"),
                    1729989000);
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-10-27 03:00:00"),
                    1729994400);
    LF_CHECK_INT_EQ(local_to_utc("America/New_York", "2024-11-03 01:30:00"),
                    1730611800);
    LF_CHECK_INT_EQ(local_to_utc("America/New_York", "2024-11-03 02:00:00"),
                    1730617200);
    LF_CHECK_INT_EQ(local_to_utc("Australia/Sydney", "2024-04-07 02:30:00"),
                    1712417400);
}

/* An offset in the string overrides the zone. */
static void test_tzfile_explicit_offset_wins(void)
{
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-07-01 12:00:00Z"),
                    1719835200);
    LF_CHECK_INT_EQ(local_to_utc("Europe/Berlin", "2024-07-01 12:00:00"),
                    1719828000);
}

/* Builds TZif data by hand; returns its length. */
struct tzif_spec {
    char version; /* '\0', '2' or '3' */
    uint32_t leap_count;
    size_t time_count;
    const int64_t *times;
    const uint8_t *types;
    size_t type_count;
    const int32_t *offsets;
    const char *footer; /* version 2+: the TZ string */
};

static size_t put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

static size_t put_header(unsigned char *p, const struct tzif_spec *s)
{
    memset(p, 0, 44);
    memcpy(p, "TZif", 4);
    p[4] = (unsigned char)s->version;
    put_be32(p + 28, s->leap_count);
    put_be32(p + 32, (uint32_t)s->time_count);
    put_be32(p + 36, (uint32_t)s->type_count);
    put_be32(p + 40, 4); /* designation bytes: "ABC\0" */
    return 44;
}

static size_t put_block(unsigned char *p, const struct tzif_spec *s,
                        size_t time_bytes)
{
    size_t n = 0;

    for (size_t i = 0; i < s->time_count; i++) {
        uint64_t t = (uint64_t)s->times[i];

        if (time_bytes == 8) {
            n += put_be32(p + n, (uint32_t)(t >> 32));
        }
        n += put_be32(p + n, (uint32_t)t);
    }
    for (size_t i = 0; i < s->time_count; i++) {
        p[n++] = s->types[i];
    }
    for (size_t i = 0; i < s->type_count; i++) {
        n += put_be32(p + n, (uint32_t)s->offsets[i]);
        p[n++] = 0;
        p[n++] = 0;
    }
    memcpy(p + n, "ABC", 4);
    n += 4;
    for (uint32_t i = 0; i < s->leap_count; i++) {
        memset(p + n, 0, time_bytes + 4);
        n += time_bytes + 4;
    }
    return n;
}

static size_t build_tzif(unsigned char *p, const struct tzif_spec *s)
{
    size_t n = put_header(p, s);

    n += put_block(p + n, s, 4);
    if (s->version == '\0') {
        return n;
    }
    n += put_header(p + n, s);
    n += put_block(p + n, s, 8);
    p[n++] = '\n';
    memcpy(p + n, s->footer, strlen(s->footer));
    n += strlen(s->footer);
    p[n++] = '\n';
    return n;
}

static const int64_t two_times[] = {-1000, 1000};
static const uint8_t two_types[] = {1, 0};
static const int32_t two_offsets[] = {3600, -7200};

static void test_tzfile_parse_version1(void)
{
    struct tzif_spec spec = {'\0',      0, 2,           two_times,
                             two_types, 2, two_offsets, NULL};
    unsigned char data[256];
    size_t len = build_tzif(data, &spec);
    struct lf_tzfile *zone = NULL;
    char errbuf[128];

    LF_CHECK_INT_EQ(lf_tzfile_parse(data, len, &zone, errbuf, sizeof(errbuf)),
                    0);
    if (zone == NULL) {
        return;
    }
    /* Before the first transition, time type 0 applies. */
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, -1001), 3600);
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, -1000), -7200);
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 999), -7200);
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 1000), 3600);
    /* Without a footer the last type lasts forever. */
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, INT64_C(4000000000)), 3600);
    lf_tzfile_free(zone);
}

static void test_tzfile_parse_footer_only(void)
{
    /* No transitions: the footer applies at every instant. */
    struct tzif_spec spec = {
        '2', 0, 0, NULL, NULL, 1, two_offsets, "CET-1CEST,M3.5.0,M10.5.0/3"};
    unsigned char data[256];
    size_t len = build_tzif(data, &spec);
    struct lf_tzfile *zone = NULL;
    char errbuf[128];

    LF_CHECK_INT_EQ(lf_tzfile_parse(data, len, &zone, errbuf, sizeof(errbuf)),
                    0);
    if (zone == NULL) {
        return;
    }
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 1711846799), 3600);
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 1711846800), 7200);
    LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 0), 3600);
    lf_tzfile_free(zone);
}

static void check_parse_error(const unsigned char *data, size_t len,
                              const char *expected)
{
    struct lf_tzfile *zone = NULL;
    char errbuf[128] = "";

    LF_CHECK_INT_EQ(lf_tzfile_parse(data, len, &zone, errbuf, sizeof(errbuf)),
                    LF_EPARSE);
    LF_CHECK(zone == NULL);
    LF_CHECK_STR_EQ(errbuf, expected);
}

static void test_tzfile_parse_rejects_malformed(void)
{
    static const uint8_t bad_types[] = {1, 5};
    static const int64_t unordered[] = {1000, 1000};
    struct tzif_spec spec = {'2',       0, 2,           two_times,
                             two_types, 2, two_offsets, "CET-1"};
    unsigned char data[512];
    size_t len;

    check_parse_error((const unsigned char *)"TZxf", 4,
                      "not a TZif file: the magic 'TZif' is missing");

    len = build_tzif(data, &spec);
    data[len - 2] = 'x';
    check_parse_error(data, len,
                      "invalid TZif footer: 'CET-x' is not a POSIX TZ string");
    check_parse_error(data, len - 1, "invalid TZif footer: missing newlines");
    check_parse_error(data, 60, "truncated TZif file: 60 bytes");

    spec.types = bad_types;
    len = build_tzif(data, &spec);
    check_parse_error(data, len,
                      "invalid TZif data: transition 1 is out of "
                      "order or names a missing time type");
    spec.types = two_types;
    spec.times = unordered;
    len = build_tzif(data, &spec);
    check_parse_error(data, len,
                      "invalid TZif data: transition 1 is out of "
                      "order or names a missing time type");
    spec.times = two_times;
    spec.leap_count = 1;
    len = build_tzif(data, &spec);
    check_parse_error(data, len,
                      "TZif file has leap-second records, which are not "
                      "supported: use a zone outside right/");
}

/* Every prefix of a real zone file fails cleanly; the whole file loads. */
static void test_tzfile_parse_every_truncation(void)
{
    FILE *file = fopen("/usr/share/zoneinfo/America/New_York", "rb");
    unsigned char data[8192];
    size_t len;
    int failures = 0;

    LF_CHECK(file != NULL);
    if (file == NULL) {
        return;
    }
    len = fread(data, 1, sizeof(data), file);
    fclose(file);
    for (size_t i = 0; i < len; i++) {
        struct lf_tzfile *zone = NULL;
        char errbuf[128];

        if (lf_tzfile_parse(data, i, &zone, errbuf, sizeof(errbuf)) !=
            LF_EPARSE) {
            failures++;
            lf_tzfile_free(zone);
        }
    }
    LF_CHECK_INT_EQ(failures, 0);
}

static void test_tzfile_load_honours_tzdir(void)
{
    struct tzif_spec spec = {'2',       0, 2,           two_times,
                             two_types, 2, two_offsets, "<+01>-1"};
    char dir[] = "/tmp/lf-tzdir-XXXXXX";
    char path[128];
    unsigned char data[256];
    size_t len = build_tzif(data, &spec);
    struct lf_tzfile *zone = NULL;
    char errbuf[256];
    FILE *file;

    LF_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/Test", dir);
    LF_CHECK_INT_EQ(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/Test/Zone", dir);
    file = fopen(path, "wb");
    LF_CHECK(file != NULL);
    if (file == NULL) {
        return;
    }
    LF_CHECK_INT_EQ(fwrite(data, 1, len, file), len);
    fclose(file);

    setenv("TZDIR", dir, 1);
    LF_CHECK_INT_EQ(lf_tzfile_load("Test/Zone", &zone, errbuf, sizeof(errbuf)),
                    0);
    if (zone != NULL) {
        LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 0), -7200);
        LF_CHECK_INT_EQ(lf_tzfile_offset_at(zone, 5000), 3600);
        lf_tzfile_free(zone);
    }
    zone = NULL;
    LF_CHECK_INT_EQ(lf_tzfile_load("Test", &zone, errbuf, sizeof(errbuf)),
                    LF_ENOENT);
    LF_CHECK_INT_EQ(
        lf_tzfile_load("Europe/Berlin", &zone, errbuf, sizeof(errbuf)),
        LF_ENOENT);
    unsetenv("TZDIR");

    unlink(path);
    snprintf(path, sizeof(path), "%s/Test", dir);
    rmdir(path);
    rmdir(dir);
}

static void test_tzfile_load_rejects_paths(void)
{
    static const char *const names[] = {
        "",
        "/etc/localtime",
        "../zoneinfo/UTC",
        "Europe/../UTC",
        "Europe//Berlin",
        "Europe/Berlin/",
        "Europe/Ber lin",
        "Europe/.",
    };
    struct lf_tzfile *zone = NULL;
    char errbuf[256];

    for (size_t i = 0; i < LF_ARRAY_SIZE(names); i++) {
        LF_CHECK_INT_EQ(lf_tzfile_load(names[i], &zone, errbuf, sizeof(errbuf)),
                        LF_EINVAL);
    }
    LF_CHECK(zone == NULL);
    LF_CHECK_INT_EQ(
        lf_tzfile_load("Mars/Olympus", &zone, errbuf, sizeof(errbuf)),
        LF_ENOENT);
    LF_CHECK_STR_EQ(errbuf, "cannot read /usr/share/zoneinfo/Mars/Olympus: "
                            "no such file or directory");
}

int main(void)
{
    unsetenv("TZDIR");
    LF_RUN(test_tzfile_berlin_spring_forward);
    LF_RUN(test_tzfile_new_york_fall_back);
    LF_RUN(test_tzfile_sydney_southern_summer);
    LF_RUN(test_tzfile_footer_past_2037);
    LF_RUN(test_tzfile_wall_time_in_gap);
    LF_RUN(test_tzfile_wall_time_in_overlap);
    LF_RUN(test_tzfile_explicit_offset_wins);
    LF_RUN(test_tzfile_parse_version1);
    LF_RUN(test_tzfile_parse_footer_only);
    LF_RUN(test_tzfile_parse_rejects_malformed);
    LF_RUN(test_tzfile_parse_every_truncation);
    LF_RUN(test_tzfile_load_honours_tzdir);
    LF_RUN(test_tzfile_load_rejects_paths);
    return lf_test_end();
}
