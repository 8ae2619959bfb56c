"""Bulk items: the index and routing of each, and what happens to the
rejected ones. A mixed bulk reply resends only its 429 items and
dead-letters the 400 one, mapping conflicts are resent with the field in
`labels`, the dead-letter queue is bounded, and `logferry dlq list` and
`dlq replay` read and resend it."""

import glob
import json
import os
import re
import signal
import subprocess
import sys

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


def test_index_name_rejected_goes_to_fallback(scratch):
    # Only ASCII capitals are lowered; Elasticsearch rejects the name of
    # the second line, which then goes to index_fallback.
    standin = scratch.standin()
    lines = ["2026-03-01T10:00:00Z caf\u00e9",
             "2026-03-01T10:00:01Z \u00c9t\u00e9"]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    spec = stamped_input("app", path)
    spec["parsers"][0]["regex"]["fields"]["text"] = "service.name"
    config = harness.write_config(
        scratch, [spec], standin.url,
        output={"index": "app-%{[service.name]}",
                "index_fallback": "app-other"})
    proc = harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq(len(log), 2, "bulk requests")
    check_eq([(i["index"], i["status"]) for i in log[0]["items"]],
             [("app-caf\u00e9", 201), ("app-\u00c9t\u00e9", 400)],
             "items of request 1")
    check_eq(log[0]["items"][1]["error_type"], "invalid_index_name_exception",
             "error type of the rejected name")
    check_eq([(i["index"], i["status"], i["id"]) for i in log[1]["items"]],
             [("app-other", 201, log[0]["items"][1]["id"])],
             "items of request 2")
    check_eq([field(d, "message")
              for d in harness.documents(standin, "app-other")],
             [lines[1]], "documents of app-other")
    check_eq(dlq_records(scratch), [], "dead-letter records")
    counts = summary(proc.stderr)
    check_eq(counts["indexed"], 2, "indexed")
    check_eq(counts["relocated"], 1, "relocated")
    check_eq(counts["rejected"], 0, "rejected")


def test_rejected_item_logged_with_its_index(scratch):
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("POISON")]})
    path = scratch.write("logs/app.log", "2026-03-01T10:00:00Z POISON\n")
    config = harness.write_config(
        scratch, [stamped_input("app", path)], standin.url,
        output={"index": "app-%{+yyyy.MM}"})
    proc = harness.run_once(scratch, config, expect_rc=1)
    rejected = [l for l in proc.stderr.splitlines()
                if "document rejected: strict_dynamic_mapping_exception" in l]
    check_eq(len(rejected), 1, "log lines of the rejected document")
    check(" index=app-2026.03 host=" in rejected[0],
          "index in the log line: %s" % rejected[0])
    check_eq([r["index"] for r in dlq_records(scratch)], ["app-2026.03"],
             "index of the dead-letter record")


def error_input(input_id, path, target):
    """Lines `seq=N err=E ...`, E stored in the field `target`."""
    return {"id": input_id, "paths": [path], "parsers": [{"regex": {
        "pattern": r"^seq=(?<seq>\d+) err=(?<err>\S+)",
        "fields": {"err": {"field": target, "type": "string"}}}}]}


def test_mapping_conflict_on_error_field(scratch):
    # `error` is an object in the mapping (ECS), and a log line sets it
    # to text. The line also contains a NUL byte, sent as \u0000.
    standin = scratch.standin()
    index = "app-errors"
    ecs = scratch.write("logs/ecs.log", "seq=1 err=timeout\n")
    plain = scratch.join("logs", "plain.log")
    config = harness.write_config(
        scratch, [error_input("ecs", ecs, "error.message"),
                  error_input("plain", plain, "error")],
        standin.url, output={"index": index})
    harness.run_once(scratch, config)
    scratch.write("logs/plain.log", b"seq=2 err=reset \x00 end\n", "wb")
    proc = harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq(len(log), 3, "bulk requests")
    check_eq([i["status"] for i in log[1]["items"]], [400],
             "status of the text error")
    check_eq([i["status"] for i in log[2]["items"]], [201],
             "status of the resend")
    docs = by_message(harness.documents(standin, index))
    check_eq(sorted(docs), ["seq=1 err=timeout", "seq=2 err=reset \x00 end"],
             "messages stored")
    moved = docs["seq=2 err=reset \x00 end"]
    check_eq(moved["labels"], {"error_raw": "reset"}, "labels")
    check(field(moved, "error.message").startswith(
        "field [error] did not fit the index mapping and was moved to "
        "labels.error_raw: document_parsing_exception: [1:1] object "
        "mapping for [error] tried to parse field [error] as object"),
        "error.message: %r" % field(moved, "error.message"))
    check_eq(dlq_records(scratch), [], "dead-letter records")
    counts = summary(proc.stderr)
    check_eq(counts["relocated"], 1, "relocated")
    check_eq(counts["rejected"], 0, "rejected")


def test_metadata_field_moved_to_labels(scratch):
    # JSON logs of MongoDB documents carry `_id`, which Elasticsearch
    # takes only as a request parameter.
    standin = scratch.standin()
    line = json.dumps({"_id": "64f1c2", "message": "saved"})
    path = scratch.write("logs/app.log", line + "\n")
    config = harness.write_config(
        scratch, [{"id": "json", "paths": [path],
                   "parsers": [{"json": {}}]}], standin.url)
    proc = harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq(len(log), 2, "bulk requests")
    first = log[0]["items"][0]
    check_eq((first["status"], first["error_type"]),
             (400, "document_parsing_exception"), "first attempt")
    check_eq(log[1]["items"][0]["status"], 201, "status of the resend")
    docs = harness.documents(standin)
    check_eq(len(docs), 1, "documents stored")
    check_eq(docs[0]["labels"], {"_id_raw": "64f1c2"}, "labels")
    check_eq(docs[0].get("_id"), None, "_id left in the source")
    check_eq(summary(proc.stderr)["relocated"], 1, "relocated")


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


def test_dlq_replay_record_with_nul(scratch):
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("POISON")]})
    line = "seq=1 status=200 POISON \x00 end"
    path = scratch.write("logs/app.log", (line + "\n").encode(), "wb")
    config = harness.write_config(scratch, [seq_input(path)], standin.url)
    harness.run_once(scratch, config, expect_rc=1)
    records = dlq_records(scratch)
    check_eq([r["document"]["message"] for r in records], [line],
             "record written")

    listed = dlq_command(scratch, config, "list", 0)
    check_eq(len(listed), 2, "lines of dlq list")
    check(listed[0].endswith(" status=400 type=strict_dynamic_mapping_"
                             "exception _id=%s reason=\"%s\""
                             % (records[0]["_id"], STRICT_REASON)),
          "dlq list line: %r" % listed[0])
    standin.set_faults({})
    out = dlq_command(scratch, config, "replay", 0)
    check_eq(out[-1].split(";")[0], "replayed 1 records: indexed 1, already "
             "present 0, rejected again 0, unresolved 0", "replay summary")
    check_eq([field(d, "message") for d in harness.documents(standin)],
             [line], "message stored")


# Runs argv[1:], copies its stdout, then prints the peak RSS of that one
# child in KiB: RUSAGE_CHILDREN of a fresh process covers it alone.
RSS_PROBE = ("import resource, subprocess, sys\n"
             "out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
             "sys.stdout.write(out.stdout.decode(errors='replace'))\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def test_dlq_list_memory_of_large_queue(scratch):
    record = {"time": "2026-03-01T10:00:00.123Z", "index": harness.INDEX,
              "_id": "", "action": "create", "status": 400,
              "error": {"type": "strict_dynamic_mapping_exception",
                        "reason": STRICT_REASON},
              "document": {"@timestamp": "2026-03-01T10:00:00.000Z",
                           "message": "GET /api/users/7 200 " + "x" * 200,
                           "http": {"response": {"status_code": 200}},
                           "log": {"file": {"path": "/var/log/app.log"},
                                   "offset": 0}}}
    lines = []
    for n in range(40000):
        record["_id"] = "f-%d" % n
        lines.append(json.dumps(record, separators=(",", ":")))
    queue = "".join(l + "\n" for l in lines)

    scratch.write("data/dlq/elasticsearch-20260301T100000.000000000-1.ndjson",
                  queue)
    path = scratch.join("logs", "app.log")
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  "http://127.0.0.1:9")
    # AddressSanitizer would keep freed memory in quarantine.
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"ASAN_OPTIONS": (asan + ":" if asan else "") +
           "quarantine_size_mb=1"}
    proc = harness.run_agent(["dlq", "list", "-c", config], cwd=scratch.path,
                             env=env,
                             prefix=[sys.executable, "-c", RSS_PROBE])

    out = proc.stdout.splitlines()
    check_eq(len(out), 40002, "lines of dlq list and the RSS line")
    check(out[-2].startswith("40000 records in 1 file under "),
          "summary line: %r" % out[-2])
    check(out[-3].endswith(" _id=f-39999 reason=\"%s\"" % STRICT_REASON),
          "last record: %r" % out[-3])
    # Parsed with jansson all at once, the records took 10 times their
    # text; read one at a time, the text and its index dominate.
    peak_mib = int(out[-1]) / 1024
    queue_mib = len(queue) / (1 << 20)
    check(peak_mib < 4 * queue_mib,
          "dlq list peaked at %.0f MiB for a %.0f MiB queue"
          % (peak_mib, queue_mib))


STRACE = "/usr/bin/strace"


def test_dlq_new_file_synced_with_folder(scratch):
    # fdatasync() makes a record durable, but the name of a new file
    # survives a power loss only once its folder is fsynced as well.
    check(os.access(STRACE, os.X_OK), "%s is missing: install the Debian "
          "package strace" % STRACE)
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("POISON")]})
    path = scratch.write("logs/app.log", "seq=1 status=200 POISON\n")
    config = harness.write_config(scratch, [seq_input(path)], standin.url)
    trace = scratch.join("trace.txt")
    # LeakSanitizer cannot run under ptrace.
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"}
    harness.run_once(scratch, config, expect_rc=1, env=env,
                     prefix=[STRACE, "-f", "-qq", "-o", trace, "-e",
                             "trace=openat,fsync,fdatasync"])

    dlq = scratch.join("data", "dlq")
    with open(trace, encoding="utf-8") as fp:
        calls = [re.sub(r"\s+", " ", re.sub(r"^\d+\s+", "", line.strip()))
                 for line in fp]
    opened = [c for c in calls
              if c.startswith('openat(AT_FDCWD, "%s/elasticsearch-' % dlq)]
    check_eq(len(opened), 1, "queue files created: %s" % opened)
    file_fd = opened[0].rsplit("= ", 1)[1]
    folder = [c for c in calls[calls.index(opened[0]):]
              if c.startswith('openat(AT_FDCWD, "%s", O_RDONLY' % dlq)
              and "O_DIRECTORY" in c]
    check_eq(len(folder), 1, "folder opened after the file: %s" % folder)
    folder_fd = folder[0].rsplit("= ", 1)[1]

    after = calls[calls.index(opened[0]):]
    check("fdatasync(%s) = 0" % file_fd in after, "no fdatasync of the file")
    check("fsync(%s) = 0" % folder_fd in after[after.index(folder[0]):],
          "no fsync of the folder")
    check_eq(len(dlq_records(scratch)), 1, "dead-letter records")


def test_dlq_replay_after_sigkill(scratch):
    standin = scratch.standin()
    standin.set_faults({"documents": [strict_rule("POISON")]})
    lines = ["seq=%d status=200 POISON" % n for n in range(40)]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [seq_input(path)], standin.url,
                                  output={"bulk_max_size": 10})
    harness.run_once(scratch, config, expect_rc=1)
    check_eq(len(dlq_records(scratch)), 40, "records before replay")

    # The second request of the replay hangs; the replay is killed then.
    standin.set_faults({"requests": [{"on": 2, "action": "hang"}]})
    sent = len(standin.request_log())
    with open(scratch.join("replay.stderr"), "wb") as err:
        proc = subprocess.Popen(
            [harness.logferry_path(), "dlq", "replay", "-c", config],
            stdout=subprocess.DEVNULL, stderr=err, cwd=scratch.path,
            env=harness.agent_env())
    scratch.defer(lambda: proc.poll() is None and proc.kill())
    harness.wait_until(lambda: len(standin.request_log()) >= sent + 2,
                       what="two replay requests")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = len(harness.documents(standin))
    check(stored >= 10, "documents stored before the kill: %d" % stored)
    check_eq(len(dlq_records(scratch)), 40, "records after the kill")

    standin.set_faults({})
    out = dlq_command(scratch, config, "replay", 0)
    check_eq(out[-1].split(";")[0], "replayed 40 records: indexed %d, "
             "already present %d, rejected again 0, unresolved 0"
             % (40 - stored, stored), "replay summary")
    check_eq(dlq_records(scratch), [], "records after the second replay")
    check_eq(sorted(field(d, "message") for d in harness.documents(standin)),
             sorted(lines), "messages stored, each once")


def test_dlq_list_escapes_control_characters(scratch):
    record = {"time": "2026-03-01T10:00:00.000Z", "index": "logs-a-b",
              "_id": "a-1", "action": "create", "status": 400,
              "error": {"type": "mapper_parsing_exception",
                        "reason": "bad \x1b[31mred\x1b[0m \u009b2J value"},
              "document": {"message": "m"}}
    lines = [json.dumps(record).encode(), b"\x1b[2J\xff{garb\\age",
             b"[1,2]", b"g" * 300]
    scratch.write("data/dlq/elasticsearch-20260301T100000.000000000-1.ndjson",
                  b"".join(l + b"\n" for l in lines), "wb")
    path = scratch.join("logs", "app.log")
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  "http://127.0.0.1:9")
    listed = dlq_command(scratch, config, "list", 0)
    check_eq(listed[:4], [
        "2026-03-01T10:00:00.000Z index=logs-a-b status=400 "
        "type=mapper_parsing_exception _id=a-1 "
        "reason=\"bad \\x1b[31mred\\x1b[0m \\xc2\\x9b2J value\"",
        "invalid record of 14 bytes: \\x1b[2J\\xff{garb\\\\age",
        "invalid record of 5 bytes: [1,2]",
        "invalid record of 300 bytes: " + "g" * 200 + "..."],
        "records listed")
    check(listed[4].startswith("4 records in 1 file under "),
          "summary line: %r" % listed[4])


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
    test_index_name_rejected_goes_to_fallback,
    test_rejected_item_logged_with_its_index,
    test_mapping_conflict_resent_with_label,
    test_mapping_conflict_on_error_field,
    test_metadata_field_moved_to_labels,
    test_dlq_list_and_replay,
    test_dlq_replay_record_with_nul,
    test_dlq_list_memory_of_large_queue,
    test_dlq_new_file_synced_with_folder,
    test_dlq_list_escapes_control_characters,
    test_dlq_replay_after_sigkill,
    test_dlq_replay_keeps_unresolved,
    test_dlq_replay_refused_while_agent_runs,
    test_dlq_bounded_by_max_bytes,
]

if __name__ == "__main__":
    harness.main(TESTS)
