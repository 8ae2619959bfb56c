"""packaging/prometheus: the alert rules pass `promtool check rules` and
their unit tests, and the example configuration runs and serves every
series that the rules about the application read."""

import os
import re
import shutil
import subprocess

import harness
from harness import check, check_eq
from test_http_endpoint import metric, scrape

FOLDER = os.path.join(os.environ.get("LF_SOURCE_ROOT", "."), "packaging",
                      "prometheus")
RULES = os.path.join(FOLDER, "logferry.rules.yml")
RULE_TESTS = os.path.join(FOLDER, "logferry.rules.test.yml")
EXAMPLE = os.path.join(FOLDER, "logferry.yml")


def promtool():
    path = shutil.which("promtool")
    check(path is not None, "promtool not found: install Debian's "
          "prometheus package (see tests/deps.sh)")
    return path


def run(argv, cwd=None):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          cwd=cwd)
    return proc.returncode, proc.stdout + proc.stderr


def test_promtool_check_rules(scratch):
    rc, out = run([promtool(), "check", "rules", RULES])
    check_eq(rc, 0, "promtool check rules: %s" % out)
    check("SUCCESS: 7 rules found" in out, "rule count: %s" % out)


def test_promtool_test_rules(scratch):
    rc, out = run([promtool(), "test", "rules",
                   os.path.basename(RULE_TESTS)], cwd=FOLDER)
    check_eq(rc, 0, "promtool test rules: %s" % out)
    check("SUCCESS" in out, "promtool test rules: %s" % out)


def example_config(scratch, log, url):
    """The example configuration with its paths, output and listener
    moved into the scratch folder."""
    with open(EXAMPLE) as fp:
        text = fp.read()
    swaps = [("/var/log/app/*.log", log),
             ("/var/lib/logferry", scratch.join("data")),
             ("${ES_URL:-http://127.0.0.1:9200}", url),
             ("host: 0.0.0.0", "host: 127.0.0.1"),
             ("port: 5066", "port: 0")]
    for old, new in swaps:
        check_eq(text.count(old), 1, "occurrences of %r in the example"
                 % old)
        text = text.replace(old, new)
    return scratch.write("logferry.yml", text)


def test_example_serves_rule_series(scratch):
    standin = scratch.standin()
    lines, expected = harness.app_lines(300, seed=83)
    log = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = example_config(scratch, log, standin.url)
    shipped = [e for e in expected if e["url.path"] != "/healthz"]
    errors = [e for e in shipped if e["log.level"] == "error"]
    agent = harness.Agent(scratch, config)
    found = []

    def port_logged():
        agent.check_running()
        match = re.search(r"http: serving .* port=(\d+)", agent.output())
        if match:
            found.append(int(match.group(1)))
        return bool(found)

    harness.wait_until(port_logged, what="the endpoint's port in the log")
    port = found[0]
    harness.wait_until(lambda: metric(scrape(port)[1],
                                      "logferry_output_events_indexed_total",
                                      output="elasticsearch") == len(shipped),
                       what="%d indexed events in /metrics" % len(shipped))
    body, values = scrape(port)
    names = {name for name, _ in values}
    with open(RULES) as fp:
        used = set(re.findall(r"\b(app_[a-z_]+|logferry_[a-z_]+)\b",
                              fp.read()))
    check_eq(len(used), 7, "series names in the rules: %s" % sorted(used))
    for name in sorted(used):
        check(name in names, "%s, read by an alert rule, is not served"
              % name)
    requests = sum(v for (name, _), v in values.items()
                   if name == "app_requests_total")
    check_eq(requests, len(shipped), "sum of app_requests_total")
    check_eq(sum(v for (name, _), v in values.items()
                 if name == "app_errors_total"), len(errors),
             "sum of app_errors_total")
    check_eq(sum(v for (name, labels), v in values.items()
                 if name == "app_request_duration_seconds_count"),
             len(shipped), "sum of app_request_duration_seconds_count")
    check_eq(metric(values, "app_requests_total",
                    route="/api/users/{id}/points", method="GET",
                    status_class="2xx"),
             sum(1 for e in shipped if e["url.path"] == "/api/users/42/points"
                 and e["http.request.method"] == "GET"
                 and 200 <= e["http.response.status_code"] < 300),
             "GET /api/users/{id}/points 2xx")
    proc = subprocess.run([promtool(), "check", "metrics"], input=body,
                          capture_output=True, text=True, timeout=30)
    check_eq(proc.returncode, 0, "promtool check metrics: %s%s"
             % (proc.stdout, proc.stderr))
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    harness.main([
        test_promtool_check_rules,
        test_promtool_test_rules,
        test_example_serves_rule_series,
    ])
