#!/usr/bin/env python3
"""Share of lines that get a parsed timestamp and a log level, per data
set of the loghub samples.

Each data set is read with the parser an operator would pick without
writing a pattern: the matching preset where one exists, else `app`.
The lines go through the real binary's `logferry parse`. For each data
set the script prints three shares of the documents:

- with an @timestamp from the line (no `_timestamp_failure` tag and not
  the read time);
- with a `log.level`;
- with the `log.level` of the sample's structured CSV, after the agent's
  normalisation, where that CSV has a level column.

The loghub samples are for research use only (see their LICENSE): this
script reads them from wherever they are and copies nothing.

Usage: bench/loghub_coverage.py LOGHUB_DIR [--logferry PATH]
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Data set -> the parser an operator would choose for it.
PARSERS = {
    "Apache": {"preset": "apache"},
    "Linux": {"preset": "syslog"},
    "Mac": {"preset": "syslog"},
    "OpenSSH": {"preset": "auth"},
    "Thunderbird": {"preset": "app"},
}
DEFAULT_PARSER = {"preset": "app"}

# The agent's log.level for the level words of the samples' CSV columns.
LEVELS = {
    "trace": "trace", "debug": "debug", "d": "debug", "info": "info",
    "i": "info", "notice": "info", "v": "trace", "warn": "warn",
    "warning": "warn", "w": "warn", "error": "error", "e": "error",
    "err": "error", "fatal": "fatal", "f": "fatal", "severe": "error",
    "critical": "fatal",
}

CONFIG = """\
path.data: {data}
inputs:
  - id: sample
    paths: ["{data}/none/*.log"]
    parsers:
      - {parser}
output.elasticsearch:
  hosts: ["http://127.0.0.1:9"]
"""


def expected_levels(folder, name):
    """Return the CSV's level per line, or None without a level column."""
    path = os.path.join(folder, name + "_2k.log_structured.csv")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace", newline="") as fp:
        rows = list(csv.DictReader(fp))
    if not rows or "Level" not in rows[0]:
        return None
    return [LEVELS.get(row["Level"].strip().lower()) for row in rows]


def parse(logferry, work, parser, log_path):
    config = os.path.join(work, "logferry.yml")
    with open(config, "w", encoding="utf-8") as fp:
        fp.write(CONFIG.format(data=work, parser=json.dumps(parser)))
    with open(log_path, "rb") as fp:
        proc = subprocess.run([logferry, "parse", "-c", config], stdin=fp,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False)
    if proc.returncode not in (0, 1):
        sys.exit("logferry parse failed on %s: %s"
                 % (log_path, proc.stderr.decode(errors="replace")))
    return [json.loads(line) for line in proc.stdout.splitlines()]


def share(count, total):
    return "%5.1f%%" % (100.0 * count / total) if total else "    -"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("loghub", metavar="LOGHUB_DIR",
                        help="folder with one sub-folder per data set")
    parser.add_argument("--logferry", metavar="PATH",
                        default=os.path.join(ROOT, "build", "agent",
                                             "logferry"),
                        help="the binary to run (default: %(default)s)")
    args = parser.parse_args()

    print("%-12s %-18s %6s %9s %7s %11s" % ("data set", "parser", "lines",
                                            "timestamp", "level",
                                            "level right"))
    with tempfile.TemporaryDirectory(prefix="lf-loghub-") as work:
        for name in sorted(os.listdir(args.loghub)):
            folder = os.path.join(args.loghub, name)
            log_path = os.path.join(folder, name + "_2k.log")
            if not os.path.isfile(log_path):
                continue
            chosen = PARSERS.get(name, DEFAULT_PARSER)
            started = time.time()
            docs = parse(args.logferry, work, chosen, log_path)
            ended = time.time()
            # A document without a parsed time carries the read time.
            read_from = time.strftime("%Y-%m-%dT%H:%M:%S",
                                      time.gmtime(started - 1))
            read_to = time.strftime("%Y-%m-%dT%H:%M:%S",
                                    time.gmtime(ended + 1))
            total = len(docs)
            stamped = 0
            leveled = 0
            for doc in docs:
                tags = doc.get("tags", [])
                stamp = doc.get("@timestamp", "")[:19]
                read_time = read_from <= stamp <= read_to
                if "_timestamp_failure" not in tags and not read_time:
                    stamped += 1
                if "level" in doc.get("log", {}):
                    leveled += 1
            levels = expected_levels(folder, name)
            right = "          -"
            if levels is not None and len(levels) == total:
                hits = sum(1 for doc, level in zip(docs, levels)
                           if level is not None
                           and doc.get("log", {}).get("level") == level)
                known = sum(1 for level in levels if level is not None)
                right = "%11s" % share(hits, known)
            print("%-12s %-18s %6d %9s %7s %s"
                  % (name, "%s: %s" % next(iter(chosen.items())), total,
                     share(stamped, total), share(leveled, total), right))


if __name__ == "__main__":
    main()
