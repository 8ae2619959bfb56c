"""Structured logs through the real binary. The `json` parser reads the
lines of ECS logging libraries, pino, bunyan, logrus and zap, and the
`logfmt` parser reads logfmt lines. Escapes inside container-wrapped
JSON are decoded exactly once, and malformed lines are shipped with
their text."""

import json
import os

import harness
from harness import check, check_eq, field

FIXTURES = os.path.join(harness.SOURCE_ROOT, "tests", "fixtures",
                        "json-logs")


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as fp:
        return fp.read()


def sorted_docs(standin):
    return sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))


def ship(scratch, name, data, parsers, **extra):
    """Write `data` to logs/NAME, ship it once and return the documents
    in file order."""
    standin = scratch.standin()
    path = scratch.write("logs/" + name, data, "wb")
    spec = {"id": "app", "paths": [path], "parsers": parsers}
    spec.update(extra)
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    return sorted_docs(standin)


def test_escaped_characters_decoded_once(scratch):
    # Application JSON inside Docker's json-file wrapper: the wrapper's
    # escaping is removed by the container decoder, the application's by
    # the json parser, and the bulk body escapes each value once again.
    inner = {"level": "error", "msg": "line one\nline two",
             "file": "C:\\data\\app.txt", "note": 'say "hi"',
             "accent": "caf\u00e9"}
    lines = [
        {"log": json.dumps(inner, ensure_ascii=True) + "\n",
         "stream": "stdout", "time": "2024-03-01T10:00:00.123Z"},
        {"log": 'plain text with "quotes" and a tab\there\n',
         "stream": "stderr", "time": "2024-03-01T10:00:01.000Z"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines)
    check('\\"level\\"' in data and "\\\\u00e9" in data,
          "the fixture escapes the inner JSON twice")

    # The empty regex is the fallback for lines that are not JSON.
    docs = ship(scratch, "ctr.log", data.encode(),
                [{"json": {"target": "app", "add_error_key": False}},
                 {"regex": {"pattern": "", "fields": {}}}],
                format="docker")
    check_eq(len(docs), 2, "documents")

    first, second = docs
    check_eq(field(first, "log.level"), "error", "log.level")
    check_eq(field(first, "message"), "line one\nline two", "message")
    check_eq(field(first, "app.file"), "C:\\data\\app.txt", "app.file")
    check_eq(field(first, "app.note"), 'say "hi"', "app.note")
    check_eq(field(first, "app.accent"), "caf\u00e9", "app.accent")
    check_eq(field(first, "@timestamp"), "2024-03-01T10:00:00.123Z",
             "@timestamp")
    check_eq(field(first, "tags"), None, "tags of the JSON line")

    check_eq(field(second, "message"),
             'plain text with "quotes" and a tab\there', "plain message")
    check_eq(field(second, "tags"), None, "tags of the plain line")
    check_eq(field(second, "error.message"), None, "error of the plain line")


def test_json_libraries(scratch):
    docs = ship(scratch, "app.ndjson", fixture_bytes("structured.ndjson"),
                [{"json": None}])
    check_eq(len(docs), 9, "documents")
    expected = [
        {"@timestamp": "2026-03-01T10:00:00.125Z", "log.level": "info",
         "message": "Order service listening on port 8443",
         "ecs.version": "1.2.0", "service.name": "orders",
         "process.thread.name": "main",
         "log.logger": "com.example.orders.Server"},
        {"@timestamp": "2026-03-01T10:00:01.250Z", "log.level": "error",
         "message": "Payment declined", "ecs.version": "1.6.0",
         "log.origin.file.line": 88, "log.origin.function": "charge",
         "error.type": "CardError", "error.message": "card expired",
         "error.stack_trace": "Traceback (most recent call last):\n"
                              "  File \"charge.py\", line 88\n"
                              "CardError: card expired",
         "trace.id": "0af7651916cd43dd8448eb211c80319c"},
        {"@timestamp": "2026-03-01T10:00:02.375Z", "log.level": "warn",
         "process.pid": 4242, "host.hostname": "web-3",
         "message": "Cart total recomputed", "module": "cart"},
        {"@timestamp": "2026-03-01T10:00:03.500Z", "log.level": "debug",
         "log.origin.file.name": "stock/reserve.go",
         "log.origin.file.line": 131, "count": 3,
         "transaction.id": "00f067aa0ba902b7"},
        {"@timestamp": "2026-03-01T10:00:04.625Z", "log.level": "info",
         "message": "Invoice 77 issued", "event.severity": 2,
         "log.logger": "Billing.Invoices", "tags": ["billing", "batch"]},
        {"@timestamp": "2026-03-01T10:00:05.750Z", "log.level": "info",
         "message": "request completed", "responseTime": 12.5,
         "pid": 311},
        {"@timestamp": "2026-03-01T10:00:06.875Z", "log.level": "error",
         "message": "SMTP relay refused the message", "name": "mailer"},
        {"@timestamp": "2026-03-01T10:00:07.000Z", "log.level": "warn",
         "message": "Disk usage above 90%", "mount": "/var"},
        {"@timestamp": "2026-03-01T10:00:08.125Z", "log.level": "info",
         "message": "job done", "caller": "queue/worker.go:57",
         "job_id": 901, "ok": True},
    ]
    for number, (doc, want) in enumerate(zip(docs, expected), 1):
        want.setdefault("tags", None)
        for key, value in want.items():
            check_eq(field(doc, key), value, "line %d: %s" % (number, key))
    # The aliases were used, so they are not also kept as fields.
    check_eq(field(docs[5], "msg"), None, "pino msg moved to message")
    check_eq(field(docs[5], "time"), None, "pino time moved to @timestamp")
    check_eq(field(docs[8], "ts"), None, "zap ts moved to @timestamp")


def test_json_target_keeps_other_keys_apart(scratch):
    docs = ship(scratch, "app.ndjson", fixture_bytes("structured.ndjson"),
                [{"json": {"target": "json"}}])
    check_eq(field(docs[5], "json.pid"), 311, "json.pid")
    check_eq(field(docs[5], "pid"), None, "pid at the root")
    check_eq(field(docs[5], "message"), "request completed", "message")
    check_eq(field(docs[0], "json.service.name"), "orders",
             "json.service.name")


def test_malformed_json_lines_kept(scratch):
    big = json.dumps({"message": "x" * (1024 * 1024), "n": 1})
    lines = [
        b'{"message":"cut here","level":"info"',
        b'{"message":"bad \xff byte","k":"\xc3"}',
        big.encode(),
        b'not json at all',
        b'{"a":' * 5000 + b'1' + b'}' * 5000,
        b'{"b":[' + b'[' * 100000 + b']' * 100000 + b']}',
    ]
    data = b"\n".join(lines) + b"\n"
    docs = ship(scratch, "bad.ndjson", data, [{"json": None}],
                max_line_bytes="4MiB")
    check_eq(len(docs), len(lines), "one document per line")

    check_eq(field(docs[0], "message"),
             '{"message":"cut here","level":"info"', "truncated line kept")
    check_eq(field(docs[0], "error.message"),
             "invalid JSON at byte offset 36: expected ',' or '}' after a "
             "member", "error.message of the truncated line")
    check_eq(field(docs[0], "tags"), "_parse_failure", "tags")

    check_eq(field(docs[1], "message"), "bad \ufffd byte", "invalid UTF-8")
    check_eq(field(docs[1], "k"), "\ufffd", "invalid UTF-8 value")
    check_eq(len(field(docs[2], "message")), 1024 * 1024, "1 MiB message")
    check_eq(field(docs[2], "n"), 1, "member after the 1 MiB string")

    check_eq(field(docs[3], "message"), "not json at all", "plain line")
    check_eq(field(docs[3], "tags"), "_parse_failure", "plain line tags")
    # The line's object and 31 below it are flattened into a.a...a (32
    # keys); the 4968 objects below those are kept as JSON text.
    deep = field(docs[4], ".".join(["a"] * 32))
    check_eq(deep, '{"a":' * 4968 + '1' + '}' * 4968,
             "subtree cut at max_depth")
    check_eq(field(docs[5], "b"), "[" * 100001 + "]" * 100001,
             "array nesting past max_depth kept as JSON text")


def test_logfmt_lines(scratch):
    docs = ship(scratch, "app.logfmt", fixture_bytes("app.logfmt"),
                [{"logfmt": None}])
    check_eq(len(docs), 4, "documents")
    logrus, gokit, heroku, prose = docs
    check_eq(field(logrus, "@timestamp"), "2026-03-01T10:00:00.000Z",
             "logrus @timestamp")
    check_eq(field(logrus, "message"), "Worker started", "logrus message")
    check_eq(field(logrus, "labels.queue"), "emails", "labels.queue")
    check_eq(field(logrus, "labels.concurrency"), "4", "labels.concurrency")
    check_eq(field(gokit, "log.level"), "error", "go-kit level")
    check_eq(field(gokit, "error.message"),
             "dial tcp 10.0.0.7:5432: connect: connection refused",
             "error.message")
    check_eq(field(gokit, "trace.id"), "4bf92f3577b34da6", "trace.id")
    check_eq(field(gokit, "http.request.id"), "req-17", "http.request.id")
    check_eq(field(gokit, "user.name"), "maria", "user.name")
    check_eq(field(gokit, "event.duration"), 1250000000, "event.duration")
    check_eq(field(heroku, "log.level"), "info", "heroku level")
    check_eq(field(heroku, "labels.path"), "/checkout", "labels.path")
    check_eq(field(heroku, "labels.status"), "201", "labels.status")
    check_eq(field(prose, "message"),
             "this line is plain prose without pairs", "prose message")
    check_eq(field(prose, "tags"), "_parse_failure", "prose tags")


TESTS = [
    test_escaped_characters_decoded_once,
    test_json_libraries,
    test_json_target_keeps_other_keys_apart,
    test_malformed_json_lines_kept,
    test_logfmt_lines,
]

if __name__ == "__main__":
    harness.main(TESTS)
