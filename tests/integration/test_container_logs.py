"""Container logs: Docker json-file and CRI lines decoded, parts of a
split line joined per stream with a size cap, `stream` and the runtime's
time kept, and multiline grouping applied after the join."""

import json
import os
import signal
import time

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


def cri(stream, tag, text, second=0):
    return "2024-03-01T10:00:%02dZ %s %s %s\n" % (second, stream, tag, text)


def docker(stream, text, second=0):
    return json.dumps({"log": text, "stream": stream,
                       "time": "2024-03-01T10:00:%02dZ" % second}) + "\n"


def shipped(standin):
    return [(field(d, "log.offset"), field(d, "stream"), field(d, "message"))
            for d in sorted_docs(standin)]


def test_cri_part_without_last_part_shipped(scratch):
    standin = scratch.standin()
    lines = [cri("stdout", "P", "start-never-ends")] + [
        cri("stderr", "F", "err %d" % i, i + 1) for i in range(3)]
    offsets = [sum(len(line) for line in lines[:i]) for i in range(4)]
    data = "".join(lines)
    path = scratch.write("logs/c.log", data)
    spec = container_input(path, "cri", partial_line_timeout="1s")
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) == 4,
                       what="the held part shipped")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(shipped(standin),
             [(0, "stdout", "start-never-ends"),
              (offsets[1], "stderr", "err 0"),
              (offsets[2], "stderr", "err 1"),
              (offsets[3], "stderr", "err 2")],
             "documents")
    check_eq(registry_offset(scratch, path), len(data), "registry offset")


def test_cri_part_shipped_when_renamed_file_closes(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/0.log", "")
    spec = container_input(path, "cri", partial_line_timeout="30s")
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)
    time.sleep(0.5)
    scratch.append("logs/0.log", cri("stdout", "F", "one") +
                   cri("stdout", "P", "first-half-", 1))
    time.sleep(0.5)
    os.rename(path, scratch.join("logs", "0.log.1"))
    scratch.append("logs/0.log", cri("stdout", "F", "second-half", 1))
    harness.wait_until(lambda: len(harness.documents(standin)) == 3,
                       timeout=20, what="the part of the closed file shipped")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(field(d, "message") for d in harness.documents(standin)),
             ["first-half-", "one", "second-half"], "messages")


def test_held_part_inside_group_no_duplicate(scratch):
    """A part held inside a group of the other stream keeps the registry
    inside that group; the restart skips the group's remaining lines."""
    standin = scratch.standin()
    data = (cri("stderr", "F", "2024 ERROR boom") +
            cri("stderr", "F", "  at a") +
            cri("stdout", "P", "half") +
            cri("stderr", "F", "  at b") +
            cri("stderr", "F", "2024 INFO ok"))
    path = scratch.write("logs/c.log", data)
    spec = container_input(path, "cri", partial_line_timeout="60s",
                           multiline={"pattern": "^2024 ", "negate": True,
                                      "match": "after", "timeout": "1s"})
    config = harness.write_config(scratch, [spec], standin.url)
    expected = [(0, "stderr", "2024 ERROR boom\n  at a\n  at b"),
                (155, "stderr", "2024 INFO ok")]
    for name in ("agent", "restarted"):
        agent = harness.Agent(scratch, config, name=name)
        harness.wait_until(lambda: len(harness.documents(standin)) == 2,
                           what="the two stderr events indexed")
        time.sleep(2)
        check_eq(agent.stop(), 0, "exit status of %s" % name)
        check_eq(shipped(standin), expected, "documents after %s" % name)
        check_eq(registry_offset(scratch, path), 83,
                 "registry offset after %s" % name)


def test_multiline_per_stream(scratch):
    standin = scratch.standin()
    data = (docker("stderr", "Exception in thread main java.lang.X: boom\n") +
            docker("stdout", "GET /health 200\n") +
            docker("stderr", "\tat com.a.B(B.java:1)\n") +
            docker("stderr", "\tat com.a.C(C.java:2)\n"))
    path = scratch.write("logs/d.log", data)
    spec = container_input(path, "docker", multiline={"preset": "java"})
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    check_eq(shipped(standin),
             [(0, "stderr", "Exception in thread main java.lang.X: boom\n"
                            "\tat com.a.B(B.java:1)\n\tat com.a.C(C.java:2)"),
              (len(data.split("\n")[0]) + 1, "stdout", "GET /health 200")],
             "documents")


def test_docker_lone_surrogate_replaced(scratch):
    standin = scratch.standin()
    path = scratch.write(
        "logs/d.log",
        '{"log":"lone \\ud800 end \\udc00 pair \\ud83d\\ude00 '
        'slash \\\\ud800\\n","stream":"stdout",'
        '"time":"2024-03-01T10:00:01Z"}\n')
    config = harness.write_config(scratch, [container_input(path, "docker")],
                                  standin.url)
    harness.run_once(scratch, config)
    check_eq(shipped(standin),
             [(0, "stdout",
               "lone \ufffd end \ufffd pair \U0001F600 slash \\ud800")],
             "documents")


def test_part_once_after_sigkill(scratch):
    """A part shipped after partial_line_timeout and indexed just before
    SIGKILL: its last part, written later, arrives once as its own event."""
    standin = scratch.standin()
    path = scratch.write("logs/c.log", cri("stdout", "F", "one"))
    spec = container_input(path, "cri", partial_line_timeout="1s")
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "30s"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) == 1,
                       what="the first line indexed")
    scratch.append("logs/c.log", cri("stdout", "P", "first-half-", 1))
    harness.wait_until(lambda: len(harness.documents(standin)) == 2,
                       what="the held part indexed")
    agent.stop(signal.SIGKILL)
    scratch.append("logs/c.log", cri("stdout", "F", "second-half", 2) +
                   cri("stdout", "F", "two", 3))

    agent = harness.Agent(scratch, config, name="restarted")
    harness.wait_until(lambda: len(harness.documents(standin)) == 4,
                       what="the lines after the restart indexed")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(shipped(standin),
             [(0, "stdout", "one"), (34, "stdout", "first-half-"),
              (76, "stdout", "second-half"), (118, "stdout", "two")],
             "documents after the restart")
    check_eq(registry_offset(scratch, path), os.path.getsize(path),
             "registry offset")


TESTS = [
    test_beats_docker_log,
    test_docker_split_line_joined,
    test_cri_parts_capped,
    test_auto_format_per_line,
    test_parser_timestamp_wins,
    test_docker_parts_then_multiline,
    test_cri_part_without_last_part_shipped,
    test_cri_part_shipped_when_renamed_file_closes,
    test_held_part_inside_group_no_duplicate,
    test_multiline_per_stream,
    test_docker_lone_surrogate_replaced,
    test_part_once_after_sigkill,
]

if __name__ == "__main__":
    harness.main(TESTS)
