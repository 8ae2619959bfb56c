"""Elasticsearch faults scripted in the stand-in: only failed items are
resent, whole-request failures are retried, 413 splits the batch, a lost
reply is resolved by 409s, and a rejected document fails `--once`."""

import json
import os
import re
import time

import harness
from harness import check, check_eq, es_standin, field


def setup(scratch, count, faults=None, output=None, poison_at=None,
          **standin_args):
    """Write `count` app lines, start a stand-in with `faults`, write the
    configuration; return (standin, config, path, lines, expected)."""
    standin = scratch.standin(**standin_args)
    if faults:
        standin.set_faults(faults)
    lines, expected = harness.app_lines(count, seed=count)
    if poison_at is not None:
        lines[poison_at] += " POISON"
        expected[poison_at]["message"] = lines[poison_at]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    out = {"bulk_max_size": 1000}
    out.update(output or {})
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url, output=out)
    return standin, config, path, lines, expected


def item_ids(entry):
    return [item["id"] for item in entry["items"]]


def check_all_once(standin, path, lines, expected):
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())


def check_single_batch(log, count):
    check(len(log) >= 1, "no bulk request was sent")
    check_eq(len(log[0]["items"]), count,
             "items in the first request (the test needs one batch)")


def test_item_429_resends_only_those(scratch):
    standin, config, path, lines, expected = setup(scratch, 10, {
        "requests": [{"on": 1, "items": {"1": 429, "3": 429}}]})
    harness.run_once(scratch, config)
    log = standin.request_log()
    check_single_batch(log, 10)
    first = item_ids(log[0])
    check_eq([i["status"] for i in log[0]["items"]],
             [201, 429, 201, 429] + [201] * 6, "first request statuses")
    check_eq(len(log), 2, "bulk requests")
    check_eq(item_ids(log[1]), [first[1], first[3]],
             "ids of the resent request")
    check_eq([i["status"] for i in log[1]["items"]], [201, 201],
             "resent statuses")
    check_all_once(standin, path, lines, expected)


def whole_request_then_ok(scratch, status):
    standin, config, path, lines, expected = setup(scratch, 10, {
        "requests": [{"on": 1, "status": status}]})
    proc = harness.run_once(scratch, config)
    log = standin.request_log()
    check_single_batch(log, 10)
    check_eq([e["status"] for e in log], [status, 200], "request statuses")
    check_eq(item_ids(log[1]), item_ids(log[0]), "ids of the resend")
    check_eq([i["status"] for i in log[1]["items"]], [201] * 10,
             "resent statuses")
    check_all_once(standin, path, lines, expected)
    return proc


def test_whole_request_503_then_ok(scratch):
    whole_request_then_ok(scratch, 503)


def test_whole_request_429_then_ok(scratch):
    whole_request_then_ok(scratch, 429)


def test_whole_request_401_retried_and_logged(scratch):
    proc = whole_request_then_ok(scratch, 401)
    output = proc.stdout + proc.stderr
    check("401" in output, "the 401 is not logged: %s"
          % harness.tail(output))


def test_413_splits_batch(scratch):
    standin, config, path, lines, expected = setup(scratch, 40, {
        "requests": [{"on": 1, "status": 413}]})
    harness.run_once(scratch, config)
    log = standin.request_log()
    check_single_batch(log, 40)
    first = item_ids(log[0])
    check_eq(log[0]["status"], 413, "first status")
    check_eq(len(log), 3, "bulk requests")
    check_eq(sorted(item_ids(e) for e in log[1:]),
             sorted([first[:20], first[20:]]), "halves resent")
    check_all_once(standin, path, lines, expected)


def test_413_from_max_content_length(scratch):
    limit = 16 * 1024
    standin, config, path, lines, expected = setup(
        scratch, 80, max_content_length=limit)
    harness.run_once(scratch, config)
    log = standin.request_log()
    check(any(e["status"] == 413 for e in log),
          "no request exceeded %d bytes; statuses %s"
          % (limit, [e["status"] for e in log]))
    for entry in log:
        if entry["status"] == 200:
            check(entry["body_bytes"] <= limit, "request %d has %d bytes"
                  % (entry["n"], entry["body_bytes"]))
    check_all_once(standin, path, lines, expected)


def test_413_single_document_rejected(scratch):
    limit = 64 * 1024
    standin = scratch.standin(max_content_length=limit)
    lines = ["small line %d" % n for n in range(20)]
    lines[10] = "huge " + "y" * (100 * 1024)
    path = scratch.write("logs/big.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [{"id": "plain", "paths": [path]}], standin.url)
    proc = harness.run_once(scratch, config, expect_rc=1, timeout=60)
    docs = harness.documents(standin)
    check_eq(sorted(field(d, "message") for d in docs),
             sorted(l for n, l in enumerate(lines) if n != 10),
             "messages stored")
    output = proc.stdout + proc.stderr
    check("413" in output, "the 413 is not logged: %s"
          % harness.tail(output))


def test_lost_reply_resolved_by_409(scratch):
    standin, config, path, lines, expected = setup(scratch, 10, {
        "requests": [{"on": 1, "action": "close_after_index"}]})
    harness.run_once(scratch, config)
    log = standin.request_log()
    check_single_batch(log, 10)
    check_eq([e["outcome"] for e in log], ["closed", "answered"],
             "request outcomes")
    check_eq(item_ids(log[1]), item_ids(log[0]), "ids of the resend")
    check_eq([i["status"] for i in log[1]["items"]], [409] * 10,
             "resend statuses")
    check_all_once(standin, path, lines, expected)


def test_hung_request_times_out_and_is_resent(scratch):
    standin, config, path, lines, expected = setup(
        scratch, 10, {"requests": [{"on": 1, "action": "hang"}]},
        output={"timeout": "2s"})
    harness.run_once(scratch, config)
    log = standin.request_log()
    check_single_batch(log, 10)
    check_eq([e["outcome"] for e in log], ["hang", "answered"],
             "request outcomes")
    check_eq(item_ids(log[1]), item_ids(log[0]), "ids of the resend")
    check_eq([i["status"] for i in log[1]["items"]], [201] * 10,
             "resend statuses")
    check_all_once(standin, path, lines, expected)


def test_mapping_error_rejects_one_document(scratch):
    reason = "failed to parse field [url.path] of type [long]"
    standin, config, path, lines, expected = setup(scratch, 10, {
        "documents": [{"field": "message", "contains": "POISON",
                       "status": 400, "type": "mapper_parsing_exception",
                       "reason": reason}]}, poison_at=4)
    proc = harness.run_once(scratch, config, expect_rc=1)
    output = proc.stdout + proc.stderr
    check("mapper_parsing_exception" in output,
          "the error type is not logged: %s" % harness.tail(output))
    check(reason in output, "the reason is not logged: %s"
          % harness.tail(output))
    log = standin.request_log()
    poison = [i for e in log for i in e["items"] if i["status"] == 400]
    # Sent once as it is and once with url.path moved to labels.
    check_eq(len(poison), 2, "times the rejected document was sent")
    check_eq(poison[0]["id"], poison[1]["id"], "id of the resend")
    docs = harness.documents(standin)
    check_eq(len(docs), 9, "documents stored")
    check_eq(sorted(field(d, "message") for d in docs),
             sorted(l for n, l in enumerate(lines) if n != 4),
             "messages stored")
    sent = [i["id"] for e in log for i in e["items"]]
    check_eq(len(sent), 11, "items sent")
    records = []
    for name in sorted(os.listdir(scratch.join("data", "dlq"))):
        if name.endswith(".ndjson"):
            with open(scratch.join("data", "dlq", name)) as fp:
                records.extend(json.loads(line) for line in fp)
    check_eq(len(records), 1, "dead-letter records")
    document = records[0]["document"]
    check_eq(document["message"], lines[4], "dead-lettered message")
    check_eq(field(document, "url.path"), None, "url.path of the record")
    check_eq(document["labels"]["url_path_raw"], expected[4]["url.path"],
             "labels.url_path_raw of the record")
    check_eq(records[0]["error"]["reason"], reason, "reason of the record")


def test_standin_restart_loses_nothing(scratch):
    data = scratch.join("es-data")
    first = es_standin.StandIn(data_dir=data).start()
    scratch.defer(first.stop)
    port = first.port
    first.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                    "delay": 0.05}]})
    lines, expected = harness.app_lines(3000, seed=23)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [harness.app_input([path])], first.url,
        output={"bulk_max_size": 100})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(first.documents(harness.INDEX)) >= 200,
                       what="200 documents before the restart")
    first.stop()
    time.sleep(1.5)
    second = scratch.standin(port=port, data_dir=data)
    harness.wait_until(lambda: len(second.documents(harness.INDEX)) >=
                       len(lines), what="all lines after the restart")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_all_once(second, path, lines, expected)


def test_once_gives_up_after_shutdown_timeout(scratch):
    standin, config, _, _, _ = setup(scratch, 10, {
        "requests": [{"on": 1, "count": 10 ** 6, "status": 503}]})
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "app.log")])],
        standin.url, name="short.yml", **{"shutdown.timeout": "2s"})
    started = time.monotonic()
    proc = harness.run_once(scratch, config, expect_rc=1, timeout=30)
    took = time.monotonic() - started
    check(took < 10, "--once took %.1f s with shutdown.timeout 2s" % took)
    check(re.search(r"(?i)acknowledg|shutdown\.timeout|timed out",
                    proc.stderr),
          "no reason in the output: %s" % harness.tail(proc.stderr))
    check_eq(harness.documents(standin), [], "documents stored")
    check(len(standin.request_log()) >= 2, "the 503s were not retried")


TESTS = [
    test_item_429_resends_only_those,
    test_whole_request_503_then_ok,
    test_whole_request_429_then_ok,
    test_whole_request_401_retried_and_logged,
    test_413_splits_batch,
    test_413_from_max_content_length,
    test_413_single_document_rejected,
    test_lost_reply_resolved_by_409,
    test_hung_request_times_out_and_is_resent,
    test_mapping_error_rejects_one_document,
    test_standin_restart_loses_nothing,
    test_once_gives_up_after_shutdown_timeout,
]

if __name__ == "__main__":
    harness.main(TESTS)
