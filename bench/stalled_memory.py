#!/usr/bin/env python3
"""Measure logferry's memory while Elasticsearch is stalled.

The script writes GB gigabytes of application log lines into FILES files
of a scratch folder under /tmp. It starts the Elasticsearch stand-in
(tests/standin) scripted to hang every bulk request (`--mode hang`) or to
reply 429 to each (`--mode 429`), and runs logferry with the default
settings of `output.elasticsearch` over those files. It samples
the agent's resident set size (VmRSS in /proc/PID/status) every second
for SECONDS seconds and prints every sample, the peak sample and the
kernel's high-water mark (VmHWM). The scratch folder is deleted at the
end, also after a failure.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))

import es_standin  # noqa: E402  (path set just above)

MIB = 1 << 20

# Lines are generated in blocks of this size and the block is written
# again and again, so 10 GB take seconds to write.
BLOCK_BYTES = 64 * MIB


def make_block(line_bytes):
    """Return BLOCK_BYTES of lines, each padded to `line_bytes` bytes with
    its newline when it is shorter."""
    lines = []
    size = 0
    n = 0
    while size < BLOCK_BYTES:
        line = ("2026-03-01T10:%02d:%02d.%03dZ INFO [txn=%016x] GET "
                "/api/rewards/%d 200 %dms user=%d points=%d"
                % (n // 60 % 60, n % 60, n % 1000, n * 2654435761, n % 9973,
                   n % 3000, n % 100000, n % 500))
        line += " " + "x" * max(0, line_bytes - len(line) - 2) + "\n"
        lines.append(line)
        size += len(line)
        n += 1
    return "".join(lines).encode()


def write_logs(folder, files, total_bytes, line_bytes):
    block = make_block(line_bytes)
    per_file = total_bytes // files
    started = time.monotonic()
    for i in range(files):
        path = os.path.join(folder, "app%02d.log" % i)
        with open(path, "wb") as fp:
            written = 0
            while written < per_file:
                chunk = block[:per_file - written]
                fp.write(chunk)
                written += len(chunk)
    return per_file * files, time.monotonic() - started


def rss_kib(pid, key):
    with open("/proc/%d/status" % pid) as fp:
        for line in fp:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (key, pid))


def stalled_faults(mode):
    if mode == "hang":
        return {"requests": [{"on": 1, "count": 10 ** 9, "action": "hang"}]}
    return {"requests": [{"on": 1, "count": 10 ** 9, "status": 429}]}


def run(args, folder):
    logs = os.path.join(folder, "logs")
    os.makedirs(logs)
    size, took = write_logs(logs, args.files, int(args.gb * 1e9),
                            args.line_bytes)
    print("wrote %.2f GB in %d files in %.1f s" % (size / 1e9, args.files,
                                                   took))

    standin = es_standin.StandIn().start()
    standin.set_faults(stalled_faults(args.mode))
    config = os.path.join(folder, "logferry.yml")
    with open(config, "w") as fp:
        fp.write("path.data: %s/data\n"
                 "inputs:\n"
                 "  - id: logs\n"
                 "    paths: [\"%s/*.log\"]\n"
                 "output.elasticsearch:\n"
                 "  hosts: [\"%s\"]\n"
                 "  index: logs-app-default\n"
                 % (folder, logs, standin.url))
    with open(os.path.join(folder, "agent.log"), "wb") as agent_log:
        agent = subprocess.Popen([args.logferry, "-c", config], cwd=folder,
                                 stdout=subprocess.DEVNULL, stderr=agent_log)
    samples = []
    try:
        for second in range(args.seconds):
            time.sleep(1)
            if agent.poll() is not None:
                sys.exit("logferry exited with status %d" % agent.returncode)
            samples.append(rss_kib(agent.pid, "VmRSS"))
            print("t=%3ds rss=%.1f MiB bulk_requests=%d"
                  % (second + 1, samples[-1] / 1024, standin.bulk_count))
            sys.stdout.flush()
        hwm = rss_kib(agent.pid, "VmHWM")
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(60)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        standin.stop()
    stored = len(standin.documents("logs-app-default"))
    print("mode %s: peak sampled RSS %.1f MiB, VmHWM %.1f MiB, "
          "%d bulk requests, %d documents stored"
          % (args.mode, max(samples) / 1024, hwm / 1024, standin.bulk_count,
             stored))
    return hwm


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logferry", default=os.path.join(
        ROOT, "build", "agent", "logferry"))
    parser.add_argument("--gb", type=float, default=10.0,
                        help="gigabytes of log lines (default 10)")
    parser.add_argument("--files", type=int, default=10,
                        help="log files the lines are spread over "
                             "(default 10)")
    parser.add_argument("--seconds", type=int, default=120,
                        help="seconds to sample RSS (default 120)")
    parser.add_argument("--line-bytes", type=int, default=0,
                        help="pad every line to this many bytes (default: "
                             "no padding, about 100 bytes)")
    parser.add_argument("--mode", choices=("hang", "429"), default="hang",
                        help="hang every request, or reply 429 to each")
    parser.add_argument("--limit-mib", type=float, default=100,
                        help="exit 1 when VmHWM exceeds this (default 100)")
    args = parser.parse_args()
    if args.files < 1 or args.gb <= 0 or args.seconds < 1 or \
            args.line_bytes < 0 or args.line_bytes > BLOCK_BYTES:
        sys.exit("--files, --gb and --seconds must be positive, and "
                 "--line-bytes between 0 and %d" % BLOCK_BYTES)

    folder = tempfile.mkdtemp(prefix="lf-stalled-")
    try:
        hwm = run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if hwm / 1024 > args.limit_mib else 0


if __name__ == "__main__":
    sys.exit(main())
