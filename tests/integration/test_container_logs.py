"""Container logs: Docker json-file and CRI lines decoded, parts of a
split line joined per stream with a size cap, `stream` and the runtime's
time kept, and multiline grouping applied after the join."""

import json
import os

import harness
from harness import check_eq, field

FIXTURES = os.path.join(harness.SOURCE_ROOT, "tests", "fixtures",
                        "container-logs")
DOCKER_PART_BYTES = 16 * 1024  # Docker's json-file driver splits here


def container_input(path, fmt, **extra):
    spec = {"id": "containers", "paths": [path], "format": fmt}
    spec.update(extra)
    return spec


def sorted_docs(standin):
    return sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as fp:
        return fp.read()


def registry_offset(scratch, path):
    with open(scratch.join("data", "registry.json")) as fp:
        registry = json.load(fp)
    offsets = [entry["offset"] for entry in registry["files"]
               if entry.get("path") == path]
    check_eq(len(offsets), 1, "registry entries of %s" % path)
    return offsets[0]


def to_ms(stamp):
    """'2016-03-02T22:58:51.338462311Z' -> '2016-03-02T22:58:51.338Z'."""
    head, fraction = stamp.rstrip("Z").split(".")
    return "%s.%sZ" % (head, fraction[:3])


def test_beats_docker_log(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/docker.log", fixture_bytes("docker.log"),
                         "wb")
    with open(os.path.join(FIXTURES, "docker.log-expected.json")) as fp:
        expected = json.load(fp)["events"]
    config = harness.write_config(
        scratch, [container_input(path, "docker")], standin.url)
    harness.run_once(scratch, config)
    docs = sorted_docs(standin)
    check_eq([field(d, "message") for d in docs],
             [e["message"] for e in expected], "messages")
    check_eq([field(d, "stream") for d in docs],
             [e["stream"] for e in expected], "streams")
    check_eq([field(d, "@timestamp") for d in docs],
             [to_ms(e["@timestamp"]) for e in expected], "@timestamp")


def docker_line(log, stream, second):
    return json.dumps({"log": log, "stream": stream,
                       "time": "2024-03-01T10:00:%02d.000000001Z" % second},
                      separators=(",", ":")) + "\n"


def test_docker_split_line_joined(scratch):
    standin = scratch.standin()
    long_line = "".join(chr(ord("a") + i % 26) for i in range(40000))
    parts = [long_line[i:i + DOCKER_PART_BYTES]
             for i in range(0, len(long_line), DOCKER_PART_BYTES)]
    text = docker_line("before\n", "stdout", 1)
    text += docker_line(parts[0], "stdout", 2)
    text += docker_line("error in between\n", "stderr", 3)
    text += docker_line(parts[1], "stdout", 4)
    text += docker_line(parts[2] + "\n", "stdout", 5)
    text += docker_line("after\n", "stdout", 6)
    path = scratch.write("logs/app.log", text)
    config = harness.write_config(
        scratch, [container_input(path, "docker")], standin.url)
    harness.run_once(scratch, config)
    docs = sorted_docs(standin)
    check_eq([(field(d, "stream"), len(field(d, "message"))) for d in docs],
             [("stdout", 6), ("stdout", 40000), ("stderr", 16),
              ("stdout", 5)], "streams and message lengths")
    check_eq(field(docs[1], "message"), long_line, "joined message")
    check_eq(field(docs[1], "@timestamp"), "2024-03-01T10:00:02.000Z",
             "time of the joined line")
    check_eq(field(docs[1], "log.offset"), len(docker_line("before\n",
                                                           "stdout", 1)),
             "log.offset of the joined line")
    check_eq(registry_offset(scratch, path), len(text),
             "registry offset at the end")


def test_cri_parts_capped(scratch):
    standin = scratch.standin()
    prefix = "2024-03-01T10:00:00.25Z stdout "
    text = (prefix + "P " + "x" * 1000 + "\n" +
            prefix + "P " + "y" * 1000 + "\n" +
            prefix + "F " + "z" * 1000 + "\n" +
            "2024-03-01T10:00:01Z stderr F done\n")
    path = scratch.write("logs/cri.log", text)
    config = harness.write_config(
        scratch, [container_input(path, "cri", max_line_bytes="2KiB")],
        standin.url)
    harness.run_once(scratch, config)
    docs = sorted_docs(standin)
    check_eq(len(docs), 2, "documents")
    check_eq(field(docs[0], "message"), "x" * 1000 + "y" * 1000 + "z" * 48,
             "joined message cut at max_line_bytes")
    check_eq(field(docs[0], "log.flags"), "truncated", "log.flags")
    check_eq(field(docs[0], "@timestamp"), "2024-03-01T10:00:00.250Z",
             "@timestamp")
    check_eq(field(docs[1], "message"), "done", "second message")
    check_eq(field(docs[1], "stream"), "stderr", "second stream")


def test_auto_format_per_line(scratch):
    standin = scratch.standin()
    text = (docker_line("from docker\n", "stdout", 1) +
            "2024-03-01T10:00:02Z stderr F from cri\n" +
            "a plain line\n")
    path = scratch.write("logs/mixed.log", text)
    config = harness.write_config(
        scratch, [container_input(path, "auto")], standin.url)
    harness.run_once(scratch, config)
    docs = sorted_docs(standin)
    check_eq([(field(d, "message"), field(d, "stream")) for d in docs],
             [("from docker", "stdout"), ("from cri", "stderr"),
              ("a plain line", None)], "messages and streams")


def test_parser_timestamp_wins(scratch):
    standin = scratch.standin()
    text = docker_line("2030-01-02T03:04:05Z hello\n", "stdout", 1)
    path = scratch.write("logs/app.log", text)
    spec = container_input(path, "docker", parsers=[{"regex": {
        "pattern": r"^(?<ts>\S+) (?<msg>.*)$",
        "fields": {"ts": {"field": "@timestamp", "type": "timestamp"},
                   "msg": "labels.msg"}}}])
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    docs = harness.documents(standin)
    check_eq(len(docs), 1, "documents")
    check_eq(field(docs[0], "@timestamp"), "2030-01-02T03:04:05.000Z",
             "@timestamp set by the parser")
    check_eq(field(docs[0], "labels.msg"), "hello", "parsed message")


def test_docker_parts_then_multiline(scratch):
    standin = scratch.standin()
    path = scratch.write(
        "logs/app.log",
        fixture_bytes("dockermode_splitted_multiple_lines.log"), "wb")
    spec = container_input(path, "docker", multiline={
        "pattern": r"^\d{4}-\d{2}-\d{2}", "negate": True, "match": "after"})
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    expected = []
    for line in fixture_bytes(
            "dockermode_splitted_multiple_lines.out").decode().splitlines():
        expected.append(json.loads(line)["log"].rstrip("\n"))
    check_eq([field(d, "message") for d in sorted_docs(standin)], expected,
             "events")


TESTS = [
    test_beats_docker_log,
    test_docker_split_line_joined,
    test_cri_parts_capped,
    test_auto_format_per_line,
    test_parser_timestamp_wins,
    test_docker_parts_then_multiline,
]

if __name__ == "__main__":
    harness.main(TESTS)
