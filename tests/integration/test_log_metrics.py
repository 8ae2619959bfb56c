"""Metrics from the logs. `metrics:` rules run over a generated app log,
and each series is checked against the durations, routes and statuses
in that log. /metrics is scraped while the agent ships and compared with
what the stand-in received. The age of the oldest unacknowledged event
is checked while replies are delayed."""

import shutil
import subprocess
import time

import harness
from harness import check, check_eq
from test_http_endpoint import metric, scrape, start_agent

BOUNDS = [0.1, 0.5, 1.0, 2.0]
TXN_MAX_SERIES = 5

RULES = [
    {"type": "histogram", "name": "app_request_duration_seconds",
     "help": "Request time by route.", "field": "event.duration",
     "unit": "ns", "buckets": BOUNDS, "labels": {"route": "url.path"}},
    {"type": "counter", "name": "app_requests",
     "help": "Requests by route, method and status class.",
     "labels": {"route": "url.path", "method": "http.request.method",
                "status_class": {"field": "http.response.status_code",
                                 "status_class": True}}},
    {"type": "counter", "name": "app_errors",
     "when": {"equals": {"log.level": "error"}},
     "labels": {"route": "url.path"}},
    {"type": "counter", "name": "app_transactions",
     "max_series": TXN_MAX_SERIES, "labels": {"txn": "transaction.id"}},
]

DROP_HEALTHZ = [{"drop_event": {"when": {"equals": {"url.path":
                                                     "/healthz"}}}}]


def without_health_checks(expected):
    """The expected fields of the lines the processor does not drop."""
    return [e for e in expected if e["url.path"] != "/healthz"]


def check_histogram(values, shipped):
    name = "app_request_duration_seconds"
    for route in sorted({e["url.path"] for e in shipped}):
        seconds = [e["event.duration"] / 1e9 for e in shipped
                   if e["url.path"] == route]
        total = 0.0
        for value in seconds:
            total += value
        for bound in BOUNDS:
            check_eq(metric(values, name + "_bucket", route=route,
                            le="%g" % bound),
                     sum(1 for v in seconds if v <= bound),
                     "%s bucket le=%g" % (route, bound))
        check_eq(metric(values, name + "_bucket", route=route, le="+Inf"),
                 len(seconds), "%s bucket le=+Inf" % route)
        check_eq(metric(values, name + "_count", route=route),
                 len(seconds), "%s count" % route)
        check_eq(metric(values, name + "_sum", route=route), total,
                 "%s sum" % route)
    check(("app_request_duration_seconds_count",
           frozenset({("route", "/healthz")})) not in values,
          "an event the processor dropped was observed")


def status_class(code):
    return "%dxx" % (code // 100)


def check_counters(values, shipped):
    requests = {}
    errors = {}
    for e in shipped:
        key = (e["url.path"], e["http.request.method"],
               status_class(e["http.response.status_code"]))
        requests[key] = requests.get(key, 0) + 1
        if e["log.level"] == "error":
            errors[e["url.path"]] = errors.get(e["url.path"], 0) + 1
    for (route, method, klass), count in sorted(requests.items()):
        check_eq(metric(values, "app_requests_total", route=route,
                        method=method, status_class=klass), count,
                 "requests %s %s %s" % (route, method, klass))
    exposed = sum(v for (name, _), v in values.items()
                  if name == "app_requests_total")
    check_eq(exposed, len(shipped), "sum of app_requests_total")
    for route, count in sorted(errors.items()):
        check_eq(metric(values, "app_errors_total", route=route), count,
                 "errors on %s" % route)
    exposed = sum(v for (name, _), v in values.items()
                  if name == "app_errors_total")
    check_eq(exposed, sum(errors.values()), "sum of app_errors_total")


def check_cap(values, shipped):
    txns = [e["transaction.id"] for e in shipped]
    check_eq(len(set(txns)), len(txns), "distinct transaction ids")
    for txn in txns[:TXN_MAX_SERIES]:
        check_eq(metric(values, "app_transactions_total", txn=txn), 1,
                 "transaction %s" % txn)
    exposed = [key for key in values if key[0] == "app_transactions_total"]
    check_eq(len(exposed), TXN_MAX_SERIES, "transaction series")
    check_eq(metric(values, "logferry_metrics_series_dropped_total",
                    metric="app_transactions_total"),
             len(txns) - TXN_MAX_SERIES, "transaction events cut")
    for family in ("app_requests_total", "app_errors_total",
                   "app_request_duration_seconds"):
        check_eq(metric(values, "logferry_metrics_series_dropped_total",
                        metric=family), 0, "%s events cut" % family)
    for reason in ("field_missing", "field_invalid"):
        check_eq(metric(values, "logferry_metrics_events_skipped_total",
                        metric="app_request_duration_seconds",
                        reason=reason), 0, "histogram %s" % reason)


def check_promtool(body):
    promtool = shutil.which("promtool")
    if not promtool:
        return
    proc = subprocess.run([promtool, "check", "metrics"], input=body,
                          capture_output=True, text=True, timeout=30)
    check_eq(proc.returncode, 0, "promtool check metrics: %s%s"
             % (proc.stdout, proc.stderr))


def test_log_metrics_match_app_log(scratch):
    standin = scratch.standin()
    lines, expected = harness.app_lines(600, seed=81)
    shipped = without_health_checks(expected)
    check(len(shipped) < len(lines), "the log has /healthz lines to drop")
    agent, port, _, _ = start_agent(scratch, standin, lines=lines,
                                    metrics=RULES, processors=DROP_HEALTHZ)
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) ==
                       len(shipped), what="%d documents" % len(shipped))
    harness.wait_until(lambda: metric(scrape(port)[1],
                                      "logferry_output_events_indexed_total",
                                      output="elasticsearch") == len(shipped),
                       what="%d indexed events in /metrics" % len(shipped))
    body, values = scrape(port)
    check_eq(metric(values, "logferry_events_dropped_total",
                    reason="processor"), len(lines) - len(shipped),
             "events the processor dropped")
    check_histogram(values, shipped)
    check_counters(values, shipped)
    check_cap(values, shipped)
    check_promtool(body)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_scrapes_during_run_match_standin(scratch):
    """Scrapes taken while lines keep arriving never count more than the
    stand-in stored, and the last one counts exactly what it stored."""
    standin = scratch.standin()
    lines, _ = harness.app_lines(200, seed=82)
    lines[10:10] = ["no parser matches this line", "nor this one",
                    "nor a third"]
    rules = [{"type": "counter", "name": "app_lines"}]
    agent, port, path, _ = start_agent(scratch, standin, lines=lines,
                                       metrics=rules)

    written = len(lines)
    scrapes = 0
    for batch in range(1, 16):
        more, _ = harness.app_lines(200, seed=82, first=batch * 200)
        with open(path, "a") as log:
            log.write("".join(l + "\n" for l in more))
        written += len(more)

        values = scrape(port)[1]
        stored = standin.stats()
        indexed = metric(values, "logferry_output_events_indexed_total",
                         output="elasticsearch")
        check(indexed <= stored["docs"].get(harness.INDEX, 0),
              "indexed %d above the %d documents stored" %
              (indexed, stored["docs"].get(harness.INDEX, 0)))
        check(metric(values, "logferry_output_bulk_requests_total",
                     output="elasticsearch", status="2xx") <=
              stored["bulk_requests"], "2xx requests above those received")
        check(metric(values, "app_lines_total") <=
              metric(values, "logferry_events_published_total"),
              "log metric above events published")
        scrapes += 1
        time.sleep(0.2)
    check_eq(scrapes, 15, "scrapes during the run")

    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) ==
                       written, what="%d documents" % written)
    harness.wait_until(lambda: metric(scrape(port)[1],
                                      "logferry_output_events_indexed_total",
                                      output="elasticsearch") == written,
                       what="%d indexed events in /metrics" % written)

    values = scrape(port)[1]
    stored = standin.stats()
    check_eq(metric(values, "logferry_output_bulk_requests_total",
                    output="elasticsearch", status="2xx"),
             stored["bulk_requests"], "2xx requests")
    check_eq(metric(values, "logferry_events_published_total"), written,
             "events published")
    check_eq(metric(values, "app_lines_total"), written, "app_lines_total")
    check_eq(metric(values, "logferry_input_lines_read_total", input="app"),
             written, "lines read by app")
    check_eq(metric(values, "logferry_parse_failures_total", input="app"), 3,
             "parse failures of app")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_oldest_unacked_age(scratch):
    """Replies delayed by 3 s show as a lag of at least 1 s while they
    are awaited, and 0 once everything is acknowledged."""
    name = "logferry_output_oldest_unacked_event_age_seconds"
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 1, "delay": 3}]})
    agent, port, _, lines = start_agent(scratch, standin)
    harness.wait_until(lambda: metric(scrape(port)[1], name) >= 1.0,
                       what="a lag of 1 s in /metrics")
    check(metric(scrape(port)[1], "logferry_output_events_pending",
                 output="elasticsearch") > 0,
          "no event awaited while the lag shows")
    harness.wait_until(lambda: metric(scrape(port)[1],
                                      "logferry_output_events_indexed_total",
                                      output="elasticsearch") == len(lines),
                       what="%d indexed events in /metrics" % len(lines))
    check_eq(metric(scrape(port)[1], name), 0, "lag once all is indexed")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    harness.main([
        test_log_metrics_match_app_log,
        test_scrapes_during_run_match_standin,
        test_oldest_unacked_age,
    ])
