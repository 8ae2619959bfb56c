#!/usr/bin/env python3
"""Exactly-once check at benchmark scale, against the strict stand-in.

Ships N generated application log lines (default 1,000,000) plus the
bundled access log that a real nginx wrote (examples/logs/nginx-access.log)
with one `logferry --once` run to the Elasticsearch stand-in, then checks
every stored document: one per line, at the line's offset, with the exact
log.level, transaction.id, http.request.method, url.path,
http.response.status_code, event.duration and @timestamp of the line it
came from, and the nginx fields of every access line. It is slow (the
stand-in is Python and keeps every document), so it is not part of the
test suite.

Usage: bench/exactly_once.py [--lines N] [--logferry PATH]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402  (path set just above)
from harness import check_eq, field  # noqa: E402


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--logferry",
                        default=os.path.join(ROOT, "build", "agent",
                                             "logferry"))
    args = parser.parse_args()
    os.environ["LOGFERRY"] = os.path.abspath(args.logferry)

    scratch = harness.Scratch("exactly-once")
    ok = False
    try:
        lines, expected = harness.app_lines(args.lines, seed=7)
        app = scratch.write("logs/app.log",
                            "".join(l + "\n" for l in lines))
        with open(os.path.join(ROOT, "examples", "logs",
                               "nginx-access.log"), "rb") as fp:
            access_data = fp.read()
        access = scratch.write("logs/access.log", access_data, "wb")

        standin = scratch.standin()
        config = harness.write_config(
            scratch,
            [harness.app_input([app]),
             {"id": "web", "paths": [access],
              "parsers": [{"preset": "nginx"}]}],
            standin.url, **{"logging.level": "warn"})
        started = time.monotonic()
        harness.run_once(scratch, config, timeout=3600)
        print("shipped %d app lines and %d access lines in %.1f s"
              % (len(lines), access_data.count(b"\n"),
                 time.monotonic() - started))

        docs = harness.documents(standin)
        check_eq(len(docs), len(lines) + access_data.count(b"\n"),
                 "documents stored")
        version = harness.agent_version()
        harness.check_app_file(docs, app, lines, expected, version)
        web = harness.by_offset(d for d in docs
                                if field(d, "log.file.path") == access)
        check_eq(sorted(o for _, o in web),
                 harness.line_offsets(access_data), "access log offsets")
        for (_, offset), doc in web.items():
            line = access_data[offset:access_data.index(b"\n", offset)]
            check_eq(field(doc, "message"), line.decode(), "message")
            method = line.split(b'"')[1].split(b" ")[0].decode()
            check_eq(field(doc, "http.request.method"), method,
                     "method at %d" % offset)
            status = int(line.split(b'"')[2].split()[0])
            check_eq(field(doc, "http.response.status_code"), status,
                     "status at %d" % offset)
        statuses = [i["status"] for r in standin.request_log()
                    for i in r["items"]]
        check_eq(statuses.count(201), len(docs), "items answered 201")
        check_eq(len(statuses), len(docs), "items sent")
        print("every line stored exactly once with its fields: yes")
        ok = True
    except harness.TestFailure as failure:
        print("FAILED: %s" % failure)
    finally:
        scratch.close(keep=not ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
