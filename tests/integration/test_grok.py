"""Ship logs parsed by grok steps with `--once`: two line formats in one
step, and `@metadata` captures that a processor reads but no document
contains."""

import datetime
import socket

import harness
from harness import check, check_eq, field

APP_PATTERN = ("^%{TIMESTAMP_ISO8601} %{LOGLEVEL:log.level} "
               "%{TXN:transaction.id} %{WORD:[http][request][method]} "
               "%{URIPATH:url.path} "
               "%{INT:[http][response][status_code]:int} "
               "%{INT:http.response.body.bytes:int}$")
SYSLOG_PATTERN = ("^%{SYSLOGTIMESTAMP} %{SYSLOGHOST:host.hostname} "
                  "%{SYSLOGPROG}: %{GREEDYDATA:message}$")

# Each line with the parsed fields its document must carry; None marks a
# line that no pattern matches.
LINES = [
    ("2026-03-01T10:00:00.125Z ERROR txn-0a1b2c3d POST /api/redeem 502 1834",
     {"log.level": "error", "transaction.id": "txn-0a1b2c3d",
      "http.request.method": "POST", "url.path": "/api/redeem",
      "http.response.status_code": 502, "http.response.body.bytes": 1834}),
    ("Mar  1 10:00:01 web-7 rewards-api[4121]: payment captured",
     {"host.hostname": "web-7", "process.name": "rewards-api",
      "process.pid": 4121, "message": "payment captured"}),
    ("2026-03-01T10:00:02Z info txn-00ff00ff GET /api/users/42/points 200 77",
     {"log.level": "info", "transaction.id": "txn-00ff00ff",
      "http.request.method": "GET", "url.path": "/api/users/42/points",
      "http.response.status_code": 200, "http.response.body.bytes": 77}),
    ("Mar  1 10:00:03 web-7 cron: job started",
     {"host.hostname": "web-7", "process.name": "cron",
      "message": "job started"}),
    ("2026-03-01T10:00:04Z WARN txn-XYZ GET /api/rewards 200 10", None),
]

# Fields every document carries besides the parsed ones.
COMMON = ["@timestamp", "agent.type", "agent.version", "host.name",
          "input.type", "log.file.path", "log.offset", "message"]


def grok_input(path):
    return {"id": "grok", "paths": [path],
            "parsers": [{"grok": {
                "patterns": [APP_PATTERN, SYSLOG_PATTERN],
                "pattern_definitions": {"TXN": "txn-[0-9a-f]{8}"}}}]}


def test_grok_documents_exact(scratch):
    standin = scratch.standin()
    text = "".join(line + "\n" for line, _ in LINES)
    path = scratch.write("logs/mixed.log", text)
    config = harness.write_config(scratch, [grok_input(path)], standin.url)
    before = datetime.datetime.now(datetime.timezone.utc)
    harness.run_once(scratch, config)
    after = datetime.datetime.now(datetime.timezone.utc)
    version = harness.agent_version()

    docs = harness.by_offset(harness.documents(standin))
    check_eq(len(docs), len(LINES), "documents stored")
    offset = 0
    for line, parsed in LINES:
        doc = docs.get((path, offset))
        check(doc is not None, "no document for offset %d" % offset)
        what = "offset %d" % offset
        expected = {
            "agent.type": "logferry", "agent.version": version,
            "host.name": socket.gethostname(), "input.type": "filestream",
            "log.file.path": path, "log.offset": offset, "message": line,
        }
        expected.update(parsed or {})
        got = {key: field(doc, key) for key in harness.leaf_fields(doc)
               if key not in ("@timestamp", "tags")}
        check_eq(got, expected, what + " fields")
        check_eq(doc.get("tags"), None if parsed else ["_parse_failure"],
                 what + " tags")
        stamp = datetime.datetime.strptime(
            field(doc, "@timestamp"), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc)
        check(before - datetime.timedelta(seconds=1) <= stamp <=
              after + datetime.timedelta(seconds=1),
              "%s: read-time @timestamp %s outside the run" % (what, stamp))
        offset += len(line.encode()) + 1
    check_eq(sorted(set(COMMON) - set(harness.leaf_fields(
        docs[(path, 0)]))), [], "common fields of the first document")


def test_grok_unknown_pattern_rejected(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/a.log", "x\n")
    spec = grok_input(path)
    spec["parsers"][0]["grok"]["patterns"] = ["%{NOSUCHPATTERN:a}"]
    config = harness.write_config(scratch, [spec], standin.url)
    proc = harness.run_agent(["test", "config", "-c", config])
    check(proc.returncode != 0, "test config accepted an unknown pattern")
    check("inputs[0].parsers[0].grok.patterns[0]: unknown grok pattern "
          "'NOSUCHPATTERN'" in proc.stderr,
          "error names the key and pattern: %r" % proc.stderr)


# `@metadata.kind` decides which lines are dropped and is never shipped.
# `related.user` is captured twice per line and shipped as an array.
AUDIT_PATTERN = ("^%{WORD:[@metadata][kind]} %{USERNAME:related.user} -> "
                 "%{USERNAME:related.user}: %{GREEDYDATA:message}$")
AUDIT_LINES = [
    ("audit alice -> bob: granted role admin",
     {"message": "granted role admin", "related.user": ["alice", "bob"]}),
    ("debug cache -> cache: miss on key 17", None),
    ("audit carol -> dave: revoked role viewer",
     {"message": "revoked role viewer", "related.user": ["carol", "dave"]}),
    ("debug cache -> cache: hit on key 17", None),
]


def test_grok_metadata_drives_drop_event(scratch):
    standin = scratch.standin()
    text = "".join(line + "\n" for line, _ in AUDIT_LINES)
    path = scratch.write("logs/audit.log", text)
    spec = {"id": "audit", "paths": [path],
            "parsers": [{"grok": {"patterns": [AUDIT_PATTERN]}}],
            "processors": [{"drop_event": {"when": {"equals": {
                "@metadata.kind": "debug"}}}}]}
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)

    docs = harness.by_offset(harness.documents(standin))
    shipped = [line for line, parsed in AUDIT_LINES if parsed]
    check_eq(len(docs), len(shipped), "documents stored")
    offset = 0
    for line, parsed in AUDIT_LINES:
        what = "offset %d" % offset
        doc = docs.get((path, offset))
        if parsed is None:
            check(doc is None, what + ": a debug line was shipped")
        else:
            check(doc is not None, what + ": no document")
            check_eq(sorted(k for k in doc if k.startswith("@metadata")), [],
                     what + " @metadata keys")
            check_eq(doc.get("message"), parsed["message"], what + " message")
            check_eq(doc.get("related", {}).get("user"),
                     parsed["related.user"], what + " related.user")
            check_eq(doc.get("tags"), None, what + " tags")
        offset += len(line.encode()) + 1


TESTS = [
    test_grok_documents_exact,
    test_grok_unknown_pattern_rejected,
    test_grok_metadata_drives_drop_event,
]

if __name__ == "__main__":
    harness.main(TESTS)
