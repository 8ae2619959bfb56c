#!/usr/bin/env python3
"""Cost of the HTTP endpoint during the throughput benchmark.

Runs the workload of bench.py (logferry --once over N generated lines of
application log, to bench/receiver.py) in rounds of three runs. The
first run has no endpoint. The second scrapes the endpoint every
--interval seconds. The third scrapes as often and adds `metrics:` rules
like those of packaging/prometheus/logferry.yml: a counter by route,
method and status class, an error counter and a duration histogram by
route. It prints each run and the median wall time, events/s and CPU
seconds of each variant. Then it measures the CPU time of one scrape
from many back to back. bench/README.md has the measured figures.

Usage: bench/scrape_overhead.py [--lines N] [--runs R] [--interval S]
                                [--logferry PATH] [--keep DIR]
"""

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import bench

HTTP = """\
http:
  enabled: true
  port: {port}
"""

RULES = """\
metrics:
  - type: counter
    name: app_requests
    labels:
      route: url.path
      method: http.request.method
      status_class: {field: http.response.status_code, status_class: true}
  - type: counter
    name: app_errors
    when: {equals: {log.level: error}}
    labels: {route: url.path}
  - type: histogram
    name: app_request_duration_seconds
    field: event.duration
    unit: ns
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10]
    labels: {route: url.path}
"""

VARIANTS = [
    ("no endpoint", False, False),
    ("scraped", True, False),
    ("scraped, with rules", True, True),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scraper(threading.Thread):
    """GETs /metrics every `interval` seconds until stopped."""

    def __init__(self, port, interval):
        super().__init__(daemon=True)
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.interval = interval
        self.done = threading.Event()
        self.scrapes = 0
        self.body_bytes = 0

    def run(self):
        while not self.done.wait(self.interval):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as reply:
                    self.body_bytes += len(reply.read())
                    self.scrapes += 1
            except OSError:
                pass  # the listener is not up yet, or already closed


def run_once(args, work, receiver_port, scrape, rules):
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    port = free_port()
    text = bench.CONFIG.format(data=data, logs=os.path.join(work, "logs"),
                               port=receiver_port)
    if scrape:
        text += HTTP.format(port=port)
    if rules:
        text += RULES
    config = os.path.join(work, "logferry.yml")
    with open(config, "w") as out:
        out.write(text)

    scraper = Scraper(port, args.interval) if scrape else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen([args.logferry, "-c", config, "--once"])
    if scraper:
        scraper.start()
    rc = proc.wait()
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if scraper:
        scraper.done.set()
        scraper.join()
    cpu = (after.ru_utime - before.ru_utime) + \
        (after.ru_stime - before.ru_stime)
    return {"rc": rc, "wall": elapsed, "cpu": cpu,
            "scrapes": scraper.scrapes if scraper else 0,
            "body": scraper.body_bytes if scraper else 0}


def agent_cpu_seconds(pid):
    """User + system CPU seconds of a running process, from /proc."""
    with open("/proc/%d/stat" % pid) as fp:
        fields = fp.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_scrape_cost(args, work, receiver_port, count):
    """Ship the log with the endpoint and the rules in agent mode, then
    scrape `count` times back to back once everything is indexed, and
    return the agent's CPU seconds per scrape and the body size."""
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    port = free_port()
    text = bench.CONFIG.format(data=data, logs=os.path.join(work, "logs"),
                               port=receiver_port)
    config = os.path.join(work, "logferry.yml")
    with open(config, "w") as out:
        out.write(text + HTTP.format(port=port) + RULES)

    proc = subprocess.Popen([args.logferry, "-c", config])
    url = "http://127.0.0.1:%d/metrics" % port
    try:
        body = b""
        indexed_line = b"logferry_output_events_indexed_total" \
            b'{output="elasticsearch"} %d\n' % args.lines
        while indexed_line not in body:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    body = reply.read()
            except OSError:
                body = b""

        before = agent_cpu_seconds(proc.pid)
        for _ in range(count):
            with urllib.request.urlopen(url, timeout=5) as reply:
                body = reply.read()
        after = agent_cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    return (after - before) / count, len(body)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between scrapes")
    parser.add_argument("--logferry", default=os.path.join(
        bench.ROOT, "build", "agent", "logferry"))
    parser.add_argument("--keep", help="work in this folder and keep it")
    parser.add_argument("--scrapes", type=int, default=2000,
                        help="back-to-back scrapes that measure the CPU "
                        "time of one")
    args = parser.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="logferry-bench-")
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    log = os.path.join(work, "logs", "app.log")
    if not os.path.exists(log):
        bench.generate(log, args.lines)

    port_file = os.path.join(work, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    receiver = subprocess.Popen([sys.executable,
                                 os.path.join(bench.HERE, "receiver.py"),
                                 "--port-file", port_file])
    results = {name: [] for name, _, _ in VARIANTS}
    failed = False
    try:
        while not os.path.exists(port_file) or not open(port_file).read():
            time.sleep(0.05)
        receiver_port = int(open(port_file).read())
        for round_no in range(1, args.runs + 1):
            for name, scrape, rules in VARIANTS:
                run = run_once(args, work, receiver_port, scrape, rules)
                results[name].append(run)
                failed |= run["rc"] != 0
                print("round %d, %-20s wall %.2f s, %9.0f events/s, "
                      "CPU %.2f s, %d scrapes of %.1f KB"
                      % (round_no, name + ":", run["wall"],
                         args.lines / run["wall"], run["cpu"],
                         run["scrapes"],
                         run["body"] / max(run["scrapes"], 1) / 1e3),
                      flush=True)
        scrape_cpu, scrape_bytes = measure_scrape_cost(
            args, work, receiver_port, args.scrapes)
    finally:
        receiver.terminate()
        receiver.wait()

    print()
    base = statistics.median(r["wall"] for r in results["no endpoint"])
    base_cpu = statistics.median(r["cpu"] for r in results["no endpoint"])
    for name, _, _ in VARIANTS:
        wall = statistics.median(r["wall"] for r in results[name])
        cpu = statistics.median(r["cpu"] for r in results[name])
        print("median %-20s wall %.2f s (%+.1f%%), %9.0f events/s, "
              "CPU %.2f s (%+.1f%%)"
              % (name + ":", wall, 100 * (wall / base - 1),
                 args.lines / wall, cpu, 100 * (cpu / base_cpu - 1)))
    # The shipping CPU per second of wall time, against which one scrape
    # per interval is set.
    busy = base_cpu / base
    print("one scrape (%d back to back, %.1f KB each): %.3f ms of CPU; "
          "one every %g s while shipping: %.3f%% of the agent's CPU"
          % (args.scrapes, scrape_bytes / 1e3, scrape_cpu * 1e3,
             args.interval, 100 * scrape_cpu / args.interval / busy))
    if not args.keep:
        shutil.rmtree(work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
