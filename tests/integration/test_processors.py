"""Processors through the real binary: documents shaped by input and
global processors, and dropped events that still move the registry so a
restart reads nothing twice and misses nothing."""

import json
import os
import re
import signal

import harness
from harness import check, check_eq, field

ROUTES = {
    "/api/rewards": "/api/rewards",
    "/api/rewards/1234": "/api/rewards/{id}",
    "/api/users/42/points": "/api/users/{user}/points",
    "/api/redeem": "/api/redeem",
    "/api/catalog/items": "/api/catalog/items",
}


def summary_count(output, key):
    """Return the value of `key=N` in the agent's last summary line."""
    found = re.findall(r"summary: .*\b%s=(\d+)" % re.escape(key), output)
    check(found, "no summary line with %s in the output: %s"
          % (key, harness.tail(output)))
    return int(found[-1])


def test_processors_shape_documents(scratch):
    standin = scratch.standin()
    lines, expected = harness.app_lines(300, seed=21)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    processors = [
        {"drop_event": {"when": {"equals": {"url.path": "/healthz"}}}},
        {"route_template": {"templates": ["/api/users/{user}/points"]}},
        {"add_tags": {"tags": ["web", "eu"]}},
        {"convert": {"fields": [{"from": "http.response.status_code",
                                 "to": "labels.status",
                                 "type": "string"}]}},
    ]
    config = harness.write_config(
        scratch, [harness.app_input([path], processors=processors)],
        standin.url,
        processors=[
            {"add_fields": {"target": "labels",
                            "fields": {"env": "test"}}},
            {"drop_fields": {"fields": ["transaction.id"]}},
        ])
    proc = harness.run_once(scratch, config)

    kept = [(line, exp) for line, exp in zip(lines, expected)
            if exp["url.path"] != "/healthz"]
    dropped = len(lines) - len(kept)
    check(dropped > 0, "no /healthz line in the sample")
    check_eq(summary_count(proc.stderr + proc.stdout, "dropped_processor"),
             dropped, "dropped_processor in the summary")

    docs = {field(d, "message"): d for d in harness.documents(standin)}
    check_eq(len(docs), len(kept), "documents")
    for line, exp in kept:
        doc = docs.get(line)
        check(doc is not None, "no document for line %r" % line)
        what = "document of %r" % line
        check_eq(field(doc, "labels.http_route"), ROUTES[exp["url.path"]],
                 "labels.http_route of the " + what)
        check_eq(field(doc, "tags"), ["web", "eu"], "tags of the " + what)
        check_eq(field(doc, "labels.status"),
                 str(exp["http.response.status_code"]),
                 "labels.status of the " + what)
        check_eq(field(doc, "http.response.status_code"),
                 exp["http.response.status_code"],
                 "http.response.status_code of the " + what)
        check_eq(field(doc, "labels.env"), "test", "labels.env of the "
                 + what)
        check_eq(field(doc, "transaction.id"), None,
                 "transaction.id of the " + what)
        check_eq(field(doc, "error.message"), None,
                 "error.message of the " + what)


def registry_offset(scratch, path):
    """Return the saved offset of `path`, or None before the first save."""
    try:
        with open(scratch.join("data", "registry.json")) as fp:
            registry = json.load(fp)
    except (OSError, ValueError):
        return None
    for entry in registry.get("files", []):
        if entry.get("path") == path:
            return entry.get("offset")
    return None


def seq_lines(first, count):
    return "".join("seq=%06d\n" % i for i in range(first, first + count))


def test_dropped_lines_advance_registry(scratch):
    """Drop every even line, the last one included, and SIGKILL once the
    registry stores the end of the file. After more lines are appended
    and the agent restarts, no line is sent twice and every odd line is
    indexed once."""
    standin = scratch.standin()
    # 1001 lines: the last, seq=001000, is dropped, so only the drop's
    # acknowledgement can move the offset to the end of the file.
    path = scratch.write("logs/seq.log", seq_lines(0, 1001))
    inputs = [{"id": "seq", "paths": [path],
               "processors": [{"drop_event": {"when": {"regexp": {
                   "message": "[02468]$"}}}}]}]
    config = harness.write_config(scratch, inputs, standin.url,
                                  **{"registry.flush": "100ms"})
    size = os.path.getsize(path)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       what="the registry offset to reach %d" % size)
    agent.check_running()
    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait()
    check_eq(len(standin.documents(harness.INDEX)), 500,
             "documents before the kill")

    scratch.append("logs/seq.log", seq_lines(1001, 999))
    proc = harness.run_once(scratch, config)
    check_eq(summary_count(proc.stderr + proc.stdout, "dropped_processor"),
             499, "dropped_processor of the second run")

    data = open(path, "rb").read()
    offsets = harness.line_offsets(data)
    odd = [offsets[i] for i in range(1, 2000, 2)]
    docs = standin.documents(harness.INDEX)
    check_eq(sorted(field(d["_source"], "log.offset") for d in docs), odd,
             "offsets stored")
    statuses = [i["status"] for r in standin.request_log()
                for i in r["items"]]
    check_eq(statuses.count(409), 0, "lines sent twice (409 replies)")
    check_eq(len(statuses), 1000, "items sent")
    check_eq(registry_offset(scratch, path), len(data),
             "registry offset after the second run")


def test_processor_config_error(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "x\n")
    inputs = [{"id": "app", "paths": [path],
               "processors": [{"convert": {"fields": [
                   {"from": "a", "type": "int"}]}}]}]
    config = harness.write_config(scratch, inputs, standin.url)
    proc = harness.run_once(scratch, config, expect_rc=2)
    check("inputs[0].processors[0].convert.fields[0].type: unknown type "
          "'int': expected integer, long, float, double, boolean, string "
          "or ip" in proc.stderr,
          "the error names the key and the valid types: %s"
          % harness.tail(proc.stderr))


TESTS = [
    test_processors_shape_documents,
    test_dropped_lines_advance_registry,
    test_processor_config_error,
]

if __name__ == "__main__":
    harness.main(TESTS)
