#!/usr/bin/env python3
"""Rotation and crash soak test of the file input.

Four writer processes append numbered lines to their own files and
rotate them every few seconds. Two rotate by rename: writer-N.log becomes
writer-N.log.1, older copies shift up, the oldest beyond --keep is
deleted, and a new writer-N.log is created. Two rotate by copytruncate:
copy to writer-N.log.1, then truncate in place. The agent, the real
logferry binary, ships the files to the Elasticsearch stand-in and is
killed with SIGKILL at random moments and started again. When the
writers stop, the agent runs until the stand-in stops receiving
documents and is stopped with SIGTERM. Every line of every writer must
then be stored exactly once. bench/README.md has the measured figures.

Everything listens on and connects to 127.0.0.1 only. The exit status is
0 only when every line was stored exactly once.

Usage: bench/soak.py [--duration S] [--seed N] [--kinds both|rename|
       copytruncate] [--rotated-names match|no-match] [--work DIR]
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STANDIN = os.path.join(ROOT, "tests", "standin", "es_standin.py")
INDEX = "logs-soak-default"
WRITERS = 4
LINE = re.compile(r" writer=(\d+) seq=(\d+) ")
# Padding text: each line takes a slice of a seeded length, so lines
# differ in length and content.
PAD = "abcdefghijklmnopqrstuvwxyz0123456789" * 12

CONFIG = """\
path.data: {data}
inputs:
  - id: soak
    paths: ["{glob}"]
output.elasticsearch:
  hosts: ["http://127.0.0.1:{port}"]
  index: {index}
logging.level: info
"""


# --- writers ---------------------------------------------------------------

class Writer:
    """One application that logs at a steady rate and rotates its file.

    Runs in its own process. Rotation events go to a JSON Lines journal
    so that the checker can tell which file generation a line was in.
    """

    def __init__(self, number, kind, args, seed, logs, journal_path):
        self.number = number
        self.kind = kind
        self.rate = args.rate
        self.rotate_min = args.rotate_min
        self.rotate_max = args.rotate_max
        self.keep = args.keep
        # Separate generators, so that the rotation times of a seed do not
        # depend on how many lines were written before them.
        self.pad_rng = random.Random(seed * 1000 + number)
        self.rotate_rng = random.Random(seed * 1000 + 100 + number)
        self.path = os.path.join(logs, "writer-%d.log" % number)
        self.journal_path = journal_path
        self.seq = 0
        self.rotations = 0
        self.deleted = 0

    def open_live(self):
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                       0o644)

    def line(self, seq):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        pad = self.pad_rng.randrange(0, 240)
        start = self.pad_rng.randrange(0, 36)
        return "%sZ INFO writer=%d seq=%d kind=%s %s\n" % (
            stamp, self.number, seq, self.kind, PAD[start:start + pad])

    def write_due(self, fd, started, now):
        due = int((now - started) * self.rate)
        if due <= self.seq:
            return
        # Catch up in one write after a stall, as a buffered logger does.
        text = "".join(self.line(s) for s in range(self.seq, due))
        os.write(fd, text.encode())
        self.seq = due

    def shift_rotated(self, journal):
        """Delete the oldest rotated file and move the others up one."""
        oldest = "%s.%d" % (self.path, self.keep)
        if os.path.exists(oldest):
            os.unlink(oldest)
            self.deleted += 1
            self.record(journal, "delete", path=oldest)
        for n in range(self.keep - 1, 0, -1):
            older = "%s.%d" % (self.path, n)
            if os.path.exists(older):
                os.rename(older, "%s.%d" % (self.path, n + 1))

    def next_rotation(self, now):
        return now + self.rotate_rng.uniform(self.rotate_min,
                                             self.rotate_max)

    def record(self, journal, event, **values):
        values.update(t=time.time(), event=event)
        journal.write(json.dumps(values) + "\n")
        journal.flush()

    def rotate(self, journal, now):
        """Rotate the live file. A renamed file stays open for up to
        200 ms more, as an application writes on to its old log until it
        reopens it after logrotate's rename."""
        self.shift_rotated(journal)
        self.rotations += 1
        if self.kind == "rename":
            os.rename(self.path, self.path + ".1")
            self.renamed_fd = self.fd
            self.renamed_at = time.time()
            self.fd = -1
            self.reopen_at = now + self.rotate_rng.uniform(0.0, 0.2)
            return
        # The writer copies and truncates while it does not write, so no
        # line falls between the copy and the truncation.
        shutil.copyfile(self.path, self.path + ".1")
        size = os.fstat(self.fd).st_size
        os.ftruncate(self.fd, 0)
        self.record(journal, "rotate", next_seq=self.seq,
                    rotated_at=time.time(), size=size)

    def reopen(self, journal):
        """Close the renamed file and create the new live one. The
        generation of the renamed file ends here, not at the rename."""
        size = os.fstat(self.renamed_fd).st_size
        os.close(self.renamed_fd)
        self.renamed_fd = -1
        self.fd = self.open_live()
        self.record(journal, "rotate", next_seq=self.seq,
                    rotated_at=self.renamed_at, size=size)

    def run(self, stop):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        journal = open(self.journal_path, "w")
        self.fd = self.open_live()
        self.renamed_fd = -1
        started = time.monotonic()
        self.record(journal, "start", kind=self.kind, rate=self.rate)
        rotate_at = self.next_rotation(started)

        while not stop.is_set():
            now = time.monotonic()
            if self.renamed_fd >= 0 and now >= self.reopen_at:
                self.reopen(journal)
            if self.renamed_fd >= 0:
                self.write_due(self.renamed_fd, started, now)
            else:
                self.write_due(self.fd, started, now)
            if self.renamed_fd < 0 and now >= rotate_at:
                self.rotate(journal, now)
                rotate_at = self.next_rotation(now)
            time.sleep(0.01)

        if self.renamed_fd >= 0:
            self.reopen(journal)
        self.write_due(self.fd, started, time.monotonic())
        os.close(self.fd)
        self.record(journal, "stop", written=self.seq,
                    rotations=self.rotations, deleted=self.deleted)
        journal.close()


def run_writer(writer, stop):
    writer.run(stop)


def read_journal(path):
    with open(path) as fp:
        return [json.loads(line) for line in fp if line.endswith("\n")]


# --- stand-in and agent ----------------------------------------------------

def http_get(port, path, timeout=120):
    url = "http://127.0.0.1:%d%s" % (port, path)
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def start_standin(work):
    port_file = os.path.join(work, "standin.port")
    err = open(os.path.join(work, "standin.stderr"), "wb")
    proc = subprocess.Popen([sys.executable, STANDIN, "--port", "0",
                             "--port-file", port_file], stderr=err)
    err.close()
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            raise RuntimeError("the stand-in did not start within 30 s; "
                               "see %s" % os.path.join(work,
                                                       "standin.stderr"))
        time.sleep(0.05)
    with open(port_file) as fp:
        return proc, int(fp.read())


def stored_count(port):
    docs = http_get(port, "/_standin/stats")["docs"]
    return sum(docs.values())


class Agent:
    """logferry in agent mode. Every run appends to one log file, and the
    CPU time and peak RSS of each run are collected with wait4()."""

    def __init__(self, binary, config, log_path):
        self.argv = [binary, "-c", config]
        self.log_path = log_path
        self.proc = None
        self.runs = 0
        self.cpu_user = 0.0
        self.cpu_sys = 0.0
        self.peak_rss_kb = 0
        self.unexpected_exits = []

    def start(self):
        self.runs += 1
        with open(self.log_path, "ab") as log:
            log.write(b"--- soak: start %d at %.3f\n" % (self.runs,
                                                         time.time()))
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log,
                                         env=dict(os.environ, TZ="UTC"))

    def reap(self, block):
        """Collect the exit code and resource usage of the running agent.
        Returns the exit code (negative for a signal), or None if it is
        still running."""
        pid, status, usage = os.wait4(self.proc.pid,
                                      0 if block else os.WNOHANG)
        if pid == 0:
            return None
        self.cpu_user += usage.ru_utime
        self.cpu_sys += usage.ru_stime
        self.peak_rss_kb = max(self.peak_rss_kb, usage.ru_maxrss)
        # Popen must not wait for a pid that wait4() already reaped.
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.proc = None
        return os.waitstatus_to_exitcode(status)

    def check_alive(self, elapsed):
        """Restart the agent if it exited on its own, and record it."""
        if self.proc is None:
            return
        pid = self.proc.pid
        code = self.reap(False)
        if code is not None:
            self.unexpected_exits.append((round(elapsed, 1), pid, code))
            self.start()

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.reap(True)

    def stop(self, timeout):
        """Send SIGTERM and wait up to `timeout` seconds, then SIGKILL.
        Returns the exit code, or None when it had to be killed."""
        os.kill(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.reap(False)
            if code is not None:
                return code
            time.sleep(0.1)
        self.kill()
        return None


# --- checking --------------------------------------------------------------

def ranges(numbers):
    """Group sorted integers into (first, last) runs."""
    out = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def generations(journal, run_started):
    """Return (first seq, last seq, rotation time) of each file generation
    of one writer; the time is None for the generation still live."""
    out = []
    first = 0
    for event in journal:
        if event["event"] == "rotate":
            out.append((first, event["next_seq"] - 1,
                        event["rotated_at"] - run_started))
            first = event["next_seq"]
    out.append((first, journal[-1]["written"] - 1, None))
    return out


def describe(label, by_writer, context, limit):
    """Print up to `limit` runs of missing or duplicated lines, split by
    file generation, with the rotation and the nearest SIGKILL."""
    shown = 0
    for writer in sorted(by_writer):
        kind = context["kinds"][writer]
        gens = generations(context["journals"][writer],
                           context["run_started"])
        for first, last in ranges(sorted(by_writer[writer])):
            for number, (gen_first, gen_last, rotated) in \
                    enumerate(gens, 1):
                low = max(first, gen_first)
                high = min(last, gen_last)
                if low > high:
                    continue
                if shown == limit:
                    print("  ... (more %s lines not listed)" % label)
                    return
                shown += 1
                if rotated is None:
                    where = "the live file at the end"
                elif not context["kills"]:
                    where = "rotation %d at %.1f s" % (number, rotated)
                else:
                    kill = min(context["kills"],
                               key=lambda k: abs(k - rotated))
                    where = ("rotation %d at %.1f s, nearest SIGKILL at "
                             "%.1f s" % (number, rotated, kill))
                paths = sorted({os.path.basename(p) for s in
                                range(low, high + 1)
                                for p in context["paths"].get((writer, s),
                                                              [])})
                print("  %s: writer %d (%s) seq %d-%d (%d line(s)) of "
                      "generation %d (seq %d-%d, %s)%s"
                      % (label, writer, kind, low, high, high - low + 1,
                         number, gen_first, gen_last, where,
                         "; stored from " + ", ".join(paths)
                         if paths else ""))


def check_delivery(port, journals, kinds, run_started, kills, dump_path):
    """Compare the stored documents with the lines written; print the
    figures and return True when every line is stored exactly once. The
    documents' ids, messages, paths and offsets are saved to `dump_path`
    as JSON Lines."""
    reply = http_get(port, "/_standin/docs?index=%s&fields=message,"
                     "log.file.path,log.offset" % INDEX, timeout=600)
    with open(dump_path, "w") as dump:
        for doc in reply["docs"]:
            dump.write(json.dumps({"_id": doc["_id"], **doc["fields"]})
                       + "\n")
    copies = {}
    paths = {}
    unparsed = 0
    for doc in reply["docs"]:
        match = LINE.search(doc["fields"]["message"][0])
        if not match:
            unparsed += 1
            continue
        key = (int(match.group(1)), int(match.group(2)))
        copies[key] = copies.get(key, 0) + 1
        paths.setdefault(key, []).append(doc["fields"]["log.file.path"][0])

    written = {w: j[-1]["written"] for w, j in journals.items()}
    missing = {w: [s for s in range(written[w]) if (w, s) not in copies]
               for w in journals}
    duplicated = {w: [s for s in range(written[w])
                      if copies.get((w, s), 0) > 1] for w in journals}
    strays = [k for k in copies if k[0] not in written
              or k[1] >= written[k[0]]]

    total_written = sum(written.values())
    print("lines written:     %d" % total_written)
    print("documents stored:  %d" % len(reply["docs"]))
    print("missing:           %d" % sum(len(m) for m in missing.values()))
    print("duplicated:        %d lines stored more than once (%d extra "
          "documents)" % (sum(len(d) for d in duplicated.values()),
                          sum(copies[(w, s)] - 1 for w, d in
                              duplicated.items() for s in d)))
    if unparsed or strays:
        print("not written:       %d documents without a writer and seq, "
              "%d with a seq never written" % (unparsed, len(strays)))
    for kind in ("rename", "copytruncate"):
        members = [w for w in journals if kinds[w] == kind]
        if not members:
            continue
        print("  %-13s writers %s: written %d, missing %d, duplicated %d"
              % (kind + ":", ",".join(str(w) for w in members),
                 sum(written[w] for w in members),
                 sum(len(missing[w]) for w in members),
                 sum(len(duplicated[w]) for w in members)))
    context = {"kinds": kinds, "journals": journals, "paths": paths,
               "run_started": run_started, "kills": kills}
    describe("missing", {w: m for w, m in missing.items() if m}, context,
             12)
    describe("duplicated", {w: d for w, d in duplicated.items() if d},
             context, 12)
    return not unparsed and not strays and \
        not any(missing.values()) and not any(duplicated.values())


# --- main ------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, metavar="S",
                        help="seconds the writers write (default 600)")
    parser.add_argument("--rate", type=int, default=250, metavar="N",
                        help="lines per second of each writer (default 250)")
    parser.add_argument("--rotate-min", type=float, default=2.0,
                        metavar="S",
                        help="minimum seconds between rotations (default 2)")
    parser.add_argument("--rotate-max", type=float, default=6.0,
                        metavar="S",
                        help="maximum seconds between rotations (default 6)")
    parser.add_argument("--keep", type=int, default=3, metavar="N",
                        help="rotated files kept per writer; rotation "
                             "deletes the oldest beyond it (default 3)")
    parser.add_argument("--kill-min", type=float, default=5.0, metavar="S",
                        help="minimum seconds between SIGKILLs (default 5)")
    parser.add_argument("--kill-max", type=float, default=30.0,
                        metavar="S",
                        help="maximum seconds between SIGKILLs (default 30)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="seed of the kill times, rotation times and "
                             "padding (default: from the clock, printed)")
    parser.add_argument("--kinds", choices=["both", "rename",
                                            "copytruncate"],
                        default="both",
                        help="rotation of the four writers: two of each "
                             "(default), or all four by one kind")
    parser.add_argument("--rotated-names", choices=["match", "no-match"],
                        default="match",
                        help="whether the glob matches rotated names: "
                             "writer-*.log* (default) or writer-*.log")
    parser.add_argument("--catch-up", type=float, default=300, metavar="S",
                        help="maximum seconds to wait for the agent after "
                             "the writers stop (default 300)")
    parser.add_argument("--settle", type=float, default=20, metavar="S",
                        help="while fewer documents than lines are "
                             "stored, stop waiting after this many seconds "
                             "without a new document (default 20)")
    parser.add_argument("--logferry", metavar="PATH",
                        default=os.path.join(ROOT, "build", "agent",
                                             "logferry"),
                        help="agent binary (default build/agent/logferry)")
    parser.add_argument("--work", metavar="DIR",
                        help="work in this new folder and keep it "
                             "(default: a temporary folder, removed when "
                             "the run passes)")
    args = parser.parse_args()
    if args.rotate_min <= 0 or args.rotate_max < args.rotate_min:
        parser.error("--rotate-min must be positive and at most "
                     "--rotate-max")
    if args.kill_min <= 0 or args.kill_max < args.kill_min:
        parser.error("--kill-min must be positive and at most --kill-max")
    if not os.access(args.logferry, os.X_OK):
        parser.error("%s is not an executable file: build it with "
                     "`ninja -C build` or pass --logferry PATH"
                     % args.logferry)
    if args.keep < 1 or args.rate < 1:
        parser.error("--keep and --rate must be at least 1")
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1000000
    return args


def wait_caught_up(agent, port, written, args, run_started):
    """Wait until at least `written` documents are stored and none
    arrived for 3 s, or none arrived for --settle seconds, or --catch-up
    seconds passed. Returns the seconds waited."""
    started = time.monotonic()
    last_count = -1
    last_change = started
    while True:
        now = time.monotonic()
        agent.check_alive(time.time() - run_started)
        count = stored_count(port)
        if count != last_count:
            last_count = count
            last_change = now
        if count >= written and now - last_change >= 3:
            break
        if now - last_change >= args.settle:
            break
        if now - started >= args.catch_up:
            print("the agent had not caught up after %.0f s"
                  % args.catch_up)
            break
        time.sleep(0.5)
    return time.monotonic() - started


def run_kills(agent, args, rng, run_started):
    """Kill the agent with SIGKILL and start it again at random moments
    until --duration has passed. Returns the kill times, in seconds
    since `run_started`."""
    kills = []
    began = time.monotonic()
    end = began + args.duration
    kill_at = began + rng.uniform(args.kill_min, args.kill_max)
    while time.monotonic() < end:
        time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        now = time.monotonic()
        agent.check_alive(time.time() - run_started)
        if now >= kill_at and now < end:
            agent.kill()
            kills.append(time.time() - run_started)
            agent.start()
            kill_at = now + rng.uniform(args.kill_min, args.kill_max)
    return kills


def print_run(args, kinds, pattern, journals, agent, code, port, waited,
              kills):
    """Print the figures of the run that do not need the documents."""
    print("seed:              %d" % args.seed)
    print("writers:           %s; rotated names %s the glob %s"
          % (", ".join("%d %s" % (w, kinds[w]) for w in kinds),
             "match" if args.rotated_names == "match" else "do not match",
             pattern))
    print("duration:          %.0f s of writing, %.0f s of catching up"
          % (args.duration, waited))
    if kills:
        print("kills:             %d SIGKILL (at %s s)"
              % (len(kills), ", ".join("%.0f" % k for k in kills)))
    else:
        print("kills:             0")

    if agent.unexpected_exits:
        print("unexpected exits:  %s" % ", ".join(
            "exit code %d at %.0f s" % (status, t)
            for t, _, status in agent.unexpected_exits))
    if code is None:
        print("final stop:        no exit within 60 s of SIGTERM, killed")
    else:
        print("final stop:        exit status %d after SIGTERM" % code)

    for kind in ("rename", "copytruncate"):
        done = [j[-1] for w, j in journals.items() if kinds[w] == kind]
        if done:
            print("rotations:         %s %d, %d rotated files deleted "
                  "(keep %d)" % (kind, sum(d["rotations"] for d in done),
                                 sum(d["deleted"] for d in done),
                                 args.keep))

    stats = http_get(port, "/_standin/stats")
    created = stats.get("items_201", 0)
    conflicts = stats.get("items_409", 0)
    print("stand-in items:    201: %d, 409: %d, other: %d"
          % (created, conflicts,
             stats.get("bulk_items", 0) - created - conflicts))
    print("agent CPU:         %.1f s (user %.1f, sys %.1f) over %d runs"
          % (agent.cpu_user + agent.cpu_sys, agent.cpu_user,
             agent.cpu_sys, agent.runs))
    print("agent peak RSS:    %.1f MB (largest of the runs)"
          % (agent.peak_rss_kb / 1024))

    levels = {"warn": 0, "error": 0}
    with open(agent.log_path, errors="replace") as fp:
        for line in fp:
            fields = line.split(None, 2)
            if len(fields) > 1 and fields[1] in levels:
                levels[fields[1]] += 1
    print("agent log:         %d warnings, %d errors (%s)"
          % (levels["warn"], levels["error"], agent.log_path))


def soak(args, work):
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    rng = random.Random(args.seed)
    if args.kinds == "both":
        kinds = {0: "rename", 1: "rename", 2: "copytruncate",
                 3: "copytruncate"}
    else:
        kinds = {w: args.kinds for w in range(WRITERS)}
    pattern = "writer-*.log*" if args.rotated_names == "match" \
        else "writer-*.log"

    standin, port = start_standin(work)
    agent = None
    writers = []
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    try:
        config = os.path.join(work, "logferry.yml")
        with open(config, "w") as fp:
            fp.write(CONFIG.format(data=os.path.join(work, "data"),
                                   glob=os.path.join(logs, pattern),
                                   port=port, index=INDEX))
        agent = Agent(args.logferry, config, os.path.join(work, "agent.log"))
        run_started = time.time()
        agent.start()
        journals = {}
        for w in range(WRITERS):
            journals[w] = os.path.join(work, "writer-%d.jsonl" % w)
            writer = Writer(w, kinds[w], args, args.seed, logs, journals[w])
            process = context.Process(target=run_writer, args=(writer, stop))
            process.start()
            writers.append(process)

        kills = run_kills(agent, args, rng, run_started)
        stop.set()
        for process in writers:
            process.join(30)
        journals = {w: read_journal(p) for w, p in journals.items()}
        if any(j[-1]["event"] != "stop" for j in journals.values()):
            raise RuntimeError("a writer did not finish; see %s" % work)
        written = sum(j[-1]["written"] for j in journals.values())
        waited = wait_caught_up(agent, port, written, args, run_started)
        code = agent.stop(60)
        registry = os.path.join(work, "data", "registry.json")
        if os.path.exists(registry):
            shutil.copy(registry, os.path.join(work, "registry.final.json"))

        print_run(args, kinds, pattern, journals, agent, code, port,
                  waited, kills)
        exact = check_delivery(port, journals, kinds, run_started, kills,
                               os.path.join(work, "documents.jsonl"))
        exact = exact and code == 0 and not agent.unexpected_exits
        print("exactly once:      %s" % ("yes" if exact else "no"))
        return exact
    finally:
        stop.set()
        for process in writers:
            process.join(5)
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                process.join()
        if agent is not None and agent.proc is not None:
            agent.kill()
        standin.send_signal(signal.SIGTERM)
        try:
            standin.wait(30)
        except subprocess.TimeoutExpired:
            standin.kill()
            standin.wait()


def main():
    args = parse_args()
    if args.work:
        os.makedirs(args.work)
        work = args.work
    else:
        work = tempfile.mkdtemp(prefix="logferry-soak-")
    print("seed %d (rerun with --seed %d); work folder %s"
          % (args.seed, args.seed, work))
    sys.stdout.flush()
    ok = False
    try:
        ok = soak(args, work)
    finally:
        if ok and not args.work:
            shutil.rmtree(work)
        elif not ok:
            print("work folder kept: %s" % work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
