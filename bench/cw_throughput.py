#!/usr/bin/env python3
"""Measure the throughput of the CloudWatch Logs output.

logferry --once ships N lines of application log (regex parser, seven ECS
fields) to a receiver on 127.0.0.1. The script reports events/s over
wall time and over logferry's CPU time (user + sys, from wait4), its
peak RSS, and whether the receiver counted every event.

With `--receiver standin` (the default), the stand-in
(tests/standin/cwl_standin.py, run by /usr/bin/python3 with botocore)
checks every request's signature, shape and batch limits and keeps
counts only. It is slower than logferry, so `--receiver c` sends to
build/bench/cw_receiver, which only counts. Lines carry timestamps of
the last hour, so none is outside the accepted window.

Usage: bench/cw_throughput.py [--lines N] [--format message|json]
                              [--receiver standin|c] [--logferry PATH]
"""

import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STANDIN = os.path.join(ROOT, "tests", "standin", "cwl_standin.py")

KEY_ID = "AKIDLOGFERRYBENCH001"
SECRET = "benchSecretKeyLOGFERRYBENCH000000000001"

CONFIG = """\
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
output.cloudwatch:
  region: eu-west-1
  endpoint: http://127.0.0.1:{port}
  log_group: /bench/app
  log_stream: main
  format: {format}
  flush_interval: 1s
shutdown.timeout: 120s
logging.level: warn
"""

LEVELS = ["INFO"] * 14 + ["DEBUG"] * 3 + ["WARN"] * 2 + ["ERROR"]
ROUTES = ["/api/tasks", "/api/tasks/1842", "/api/users/77/rewards",
          "/api/orders", "/healthz", "/api/cart/checkout"]
METHODS = ["GET"] * 6 + ["POST"] * 3 + ["DELETE"]


def generate(path, count):
    rng = random.Random(42)
    start = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(hours=1)
    with open(path, "w") as out:
        for i in range(count):
            moment = start + datetime.timedelta(milliseconds=i * 3)
            out.write("%s.%03dZ %s [txn=%016x] %s %s %d %dms\n" % (
                moment.strftime("%Y-%m-%dT%H:%M:%S"),
                moment.microsecond // 1000, rng.choice(LEVELS),
                rng.getrandbits(64), rng.choice(METHODS),
                rng.choice(ROUTES), rng.choice([200, 200, 201, 404, 500]),
                rng.randrange(3000)))


def start_standin(work):
    port_file = os.path.join(work, "cwl.port")
    cfg = os.path.join(work, "cwl.json")
    with open(cfg, "w") as f:
        json.dump({"keys": [{"access_key_id": KEY_ID,
                             "secret_access_key": SECRET}],
                   "groups": {"/bench/app": {"streams": ["main"]}},
                   "count_only": True}, f)
    proc = subprocess.Popen(["/usr/bin/python3", STANDIN, "--port", "0",
                             "--port-file", port_file, "--config", cfg])
    for _ in range(200):
        if os.path.exists(port_file):
            break
        time.sleep(0.05)
    with open(port_file) as f:
        return proc, int(f.read())


def start_c_receiver(work, path):
    port_file = os.path.join(work, "receiver.port")
    proc = subprocess.Popen([path, port_file])
    for _ in range(200):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            break
        time.sleep(0.05)
    with open(port_file) as f:
        return proc, int(f.read())


def counts(receiver, port):
    """Return (PutLogEvents requests, failed requests, events counted)."""
    if receiver == "c":
        with urllib.request.urlopen(
                "http://127.0.0.1:%d/count" % port) as resp:
            state = json.loads(resp.read())
        return state["requests"], 0, state["events"]
    with urllib.request.urlopen(
            "http://127.0.0.1:%d/_standin/state" % port) as resp:
        state = json.loads(resp.read())
    puts = [r for r in state["requests"] if r["operation"] == "PutLogEvents"]
    failed = [r for r in puts if r["status"] != 200]
    return len(puts), len(failed), state["events_counted"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--format", default="message")
    parser.add_argument("--logferry",
                        default=os.path.join(ROOT, "build", "agent",
                                             "logferry"))
    parser.add_argument("--receiver", choices=["standin", "c"],
                        default="standin")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="lf-cwbench-")
    if args.receiver == "c":
        standin, port = start_c_receiver(
            work, os.path.join(os.path.dirname(args.logferry), "..",
                               "bench", "cw_receiver"))
    else:
        standin, port = start_standin(work)
    try:
        logs = os.path.join(work, "logs")
        os.makedirs(logs)
        generate(os.path.join(logs, "app.log"), args.lines)
        config = os.path.join(work, "logferry.yml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data=os.path.join(work, "data"),
                                  logs=logs, port=port,
                                  format=args.format))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY_ID,
                   AWS_SECRET_ACCESS_KEY=SECRET, TZ="UTC")
        started = time.monotonic()
        proc = subprocess.Popen([args.logferry, "-c", config, "--once"],
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        requests, failed, counted = counts(args.receiver, port)
        cpu = usage.ru_utime + usage.ru_stime
        print("lines %d, format %s, exit status %d" % (
            args.lines, args.format, proc.returncode))
        print("wall %.2f s: %.0f events/s" % (wall, args.lines / wall))
        print("logferry CPU %.2f s (user %.2f, sys %.2f): %.0f events per "
              "CPU second" % (cpu, usage.ru_utime, usage.ru_stime,
                              args.lines / cpu))
        print("peak RSS %.1f MB" % (usage.ru_maxrss / 1024.0))
        print("receiver %s: PutLogEvents requests %d, failed %d, events "
              "counted %d (%s)" % (args.receiver, requests, failed, counted,
                                   "all" if counted == args.lines
                                   else "MISSING"))
    finally:
        standin.terminate()
        standin.wait()
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
