"""Bulk items: the index and routing of each, and what happens to the
rejected ones. A mixed bulk reply resends only its 429 items and
dead-letters the 400 one, mapping conflicts are resent with the field in
`labels`, the dead-letter queue is bounded, and `logferry dlq list` and
`dlq replay` read and resend it."""

import glob
import json
import os
import re

import harness
from harness import check, check_eq, field

SEQ_PATTERN = r"^seq=(?<seq>\d+) status=(?<status>\S+)$"

# Elasticsearch's reason for a new field in an index with dynamic: strict.
STRICT_REASON = ("[1:2] mapping set to strict, dynamic introduction of "
                 "[labels] within [_doc] is not allowed")


def seq_input(path):
    """Lines `seq=N status=S`, status mapped to an integer field."""
    return {"id": "seq", "paths": [path],
            "parsers": [{"regex": {"pattern": SEQ_PATTERN, "fields": {
                "status": {"field": "http.response.status_code",
                           "type": "integer"}}}}]}


def dlq_records(scratch):
    """Every record of the dead-letter files, in file order."""
    records = []
    pattern = scratch.join("data", "dlq", "elasticsearch-*.ndjson")
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as fp:
            records.extend(json.loads(line) for line in fp)
    return records


def summary(output):
    """The counters of the agent's summary line, as a dict of ints."""
    match = re.search(r"summary: (.*)", output)
    check(match is not None, "no summary line: %s" % harness.tail(output))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def by_message(docs):
    return {field(d, "message"): d for d in docs}


def test_mixed_reply_resends_only_429(scratch):
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "items": {"1": 400,
                                                         "3": 429}}]})
    lines = ["seq=1 status=200", "seq=2 status=-", "seq=3 status=404",
             "seq=4 status=503"]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [seq_input(path)], standin.url,
        output={"backoff.init": "1s", "backoff.max": "2s"})
    proc = harness.run_once(scratch, config, expect_rc=1)

    log = standin.request_log()
    check_eq(len(log), 2, "bulk requests")
    first = [item["id"] for item in log[0]["items"]]
    check_eq([i["status"] for i in log[0]["items"]], [201, 400, 201, 429],
             "statuses of request 1")
    check_eq([i["id"] for i in log[1]["items"]], [first[3]],
             "ids of request 2")
    check_eq([i["status"] for i in log[1]["items"]], [201],
             "statuses of request 2")

    docs = harness.documents(standin)
    check_eq(sorted(by_message(docs)), ["seq=1 status=200",
                                        "seq=3 status=404",
                                        "seq=4 status=503"],
             "messages stored")
    records = dlq_records(scratch)
    check_eq(len(records), 1, "dead-letter records")
    record = records[0]
    check_eq(record["document"]["message"], "seq=2 status=-",
             "dead-lettered message")
    check_eq(record["status"], 400, "dead-letter status")
    check_eq(record["error"]["type"], "mapper_parsing_exception",
             "dead-letter error type")
    check_eq(record["_id"], first[1], "dead-letter _id")
    check_eq(record["index"], harness.INDEX, "dead-letter index")
    check_eq(record["action"], "create", "dead-letter action")

    counts = summary(proc.stderr)
    check_eq(counts["indexed"], 3, "indexed")
    check_eq(counts["rejected"], 1, "rejected")
    check_eq(counts["rejected_mapping"], 1, "rejected_mapping")
    check_eq(counts["dead_lettered"], 1, "dead_lettered")
    check_eq(counts["relocated"], 0, "relocated")

    # The registry moved past all four lines: a second run sends nothing.
    harness.run_once(scratch, config)
    check_eq(len(standin.request_log()), 2, "bulk requests after a rerun")


def test_mixed_reply_with_409_after_lost_reply(scratch):
    standin = scratch.standin()
    standin.set_faults({"requests": [
        {"on": 1, "action": "close_after_index"},
        {"on": 2, "items": {
            "1": {"status": 400, "type": "strict_dynamic_mapping_exception",
                  "reason": STRICT_REASON},
            "3": 429}}]})
    lines = ["seq=%d status=200" % n for n in range(1, 5)]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [seq_input(path)], standin.url)
    proc = harness.run_once(scratch, config, expect_rc=1)

    log = standin.request_log()
    check_eq(len(log), 3, "bulk requests")
    ids = [i["id"] for i in log[0]["items"]]
    check_eq([e["outcome"] for e in log], ["closed", "answered", "answered"],
             "request outcomes")
    check_eq([i["id"] for i in log[1]["items"]], ids, "ids of request 2")
    check_eq([i["status"] for i in log[1]["items"]], [409, 400, 409, 429],
             "statuses of request 2")
    check_eq([i["id"] for i in log[2]["items"]], [ids[3]],
             "ids of request 3")
    check_eq([i["status"] for i in log[2]["items"]], [409],
             "statuses of request 3")
    records = dlq_records(scratch)
    check_eq([r["_id"] for r in records], [ids[1]], "dead-lettered ids")
    check_eq(records[0]["status"], 400, "dead-letter status")
    counts = summary(proc.stderr)
    check_eq(counts["indexed"], 0, "indexed")
    check_eq(counts["duplicates"], 3, "duplicates")
    check_eq(counts["rejected"], 1, "rejected")
    check_eq(counts["dead_lettered"], 1, "dead_lettered")
    check_eq(len(harness.documents(standin)), 4, "documents stored")


def code_input(input_id, path, kind):
    """Lines `seq=N code=C`, code sent as `http.response.status_code`
    of type `kind`, so two inputs can disagree on its mapping."""
    return {"id": input_id, "paths": [path], "parsers": [{"regex": {
        "pattern": r"^seq=(?<seq>\d+) code=(?<code>\S+)$",
        "fields": {"code": {"field": "http.response.status_code",
                            "type": kind}}}}]}


def test_mapping_conflict_resent_with_label(scratch):
    standin = scratch.standin()
    index = "app-conflicts"
    numbers = scratch.write("logs/numbers.log", "seq=1 code=200\n")
    words = scratch.join("logs", "words.log")
    config = harness.write_config(
        scratch, [code_input("numbers", numbers, "integer"),
                  code_input("words", words, "string")],
        standin.url, output={"index": index})
    harness.run_once(scratch, config)
    scratch.write("logs/words.log", "seq=2 code=abc\n")
    proc = harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq(len(log), 3, "bulk requests")
    check_eq([i["status"] for i in log[1]["items"]], [400],
             "status of the word document")
    check_eq(log[1]["items"][0]["error_type"], "document_parsing_exception",
             "error type of the word document")
    check_eq([i["id"] for i in log[2]["items"]],
             [log[1]["items"][0]["id"]], "ids of the resend")
    check_eq([i["status"] for i in log[2]["items"]], [201],
             "status of the resend")

    docs = by_message(harness.documents(standin, index))
    check_eq(sorted(docs), ["seq=1 code=200", "seq=2 code=abc"],
             "messages stored")
    moved = docs["seq=2 code=abc"]
    check_eq(field(moved, "http.response.status_code"), None,
             "conflicting field left in the document")
    check_eq(moved["labels"]["http_response_status_code_raw"], "abc",
             "labels.http_response_status_code_raw")
    message = field(moved, "error.message")
    check(message.startswith(
        "field [http.response.status_code] did not fit the index mapping "
        "and was moved to labels.http_response_status_code_raw: "
        "document_parsing_exception: [1:1] failed to parse field "
        "[http.response.status_code] of type [long]"),
        "error.message: %r" % message)
    check_eq(field(docs["seq=1 code=200"], "http.response.status_code"), 200,
             "status code of the number document")
    check_eq(dlq_records(scratch), [], "dead-letter records")
    counts = summary(proc.stderr)
    check_eq(counts["indexed"], 1, "indexed")
    check_eq(counts["relocated"], 1, "relocated")
    check_eq(counts["rejected"], 0, "rejected")


def strict_rule(marker):
    """A fault rule that always rejects the documents whose message
    contains `marker`, as an index with `dynamic: strict` does."""
    return {"field": "message", "contains": marker, "status": 400,
            "type": "strict_dynamic_mapping_exception",
            "reason": STRICT_REASON}


def dlq_command(scratch, config, verb, expect_rc):
    proc = harness.run_agent(["dlq", verb, "-c", config], cwd=scratch.path)
    check_eq(proc.returncode, expect_rc, "exit status of dlq %s (stderr: %s)"
             % (verb, harness.tail(proc.stderr)))
    return proc.stdout.splitlines()


def test_dlq_list_and_replay(scratch):
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("POISON")]})
    lines, _ = harness.app_lines(10, seed=5)
    for n, marker in ((2, "A"), (5, "B"), (7, "C")):
        lines[n] += " POISON-" + marker
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url)
    harness.run_once(scratch, config, expect_rc=1)
    check_eq(len(harness.documents(standin)), 7, "documents before replay")
    ids = {i["id"]: i for e in standin.request_log() for i in e["items"]
           if i["status"] == 400}

    listed = dlq_command(scratch, config, "list", 0)
    check_eq(len(listed), 4, "lines of dlq list")
    for line in listed[:3]:
        match = re.match(r"^\S+Z index=(\S+) status=(\d+) type=(\S+) "
                         r"_id=(\S+) reason=\"(.*)\"$", line)
        check(match is not None, "dlq list line: %r" % line)
        check_eq(match.group(1), harness.INDEX, "index listed")
        check_eq(match.group(2), "400", "status listed")
        check_eq(match.group(3), "strict_dynamic_mapping_exception",
                 "type listed")
        check(match.group(4) in ids, "_id listed: %s" % match.group(4))
        check_eq(match.group(5), STRICT_REASON, "reason listed")
    check(listed[3].startswith("3 records in 1 file under "),
          "summary line: %r" % listed[3])

    # One cause fixed: the record of POISON-C stays.
    standin.set_faults({"documents": [strict_rule("POISON-C")]})
    out = dlq_command(scratch, config, "replay", 1)
    check_eq(out[-1].split(";")[0], "replayed 3 records: indexed 2, already "
             "present 0, rejected again 1, unresolved 0", "replay summary")
    records = dlq_records(scratch)
    check_eq([r["document"]["message"] for r in records], [lines[7]],
             "record kept")

    standin.set_faults({})
    out = dlq_command(scratch, config, "replay", 0)
    check_eq(out[-1].split(";")[0], "replayed 1 records: indexed 1, already "
             "present 0, rejected again 0, unresolved 0", "second replay")
    check_eq(dlq_records(scratch), [], "records after the second replay")
    docs = harness.documents(standin)
    check_eq(sorted(field(d, "message") for d in docs), sorted(lines),
             "messages stored, each once")
    listed = dlq_command(scratch, config, "list", 0)
    check_eq(len(listed), 1, "lines of dlq list when empty")
    check(listed[0].startswith("0 records in 0 files"),
          "empty summary: %r" % listed[0])


def test_dlq_replay_keeps_unresolved(scratch):
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("POISON")]})
    path = scratch.write("logs/app.log", "seq=1 status=200 POISON\n")
    config = harness.write_config(scratch, [seq_input(path)], standin.url)
    harness.run_once(scratch, config, expect_rc=1)
    before = dlq_records(scratch)
    check_eq(len(before), 1, "records before replay")

    down = "http://127.0.0.1:%d" % harness.free_port()
    config = harness.write_config(scratch, [seq_input(path)], down,
                                  name="down.yml",
                                  **{"shutdown.timeout": "1s"})
    out = dlq_command(scratch, config, "replay", 1)
    check_eq(out[-1].split(";")[0], "replayed 1 records: indexed 0, already "
             "present 0, rejected again 0, unresolved 1", "replay summary")
    check_eq(dlq_records(scratch), before, "records after replay")


def test_dlq_replay_refused_while_agent_runs(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "")
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(
        lambda: os.path.exists(scratch.join("data", "dlq", ".lock")),
        what="the dead-letter lock file")
    proc = harness.run_agent(["dlq", "replay", "-c", config],
                             cwd=scratch.path)
    check_eq(proc.returncode, 1, "exit status of dlq replay")
    check("in use by another logferry process" in proc.stderr,
          "reason of the refusal: %s" % harness.tail(proc.stderr))
    check_eq(agent.stop(), 0, "exit status of the agent")


def test_dlq_bounded_by_max_bytes(scratch):
    limit = 64 * 1024
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("pad=")]})
    lines = ["seq=%03d status=500 pad=%s" % (n, "x" * 2000)
             for n in range(60)]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [seq_input(path)], standin.url,
        output={"dead_letter.max_bytes": "64KiB"})
    proc = harness.run_once(scratch, config, expect_rc=1)

    pattern = scratch.join("data", "dlq", "elasticsearch-*.ndjson")
    size = sum(os.path.getsize(p) for p in glob.glob(pattern))
    records = dlq_records(scratch)
    record_bytes = size // len(records)
    check(size <= limit, "queue of %d bytes over %d" % (size, limit))
    check(size > limit - 2 * record_bytes,
          "queue of %d bytes stopped early" % size)
    counts = summary(proc.stderr)
    check_eq(counts["rejected"], 60, "rejected")
    check_eq(counts["dead_lettered"], len(records), "dead_lettered")
    check_eq(counts["dead_letter_dropped"], 60 - len(records),
             "dead_letter_dropped")
    check("dead-letter queue full (dead_letter.max_bytes=65536)"
          in proc.stderr, "no log line for the full queue: %s"
          % harness.tail(proc.stderr))
    check_eq(sorted(r["document"]["message"] for r in records),
             lines[:len(records)], "records kept: the first ones")


def stamped_input(input_id, path, **extra):
    """Lines `TIMESTAMP TEXT`, the timestamp parsed into @timestamp."""
    spec = {"id": input_id, "paths": [path], "parsers": [{"regex": {
        "pattern": r"^(?<ts>\S+) (?<text>.*)$",
        "fields": {"ts": {"field": "@timestamp", "type": "timestamp"}}}}]}
    spec.update(extra)
    return spec


def test_index_date_pattern_in_utc(scratch):
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1,
                                      "action": "close_after_index"}]})
    lines = ["2026-03-01T23:59:59.900Z a", "2026-03-02T00:00:00.100Z b",
             "2026-03-02T01:00:00+02:00 c"]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [stamped_input("app", path)], standin.url,
        output={"index": "app-%{+yyyy.MM.dd}"})
    harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq(len(log), 2, "bulk requests")
    check_eq(log[0]["path"], "/_bulk", "request path")
    check_eq([i["action"] for i in log[0]["items"]], ["index"] * 3,
             "actions")
    check_eq([i["index"] for i in log[0]["items"]],
             ["app-2026.03.01", "app-2026.03.02", "app-2026.03.01"],
             "index of each item")
    # The reply was lost after indexing: `index` overwrites the same _id.
    check_eq([i["id"] for i in log[1]["items"]],
             [i["id"] for i in log[0]["items"]], "ids of the resend")
    check_eq([i["status"] for i in log[1]["items"]], [200] * 3,
             "statuses of the resend")
    first = sorted(field(d, "message")
                   for d in harness.documents(standin, "app-2026.03.01"))
    second = [field(d, "message")
              for d in harness.documents(standin, "app-2026.03.02")]
    check_eq(first, [lines[0], lines[2]], "documents of app-2026.03.01")
    check_eq(second, [lines[1]], "documents of app-2026.03.02")


def test_index_from_field_with_fallback(scratch):
    standin = scratch.standin()
    named = scratch.write("logs/named.log",
                          "2026-03-01T10:00:00Z one\n"
                          "2026-03-01T10:00:01Z two\n")
    bare = scratch.write("logs/bare.log", "2026-03-01T10:00:02Z three\n")
    config = harness.write_config(
        scratch,
        [stamped_input("named", named,
                       fields={"service.name": "Rewards API"}),
         stamped_input("bare", bare)],
        standin.url,
        output={"index": "logs-%{[service.name]}-default",
                "index_fallback": "logs-unknown-default",
                "routing": "%{[service.name]}"})
    harness.run_once(scratch, config)

    items = [i for e in standin.request_log() for i in e["items"]]
    check_eq(sorted((i["index"], i["routing"], i["action"]) for i in items),
             [("logs-rewards_api-default", "Rewards API", "create"),
              ("logs-rewards_api-default", "Rewards API", "create"),
              ("logs-unknown-default", None, "create")],
             "index, routing and action of each item")
    named_docs = standin.documents("logs-rewards_api-default")
    check_eq(sorted(field(d["_source"], "message") for d in named_docs),
             ["2026-03-01T10:00:00Z one", "2026-03-01T10:00:01Z two"],
             "documents of logs-rewards_api-default")
    check(all(d["_index"].startswith(".ds-logs-rewards_api-default-")
              for d in named_docs), "backing index: %s" % named_docs)
    check_eq([field(d, "message")
              for d in harness.documents(standin, "logs-unknown-default")],
             ["2026-03-01T10:00:02Z three"],
             "documents of logs-unknown-default")


TESTS = [
    test_mixed_reply_resends_only_429,
    test_mixed_reply_with_409_after_lost_reply,
    test_index_date_pattern_in_utc,
    test_index_from_field_with_fallback,
    test_mapping_conflict_resent_with_label,
    test_dlq_list_and_replay,
    test_dlq_replay_keeps_unresolved,
    test_dlq_replay_refused_while_agent_runs,
    test_dlq_bounded_by_max_bytes,
]

if __name__ == "__main__":
    harness.main(TESTS)
