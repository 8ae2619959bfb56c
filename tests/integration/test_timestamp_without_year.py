"""Ship syslog lines whose timestamps have no year, under a faked clock.

Classic syslog writes `Mmm dd hh:mm:ss`. The agent picks the year that
puts each time nearest the read time. Lines written just before New Year
and read just after it keep the old year. A sender whose clock runs
ahead of the agent's gets the new year. libfaketime (the Debian
package `faketime`) sets the agent's clock for each run; `--once` resumes
from the registry, so each run ships only the lines added before it."""

import os

import harness
from harness import check, check_eq, field

FAKETIME = "/usr/bin/faketime"

# The regex of the reproduction: time, host, process, pid and message.
LINE_PATTERN = (r"^(?<ts>\w{3} [ \d]\d \d{2}:\d{2}:\d{2}) (?<host>\S+) "
                r"(?<proc>[^\[:]+)\[(?<pid>\d+)\]: (?<msg>.*)$")

# (agent clock in UTC, lines appended before the run, expected @timestamp
# of each line in order).
RUNS = [
    ("2025-01-01 00:00:10",
     ["Dec 31 23:59:58 HOST_1 app[101]: seq=1 before midnight",
      "Jan  1 00:00:03 HOST_1 app[101]: seq=2 after midnight"],
     ["2024-12-31T23:59:58.000Z", "2025-01-01T00:00:03.000Z"]),
    ("2024-12-31 23:59:59",
     ["Jan  1 00:00:01 HOST_1 app[101]: seq=3 sender clock ahead"],
     ["2025-01-01T00:00:01.000Z"]),
    ("2025-08-15 12:00:00",
     ["Aug 14 09:00:00 HOST_1 app[101]: seq=4 mid year"],
     ["2025-08-14T09:00:00.000Z"]),
]


def faketime_prefix(clock):
    check(os.access(FAKETIME, os.X_OK), "%s is missing: install the Debian "
          "package faketime" % FAKETIME)
    return [FAKETIME, clock]


def faketime_env():
    """The agent keeps its real monotonic clock for timers. libfaketime is
    loaded with LD_PRELOAD, ahead of the ASan runtime in sanitizer builds,
    which ASan accepts only with verify_asan_link_order=0."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": (asan + ":" if asan else "") +
            "verify_asan_link_order=0"}


def ship_runs(scratch, parsers):
    """Append and ship each run's lines under its clock; return the
    documents by message and the expected time of each message."""
    standin = scratch.standin()
    log = scratch.join("logs", "syslog")
    os.makedirs(os.path.dirname(log))
    config = harness.write_config(scratch, [{
        "id": "syslog", "paths": [log], "parsers": parsers}], standin.url)
    expected = {}
    for clock, lines, times in RUNS:
        scratch.append("logs/syslog", "".join(l + "\n" for l in lines))
        # TZ=UTC (set by the harness) makes faketime read the clock as UTC.
        harness.run_once(scratch, config, prefix=faketime_prefix(clock),
                         env=faketime_env())
        for line, time in zip(lines, times):
            expected[line.split(": ", 1)[1]] = time
    docs = harness.documents(standin)
    check_eq(len(docs), len(expected), "documents")
    return {field(doc, "message"): doc for doc in docs}, expected


def check_times(docs, expected):
    for message, time in expected.items():
        doc = docs.get(message)
        check(doc is not None, "no document with message %r" % message)
        check_eq(field(doc, "@timestamp"), time, "@timestamp of %r"
                 % message)
        check_eq(field(doc, "tags"), None, "tags of %r" % message)


def test_regex_and_timestamp_step_pick_nearest_year(scratch):
    parsers = [
        {"regex": {"pattern": LINE_PATTERN,
                   "fields": {"ts": "labels.syslog_time",
                              "host": "host.hostname",
                              "proc": "process.name",
                              "pid": {"field": "process.pid",
                                      "type": "integer"},
                              "msg": "message"}}},
        {"timestamp": {"field": "labels.syslog_time",
                       "layouts": ["%b %e %H:%M:%S"],
                       "timezone": "UTC"}},
    ]
    docs, expected = ship_runs(scratch, parsers)
    check_times(docs, expected)


def test_syslog_parser_picks_nearest_year(scratch):
    docs, expected = ship_runs(scratch, [{"syslog": {"format": "rfc3164"}}])
    check_times(docs, expected)
    doc = docs["seq=4 mid year"]
    check_eq(field(doc, "host.hostname"), "HOST_1", "host.hostname")
    check_eq(field(doc, "process.name"), "app", "process.name")
    check_eq(field(doc, "process.pid"), 101, "process.pid")


def test_zone_name_shifts_time_by_dst(scratch):
    """The same wall time in Europe/Berlin, in winter and in summer."""
    standin = scratch.standin()
    log = scratch.write("logs/syslog",
                        "Jan 15 12:00:00 h app[1]: winter\n"
                        "Jul 15 12:00:00 h app[1]: summer\n")
    config = harness.write_config(scratch, [{
        "id": "syslog", "paths": [log],
        "parsers": [{"syslog": {"timezone": "Europe/Berlin"}}]}],
        standin.url)
    harness.run_once(scratch, config,
                     prefix=faketime_prefix("2025-08-15 12:00:00"),
                     env=faketime_env())
    docs = {field(d, "message"): d for d in harness.documents(standin)}
    check_eq(field(docs["winter"], "@timestamp"), "2025-01-15T11:00:00.000Z",
             "@timestamp in winter (CET, UTC+1)")
    check_eq(field(docs["summer"], "@timestamp"), "2025-07-15T10:00:00.000Z",
             "@timestamp in summer (CEST, UTC+2)")


if __name__ == "__main__":
    harness.main([
        test_regex_and_timestamp_step_pick_nearest_year,
        test_syslog_parser_picks_nearest_year,
        test_zone_name_shifts_time_by_dst,
    ])
