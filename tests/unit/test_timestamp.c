/*
 * Tests of timestamp parsing: ISO 8601, strftime-style layouts, zones and
 * the calendar arithmetic, checked against timegm() and against values
 * computed independently.
 */
#include "lf_test.h"

#include "lf/error.h"
#include "parsers/timestamp.h"

#include <time.h>

#define NS INT64_C(1000000000)

static struct lf_tz utc(void)
{
    struct lf_tz tz;

    lf_tz_init_utc(&tz);
    return tz;
}

/* Parses ISO text in UTC; returns the code and stores the time. */
static int iso(const char *s, int64_t *ns_out)
{
    struct lf_tz tz = utc();

    *ns_out = -42;
    return lf_timestamp_parse_iso8601(s, strlen(s), &tz, ns_out);
}

static int layout_parse(const char *layout, const char *s, struct lf_tz *tz,
                        int64_t now_ns, int64_t *ns_out)
{
    struct lf_timestamp_layout *compiled = NULL;
    char errbuf[128];
    int rc;

    *ns_out = -42;
    rc = lf_timestamp_layout_new(layout, &compiled, errbuf, sizeof(errbuf));
    if (rc != 0) {
        fprintf(stderr, "layout \"%s\": %s\n", layout, errbuf);
        return rc;
    }
    rc = lf_timestamp_parse_layout(compiled, s, strlen(s), tz, now_ns, ns_out);
    lf_timestamp_layout_free(compiled);
    return rc;
}

static int layout_utc(const char *layout, const char *s, int64_t now_ns,
                      int64_t *ns_out)
{
    struct lf_tz tz = utc();

    return layout_parse(layout, s, &tz, now_ns, ns_out);
}

static void test_timestamp_days_match_timegm(void)
{
    static const int days[] = {1, 15, 28, 29, 30, 31};

    for (int year = 1678; year <= 2261; year += 7) {
        for (int month = 1; month <= 12; month++) {
            for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
                struct tm tm;
                time_t t;

                memset(&tm, 0, sizeof(tm));
                tm.tm_year = year - 1900;
                tm.tm_mon = month - 1;
                tm.tm_mday = days[i];
                t = timegm(&tm);
                /* timegm() normalises 31 April to 1 May, as we do. */
                LF_CHECK_INT_EQ(
                    lf_timestamp_days_from_civil(year, month, days[i]),
                    (long long)t / 86400);
            }
        }
    }
}

static void test_timestamp_days_fixed_points(void)
{
    LF_CHECK_INT_EQ(lf_timestamp_days_from_civil(1970, 1, 1), 0);
    LF_CHECK_INT_EQ(lf_timestamp_days_from_civil(1969, 12, 31), -1);
    LF_CHECK_INT_EQ(lf_timestamp_days_from_civil(2000, 3, 1), 11017);
    LF_CHECK_INT_EQ(lf_timestamp_days_from_civil(2000, 2, 29), 11016);
    LF_CHECK_INT_EQ(lf_timestamp_days_from_civil(1600, 1, 1), -135140);
}

static void test_timestamp_iso_utc_forms(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(iso("2024-03-05t07:08:09z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(iso("2024-03-05 07:08:09+00:00", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622480 * NS);
    LF_CHECK_INT_EQ(iso("1970-01-01T00:00:00Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 0);
    LF_CHECK_INT_EQ(iso("1969-12-31T23:59:59.5Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, -NS / 2);
}

static void test_timestamp_iso_fraction(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09.123Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 123000000);
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09,5Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 500000000);
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09.123456789Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 123456789);
    /* Digits past nanoseconds are truncated, not rounded. */
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09.1234567899999Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 123456789);
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09.Z", &ns), LF_EPARSE);
}

static void test_timestamp_iso_offsets(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(iso("2016-12-07T11:05:07+01:00", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1481105107 * NS);
    LF_CHECK_INT_EQ(iso("2016-12-07T11:05:07+0100", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1481105107 * NS);
    LF_CHECK_INT_EQ(iso("2016-12-07T11:05:07+01", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1481105107 * NS);
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09-05:30", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709642289 * NS);
    LF_CHECK_INT_EQ(iso("2024-03-05T07:08:09.25-05:30", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709642289 * NS + 250000000);
}

static void test_timestamp_iso_without_offset_uses_zone(void)
{
    struct lf_tz tz;
    const char *s = "2024-03-05T07:08:09";
    int64_t ns = 0;

    tz = utc();
    LF_CHECK_INT_EQ(lf_timestamp_parse_iso8601(s, strlen(s), &tz, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);

    LF_CHECK_INT_EQ(lf_tz_parse("-05:30", &tz), 0);
    LF_CHECK_INT_EQ(lf_timestamp_parse_iso8601(s, strlen(s), &tz, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709642289 * NS);

    /* An offset in the text wins over the zone. */
    s = "2024-03-05T07:08:09Z";
    LF_CHECK_INT_EQ(lf_timestamp_parse_iso8601(s, strlen(s), &tz, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
}

static void test_timestamp_iso_calendar_checks(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(iso("2024-02-29T12:00:00Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709208000 * NS);
    LF_CHECK_INT_EQ(iso("2000-02-29T00:00:00Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 951782400 * NS);
    LF_CHECK_INT_EQ(iso("2023-02-29T00:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("1900-02-29T00:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-04-31T00:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-13-01T00:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-00-01T00:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-01-00T00:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-01-01T24:00:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-01-01T23:60:00Z", &ns), LF_EPARSE);
    LF_CHECK_INT_EQ(iso("2024-01-01T23:59:61Z", &ns), LF_EPARSE);
    /* A leap second is accepted and lands on the next second. */
    LF_CHECK_INT_EQ(iso("2016-12-31T23:59:60Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, 1483228800 * NS);
}

static void test_timestamp_iso_rejects_malformed(void)
{
    static const char *const bad[] = {
        "",
        "2024-03-05",
        "2024-03-05T",
        "2024-3-05T07:08:09Z",
        "2024-03-05X07:08:09Z",
        "2024-03-05T7:08:09Z",
        "2024-03-05T07:08:09 Z",
        "2024-03-05T07:08:09+",
        "2024-03-05T07:08:09+1",
        "2024-03-05T07:08:09+24:00",
        "2024-03-05T07:08:09+01:60",
        "2024-03-05T07:08:09Zjunk",
        " 2024-03-05T07:08:09Z",
        "20240305T070809Z",
    };
    int64_t ns;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = iso(bad[i], &ns);

        if (rc != LF_EPARSE) {
            LF_FAIL_AT("\"%s\" returned %d, expected LF_EPARSE", bad[i], rc);
        }
    }
}

static void test_timestamp_iso_range_limits(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(iso("2262-04-11T23:47:16.854775807Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, INT64_MAX);
    LF_CHECK_INT_EQ(iso("2262-04-11T23:47:16.854775808Z", &ns), LF_ERANGE);
    LF_CHECK_INT_EQ(iso("1677-09-21T00:12:44Z", &ns), 0);
    LF_CHECK_INT_EQ(ns, INT64_C(-9223372036) * NS);
    LF_CHECK_INT_EQ(iso("1677-09-21T00:12:43Z", &ns), LF_ERANGE);
    LF_CHECK_INT_EQ(iso("9999-12-31T23:59:59Z", &ns), LF_ERANGE);
    LF_CHECK_INT_EQ(iso("0000-01-01T00:00:00Z", &ns), LF_ERANGE);
}

static void test_timestamp_tz_parse(void)
{
    struct lf_tz tz;

    LF_CHECK_INT_EQ(lf_tz_parse("UTC", &tz), 0);
    LF_CHECK_INT_EQ(tz.kind, LF_TZ_UTC);
    LF_CHECK_INT_EQ(lf_tz_parse("Local", &tz), 0);
    LF_CHECK_INT_EQ(tz.kind, LF_TZ_LOCAL);
    LF_CHECK_INT_EQ(lf_tz_parse("+02:00", &tz), 0);
    LF_CHECK_INT_EQ(tz.kind, LF_TZ_FIXED);
    LF_CHECK_INT_EQ(tz.offset_s, 7200);
    LF_CHECK_INT_EQ(lf_tz_parse("-0530", &tz), 0);
    LF_CHECK_INT_EQ(tz.offset_s, -19800);
    LF_CHECK_INT_EQ(lf_tz_parse("+02", &tz), 0);
    LF_CHECK_INT_EQ(tz.offset_s, 7200);
    LF_CHECK_INT_EQ(lf_tz_parse("Europe/Paris", &tz), 0);
    LF_CHECK_INT_EQ(tz.kind, LF_TZ_ZONE);
    lf_tz_cleanup(&tz);
    LF_CHECK_INT_EQ(tz.kind, LF_TZ_UTC);
    LF_CHECK(tz.zone == NULL);
    LF_CHECK_INT_EQ(lf_tz_parse("utc", &tz), LF_ENOENT);
    LF_CHECK_INT_EQ(lf_tz_parse("Z", &tz), LF_ENOENT);
    LF_CHECK_INT_EQ(lf_tz_parse("Europe", &tz), LF_ENOENT);
    LF_CHECK_INT_EQ(lf_tz_parse("../etc/passwd", &tz), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_tz_parse("/etc/localtime", &tz), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_tz_parse("2:00", &tz), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_tz_parse("+24:00", &tz), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_tz_parse("+02:00 ", &tz), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_tz_parse("", &tz), LF_EINVAL);
}

/*
 * A POSIX TZ rule needs no zone database: CET, UTC+1, with CEST from the
 * last Sunday of March 02:00 to the last Sunday of October 03:00.
 */
static void test_timestamp_local_zone_dst(void)
{
    static const struct {
        const char *text;
        long long utc_s;
    } cases[] = {
        {"2024-01-15T12:00:00", 1705316400},
        {"2024-07-01T12:00:00", 1719828000},
        {"2024-01-15T12:00:00", 1705316400},
        {"2024-03-31T01:30:00", 1711845000},
        {"2024-03-31T03:30:00", 1711848600},
        {"2024-10-27T01:30:00", 1729985400},
        {"2024-10-27T03:30:00", 1729996200},
        {"2024-07-01T12:00:00+00:00", 1719835200},
    };
    struct lf_tz tz;
    const char *old = getenv("TZ");
    char *saved = old != NULL ? strdup(old) : NULL;

    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    LF_CHECK_INT_EQ(lf_tz_parse("Local", &tz), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *s = cases[i].text;
        int64_t ns = 0;

        LF_CHECK_INT_EQ(lf_timestamp_parse_iso8601(s, strlen(s), &tz, &ns), 0);
        if (ns != cases[i].utc_s * NS) {
            LF_FAIL_AT("\"%s\" gave %lld s, expected %lld", s,
                       (long long)(ns / NS), cases[i].utc_s);
        }
    }
    if (saved != NULL) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static void test_timestamp_layout_nginx(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(layout_utc("%d/%b/%Y:%H:%M:%S %z",
                               "07/Dec/2016:11:05:07 +0100", 0, &ns),
                    0);
    LF_CHECK_INT_EQ(ns, 1481105107 * NS);
    /* Month names ignore case; the blank in the layout may match none. */
    LF_CHECK_INT_EQ(layout_utc("%d/%b/%Y:%H:%M:%S %z",
                               "07/DEC/2016:11:05:07+01:00", 0, &ns),
                    0);
    LF_CHECK_INT_EQ(ns, 1481105107 * NS);
}

static void test_timestamp_layout_names_and_composites(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(layout_utc("%A, %d %B %Y %T",
                               "Tuesday, 05 March 2024 07:08:09", 0, &ns),
                    0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(
        layout_utc("%a %h %e %R:%S %Y", "Tue Mar  5 07:08:09 2024", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%F %T", "2024-03-05 07:08:09", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%D %T", "03/05/24 07:08:09", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%Y%m%d%H%M%S", "20240305070809", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%F %T %Z", "2024-03-05 07:08:09 UTC", 0, &ns),
                    0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%F%%%T", "2024-03-05%07:08:09", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%F %T %Z", "2024-03-05 07:08:09 CET", 0, &ns),
                    LF_EPARSE);
}

static void test_timestamp_layout_fraction_and_epoch(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(
        layout_utc("%F %H:%M:%S.%f", "2024-03-05 07:08:09.123", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 123000000);
    LF_CHECK_INT_EQ(
        layout_utc("%F %H:%M:%S,%f", "2024-03-05 07:08:09,000001", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 1000);
    LF_CHECK_INT_EQ(layout_utc("%s", "1709622489", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%s.%f", "1709622489.5", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS + 500000000);
    LF_CHECK_INT_EQ(layout_utc("%s", "-1", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, -NS);
    LF_CHECK_INT_EQ(layout_utc("%s", "99999999999", 0, &ns), LF_ERANGE);
}

static void test_timestamp_layout_twelve_hour_clock(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(
        layout_utc("%F %I:%M:%S %p", "2024-03-05 03:04:05 PM", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709651045 * NS);
    LF_CHECK_INT_EQ(
        layout_utc("%F %I:%M:%S %p", "2024-03-05 12:00:00 am", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709596800 * NS);
    LF_CHECK_INT_EQ(
        layout_utc("%F %l:%M:%S %p", "2024-03-05 12:30:00 PM", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709641800 * NS);
    LF_CHECK_INT_EQ(
        layout_utc("%F %I:%M:%S %p", "2024-03-05 13:00:00 PM", 0, &ns),
        LF_EPARSE);
    LF_CHECK_INT_EQ(
        layout_utc("%F %I:%M:%S %p", "2024-03-05 01:00:00 XM", 0, &ns),
        LF_EPARSE);
}

static void test_timestamp_layout_two_digit_year(void)
{
    int64_t ns;

    LF_CHECK_INT_EQ(layout_utc("%y-%m-%d %T", "24-03-05 07:08:09", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(layout_utc("%y-%m-%d %T", "69-12-31 23:59:59", 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, -NS);
}

static void test_timestamp_layout_infers_year(void)
{
    const char *layout = "%b %e %H:%M:%S";
    int64_t jan_2025 = INT64_C(1736000000) * NS; /* 2025-01-04 */
    int64_t dec_2024 = INT64_C(1735600000) * NS; /* 2024-12-30 */
    int64_t mar_2025 = INT64_C(1742000000) * NS; /* 2025-03-15 */
    int64_t ns;

    LF_CHECK_INT_EQ(layout_utc(layout, "Dec 31 23:59:59", jan_2025, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1735689599 * NS);
    LF_CHECK_INT_EQ(layout_utc(layout, "Jan  1 00:00:01", dec_2024, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1735689601 * NS);
    LF_CHECK_INT_EQ(layout_utc(layout, "Nov  5 10:00:00", mar_2025, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1730800800 * NS);
    LF_CHECK_INT_EQ(layout_utc(layout, "Apr 30 10:00:00", mar_2025, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1746007200 * NS);
    LF_CHECK_INT_EQ(layout_utc(layout, "Feb 29 10:00:00", mar_2025, &ns),
                    LF_EPARSE);
}

static void test_timestamp_layout_zone_setting(void)
{
    struct lf_tz tz;
    int64_t ns;

    LF_CHECK_INT_EQ(lf_tz_parse("+02:00", &tz), 0);
    LF_CHECK_INT_EQ(layout_parse("%F %T", "2024-03-05 09:08:09", &tz, 0, &ns),
                    0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
    LF_CHECK_INT_EQ(
        layout_parse("%F %T %z", "2024-03-05 07:08:09 Z", &tz, 0, &ns), 0);
    LF_CHECK_INT_EQ(ns, 1709622489 * NS);
}

static void test_timestamp_layout_rejects_mismatch(void)
{
    static const struct {
        const char *layout;
        const char *text;
    } cases[] = {
        {"%d/%b/%Y:%H:%M:%S %z", "07/Foo/2016:11:05:07 +0100"},
        {"%d/%b/%Y:%H:%M:%S %z", "07/Dec/2016:11:05:07 +0100 "},
        {"%d/%b/%Y:%H:%M:%S %z", "07-Dec-2016:11:05:07 +0100"},
        {"%d/%b/%Y:%H:%M:%S %z", "31/Apr/2016:11:05:07 +0100"},
        {"%d/%b/%Y:%H:%M:%S %z", "07/Dec/16:11:05:07 +0100"},
        {"%d/%b/%Y:%H:%M:%S %z", "07/Dec/2016:11:05:07"},
        {"%d/%b/%Y:%H:%M:%S %z", ""},
        {"%F %T", "2024-03-05"},
        {"%F %H:%M:%S.%f", "2024-03-05 07:08:09."},
        {"%a %F", "Xyz 2024-03-05"},
        {"%b %d", "Sept 05"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns;
        int rc = layout_utc(cases[i].layout, cases[i].text, 0, &ns);

        if (rc != LF_EPARSE) {
            LF_FAIL_AT("\"%s\" with \"%s\" returned %d, expected LF_EPARSE",
                       cases[i].text, cases[i].layout, rc);
        }
    }
}

static void test_timestamp_layout_compile_errors(void)
{
    struct lf_timestamp_layout *layout = NULL;
    char errbuf[160];

    LF_CHECK_INT_EQ(
        lf_timestamp_layout_new("%F %Q", &layout, errbuf, sizeof(errbuf)),
        LF_EINVAL);
    LF_CHECK_STR_EQ(errbuf, "unsupported directive \"%Q\" at offset 3");
    LF_CHECK_INT_EQ(
        lf_timestamp_layout_new("%F %", &layout, errbuf, sizeof(errbuf)),
        LF_EINVAL);
    LF_CHECK_STR_EQ(errbuf, "unsupported directive \"%\" at offset 3");
    LF_CHECK_INT_EQ(
        lf_timestamp_layout_new("%H:%M:%S", &layout, errbuf, sizeof(errbuf)),
        LF_EINVAL);
    LF_CHECK_STR_EQ(errbuf, "layout has no date: it needs a month (%m, %b) "
                            "and a day (%d, %e), or %s");
    LF_CHECK_INT_EQ(
        lf_timestamp_layout_new("%Y %b", &layout, errbuf, sizeof(errbuf)),
        LF_EINVAL);
    LF_CHECK(layout == NULL);
}

int main(void)
{
    LF_RUN(test_timestamp_days_match_timegm);
    LF_RUN(test_timestamp_days_fixed_points);
    LF_RUN(test_timestamp_iso_utc_forms);
    LF_RUN(test_timestamp_iso_fraction);
    LF_RUN(test_timestamp_iso_offsets);
    LF_RUN(test_timestamp_iso_without_offset_uses_zone);
    LF_RUN(test_timestamp_iso_calendar_checks);
    LF_RUN(test_timestamp_iso_rejects_malformed);
    LF_RUN(test_timestamp_iso_range_limits);
    LF_RUN(test_timestamp_tz_parse);
    LF_RUN(test_timestamp_local_zone_dst);
    LF_RUN(test_timestamp_layout_nginx);
    LF_RUN(test_timestamp_layout_names_and_composites);
    LF_RUN(test_timestamp_layout_fraction_and_epoch);
    LF_RUN(test_timestamp_layout_twelve_hour_clock);
    LF_RUN(test_timestamp_layout_two_digit_year);
    LF_RUN(test_timestamp_layout_infers_year);
    LF_RUN(test_timestamp_layout_zone_setting);
    LF_RUN(test_timestamp_layout_rejects_mismatch);
    LF_RUN(test_timestamp_layout_compile_errors);
    return lf_test_end();
}
