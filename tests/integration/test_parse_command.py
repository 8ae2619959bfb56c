"""`logferry parse`: the documents printed for lines on standard input
are the ones the agent ships, with the input's line stages, parsers,
fields and processors. Its exit status is 1 when a line matched no
parser."""

import json
import socket
import subprocess

import harness
from harness import check, check_eq

ACCESS_LINE = ('203.0.113.9 - alice [05/Mar/2024:07:08:09 +0100] '
               '"GET /api/tasks/42?full=1 HTTP/1.1" 200 512 '
               '"https://example.com/" "curl/8.5.0"')

JAVA_TRACE = [
    "2024-03-05 07:08:09,123 ERROR java.lang.IllegalStateException: no "
    "reward",
    "\tat com.example.Rewards.redeem(Rewards.java:42)",
    "\tat com.example.Api.handle(Api.java:7)",
    "2024-03-05 07:08:10,001 INFO next",
]


def parse(scratch, config, text, args=(), expect_rc=0):
    """Run `logferry parse -c CONFIG ARGS` on `text`; return the
    documents and standard error."""
    argv = [harness.logferry_path(), "parse", "-c", config] + list(args)
    proc = subprocess.run(argv, input=text, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30,
                          env=harness.agent_env(), cwd=scratch.path,
                          errors="replace")
    check_eq(proc.returncode, expect_rc,
             "exit status of parse (stderr: %s)" % proc.stderr.strip())
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    return docs, proc.stderr


def config_with(scratch, inputs):
    # Nothing listens on the output: parse never connects to it.
    return harness.write_config(scratch, inputs, "http://127.0.0.1:9")


def test_parse_prints_preset_document(scratch):
    config = config_with(scratch, [{
        "id": "web", "paths": [scratch.join("logs/*.log")],
        "fields": {"service.name": "tasks-api"},
        "parsers": [{"preset": "nginx"}]}])
    docs, err = parse(scratch, config, ACCESS_LINE + "\n")
    check_eq(len(docs), 1, "documents")
    doc = docs[0]
    check_eq(doc["host"], {"name": socket.gethostname()}, "host")
    check_eq(doc["agent"], {"type": "logferry",
                            "version": harness.agent_version()}, "agent")
    del doc["host"]
    del doc["agent"]
    check_eq(doc, {
        "@timestamp": "2024-03-05T06:08:09.000Z",
        "http": {"request": {"method": "GET", "referrer":
                             "https://example.com/"},
                 "response": {"body": {"bytes": 512}, "status_code": 200},
                 "version": "1.1"},
        "input": {"type": "filestream"},
        "log": {"offset": 0},
        "message": ACCESS_LINE,
        "service": {"name": "tasks-api"},
        "source": {"address": "203.0.113.9", "ip": "203.0.113.9"},
        "url": {"original": "/api/tasks/42?full=1", "path": "/api/tasks/42",
                "query": "full=1"},
        "user": {"name": "alice"},
        "user_agent": {"original": "curl/8.5.0"},
    }, "document")
    check_eq(err, "1 event, 0 matched no parser, 0 filtered out, 0 dropped by processors\n",
             "summary on stderr")


def test_parse_exits_1_on_unparsed_line(scratch):
    config = config_with(scratch, [{
        "id": "web", "paths": [scratch.join("logs/*.log")],
        "parsers": [{"preset": "nginx"}]}])
    # The last line has no newline: parse flushes it at the end of input.
    docs, err = parse(scratch, config, ACCESS_LINE + "\nnot an access line\n"
                      + ACCESS_LINE, expect_rc=1)
    check_eq([d["log"]["offset"] for d in docs],
             [0, len(ACCESS_LINE) + 1, len(ACCESS_LINE) + 20], "offsets")
    check_eq([d.get("tags") for d in docs],
             [None, ["_parse_failure"], None], "tags")
    check_eq(docs[1]["message"], "not an access line", "kept message")
    check_eq(err, "3 events, 1 matched no parser, 0 filtered out, 0 dropped by processors\n",
             "summary on stderr")


def test_parse_applies_multiline_and_filters(scratch):
    config = config_with(scratch, [{
        "id": "java", "paths": [scratch.join("logs/*.log")],
        "multiline": {"preset": "java"},
        "exclude_lines": ["INFO"]}])
    docs, err = parse(scratch, config, "\n".join(JAVA_TRACE) + "\n")
    check_eq(len(docs), 1, "documents")
    check_eq(docs[0]["message"], "\n".join(JAVA_TRACE[:3]), "joined trace")
    check_eq(docs[0]["log"]["flags"], ["multiline"], "log.flags")
    check_eq(err, "1 event, 0 matched no parser, 1 filtered out, 0 dropped by processors\n",
             "summary on stderr")


def test_parse_applies_processors(scratch):
    config = config_with(scratch, [{
        "id": "web", "paths": [scratch.join("logs/*.log")],
        "parsers": [{"preset": "nginx"}],
        "processors": [
            {"drop_event": {"when": {"equals": {"url.path": "/healthz"}}}},
            {"route_template": {}}]}])
    health = ACCESS_LINE.replace("/api/tasks/42?full=1", "/healthz")
    docs, err = parse(scratch, config, ACCESS_LINE + "\n" + health + "\n")
    check_eq(len(docs), 1, "documents")
    check_eq(docs[0]["labels"], {"http_route": "/api/tasks/{id}"}, "labels")
    check_eq(err, "1 event, 0 matched no parser, 0 filtered out, 1 dropped "
             "by processors\n", "summary on stderr")


def test_parse_selects_input_by_id(scratch):
    logs = scratch.join("logs/*.log")
    config = config_with(scratch, [
        {"id": "web", "paths": [logs], "parsers": [{"preset": "nginx"}]},
        {"id": "plain", "paths": [logs + ".x"]}])
    docs, _ = parse(scratch, config, "plain line\n", ["--input", "plain"])
    check_eq(docs[0]["message"], "plain line", "message")
    check("tags" not in docs[0], "no failure tag without parsers")

    argv = [harness.logferry_path(), "parse", "-c", config]
    for extra, message in [
            ([], "logferry: the configuration has 2 inputs; name one with "
                  "--input ID\n"),
            (["--input", "db"], "logferry: no input has the id 'db'; the "
                                "inputs are: web, plain\n")]:
        proc = subprocess.run(argv + extra, input="x\n", capture_output=True,
                              text=True, timeout=30, env=harness.agent_env())
        check_eq(proc.returncode, 2, "exit status for %s" % extra)
        check_eq(proc.stderr, message, "error for %s" % extra)
        check_eq(proc.stdout, "", "output for %s" % extra)


def test_parse_matches_shipped_documents(scratch):
    standin = scratch.standin()
    lines = [ACCESS_LINE, "garbage", ACCESS_LINE.replace("200", "503")]
    path = scratch.write("logs/access.log",
                         "".join(line + "\n" for line in lines))
    inputs = [{"id": "web", "paths": [path],
               "parsers": [{"preset": "nginx"}]}]
    config = harness.write_config(scratch, inputs, standin.url)
    harness.run_once(scratch, config)
    shipped = sorted(harness.documents(standin),
                     key=lambda d: d["log"]["offset"])
    with open(path, encoding="utf-8") as fp:
        printed, _ = parse(scratch, config, fp.read(), expect_rc=1)
    check_eq(len(shipped), 3, "shipped documents")
    for doc in shipped + printed:
        doc["log"].pop("file", None)
        if "tags" in doc:
            # Read time, different in the two runs.
            del doc["@timestamp"]
    check_eq(printed, shipped, "printed documents against shipped ones")


def test_parse_usage_errors(scratch):
    config = config_with(scratch, [{"id": "web",
                                    "paths": [scratch.join("*.log")]}])
    for args, message in [
            (["parse", "-c", config, "--once"],
             "logferry: --once cannot be combined with 'parse'\n"),
            (["-c", config, "--input", "web"],
             "logferry: --input applies only to 'parse'\n")]:
        proc = harness.run_agent(args)
        check_eq(proc.returncode, 2, "exit status of %s" % args)
        check_eq(proc.stderr, message, "error of %s" % args)


TESTS = [
    test_parse_prints_preset_document,
    test_parse_exits_1_on_unparsed_line,
    test_parse_applies_multiline_and_filters,
    test_parse_applies_processors,
    test_parse_selects_input_by_id,
    test_parse_matches_shipped_documents,
    test_parse_usage_errors,
]

if __name__ == "__main__":
    harness.main(TESTS)
