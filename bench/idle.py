#!/usr/bin/env python3
"""Measure what an idle logferry costs while it watches log files.

For each scenario the agent ships one line from each of N files to the
Elasticsearch stand-in (tests/standin), then nothing is written for the
measured window. The script reports the CPU seconds the agent used in
that window (utime + stime from /proc/PID/stat) and, from a separate
`strace -f -c` sample of every thread, how often epoll_wait returned,
which is how often the event loop woke up.

Scenarios: N files deleted right after delivery, N files left unchanged.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))

import es_standin  # noqa: E402  (path set just above)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as fp:
        stat = fp.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def epoll_returns(pid, seconds, workdir):
    """Return the epoll_wait calls counted by `strace -c -f` over
    `seconds`, and the summary table."""
    out = os.path.join(workdir, "strace-summary.txt")
    tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p",
                               str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(30)
    with open(out) as fp:
        table = fp.read()
    calls = 0
    for line in table.splitlines():
        cols = line.split()
        if cols and cols[-1] in ("epoll_wait", "epoll_pwait"):
            calls += int(cols[3])
    return calls, table


def run_scenario(args, files, delete):
    workdir = tempfile.mkdtemp(prefix="lf-idle-")
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs)
    names = ["idle%03d.log" % i for i in range(files)]

    for name in names:
        with open(os.path.join(logs, name), "w") as fp:
            fp.write(name + " line\n")

    standin = es_standin.StandIn().start()
    config = os.path.join(workdir, "logferry.yml")
    with open(config, "w") as fp:
        fp.write("path.data: %s/data\n"
                 "inputs:\n"
                 "  - id: logs\n"
                 "    paths: [\"%s/*.log\"]\n"
                 "    scan_frequency: %s\n"
                 "output.elasticsearch:\n"
                 "  hosts: [\"%s\"]\n"
                 "  index: logs-idle-default\n"
                 % (workdir, logs, args.scan_frequency, standin.url))

    agent = subprocess.Popen([args.logferry, "-c", config], cwd=workdir,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(standin.documents("logs-idle-default")) < files:
            if time.monotonic() > deadline:
                sys.exit("the %d lines did not arrive" % files)
            time.sleep(0.1)

        if delete:
            for name in names:
                os.unlink(os.path.join(logs, name))

        before = cpu_seconds(agent.pid)
        time.sleep(args.window)
        used = cpu_seconds(agent.pid) - before
        calls, table = epoll_returns(agent.pid, args.strace_window, workdir)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(60)
        standin.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    return used, calls, table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logferry", default=os.path.join(
        ROOT, "build", "agent", "logferry"))
    parser.add_argument("--window", type=float, default=60,
                        help="CPU window in seconds (default 60)")
    parser.add_argument("--strace-window", type=float, default=30,
                        help="strace sample in seconds (default 30)")
    parser.add_argument("--scan-frequency", default="10s",
                        help="scan_frequency of the input (default 10s)")
    parser.add_argument("--verbose", action="store_true",
                        help="print the strace summary tables")
    parser.add_argument("scenario", nargs="+",
                        help="FILES:deleted or FILES:unchanged")
    args = parser.parse_args()

    print("| files | after delivery | scan_frequency | CPU s in %g s | "
          "share of one core | epoll_wait returns in %g s | per s |"
          % (args.window, args.strace_window))
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenario:
        match = re.fullmatch(r"(\d+):(deleted|unchanged)", scenario)
        if match is None:
            sys.exit("invalid scenario %r: expected FILES:deleted or "
                     "FILES:unchanged" % scenario)
        files = int(match.group(1))
        delete = match.group(2) == "deleted"
        used, calls, table = run_scenario(args, files, delete)
        print("| %d | %s | %s | %.2f | %.3f%% | %d | %.2f |"
              % (files, match.group(2), args.scan_frequency, used,
                 100 * used / args.window, calls,
                 calls / args.strace_window))
        if args.verbose:
            print(table)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
