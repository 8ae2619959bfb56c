"""Line framing: LF ends a line and one trailing CR is removed. An
unterminated last line waits until it is completed or, in agent mode,
until partial_line_timeout passes without growth. A line longer than
max_line_bytes is cut, with memory bounded by the limit."""

import json
import os
import signal
import time

import harness
from harness import check, check_eq, field


def plain_input(path):
    return {"id": "plain", "paths": [path]}


def shipped(standin):
    """Return [(offset, message)] sorted by offset."""
    return sorted((field(d, "log.offset"), field(d, "message"))
                  for d in harness.documents(standin))


def test_crlf_and_unterminated_line(scratch):
    standin = scratch.standin()
    data = (b"first\r\n"            # CR removed
            b"second\r\r\n"         # only one CR removed
            b"in\rside\n"           # a CR inside the line stays
            b"\r\n"                 # an empty line once the CR is gone
            b"third\n"
            b"fourth-unterminated")
    path = scratch.write("logs/framing.log", data, "wb")
    config = harness.write_config(scratch, [plain_input(path)], standin.url)
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [(0, "first"), (7, "second\r"),
                                (16, "in\rside"), (24, ""), (26, "third")],
             "documents after the first run")

    scratch.append("logs/framing.log", b"-completed\r\nfifth\n")
    harness.run_once(scratch, config)
    check_eq(shipped(standin)[5:],
             [(32, "fourth-unterminated-completed"), (63, "fifth")],
             "documents added by the second run")
    check_eq(len(harness.documents(standin)), 7, "documents in total")


def test_unterminated_line_alone(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/partial.log", b"no newline yet", "wb")
    config = harness.write_config(scratch, [plain_input(path)], standin.url)
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [], "documents before the newline")
    check_eq(standin.request_log(), [], "bulk requests before the newline")
    scratch.append("logs/partial.log", b"\n")
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [(0, "no newline yet")],
             "documents after the newline")


def test_unterminated_line_in_agent_mode(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/live.log", b"one\ntw", "wb")
    config = harness.write_config(scratch, [plain_input(path)], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first line")
    scratch.append("logs/live.log", b"o\nthree\n")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 3,
                       what="the completed lines")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(shipped(standin), [(0, "one"), (4, "two"), (8, "three")],
             "documents")


def messages(standin):
    return [m for _, m in shipped(standin)]


def registry_offset(scratch, path):
    """Return the saved offset of `path` in the registry file."""
    with open(scratch.join("data", "registry.json")) as fp:
        registry = json.load(fp)
    offsets = [entry["offset"] for entry in registry["files"]
               if entry.get("path") == path]
    check_eq(len(offsets), 1, "registry entries of %s" % path)
    return offsets[0]


def test_partial_line_shipped_after_timeout(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", b"", "wb")
    spec = dict(plain_input(path), partial_line_timeout="3s")
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)

    scratch.append("logs/app.log", b"seq=1 complete\nseq=2 part")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first line")
    time.sleep(1)
    check_eq(messages(standin), ["seq=1 complete"],
             "documents 1 s after the partial line")

    scratch.append("logs/app.log", b"-rest\n")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 2,
                       what="the completed second line")
    check_eq(messages(standin), ["seq=1 complete", "seq=2 part-rest"],
             "documents after the second line was completed")

    scratch.append("logs/app.log", b"seq=3 tail-without-newline")
    time.sleep(4)
    check_eq(messages(standin)[2:], ["seq=3 tail-without-newline"],
             "documents 4 s after the stalled partial line")

    scratch.append("logs/app.log", b"\nseq=4 next\n")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 4,
                       what="the fourth line")
    scratch.append("logs/app.log", b"seq=5 half")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(len(harness.documents(standin)), 4,
             "documents after SIGTERM with a partial line pending")
    size = os.path.getsize(path)
    check_eq(registry_offset(scratch, path), size - len(b"seq=5 half"),
             "registry offset after SIGTERM")

    scratch.append("logs/app.log", b"-done\n")
    agent = harness.Agent(scratch, config, name="agent2")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 5,
                       what="the line completed while stopped")
    time.sleep(2)
    check_eq(agent.stop(), 0, "exit status of the second run")
    check_eq(messages(standin),
             ["seq=1 complete", "seq=2 part-rest",
              "seq=3 tail-without-newline", "seq=4 next",
              "seq=5 half-done"], "documents in order")


def test_partial_line_newline_after_restart(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", b"one\ntwo-partial", "wb")
    spec = dict(plain_input(path), partial_line_timeout="1s")
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "100ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 2,
                       what="the line and the flushed partial line")
    harness.wait_until(lambda: registry_offset(scratch, path) == 15,
                       what="the offset just past the partial line")
    check_eq(agent.stop(), 0, "exit status of the first run")

    scratch.append("logs/app.log", b"\nthree\n")
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [(0, "one"), (4, "two-partial"),
                                (16, "three")],
             "documents: the newline after the partial line is no event")


def test_partial_line_timeout_zero_waits(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", b"one\ntwo", "wb")
    spec = dict(plain_input(path), partial_line_timeout=0)
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first line")
    time.sleep(2)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(messages(standin), ["one"], "documents with the timeout off")


def test_partial_line_shipped_when_renamed_file_closes(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", b"one\ntwo-partial", "wb")
    spec = dict(plain_input(scratch.join("logs", "*.log")),
                partial_line_timeout="60s")
    config = harness.write_config(scratch, [spec], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first line")
    os.rename(path, path + ".1")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 2,
                       timeout=30,
                       what="the partial line of the renamed file")
    harness.wait_until(lambda: "closing file until it is written again" in
                       agent.output(), what="the renamed file to be released")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(messages(standin), ["one", "two-partial"], "documents")


CRLF_PATTERN = (r"^(?<ts>\S+ \S+) (?<level>\w+) seq=(?<seq>\d+) "
                r"text=(?<text>.*)$")


def test_crlf_stripped_before_parsing(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/win.log",
                         b"2024-03-01 10:00:01 INFO seq=1 text=alpha\r\n"
                         b"2024-03-01 10:00:02 WARN seq=2 text=be\rta\r\n"
                         b"2024-03-01 10:00:03 INFO seq=3 text=gamma\r\r\n"
                         b"2024-03-01 10:00:04 INFO seq=4 text=delta\n",
                         "wb")
    spec = dict(plain_input(path), parsers=[{"regex": {
        "pattern": CRLF_PATTERN,
        "fields": {"ts": "labels.ts", "level": "log.level",
                   "seq": "labels.seq", "text": "labels.text"}}}])
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    docs = sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))
    check_eq(len(docs), 4, "documents")
    check_eq([field(d, "log.level") for d in docs],
             ["info", "warn", "info", "info"], "log.level of each line")
    check_eq([field(d, "labels.text") for d in docs],
             ["alpha", "be\rta", "gamma\r", "delta"], "text of each line")
    check_eq([field(d, "tags") for d in docs], [None] * 4,
             "tags: every line matched the regex")
    check_eq([field(d, "message")[-1] for d in docs],
             ["a", "a", "\r", "a"], "last character of each message")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise harness.TestFailure("no VmRSS for pid %d" % pid)


def append_x(path, count):
    block = b"x" * (1024 * 1024)
    with open(path, "ab") as fp:
        for _ in range(count // len(block)):
            fp.write(block)


LONG_LINE_BYTES = 100 * 1024 * 1024
MAX_LINE_BYTES = 16384
RSS_MARGIN_KIB = 8 * 1024


def watch_peak_rss(agent, done):
    """Sample the agent's RSS every 100 ms until done(); return the peak."""
    peak = 0
    deadline = time.monotonic() + harness.DEFAULT_TIMEOUT
    while not done():
        agent.check_running()
        peak = max(peak, rss_kib(agent.proc.pid))
        check(time.monotonic() < deadline, "timed out reading the long line")
        time.sleep(0.1)
    return max(peak, rss_kib(agent.proc.pid))


def test_long_line_truncated_memory_bounded(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/big.log", b"seq=1 short\n", "wb")
    spec = dict(plain_input(path), max_line_bytes=MAX_LINE_BYTES)
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "100ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first line")
    baseline = rss_kib(agent.proc.pid)

    append_x(path, LONG_LINE_BYTES)
    scratch.append("logs/big.log", b"\nseq=3 short\n")
    peak = watch_peak_rss(agent,
                          lambda: len(harness.documents(standin)) >= 3)
    size = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       what="the registry offset at the file size")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = sorted(harness.documents(standin),
                  key=lambda d: field(d, "log.offset"))
    check_eq(len(docs), 3, "documents")
    check_eq(field(docs[0], "message"), "seq=1 short", "first message")
    check_eq(field(docs[1], "message"), "x" * MAX_LINE_BYTES,
             "long line cut at max_line_bytes")
    check_eq(field(docs[1], "log.flags"), "truncated", "long line flags")
    check_eq(field(docs[2], "message"), "seq=3 short", "last message")
    check(peak - baseline <= RSS_MARGIN_KIB,
          "peak RSS %d KiB exceeds the baseline %d KiB by more than %d KiB"
          % (peak, baseline, RSS_MARGIN_KIB))


def test_long_line_without_newline(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/big.log", b"", "wb")
    first = 1024 * 1024
    append_x(path, first)
    spec = dict(plain_input(path), max_line_bytes=MAX_LINE_BYTES,
                partial_line_timeout="2s")
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "100ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: "harvesting file" in agent.output(),
                       what="the agent to open the file")
    baseline = rss_kib(agent.proc.pid)

    append_x(path, LONG_LINE_BYTES - first)
    peak = watch_peak_rss(agent,
                          lambda: len(harness.documents(standin)) >= 1)
    harness.wait_until(
        lambda: registry_offset(scratch, path) == LONG_LINE_BYTES,
        what="the registry offset at the file size")
    time.sleep(3)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = harness.documents(standin)
    check_eq(len(docs), 1, "documents")
    check_eq(field(docs[0], "message"), "x" * MAX_LINE_BYTES,
             "message of the unterminated long line")
    check_eq(field(docs[0], "log.flags"), "truncated", "log.flags")
    check(peak - baseline <= RSS_MARGIN_KIB,
          "peak RSS %d KiB exceeds the baseline %d KiB by more than %d KiB"
          % (peak, baseline, RSS_MARGIN_KIB))


def test_utf16_files_decoded(scratch):
    standin = scratch.standin()
    text = "caf\u00e9 \U0001F600\r\nzwei\n"
    le = b"\xff\xfe" + text.encode("utf-16-le")
    be = text.encode("utf-16-be") + b"\xd8\x00\x00x\x00\n"
    le_path = scratch.write("logs/le.log", le, "wb")
    be_path = scratch.write("logs/be.log", be, "wb")
    config = harness.write_config(
        scratch, [dict(plain_input(le_path), id="le", encoding="utf-16le"),
                  dict(plain_input(be_path), id="be", encoding="utf-16be")],
        standin.url)
    harness.run_once(scratch, config)
    docs = sorted((field(d, "log.file.path"), field(d, "log.offset"),
                   field(d, "message")) for d in harness.documents(standin))
    check_eq(docs, [(be_path, 0, "caf\u00e9 \U0001F600"),
                    (be_path, 18, "zwei"),
                    (be_path, 28, "\ufffdx"),
                    (le_path, 0, "caf\u00e9 \U0001F600"),
                    (le_path, 20, "zwei")],
             "documents of the UTF-16 files")


def test_utf16_empty_line_after_restart(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/le.log", "one\n".encode("utf-16-le"), "wb")
    spec = dict(plain_input(path), encoding="utf-16le")
    config = harness.write_config(scratch, [spec], standin.url)
    harness.run_once(scratch, config)
    # An empty line right at the saved offset is a line of its own.
    scratch.append("logs/le.log", "\ntwo\n".encode("utf-16-le"))
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [(0, "one"), (8, ""), (10, "two")],
             "documents of both runs")


def test_partial_line_once_after_sigkill(scratch):
    """A partial line indexed just before SIGKILL, with the registry not
    saved since: the restart ships the same event again (answered 409) and
    the bytes appended after it as a line of their own."""
    standin = scratch.standin()
    path = scratch.write("logs/app.log", b"seq=1 complete\n", "wb")
    spec = dict(plain_input(path), partial_line_timeout="1s")
    config = harness.write_config(scratch, [spec], standin.url,
                                  **{"registry.flush": "30s"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) == 1,
                       what="the complete line indexed")

    scratch.append("logs/app.log", b"seq=2 half")
    harness.wait_until(lambda: len(harness.documents(standin)) == 2,
                       what="the partial line indexed")
    agent.stop(signal.SIGKILL)
    scratch.append("logs/app.log", b"-rest\nseq=3 next\n")

    agent = harness.Agent(scratch, config, name="restarted")
    harness.wait_until(lambda: len(harness.documents(standin)) == 4,
                       what="the lines after the restart indexed")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(shipped(standin), [(0, "seq=1 complete"), (15, "seq=2 half"),
                                (25, "-rest"), (31, "seq=3 next")],
             "documents after the restart")
    with open(scratch.join("data", "registry.json")) as fp:
        entry = json.load(fp)["files"][0]
    check_eq(entry["offset"], os.path.getsize(path), "registry offset")
    check_eq("cuts" in entry, False, "cuts left in the registry")


TESTS = [
    test_crlf_and_unterminated_line,
    test_unterminated_line_alone,
    test_unterminated_line_in_agent_mode,
    test_partial_line_shipped_after_timeout,
    test_partial_line_newline_after_restart,
    test_partial_line_timeout_zero_waits,
    test_partial_line_shipped_when_renamed_file_closes,
    test_partial_line_once_after_sigkill,
    test_crlf_stripped_before_parsing,
    test_long_line_truncated_memory_bounded,
    test_long_line_without_newline,
    test_utf16_files_decoded,
    test_utf16_empty_line_after_restart,
]

if __name__ == "__main__":
    harness.main(TESTS)
