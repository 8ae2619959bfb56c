"""Multiline: lines joined into one event by a pattern or a preset, the
idle timer that flushes the last group, the flush at shutdown, and a
registry that never moves past a line still waiting in a group."""

import json
import os
import shutil
import signal
import time

import harness
from harness import check, check_eq, field

FIXTURES = os.path.join(harness.SOURCE_ROOT, "tests", "fixtures",
                        "multiline")
TIMESTAMP_START = r"^\d{4}-\d{2}-\d{2}T"


def multiline_input(path, **multiline):
    return {"id": "ml", "paths": [path], "multiline": multiline}


def messages(standin):
    docs = sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))
    return [field(d, "message") for d in docs]


def registry_offset(scratch, path):
    with open(scratch.join("data", "registry.json")) as fp:
        registry = json.load(fp)
    offsets = [entry["offset"] for entry in registry["files"]
               if entry.get("path") == path]
    check_eq(len(offsets), 1, "registry entries of %s" % path)
    return offsets[0]


TRACE = ("2024-03-01T10:00:00Z ERROR seq=1 request failed\n"
         "  at module.alpha(file_a:10)\n"
         "  at module.beta(file_b:20)\n")


def test_last_group_flushed_by_idle_timer(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "")
    spec = multiline_input(path, pattern=TIMESTAMP_START, negate=True,
                           match="after", timeout="2s")
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)
    time.sleep(0.5)

    scratch.append("logs/app.log", TRACE)
    time.sleep(3)
    check_eq(messages(standin), [TRACE.rstrip("\n")],
             "documents 3 s after the trace")
    doc = harness.documents(standin)[0]
    check_eq(field(doc, "log.offset"), 0, "log.offset of the trace")
    check_eq(field(doc, "log.flags"), "multiline", "log.flags of the trace")

    time.sleep(10)
    scratch.append("logs/app.log",
                   "2024-03-01T10:00:10Z INFO seq=2 recovered\n")
    time.sleep(3)
    check_eq(messages(standin)[1:],
             ["2024-03-01T10:00:10Z INFO seq=2 recovered"],
             "documents after the second event")

    scratch.append("logs/app.log",
                   "2024-03-01T10:00:20Z ERROR seq=3 again\n"
                   "  at module.gamma(file_c:30)\n")
    time.sleep(0.3)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(messages(standin),
             [TRACE.rstrip("\n"),
              "2024-03-01T10:00:10Z INFO seq=2 recovered",
              "2024-03-01T10:00:20Z ERROR seq=3 again\n"
              "  at module.gamma(file_c:30)"],
             "documents after SIGTERM")
    check_eq(registry_offset(scratch, path), os.path.getsize(path),
             "registry offset after the flush at shutdown")


def test_registry_stops_before_pending_group(scratch):
    standin = scratch.standin()
    first = "2024-03-01T10:00:00Z INFO seq=1 alone\n"
    path = scratch.write("logs/app.log",
                         first + "2024-03-01T10:00:01Z ERROR seq=2 boom\n"
                         "  at frame.one\n")
    spec = multiline_input(path, pattern=TIMESTAMP_START, negate=True,
                           timeout="60s")
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "100ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first event")
    harness.wait_until(lambda: registry_offset(scratch, path) == len(first),
                       what="the offset of the first event's end")
    time.sleep(0.5)
    check_eq(registry_offset(scratch, path), len(first),
             "registry offset while the group is pending")
    agent.stop(signal.SIGKILL)

    scratch.append("logs/app.log", "  at frame.two\n")
    harness.run_once(scratch, config)
    check_eq(messages(standin),
             [first.rstrip("\n"),
              "2024-03-01T10:00:01Z ERROR seq=2 boom\n  at frame.one\n"
              "  at frame.two"],
             "documents after the restart")


def test_beats_elasticsearch_log(scratch):
    standin = scratch.standin()
    with open(os.path.join(FIXTURES, "elasticsearch-multiline-log.log"),
              "rb") as fp:
        data = fp.read()
    with open(os.path.join(FIXTURES,
                           "elasticsearch-multiline-log.log-expected.json")
              ) as fp:
        expected = json.load(fp)
    path = scratch.write("logs/es.log", data, "wb")
    rule = expected["multiline"]
    spec = multiline_input(path, pattern=rule["pattern"],
                           negate=rule["negate"], match=rule["match"])
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    check_eq(messages(standin), expected["events"], "events")


def test_java_preset_once(scratch):
    standin = scratch.standin()
    text = ("2024-03-01 10:00:00 ERROR request failed\n"
            "java.lang.IllegalStateException: bad state\n"
            "\tat com.example.A.run(A.java:10)\n"
            "\tat com.example.B.main(B.java:5)\n"
            "Caused by: java.lang.NullPointerException\n"
            "\t... 2 more\n"
            "2024-03-01 10:00:01 INFO done\n")
    path = scratch.write("logs/java.log", text)
    config = harness.write_config(
        scratch, [multiline_input(path, preset="java")], standin.url)
    harness.run_once(scratch, config)
    check_eq(messages(standin),
             ["2024-03-01 10:00:00 ERROR request failed",
              "java.lang.IllegalStateException: bad state\n"
              "\tat com.example.A.run(A.java:10)\n"
              "\tat com.example.B.main(B.java:5)\n"
              "Caused by: java.lang.NullPointerException\n"
              "\t... 2 more",
              "2024-03-01 10:00:01 INFO done"],
             "events of the java preset")


def test_filters_after_multiline(scratch):
    standin = scratch.standin()
    text = ("2024-03-01T10:00:00Z DEBUG noise\n"
            "2024-03-01T10:00:01Z ERROR kept\n"
            "  caused by DEBUG inside\n"
            "2024-03-01T10:00:02Z INFO health check ok\n"
            "2024-03-01T10:00:03Z DEBUG last\n")
    path = scratch.write("logs/app.log", text)
    spec = multiline_input(path, pattern=TIMESTAMP_START, negate=True)
    spec["include_lines"] = ["ERROR", "INFO"]
    spec["exclude_lines"] = ["health check"]
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "100ms"})
    proc = harness.run_once(scratch, config)
    check_eq(messages(standin),
             ["2024-03-01T10:00:01Z ERROR kept\n  caused by DEBUG inside"],
             "events kept by the filters")
    check_eq(registry_offset(scratch, path), len(text),
             "registry offset past the filtered last lines")
    check_eq("lines_filtered=3" in proc.stderr, True,
             "lines_filtered=3 in the shutdown summary")


def test_idle_group_once_after_sigkill(scratch):
    """A group flushed by its idle timeout and indexed just before
    SIGKILL, with the registry not saved since: the continuation lines
    appended later arrive once, as their own event."""
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "")
    spec = multiline_input(path, pattern=TIMESTAMP_START, negate=True,
                           match="after", timeout="1s")
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "30s"})
    agent = harness.Agent(scratch, config)
    time.sleep(0.5)
    scratch.append("logs/app.log", TRACE)
    harness.wait_until(lambda: len(harness.documents(standin)) == 1,
                       what="the idle group indexed")
    agent.stop(signal.SIGKILL)
    more = ("  at module.gamma(file_c:30)\n"
            "2024-03-01T10:00:10Z INFO seq=2 recovered\n")
    scratch.append("logs/app.log", more)

    agent = harness.Agent(scratch, config, name="restarted")
    harness.wait_until(lambda: len(harness.documents(standin)) == 3,
                       what="the lines after the restart indexed")
    time.sleep(1.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(messages(standin),
             [TRACE.rstrip("\n"), "  at module.gamma(file_c:30)",
              "2024-03-01T10:00:10Z INFO seq=2 recovered"],
             "documents after the restart")
    offsets = sorted(field(d, "log.offset")
                     for d in harness.documents(standin))
    check_eq(offsets, [0, len(TRACE), len(TRACE) + 29], "log.offset values")
    check_eq(registry_offset(scratch, path), os.path.getsize(path),
             "registry offset")


def test_group_max_bytes_no_trailing_newline(scratch):
    standin = scratch.standin()
    first = "2024-03-01T10:00:00Z " + "x" * 1002
    path = scratch.write("logs/app.log", first + "\n  at a\n"
                         "2024-03-01T10:00:01Z INFO next\n")
    spec = multiline_input(path, pattern=TIMESTAMP_START, negate=True,
                           match="after", max_bytes=1024)
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    docs = sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))
    check_eq(field(docs[0], "message"), first, "message of the cut group")
    check_eq(sorted(field(docs[0], "log.flags")), ["multiline", "truncated"],
             "log.flags of the cut group")
    check_eq(field(docs[1], "message"), "2024-03-01T10:00:01Z INFO next",
             "message after the group")


PYTHON_CHAINED = ("Traceback (most recent call last):\n"
                  "  File \"a.py\", line 2, in <module>\n"
                  "    int(\"x\")\n"
                  "ValueError: invalid literal\n"
                  "\n"
                  "During handling of the above exception, another "
                  "exception occurred:\n"
                  "\n"
                  "Traceback (most recent call last):\n"
                  "  File \"a.py\", line 4, in <module>\n"
                  "    raise RuntimeError(\"wrapped\")\n"
                  "RuntimeError: wrapped\n"
                  "2024-03-01 10:00:00 INFO next\n")


def test_python_chained_traceback(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", PYTHON_CHAINED)
    spec = {"id": "py", "paths": [path], "multiline": {"preset": "python"}}
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    lines = PYTHON_CHAINED.split("\n")
    check_eq(messages(standin),
             ["\n".join(lines[0:7]), "\n".join(lines[7:11]), lines[11]],
             "events of the chained traceback")


def truncate_with_pending_group(scratch, copy):
    """Write a trace that waits in a group, truncate the file (after a
    copy when `copy`), write one line; return the stand-in and agent."""
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "")
    spec = multiline_input(path, pattern=TIMESTAMP_START, negate=True,
                           match="after", timeout="5s")
    spec["scan_frequency"] = "1s"
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)
    time.sleep(0.5)
    scratch.append("logs/app.log", TRACE)
    time.sleep(1)
    check_eq(messages(standin), [], "documents while the group waits")
    if copy:
        shutil.copyfile(path, path + ".1")
    with open(path, "r+") as fp:
        fp.truncate(0)
    scratch.append("logs/app.log", "2024-03-01T10:00:10Z INFO after\n")
    return standin, agent


def test_pending_group_read_from_copy(scratch):
    standin, agent = truncate_with_pending_group(scratch, copy=True)
    harness.wait_until(lambda: len(harness.documents(standin)) == 2,
                       what="both events indexed")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)),
             [TRACE.rstrip("\n"), "2024-03-01T10:00:10Z INFO after"],
             "documents after the truncation")


def test_pending_group_without_copy_counted(scratch):
    standin, agent = truncate_with_pending_group(scratch, copy=False)
    harness.wait_until(lambda: len(harness.documents(standin)) == 1,
                       what="the line after the truncation")
    harness.wait_until(lambda: "no rotated copy" in agent.output(),
                       what="the search for a copy to end")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(messages(standin), ["2024-03-01T10:00:10Z INFO after"],
             "documents after the truncation")
    summary = [l for l in agent.output().splitlines() if "summary:" in l]
    check_eq(len(summary), 1, "summary lines")
    check("truncated_bytes_lost=%d" % len(TRACE) in summary[0].split(),
          "summary %r does not count the %d bytes of the group"
          % (summary[0], len(TRACE)))


TESTS = [
    test_last_group_flushed_by_idle_timer,
    test_registry_stops_before_pending_group,
    test_beats_elasticsearch_log,
    test_java_preset_once,
    test_filters_after_multiline,
    test_idle_group_once_after_sigkill,
    test_group_max_bytes_no_trailing_newline,
    test_python_chained_traceback,
    test_pending_group_read_from_copy,
    test_pending_group_without_copy_counted,
]

if __name__ == "__main__":
    harness.main(TESTS)
