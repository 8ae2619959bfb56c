#!/usr/bin/env python3
"""Throughput and footprint benchmark of logferry --once.

Generates N lines of application log (default 1,000,000, about 101 MB)
and ships them through regex parsing and gzip to a local receiver that
only counts. Then it prints events/s, MB/s, CPU seconds (user+sys of
logferry), peak RSS and the number of distinct documents delivered.
bench/README.md has the measured figures.

Usage: bench/bench.py [--lines N] [--logferry PATH] [--keep DIR]
"""

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LEVELS = ["INFO"] * 14 + ["DEBUG"] * 3 + ["WARN"] * 2 + ["ERROR"]
ROUTES = ["/api/tasks", "/api/tasks/1842", "/api/users/77/rewards",
          "/api/orders", "/healthz", "/api/cart/checkout"]
METHODS = ["GET"] * 6 + ["POST"] * 3 + ["DELETE"]

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
output.elasticsearch:
  hosts: ["http://127.0.0.1:{port}"]
  index: logs-bench-default
logging.level: warn
"""


def generate(path, count):
    rng = random.Random(42)
    start = 1764806400  # 2025-12-04T00:00:00Z
    with open(path, "w") as out:
        for i in range(count):
            t = start + i // 100
            ms = (i * 7) % 1000
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            status = 500 if rng.random() < 0.02 else 200
            out.write(
                f"{stamp}.{ms:03d}Z {rng.choice(LEVELS)} "
                f"[txn={rng.getrandbits(48):012x}] {rng.choice(METHODS)} "
                f"{rng.choice(ROUTES)} {status} {rng.randint(1, 2500)}ms "
                f"user={rng.randint(1, 99999)} seq={i}\n")


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_bench/stats") as r:
        import json
        return json.load(r)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--logferry",
                        default=os.path.join(ROOT, "build", "agent", "logferry"))
    parser.add_argument("--keep", help="work in this folder and keep it")
    args = parser.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="logferry-bench-")
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    log = os.path.join(work, "logs", "app.log")
    if not os.path.exists(log):
        generate(log, args.lines)
    size = os.path.getsize(log)
    shutil.rmtree(os.path.join(work, "data"), ignore_errors=True)

    port_file = os.path.join(work, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    receiver = subprocess.Popen([sys.executable, os.path.join(HERE, "receiver.py"),
                                 "--port-file", port_file])
    try:
        while not os.path.exists(port_file) or not open(port_file).read():
            time.sleep(0.05)
        port = int(open(port_file).read())
        config = os.path.join(work, "logferry.yml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data=os.path.join(work, "data"),
                                  logs=os.path.join(work, "logs"), port=port))

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        rc = subprocess.call([args.logferry, "-c", config, "--once"])
        elapsed = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        got = stats(port)
    finally:
        receiver.terminate()
        receiver.wait()

    # The receiver is still running while logferry runs, so the children's
    # counters after the run minus before belong to logferry alone.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"lines:          {args.lines}")
    print(f"input:          {size / 1e6:.1f} MB")
    print(f"exit code:      {rc}")
    print(f"wall time:      {elapsed:.2f} s")
    print(f"events/s:       {args.lines / elapsed:,.0f}")
    print(f"MB/s:           {size / 1e6 / elapsed:.1f}")
    print(f"CPU seconds:    {cpu:.2f} (user {after.ru_utime - before.ru_utime:.2f}, "
          f"sys {after.ru_stime - before.ru_stime:.2f})")
    print(f"peak RSS:       {after.ru_maxrss / 1024:.1f} MB")
    print(f"delivered:      {got['documents']} documents, "
          f"{got['distinct_ids']} distinct ids, {got['requests']} requests")
    print(f"request bodies: {got['body_bytes'] / 1e6:.1f} MB as sent")
    exact = got["documents"] == args.lines and got["distinct_ids"] == args.lines
    print(f"exactly once:   {'yes' if exact else 'NO'}")
    if not args.keep:
        shutil.rmtree(work)
    return 0 if rc == 0 and exact else 1


if __name__ == "__main__":
    sys.exit(main())
