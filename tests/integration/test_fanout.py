"""Elasticsearch and CloudWatch Logs from one agent: every line reaches
each destination exactly once, and the registry moves only past lines
both acknowledged. While CloudWatch Logs fails, Elasticsearch gets
events until CloudWatch Logs reaches its in-flight limit, then neither
gets more. After a SIGKILL the restart sends CloudWatch Logs every line,
and Elasticsearch replies 409 to the lines sent again, so it stores no
duplicate."""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request

import harness
from harness import check, check_eq, field, main, run_once
from cw_harness import CwStandIn, cw_env, iso, now_utc, seq_input

GROUP = "/test/app"
STREAM = "main"


def write_both_config(scratch, path, es_url, cw_url, cw_extra=None, **top):
    cw = {"region": "eu-west-1", "endpoint": cw_url, "log_group": GROUP,
          "log_stream": STREAM, "flush_interval": "200ms",
          "backoff.init": "100ms", "backoff.max": "500ms"}
    cw.update(cw_extra or {})
    return harness.write_config(scratch, [seq_input([path])], es_url,
                                **{"output.cloudwatch": cw}, **top)


def write_app_log(scratch, count):
    """Write `count` lines "TIME seq=N" from a minute ago, a millisecond
    apart, inside the window CloudWatch Logs accepts."""
    base = now_utc() - datetime.timedelta(minutes=1)
    lines = ["%s seq=%d" % (iso(base + datetime.timedelta(milliseconds=i)),
                            i) for i in range(count)]
    data = "".join(line + "\n" for line in lines).encode()
    return scratch.write("logs/app.log", data, "wb"), lines, data


def cw_messages(cw):
    return [e["message"] for e in cw.events(GROUP, STREAM) or []]


def es_offsets(es):
    return sorted(field(d["_source"], "log.offset")
                  for d in es.documents(harness.INDEX))


def bulk_items(es, since=0):
    return [i for e in es.request_log(since) for i in e["items"]]


def output_summaries(stderr):
    """The counters of each "output summary" line, by output name."""
    found = {}
    for line in stderr.splitlines():
        if "output summary:" not in line:
            continue
        fields = dict(f.split("=", 1)
                      for f in line.split("output summary:", 1)[1].split())
        name = fields.pop("output")
        found[name] = {k: int(v) for k, v in fields.items()}
    return found


def http_get(port, path):
    url = "http://127.0.0.1:%d%s" % (port, path)
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def metric(text, name, **labels):
    """The value of one sample of the /metrics text, or None."""
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)\{([^}]*)\} (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        have = ",".join(sorted(match.group(2).split(",")))
        if have == want:
            return float(match.group(3))
    return None


def test_both_outputs_exactly_once(scratch):
    es = scratch.standin()
    cw = CwStandIn(scratch, {"groups": {GROUP: {"streams": [STREAM]}}})
    path, lines, data = write_app_log(scratch, 300)
    config = write_both_config(scratch, path, es.url, cw.url)
    proc = run_once(scratch, config, env=cw_env())

    check_eq(es_offsets(es), harness.line_offsets(data),
             "offsets stored in Elasticsearch")
    check_eq(cw_messages(cw), lines, "messages stored in CloudWatch Logs")
    summaries = output_summaries(proc.stderr)
    check_eq(sorted(summaries), ["cloudwatch", "elasticsearch"],
             "outputs with a summary line")
    for name in ("elasticsearch", "cloudwatch"):
        check_eq(summaries[name]["delivered"], 300, name + " delivered")
        check_eq(summaries[name]["rejected"], 0, name + " rejected")
        check_eq(summaries[name]["pending"], 0, name + " pending")
    check(re.search(r"shutdown report: output=elasticsearch,cloudwatch "
                    r"delivered=300 ", proc.stderr) is not None,
          "shutdown report: %s" % harness.tail(proc.stderr, 5))


def test_throttled_cloudwatch_recovers(scratch):
    es = scratch.standin()
    cw = CwStandIn(scratch, {"groups": {GROUP: {"streams": [STREAM]}}})
    cw.faults({"operation": "PutLogEvents", "count": 4, "status": 400,
               "code": "ThrottlingException", "message": "Rate exceeded"})
    path, lines, data = write_app_log(scratch, 200)
    config = write_both_config(scratch, path, es.url, cw.url)
    proc = run_once(scratch, config, env=cw_env())

    check_eq(es_offsets(es), harness.line_offsets(data),
             "offsets stored in Elasticsearch")
    check_eq(cw_messages(cw), lines, "messages stored in CloudWatch Logs")
    statuses = [p["status"] for p in cw.puts()]
    check_eq(statuses[:4], [400] * 4, "first PutLogEvents statuses")
    check_eq(set(statuses[4:]), {200}, "later PutLogEvents statuses")
    check_eq(len(bulk_items(es)), 200, "bulk items sent to Elasticsearch")
    summaries = output_summaries(proc.stderr)
    check_eq(summaries["cloudwatch"]["delivered"], 200, "cloudwatch delivered")
    check_eq(summaries["elasticsearch"]["delivered"], 200,
             "elasticsearch delivered")


def start_agent_with_port(scratch, config):
    agent = harness.Agent(scratch, config, env=cw_env())
    found = []

    def port_logged():
        agent.check_running()
        match = re.search(r"http: serving .* port=(\d+)", agent.output())
        if match:
            found.append(int(match.group(1)))
        return bool(found)

    harness.wait_until(port_logged, what="the endpoint's port in the log")
    return agent, found[0]


def test_cloudwatch_down_then_sigkill(scratch):
    es = scratch.standin()
    cw = CwStandIn(scratch, {"groups": {GROUP: {"streams": [STREAM]}}})
    cw.faults({"operation": "PutLogEvents", "count": 10 ** 6, "status": 503,
               "code": "ServiceUnavailableException",
               "message": "The server failed to fulfill the request"})
    path, lines, data = write_app_log(scratch, 200)
    config = write_both_config(
        scratch, path, es.url, cw.url,
        http={"enabled": True, "port": 0, "ready_timeout": "1s"})
    agent, port = start_agent_with_port(scratch, config)

    harness.wait_until(lambda: len(es.documents(harness.INDEX)) == 200,
                       what="every line in Elasticsearch")
    harness.wait_until(lambda: http_get(port, "/readyz")[0] == 503,
                       what="/readyz answering 503")
    body = http_get(port, "/readyz")[1]
    check(re.fullmatch(r"output cloudwatch failing for \d+s with 200 "
                       r"events waiting\n", body) is not None,
          "body of /readyz: %r" % body)
    text = http_get(port, "/metrics")[1]
    check_eq(metric(text, "logferry_output_events_indexed_total",
                    output="elasticsearch"), 200.0,
             "events stored by elasticsearch")
    check_eq(metric(text, "logferry_output_events_indexed_total",
                    output="cloudwatch"), 0.0, "events stored by cloudwatch")
    check_eq(metric(text, "logferry_output_events_pending",
                    output="cloudwatch"), 200.0, "cloudwatch pending")
    check_eq(metric(text, "logferry_output_events_pending",
                    output="elasticsearch"), 0.0, "elasticsearch pending")
    failures = metric(text, "logferry_output_request_failures_total",
                      output="cloudwatch")
    check(failures is not None and failures >= 1,
          "cloudwatch request failures: %r" % failures)
    promtool = shutil.which("promtool")
    if promtool:
        proc = subprocess.run([promtool, "check", "metrics"], input=text,
                              capture_output=True, text=True, timeout=30)
        check_eq(proc.returncode, 0, "promtool check metrics: %s%s"
                 % (proc.stdout, proc.stderr))
    stats = json.loads(http_get(port, "/stats")[1])["output"]
    check_eq(sorted(stats), ["cloudwatch", "elasticsearch"],
             "outputs in /stats")
    check_eq(stats["elasticsearch"]["events_indexed"], 200,
             "/stats elasticsearch events_indexed")
    check_eq(stats["cloudwatch"]["events_delivered"], 0,
             "/stats cloudwatch events_delivered")
    check_eq(stats["cloudwatch"]["events_pending"], 200,
             "/stats cloudwatch events_pending")
    check_eq(cw_messages(cw), [], "messages in CloudWatch Logs before "
             "the kill")

    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait()
    sent_before_kill = es.bulk_count
    cw.faults()
    run_once(scratch, config, env=cw_env())

    check_eq(cw_messages(cw), lines, "messages stored in CloudWatch Logs")
    check_eq(es_offsets(es), harness.line_offsets(data),
             "offsets stored in Elasticsearch")
    resent = bulk_items(es, sent_before_kill)
    check_eq(len(resent), 200, "items sent to Elasticsearch after restart")
    check_eq({i["status"] for i in resent}, {409},
             "statuses of the resent items")


def test_full_cloudwatch_holds_back_both(scratch):
    es = scratch.standin()
    cw = CwStandIn(scratch, {"groups": {GROUP: {"streams": [STREAM]}}})
    cw.faults({"operation": "PutLogEvents", "count": 10 ** 6, "status": 503,
               "code": "ServiceUnavailableException",
               "message": "The server failed to fulfill the request"})
    path, lines, data = write_app_log(scratch, 200)
    config = write_both_config(scratch, path, es.url, cw.url,
                               {"max_pending_events": 50,
                                "max_batch_events": 50})
    agent = harness.Agent(scratch, config, env=cw_env())

    # CloudWatch Logs takes 50 events and returns LF_EFULL for the 51st,
    # which Elasticsearch already took. The agent keeps that one for
    # CloudWatch Logs and publishes nothing more to either output.
    harness.wait_until(lambda: len(es.documents(harness.INDEX)) == 51,
                       what="51 lines in Elasticsearch")
    harness.wait_until(lambda: len(cw.puts()) >= 3,
                       what="three failed PutLogEvents requests")
    agent.check_running()
    check_eq(len(es.documents(harness.INDEX)), 51,
             "lines in Elasticsearch while CloudWatch Logs fails")
    check_eq(len(bulk_items(es)), 51, "bulk items sent while it fails")

    cw.faults()
    harness.wait_until(lambda: len(cw_messages(cw)) == 200,
                       what="every line in CloudWatch Logs")
    harness.wait_until(lambda: len(es.documents(harness.INDEX)) == 200,
                       what="every line in Elasticsearch")
    check_eq(agent.stop(), 0, "exit status")
    check_eq(cw_messages(cw), lines, "messages stored in CloudWatch Logs")
    check_eq(es_offsets(es), harness.line_offsets(data),
             "offsets stored in Elasticsearch")
    check_eq(len(bulk_items(es)), 200, "bulk items sent to Elasticsearch")
    summaries = output_summaries(agent.output())
    check_eq(summaries["cloudwatch"]["delivered"], 200, "cloudwatch delivered")
    check_eq(summaries["elasticsearch"]["delivered"], 200,
             "elasticsearch delivered")


def shutdown_report(output):
    """The values of the last shutdown report line, as a dict."""
    found = re.findall(r"shutdown report: (.*)", output)
    check(found, "no shutdown report in: %s" % harness.tail(output))
    return dict(kv.split("=", 1) for kv in found[-1].split())


def test_spool_replay_to_both(scratch):
    es = scratch.standin()
    cw = CwStandIn(scratch, {"groups": {GROUP: {"streams": [STREAM]}}})
    cw.faults({"operation": "PutLogEvents", "count": 10 ** 6, "status": 503,
               "code": "ServiceUnavailableException",
               "message": "The server failed to fulfill the request"})
    path, lines, data = write_app_log(scratch, 200)
    queue = {"disk.path": scratch.join("spool"), "disk.mode": "always"}
    config = write_both_config(scratch, path, es.url, cw.url, queue=queue,
                               **{"shutdown.timeout": "1s"})
    first = harness.Agent(scratch, config, env=cw_env(), name="first")
    harness.wait_until(lambda: len(es.documents(harness.INDEX)) == 200,
                       what="every line in Elasticsearch")
    check_eq(first.stop(), 0, "exit status of the first run")
    report = shutdown_report(first.output())
    check_eq(report["delivered"], "0", "delivered in the first run")
    check_eq(report["spool_delivered"], "0",
             "spool records delivered in the first run")
    sent_in_first_run = es.bulk_count

    cw.faults()
    second = harness.Agent(scratch, config, env=cw_env(), name="second")
    harness.wait_until(lambda: len(cw_messages(cw)) == 200,
                       what="every line in CloudWatch Logs")
    check_eq(second.stop(), 0, "exit status of the second run")
    check(re.search(r"spool opened .* events=200 ", second.output()),
          "the second run did not find 200 spooled events: %s"
          % harness.tail(second.output()))
    check_eq(shutdown_report(second.output())["spool_delivered"], "200",
             "spool records delivered in the second run")
    check_eq(cw_messages(cw), lines, "messages stored in CloudWatch Logs")
    check_eq(es_offsets(es), harness.line_offsets(data),
             "offsets stored in Elasticsearch")
    resent = bulk_items(es, sent_in_first_run)
    check_eq(len(resent), 200, "items sent again to Elasticsearch")
    check_eq({i["status"] for i in resent}, {409},
             "statuses of the items sent again")


def test_test_output_checks_both(scratch):
    es = scratch.standin()
    cw = CwStandIn(scratch, {"groups": {GROUP: {"streams": [STREAM]}}})
    config = write_both_config(scratch, scratch.join("a.log"), es.url,
                               cw.url)
    proc = harness.run_agent(["test", "output", "-c", config], env=cw_env())
    check_eq(proc.returncode, 0, "exit status; stderr: %s" % proc.stderr)
    results = [line for line in proc.stdout.splitlines()
               if line.startswith("Result: ")]
    check_eq(len(results), 2, "result lines in: %s" % proc.stdout)
    check(results[0].startswith("Result: OK: the output can ship through 1 "
                                "of 1 host"), "Elasticsearch result: %s"
          % results[0])
    check_eq(results[1], "Result: OK: the output can ship",
             "CloudWatch Logs result")

    cw.stop()
    proc = harness.run_agent(["test", "output", "-c", config], env=cw_env())
    check_eq(proc.returncode, 1, "exit status with CloudWatch Logs down")
    results = [line for line in proc.stdout.splitlines()
               if line.startswith("Result: ")]
    check_eq(len(results), 2, "result lines in: %s" % proc.stdout)
    check(results[0].startswith("Result: OK"), "Elasticsearch result: %s"
          % results[0])
    check(results[1].startswith("Result: FAILED"),
          "CloudWatch Logs result: %s" % results[1])


TESTS = [
    test_both_outputs_exactly_once,
    test_throttled_cloudwatch_recovers,
    test_full_cloudwatch_holds_back_both,
    test_cloudwatch_down_then_sigkill,
    test_spool_replay_to_both,
    test_test_output_checks_both,
]

if __name__ == "__main__":
    main(TESTS)
