#!/usr/bin/env python3
"""Ship logs through an Elasticsearch outage with the disk spool.

Elasticsearch is down (nothing listens on its port) for OUTAGE seconds
while the script writes GB gigabytes of log lines, paced over the
outage, to FILES files, renaming each file to NAME.log.N once it passes
ROTATE bytes. Then bench/outage_receiver.py starts on that port, and the
script waits until every line written has been stored. The receiver
checks that each line is stored once, answers 409 to lines sent again,
and counts lines stored ahead of an earlier line of the same file. With
more than one output worker, requests in flight at once can be stored
in any order, so that count is zero only with `--workers 1`.
Lines are 300 bytes by default: the spool record of a 100-byte line
takes about 300 bytes, so 2 GB of such lines would not fit a 4 GiB
spool.

Every second the script samples the agent's VmRSS and the size of the
spool folder, and prints progress. At the end it prints the peak RSS,
VmHWM, the spool's peak size, the drain time, the 409 count and the
receiver's check, then deletes its scratch folder. It exits 1 when a
line is missing or stored twice, when the receiver found an error, when
VmHWM exceeds queue.mem.max_bytes plus --overhead-mib, or, with
`--workers 1`, when a line is stored after a later line of its file.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


def parse_size(text):
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(float(text[:-len(suffix)]) * factor)
    return int(text)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as fp:
        for line in fp:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (key, pid))


def folder_bytes(path):
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    total += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    pass
    except FileNotFoundError:
        pass
    return total


class Writer(threading.Thread):
    """Writes lines of `line_bytes` bytes to `files` streams, paced so
    that `total` bytes take `seconds`, with rename rotation past `rotate`
    bytes. Each line carries stream, generation, sequence and offset."""

    def __init__(self, folder, files, total, seconds, rotate, line_bytes):
        super().__init__(daemon=True)
        self.folder = folder
        self.files = files
        self.line_bytes = line_bytes
        self.per_file = total // files // self.line_bytes
        self.seconds = seconds
        self.rotate = rotate
        self.lines_written = 0
        self.bytes_written = 0
        self.rotations = 0
        self.file_lines = {}   # (stream, generation): lines written
        self.error = None

    def line(self, stream, gen, seq, offset):
        head = ("2026-12-05T02:%02d:%02d.%03dZ INFO app stream=%d gen=%d "
                "seq=%d off=%d user=%d"
                % (seq // 60000 % 60, seq // 1000 % 60, seq % 1000, stream,
                   gen, seq, offset, seq * 2654435761 % 100000))
        return head + " " + "x" * (self.line_bytes - len(head) - 2) + "\n"

    def run(self):
        try:
            self.write_all()
        except Exception as exc:  # reported by the main thread
            self.error = exc

    def write_all(self):
        paths = [os.path.join(self.folder, "app%d.log" % i)
                 for i in range(self.files)]
        files = [open(p, "wb") for p in paths]
        gens = [0] * self.files
        offsets = [0] * self.files
        seq = 0
        chunk_lines = 2000
        started = time.monotonic()
        total_lines = self.per_file * self.files
        while seq < self.per_file:
            count = min(chunk_lines, self.per_file - seq)
            for i in range(self.files):
                parts = []
                for n in range(seq, seq + count):
                    parts.append(self.line(i, gens[i], n, offsets[i]))
                    offsets[i] += self.line_bytes
                    key = (i, gens[i])
                    self.file_lines[key] = self.file_lines.get(key, 0) + 1
                    if offsets[i] >= self.rotate:
                        files[i].write("".join(parts).encode())
                        parts = []
                        files[i].close()
                        gens[i] += 1
                        os.rename(paths[i], "%s.%d" % (paths[i], gens[i]))
                        self.rotations += 1
                        files[i] = open(paths[i], "wb")
                        offsets[i] = 0
                files[i].write("".join(parts).encode())
                files[i].flush()
            seq += count
            self.lines_written = seq * self.files
            self.bytes_written = self.lines_written * self.line_bytes
            due = started + self.seconds * self.lines_written / total_lines
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
        for fp in files:
            fp.close()


def receiver_stats(port):
    url = "http://127.0.0.1:%d/_outage/stats" % port
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.loads(reply.read())


def wait_for_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("receiver exited with status %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("receiver did not listen on port %d" % port)


class Sampler:
    def __init__(self, agent, spool):
        self.agent = agent
        self.spool = spool
        self.peak_rss = 0
        self.peak_spool = 0

    def sample(self):
        if self.agent.poll() is not None:
            sys.exit("logferry exited with status %d" % self.agent.returncode)
        rss = status_kib(self.agent.pid, "VmRSS")
        spool = folder_bytes(self.spool)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_spool = max(self.peak_spool, spool)
        return rss, spool


def write_config(folder, logs, spool, port, args):
    path = os.path.join(folder, "logferry.yml")
    with open(path, "w") as fp:
        fp.write("path.data: %s/data\n"
                 "inputs:\n"
                 "  - id: logs\n"
                 "    paths: [\"%s/*.log*\"]\n"
                 "queue.disk.path: %s\n"
                 "queue.disk.max_bytes: %s\n"
                 % (folder, logs, spool, args.spool_max))
        if args.mem_max:
            fp.write("queue.mem.max_bytes: %s\n" % args.mem_max)
        fp.write("output.elasticsearch:\n"
                 "  hosts: [\"http://127.0.0.1:%d\"]\n"
                 "  index: logs-app-default\n"
                 "  backoff.max: %s\n" % (port, args.backoff_max))
        if args.workers:
            fp.write("  workers: %d\n" % args.workers)
    return path


def run(args, folder):
    logs = os.path.join(folder, "logs")
    spool = os.path.join(folder, "spool")
    os.makedirs(logs)
    port = free_port()
    config = write_config(folder, logs, spool, port, args)
    total = int(args.gb * 1e9)
    writer = Writer(logs, args.files, total, args.write_seconds, args.rotate,
                    args.line_bytes)
    expected = writer.per_file * args.files

    agent_log = open(os.path.join(folder, "agent.log"), "wb")
    agent = subprocess.Popen(["nice", args.logferry, "-c", config],
                             cwd=folder, stdout=subprocess.DEVNULL,
                             stderr=agent_log)
    receiver = None
    sampler = Sampler(agent, spool)
    started = time.monotonic()
    writer.start()
    print("outage of %d s: writing %d lines (%.2f GB) to %d files over "
          "%d s, port %d" % (args.outage, expected, expected * args.line_bytes
                             / 1e9, args.files, args.write_seconds, port))
    try:
        while time.monotonic() - started < args.outage:
            time.sleep(1)
            rss, spool_bytes = sampler.sample()
            print("t=%4ds down  written=%6.0f MB spool=%6.0f MB "
                  "rss=%5.1f MiB" % (time.monotonic() - started,
                                     writer.bytes_written / 1e6,
                                     spool_bytes / 1e6, rss / 1024))
            sys.stdout.flush()
        spool_at_recovery = folder_bytes(spool)
        receiver = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bench", "outage_receiver.py"),
             "--port", str(port), "--line-bytes", str(args.line_bytes)])
        wait_for_port(port, receiver)
        recovered = time.monotonic()
        print("Elasticsearch is back at t=%.0fs; spool %.0f MB"
              % (recovered - started, spool_at_recovery / 1e6))
        drained = None
        stats = None
        while time.monotonic() - recovered < args.drain_timeout:
            time.sleep(1)
            rss, spool_bytes = sampler.sample()
            stats = receiver_stats(port)
            alive = writer.is_alive()
            print("t=%4ds up    written=%6.0f MB stored=%9d/%d 409=%d "
                  "spool=%6.0f MB rss=%5.1f MiB"
                  % (time.monotonic() - started, writer.bytes_written / 1e6,
                     stats["stored"], expected, stats["conflicts"],
                     spool_bytes / 1e6, rss / 1024))
            sys.stdout.flush()
            if not alive and stats["stored"] >= expected:
                drained = time.monotonic() - recovered
                break
        if writer.error is not None:
            raise writer.error
        hwm = status_kib(agent.pid, "VmHWM")
        time.sleep(2)
        stats = receiver_stats(port)
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(120)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        agent_log.close()
        if receiver is not None:
            receiver.terminate()
            receiver.wait()

    mem_max = parse_size(args.mem_max) if args.mem_max else 64 * MIB
    bound_kib = (mem_max + args.overhead_mib * MIB) // 1024
    received = stats["files"]
    complete = len(received) == len(writer.file_lines) and all(
        received.get("%d-%d" % key, {}).get("next_offset") ==
        lines * args.line_bytes and received["%d-%d" % key]["ahead"] == 0
        for key, lines in writer.file_lines.items())
    print("spool max_bytes %s, memory queue %s: %d lines (%.2f GB), "
          "%d rotations" % (args.spool_max, args.mem_max or "64MiB",
                            writer.lines_written,
                            writer.bytes_written / 1e9, writer.rotations))
    print("peak sampled RSS %.1f MiB, VmHWM %.1f MiB (bound %.1f MiB)"
          % (sampler.peak_rss / 1024, hwm / 1024, bound_kib / 1024))
    print("spool peak %.0f MB, %.0f MB when Elasticsearch returned"
          % (sampler.peak_spool / 1e6, spool_at_recovery / 1e6))
    print("drain time %s, %d bulk requests, 409 answers %d"
          % ("%.0f s" % drained if drained is not None else "not reached",
             stats["requests"], stats["conflicts"]))
    print("lines stored ahead of an earlier line of their file: %d (at "
          "most %d in one file at once)"
          % (stats["out_of_order"],
             max([f["max_ahead"] for f in received.values()] or [0])))
    print("stored %d of %d lines, every line once: %s; receiver errors %d"
          % (stats["stored"], expected, "yes" if complete else "no",
             stats["error_count"]))
    for error in stats["errors"]:
        print("  " + error)
    agent_status = agent.returncode
    print("logferry exit status %d" % agent_status)
    ok = (complete and stats["stored"] == expected and
          stats["error_count"] == 0 and hwm <= bound_kib and
          (args.workers != 1 or stats["out_of_order"] == 0) and
          agent_status == 0)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logferry", default=os.path.join(
        ROOT, "build", "agent", "logferry"))
    parser.add_argument("--gb", type=float, default=2.0,
                        help="gigabytes of log lines (default 2)")
    parser.add_argument("--files", type=int, default=4,
                        help="files written at once (default 4)")
    parser.add_argument("--line-bytes", type=int, default=300,
                        help="length of every line with its newline, at "
                             "least 120 (default 300)")
    parser.add_argument("--rotate", type=parse_size, default=None,
                        help="rename a file once it passes this size "
                             "(default: a third of each file's share)")
    parser.add_argument("--outage", type=int, default=600,
                        help="seconds Elasticsearch is down (default 600)")
    parser.add_argument("--write-seconds", type=int, default=None,
                        help="seconds the lines are written over (default: "
                             "the outage)")
    parser.add_argument("--spool-max", default="4GiB",
                        help="queue.disk.max_bytes (default 4GiB)")
    parser.add_argument("--mem-max", default=None,
                        help="queue.mem.max_bytes (default: not set, "
                             "64MiB)")
    parser.add_argument("--backoff-max", default="10s",
                        help="output backoff.max (default 10s)")
    parser.add_argument("--workers", type=int, default=0,
                        help="output workers (default: not set, 2)")
    parser.add_argument("--overhead-mib", type=float, default=40,
                        help="RSS allowed above queue.mem.max_bytes "
                             "(default 40)")
    parser.add_argument("--drain-timeout", type=int, default=3600,
                        help="seconds to wait for every line after the "
                             "outage (default 3600)")
    args = parser.parse_args()
    if args.write_seconds is None:
        args.write_seconds = args.outage
    if args.files < 1 or args.gb <= 0 or args.outage < 1 or \
            args.line_bytes < 120:
        sys.exit("--files, --gb and --outage must be positive, and "
                 "--line-bytes at least 120")
    if args.rotate is None:
        args.rotate = max(args.line_bytes,
                          int(args.gb * 1e9) // args.files // 3)

    folder = tempfile.mkdtemp(prefix="lf-outage-")
    try:
        ok = run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
