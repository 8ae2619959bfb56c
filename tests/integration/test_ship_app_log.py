"""Ship an application log parsed by the regex parser with `--once`."""

import datetime
import os
import shutil

import harness
from harness import INDEX, check, check_eq, field

UNMATCHED = [
    "this line has no timestamp and matches nothing",
    "2026-03-01T10:00:00Z INFO missing the transaction part",
]


def write_app_log(scratch, count, seed=1):
    """Write app lines with two unmatched lines mixed in. Returns
    (path, lines, expected), where expected[i] is None for an unmatched
    line."""
    lines, expected = harness.app_lines(count, seed)
    lines.insert(7, UNMATCHED[0])
    expected.insert(7, None)
    lines.insert(count // 2, UNMATCHED[1])
    expected.insert(count // 2, None)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    return path, lines, expected


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ") \
        .replace(tzinfo=datetime.timezone.utc)


def test_once_ships_every_line(scratch):
    standin = scratch.standin()
    path, lines, expected = write_app_log(scratch, 300)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    before = datetime.datetime.now(datetime.timezone.utc)
    harness.run_once(scratch, config)
    after = datetime.datetime.now(datetime.timezone.utc)
    version = harness.agent_version()

    docs = harness.documents(standin)
    check_eq(len(docs), len(lines), "documents stored")
    found = harness.by_offset(docs)
    offset = 0
    for line, exp in zip(lines, expected):
        doc = found.get((path, offset))
        check(doc is not None, "no document for offset %d (%r)"
              % (offset, line))
        harness.check_common(doc, path, offset, version,
                             {"service.name": "rewards-api",
                              "message": line})
        if exp is None:
            check_eq(doc.get("tags"), ["_parse_failure"],
                     "tags of unmatched line %r" % line)
            check_eq(field(doc, "log.level"), None,
                     "log.level of unmatched line")
            stamp = parse_iso(field(doc, "@timestamp"))
            check(before - datetime.timedelta(seconds=1) <= stamp <=
                  after + datetime.timedelta(seconds=1),
                  "read-time @timestamp %s outside the run [%s, %s]"
                  % (stamp, before, after))
        else:
            harness.check_fields(doc, exp, "offset %d" % offset)
            check_eq(field(doc, "tags"), None, "tags at offset %d" % offset)
        offset += len(line.encode()) + 1


def test_error_docs_found_by_term_query(scratch):
    standin = scratch.standin()
    _, lines, expected = write_app_log(scratch, 200, seed=7)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config)
    wanted = sorted(e["transaction.id"] for e in expected
                    if e and e["log.level"] == "error")
    check(len(wanted) >= 10, "too few error lines generated: %d"
          % len(wanted))
    status, reply = harness.http_json(
        standin.url + "/%s/_search" % INDEX, "POST",
        {"query": {"term": {"log.level": "error"}}, "size": 1000})
    check_eq(status, 200, "search status")
    check_eq(reply["hits"]["total"]["value"], len(wanted), "error hits")
    got = sorted(field(h["_source"], "transaction.id")
                 for h in reply["hits"]["hits"])
    check_eq(got, wanted, "transaction ids of error documents")
    status, reply = harness.http_json(
        standin.url + "/%s/_count" % INDEX, "POST",
        {"query": {"term": {"tags": "_parse_failure"}}})
    check_eq(reply["count"], 2, "documents tagged _parse_failure")


def test_bulk_requests_are_well_formed(scratch):
    standin = scratch.standin()
    write_app_log(scratch, 120)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url, output={"bulk_max_size": 50})
    harness.run_once(scratch, config)
    log = standin.request_log()
    check(len(log) >= 3, "122 documents in batches of at most 50 need 3 "
          "requests, saw %d" % len(log))
    for entry in log:
        what = "request %d" % entry["n"]
        # Both forms are valid: the index in the path or in each action.
        check(entry["path"] in ("/_bulk", "/%s/_bulk" % INDEX),
              "%s path: expected /_bulk or /%s/_bulk, got %s"
              % (what, INDEX, entry["path"]))
        check_eq(entry["query"].get("filter_path"),
                 "errors,items.*.error,items.*.status",
                 what + " filter_path")
        check_eq(entry["content_type"].split(";")[0],
                 "application/x-ndjson", what + " Content-Type")
        check_eq(entry["gzip"], True, what + " gzip")
        check_eq(entry["status"], 200, what + " status")
        check(len(entry["items"]) <= 50, what + " carries %d items"
              % len(entry["items"]))
        for item in entry["items"]:
            check_eq((item["action"], item["index"], item["status"]),
                     ("create", INDEX, 201), what + " item")
    ids = [i["id"] for e in log for i in e["items"]]
    check_eq(len(ids), 122, "items sent")
    check_eq(len(set(ids)), 122, "distinct ids")


def test_ids_are_deterministic(scratch):
    write_app_log(scratch, 60)
    runs = []
    for run in range(2):
        standin = scratch.standin()
        config = harness.write_config(
            scratch, [harness.app_input([scratch.join("logs", "*.log")])],
            standin.url, name="run%d.yml" % run,
            **{"path.data": scratch.join("data%d" % run)})
        harness.run_once(scratch, config)
        runs.append({field(d["_source"], "log.offset"): d["_id"]
                     for d in standin.documents(INDEX)})
    check_eq(len(runs[0]), 62, "documents of the first run")
    check_eq(runs[1], runs[0], "offset to _id of two fresh runs")


def test_uncompressed_bodies(scratch):
    standin = scratch.standin()
    write_app_log(scratch, 20)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url, output={"compression": "none"})
    harness.run_once(scratch, config)
    log = standin.request_log()
    check_eq([e["gzip"] for e in log], [False] * len(log), "gzip flags")
    check_eq(len(harness.documents(standin)), 22, "documents")


def test_preserve_original_event(scratch):
    standin = scratch.standin()
    path, lines, _ = write_app_log(scratch, 10)
    config = harness.write_config(
        scratch, [harness.app_input([path],
                                    preserve_original_event=True)],
        standin.url)
    harness.run_once(scratch, config)
    docs = sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))
    check_eq([field(d, "event.original") for d in docs], lines,
             "event.original of every document")


def test_input_fields_nested_and_dotted(scratch):
    standin = scratch.standin()
    path, lines, _ = write_app_log(scratch, 5)
    config = harness.write_config(
        scratch, [harness.app_input(
            [path], fields={"service": {"name": "rewards-api",
                                        "version": "2.4.1"},
                            "labels.env": "staging",
                            "labels.team": "loyalty"})],
        standin.url)
    harness.run_once(scratch, config)
    docs = harness.documents(standin)
    check_eq(len(docs), len(lines), "documents")
    for doc in docs:
        harness.check_fields(doc, {
            "service.name": "rewards-api", "service.version": "2.4.1",
            "labels.env": "staging", "labels.team": "loyalty"},
            "offset %s" % field(doc, "log.offset"))
        check_eq(sorted(doc["labels"]), ["env", "team"], "labels object")


def test_many_files_one_input(scratch):
    standin = scratch.standin()
    files = {}
    for n in range(60):
        lines, _ = harness.app_lines(15, seed=100 + n)
        path = scratch.write("logs/part-%02d.log" % n,
                             "".join(l + "\n" for l in lines))
        files[path] = lines
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config)
    got = {}
    for doc in harness.documents(standin):
        got.setdefault(field(doc, "log.file.path"), []).append(
            (field(doc, "log.offset"), field(doc, "message")))
    check_eq(sorted(got), sorted(files), "files shipped")
    for path, lines in files.items():
        data = "".join(l + "\n" for l in lines).encode()
        check_eq(sorted(got[path]),
                 list(zip(harness.line_offsets(data), lines)),
                 "documents of %s" % os.path.basename(path))


def test_exclude_files_skips_matches(scratch):
    standin = scratch.standin()
    kept, _ = harness.app_lines(20, seed=71)
    skipped, _ = harness.app_lines(20, seed=72, first=100)
    live = scratch.write("logs/app.log", "".join(l + "\n" for l in kept))
    scratch.write("logs/app.log.1.gz", "".join(l + "\n" for l in skipped))
    scratch.write("logs/archive/old.log", "".join(l + "\n" for l in skipped))
    config = harness.write_config(
        scratch, [harness.app_input(
            [scratch.join("logs", "*"), scratch.join("logs", "*", "*.log")],
            exclude_files=["\\.gz$", "/archive/"])],
        standin.url)
    harness.run_once(scratch, config)
    docs = harness.documents(standin)
    check_eq({field(d, "log.file.path") for d in docs}, {live},
             "files shipped")
    check_eq(sorted(field(d, "message") for d in docs), sorted(kept),
             "messages")


def test_once_ships_file_larger_than_queue(scratch):
    # 20,000 lines in batches of 500 make far more batches than the
    # output keeps at once, so reading must resume as batches complete.
    standin = scratch.standin()
    lines, expected = harness.app_lines(20000, seed=12)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"bulk_max_size": 500})
    harness.run_once(scratch, config, timeout=120)
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())
    sizes = [len(e["items"]) for e in standin.request_log()]
    check_eq(sum(sizes), 20000, "items sent")
    check(max(sizes) <= 500, "a request carried %d items" % max(sizes))


def test_batches_respect_bulk_max_bytes(scratch):
    standin = scratch.standin()
    lines = ["%03d %s" % (n, chr(ord("a") + n % 26) * 300 * 1024)
             for n in range(12)]
    path = scratch.write("logs/wide.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [{"id": "plain", "paths": [path]}], standin.url,
        output={"bulk_max_bytes": "1MiB"})
    harness.run_once(scratch, config)
    check_eq(sorted(field(d, "message")
                    for d in harness.documents(standin)), lines,
             "messages stored")
    log = standin.request_log()
    check(len(log) >= 4, "12 documents of 300 KiB need at least 4 "
          "requests of 1 MiB, saw %d" % len(log))
    for entry in log:
        check(entry["body_bytes"] <= 1024 * 1024 or len(entry["items"]) == 1,
              "request %d has %d bytes in %d items"
              % (entry["n"], entry["body_bytes"], len(entry["items"])))


def test_bundled_examples(scratch):
    standin = scratch.standin()
    examples = os.path.join(harness.SOURCE_ROOT, "examples")
    shutil.copytree(os.path.join(examples, "logs"), scratch.join("logs"))
    config = shutil.copy(os.path.join(examples, "logferry.yml"),
                         scratch.path)
    harness.run_once(scratch, config, env={"ES_URL": standin.url})

    docs = harness.documents(standin)
    per_service = {}
    for name in ("app.log", "nginx-access.log"):
        with open(scratch.join("logs", name)) as fp:
            lines = fp.read().splitlines()
        path = os.path.join("logs", name)
        mine = [d for d in docs
                if field(d, "log.file.path") in (path, scratch.join(path))]
        check_eq(len(mine), len(lines), "documents from %s" % name)
        check_eq([d for d in mine if d.get("tags")], [],
                 "tagged documents from %s" % name)
        per_service[name] = {field(d, "service.name") for d in mine}
        statuses = sorted(field(d, "http.response.status_code")
                          for d in mine)
        want = sorted(int(l.split('"')[2].split()[0]) if name.startswith(
            "nginx") else int(l.split()[5]) for l in lines)
        check_eq(statuses, want, "status codes from %s" % name)
    check_eq(per_service, {"app.log": {"rewards-api"},
                           "nginx-access.log": {"rewards-web"}},
             "service.name per file")

    with open(scratch.join("logs", "app.log")) as fp:
        errors = sum(1 for l in fp if l.split()[1] == "ERROR")
    _, reply = harness.http_json(
        standin.url + "/%s/_count" % INDEX, "POST",
        {"query": {"term": {"log.level": "error"}}})
    check_eq(reply["count"], errors, "error documents")


TESTS = [
    test_once_ships_every_line,
    test_error_docs_found_by_term_query,
    test_bulk_requests_are_well_formed,
    test_ids_are_deterministic,
    test_uncompressed_bodies,
    test_preserve_original_event,
    test_input_fields_nested_and_dotted,
    test_many_files_one_input,
    test_exclude_files_skips_matches,
    test_once_ships_file_larger_than_queue,
    test_batches_respect_bulk_max_bytes,
    test_bundled_examples,
]

if __name__ == "__main__":
    harness.main(TESTS)
