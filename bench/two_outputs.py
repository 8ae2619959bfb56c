#!/usr/bin/env python3
"""Measure logferry --once with Elasticsearch alone, CloudWatch Logs
alone, and both outputs at once.

The same N lines of application log as bench/bench.py (regex parser,
seven ECS fields) go to bench/receiver.py for Elasticsearch (counts
documents and distinct _id values) and to build/bench/cw_receiver for
CloudWatch Logs (counts events). Both listen on 127.0.0.1 and reply to
every request with success. For each mode and run the script prints wall time,
logferry's CPU time (user + sys, from wait4), lines per CPU second, peak
RSS and what each receiver counted. The log file is generated once and
read by every run.

Usage: bench/two_outputs.py [--lines N] [--runs R] [--logferry PATH]
                            [--cw-receiver PATH]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from cw_throughput import (KEY_ID, SECRET, generate,  # noqa: E402
                           start_c_receiver)

INPUT = """\
path.data: {data}
inputs:
  - id: app
    paths: ["{logs}/*.log"]
    fields: {{service.name: rewards-api}}
    parsers:
      - regex:
          pattern: '^(?<ts>\\S+) (?<level>\\w+) \\[txn=(?<txn>\\w+)\\] (?<method>[A-Z]+) (?<path>\\S+) (?<status>\\d+) (?<took>\\d+)ms'
          fields:
            ts: {{field: "@timestamp", type: timestamp}}
            level: log.level
            txn: transaction.id
            method: http.request.method
            path: url.path
            status: {{field: http.response.status_code, type: integer}}
            took: {{field: event.duration, type: duration, unit: ms}}
shutdown.timeout: 120s
logging.level: warn
"""

ES_OUTPUT = """\
output.elasticsearch:
  hosts: ["http://127.0.0.1:{port}"]
  index: logs-bench-default
"""

CW_OUTPUT = """\
output.cloudwatch:
  region: eu-west-1
  endpoint: http://127.0.0.1:{port}
  log_group: /bench/app
  log_stream: main
  flush_interval: 1s
"""


def start_es_receiver(work):
    port_file = os.path.join(work, "es.port")
    proc = subprocess.Popen([sys.executable,
                             os.path.join(HERE, "receiver.py"),
                             "--port-file", port_file])
    for _ in range(200):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            break
        time.sleep(0.05)
    with open(port_file) as f:
        return proc, int(f.read())


def get_json(url):
    with urllib.request.urlopen(url) as resp:
        return json.loads(resp.read())


def run_mode(args, work, logs, mode, es_port, cw_port):
    """Run logferry once in `mode` ("es", "cw" or "both"); return a dict
    of the figures."""
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)

    text = INPUT.format(data=data, logs=logs)
    if mode in ("es", "both"):
        text += ES_OUTPUT.format(port=es_port)
    if mode in ("cw", "both"):
        text += CW_OUTPUT.format(port=cw_port)
    config = os.path.join(work, "logferry-%s.yml" % mode)
    with open(config, "w") as f:
        f.write(text)

    es_before = get_json("http://127.0.0.1:%d/_bench/stats" % es_port)
    cw_before = get_json("http://127.0.0.1:%d/count" % cw_port)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY_ID,
               AWS_SECRET_ACCESS_KEY=SECRET, TZ="UTC")
    started = time.monotonic()
    proc = subprocess.Popen([args.logferry, "-c", config, "--once"], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    es_after = get_json("http://127.0.0.1:%d/_bench/stats" % es_port)
    cw_after = get_json("http://127.0.0.1:%d/count" % cw_port)

    cpu = usage.ru_utime + usage.ru_stime
    return {
        "mode": mode,
        "status": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "cpu": cpu,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024.0,
        "es_documents": es_after["documents"] - es_before["documents"],
        "cw_events": cw_after["events"] - cw_before["events"],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--logferry",
                        default=os.path.join(ROOT, "build", "agent",
                                             "logferry"))
    parser.add_argument("--cw-receiver", default=None,
                        help="default: bench/cw_receiver next to the "
                             "logferry build")
    args = parser.parse_args()
    cw_receiver = args.cw_receiver or os.path.join(
        os.path.dirname(args.logferry), "..", "bench", "cw_receiver")

    work = tempfile.mkdtemp(prefix="lf-two-outputs-")
    es, es_port = start_es_receiver(work)
    cw, cw_port = start_c_receiver(work, cw_receiver)
    failed = False
    try:
        logs = os.path.join(work, "logs")
        os.makedirs(logs)
        generate(os.path.join(logs, "app.log"), args.lines)
        print("| mode | run | exit | wall (s) | logferry CPU (s) | user | "
              "sys | lines per CPU second | peak RSS (MB) | ES documents | "
              "CloudWatch events |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for run in range(1, args.runs + 1):
            for mode in ("es", "cw", "both"):
                r = run_mode(args, work, logs, mode, es_port, cw_port)
                want_es = args.lines if mode in ("es", "both") else 0
                want_cw = args.lines if mode in ("cw", "both") else 0
                failed |= (r["status"] != 0 or r["es_documents"] != want_es
                           or r["cw_events"] != want_cw)
                print("| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.0f | "
                      "%.1f | %d | %d |" % (
                          mode, run, r["status"], r["wall"], r["cpu"],
                          r["user"], r["sys"], args.lines / r["cpu"],
                          r["rss_mb"], r["es_documents"], r["cw_events"]))
                sys.stdout.flush()
    finally:
        for proc in (es, cw):
            proc.terminate()
            proc.wait()
        shutil.rmtree(work)
    if failed:
        print("a run failed or a receiver counted other than every line")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
