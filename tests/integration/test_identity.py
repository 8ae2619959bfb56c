"""File identity and the closing of files: idle files released and
reopened, removed files closed, inode reuse, copy-and-truncate rotation
and rotated names that match the glob."""

import gzip
import json
import os
import re
import shutil
import signal
import time

import harness
from harness import check, check_eq, field


def plain_input(paths, **extra):
    """An input without parsers: each line is stored as its message."""
    spec = {"id": "app", "paths": list(paths)}
    spec.update(extra)
    return spec


def write_lines(path, lines, mode="a"):
    with open(path, mode) as fp:
        fp.write("".join(line + "\n" for line in lines))


def stored(standin):
    """Return (message, document id, log.file.path) of every document."""
    return [(field(d["_source"], "message"), d["_id"],
             field(d["_source"], "log.file.path"))
            for d in standin.documents(harness.INDEX)]


def messages(standin):
    return [m for m, _, _ in stored(standin)]


def file_id_of(doc_id):
    """The file identity part of a document id `<file id>-<offset>`."""
    return doc_id.split("-")[0]


def registry_offsets(scratch):
    """Map each registry entry's file id to its saved offset."""
    with open(scratch.join("data", "registry.json")) as fp:
        files = json.load(fp)["files"]
    return {entry["id"]: entry["offset"] for entry in files}


def open_paths(pid):
    """Return the targets of the process's open file descriptors."""
    out = []
    fd_dir = "/proc/%d/fd" % pid
    for name in os.listdir(fd_dir):
        try:
            out.append(os.readlink(os.path.join(fd_dir, name)))
        except OSError:
            pass  # closed while listing
    return out


def holds_file(pid, path):
    """True while the process has a descriptor on `path`, deleted or not."""
    return any(t == path or t == path + " (deleted)" for t in open_paths(pid))


def items_sent(standin):
    return [i for r in standin.request_log() for i in r["items"]]


# --- rename after the file went idle -------------------------------------

IDLE_LINES = ["2024-03-01T10:00:0%dZ INFO seq=%d text=%s" % (n, n, word)
              for n, word in ((1, "alpha"), (2, "beta"), (3, "gamma"))]


def rename_after_idle(scratch, glob):
    """A file released by close.inactive is written and renamed at once;
    its last line is still read, under the file's first identity."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    live = os.path.join(logs, "app.log")
    config = harness.write_config(
        scratch, [plain_input([os.path.join(logs, glob)],
                              scan_frequency="1s",
                              **{"close.inactive": "2s"})],
        standin.url)
    agent = harness.Agent(scratch, config)
    write_lines(live, IDLE_LINES[:1])
    harness.wait_until(lambda: len(messages(standin)) >= 1,
                       what="the seq=1 line")
    time.sleep(3)
    check("closing file until it is written again" in agent.output(),
          "the file was not released after close.inactive: %s"
          % harness.tail(agent.output()))

    write_lines(live, IDLE_LINES[1:2])
    os.rename(live, live + ".1")
    write_lines(live, IDLE_LINES[2:3], mode="w")
    time.sleep(5)
    agent.check_running()
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = stored(standin)
    check_eq(sorted(m for m, _, _ in docs), IDLE_LINES, "messages")
    by_message = {m: (file_id_of(i), p) for m, i, p in docs}
    first_id = by_message[IDLE_LINES[0]][0]
    check_eq(by_message[IDLE_LINES[1]][0], first_id,
             "identity of seq=2 (written before the rename)")
    check(by_message[IDLE_LINES[2]][0] != first_id,
          "seq=3 of the new app.log has the identity of the old file")
    check(by_message[IDLE_LINES[1]][1] in (live, live + ".1"),
          "log.file.path of seq=2: %s" % by_message[IDLE_LINES[1]][1])
    check_eq(by_message[IDLE_LINES[2]][1], live, "log.file.path of seq=3")
    check_eq(registry_offsets(scratch),
             {first_id: os.path.getsize(live + ".1"),
              by_message[IDLE_LINES[2]][0]: os.path.getsize(live)},
             "registry offsets")
    check_eq(len(items_sent(standin)), 3, "items sent")


def test_rename_after_idle_close_glob_matches(scratch):
    rename_after_idle(scratch, "app.log*")


def test_rename_after_idle_close_live_name_only(scratch):
    rename_after_idle(scratch, "app.log")


def test_idle_file_reopened_on_write(scratch):
    """close.inactive releases the descriptor; the next write brings the
    file back at its offset with no loss and no repeat."""
    standin = scratch.standin()
    live = scratch.join("logs", "app.log")
    first = ["seq=%d first" % n for n in range(1, 4)]
    later = ["seq=%d later" % n for n in range(4, 7)]
    scratch.write("logs/app.log", "".join(l + "\n" for l in first))
    config = harness.write_config(
        scratch, [plain_input([live], **{"close.inactive": "1s"})],
        standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 3,
                       what="the first 3 lines")
    harness.wait_until(lambda: not holds_file(agent.proc.pid, live),
                       timeout=5, what="the idle file to be released")
    write_lines(live, later)
    harness.wait_until(lambda: len(messages(standin)) >= 6, timeout=5,
                       what="the lines written after the release")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)), sorted(first + later), "messages")
    check_eq(len(items_sent(standin)), 6, "items sent")


# --- removed files --------------------------------------------------------

def big_lines(count):
    return ["seq=%d pad=%s" % (n, "x" * 90) for n in range(1, count + 1)]


def test_removed_file_closed_when_read(scratch):
    """A removed file that was read to its end is closed within 2 s, so
    its disk space is returned."""
    standin = scratch.standin()
    lines = big_lines(20000)
    path = scratch.write("logs/big.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "*.log")],
                              scan_frequency="1s")],
        standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= len(lines),
                       what="all 20000 lines")
    check(holds_file(agent.proc.pid, path),
          "the file was closed before it was removed")
    os.unlink(path)
    removed = time.monotonic()
    harness.wait_until(lambda: not holds_file(agent.proc.pid, path),
                       timeout=2, interval=0.02,
                       what="the descriptor of the removed file to close")
    check(time.monotonic() - removed <= 2.0,
          "the removed file stayed open for more than 2 s")
    check_eq([t for t in open_paths(agent.proc.pid)
              if t.endswith("(deleted)")], [], "deleted files held open")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(len(messages(standin)), len(lines), "documents")
    check_eq(len(set(messages(standin))), len(lines), "distinct messages")


def test_removed_file_read_into_spool_then_closed(scratch):
    """Elasticsearch hangs while the spool has room; the file is removed.
    The agent reads it to its end into the spool and closes it within
    5 s, and once Elasticsearch responds every line is indexed once."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "action": "hang"}]})
    lines = big_lines(20000)
    path = scratch.write("logs/big.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "*.log")],
                              scan_frequency="1s",
                              **{"close.timeout": "30s"})],
        standin.url,
        queue={"mem.max_bytes": "64KiB", "disk.path": scratch.join("spool"),
               "disk.max_bytes": "8MiB"})
    agent = harness.Agent(scratch, config)
    time.sleep(1)
    os.unlink(path)
    removed = time.monotonic()
    harness.wait_until(lambda: not holds_file(agent.proc.pid, path),
                       timeout=10, interval=0.05,
                       what="the removed file to be read into the spool and "
                       "closed")
    check(time.monotonic() - removed <= 5.0,
          "the removed file stayed open for more than 5 s")
    check("close.timeout reached" not in agent.output(),
          "closed by close.timeout, not at its end: %s"
          % harness.tail(agent.output()))

    standin.set_faults({})
    standin.release.set()
    harness.wait_until(lambda: len(messages(standin)) >= len(lines),
                       what="all 20000 lines")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)), sorted(lines), "messages indexed")


def test_close_timeout_abandons_removed_file(scratch):
    """Elasticsearch hangs, so reading pauses; the file is removed. The
    descriptor is closed by close.timeout and the unread rest is counted.
    Once Elasticsearch responds again, exactly the lines read before are
    indexed."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "action": "hang"}]})
    lines = big_lines(20000)
    data = "".join(l + "\n" for l in lines)
    path = scratch.write("logs/big.log", data)
    size = len(data.encode())
    # A small memory queue, so reading pauses before the end of the file.
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "*.log")],
                              scan_frequency="1s",
                              **{"close.timeout": "30s"})],
        standin.url, queue={"mem.max_bytes": "64KiB"})
    started = time.monotonic()
    agent = harness.Agent(scratch, config)
    time.sleep(1)
    os.unlink(path)
    harness.wait_until(lambda: not holds_file(agent.proc.pid, path),
                       timeout=40, interval=0.1,
                       what="close.timeout to close the removed file")
    took = time.monotonic() - started
    check(28 <= took <= 31, "the removed file was closed %.1f s after the "
          "start, expected 30 s (close.timeout)" % took)

    match = re.search(r"close.timeout reached for a removed file.* "
                      r"offset=(\d+) abandoned_bytes=(\d+)", agent.output())
    check(match is not None, "no close.timeout warning: %s"
          % harness.tail(agent.output()))
    offset, abandoned = int(match.group(1)), int(match.group(2))
    check_eq(offset + abandoned, size, "offset + abandoned bytes")
    check(offset > 0, "nothing was read before the timeout")
    read_lines = [l for l, o in zip(lines, harness.line_offsets(data.encode()))
                  if o < offset]

    standin.set_faults({})
    standin.release.set()
    harness.wait_until(lambda: len(messages(standin)) >= len(read_lines),
                       what="the %d lines read before the timeout"
                       % len(read_lines))
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)), sorted(read_lines),
             "messages indexed")
    check("input_bytes_abandoned_total=%d" % abandoned in agent.output(),
          "summary without input_bytes_abandoned_total=%d: %s"
          % (abandoned, harness.tail(agent.output())))


# --- rotated names matching the glob --------------------------------------

def access_line(n):
    return '192.0.2.10 - USER_A "GET /item/1" 200 seq=%d' % n


def test_rotated_names_in_glob_not_reread(scratch):
    """Two rename rotations and a restart with a glob that matches the
    rotated names: every line is sent once, none is read again."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    live = os.path.join(logs, "access.log")
    write_lines(live, [access_line(n) for n in (1, 2, 3)], mode="w")
    config = harness.write_config(
        scratch, [plain_input([live + "*"], scan_frequency="1s")],
        standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 3,
                       what="seq=1..3")
    os.rename(live, live + ".1")
    open(live, "w").close()
    write_lines(live, [access_line(4), access_line(5)])
    time.sleep(3)
    check_eq(agent.stop(), 0, "exit status of the first run")

    agent = harness.Agent(scratch, config, name="agent2")
    time.sleep(3)
    os.rename(live + ".1", live + ".2")
    os.rename(live, live + ".1")
    open(live, "w").close()
    write_lines(live, [access_line(6)])
    time.sleep(3)
    check_eq(agent.stop(), 0, "exit status of the second run")

    check_eq(messages(standin), [access_line(n) for n in range(1, 7)],
             "messages in index order")
    check_eq(len(items_sent(standin)), 6, "items sent")


# --- truncation -----------------------------------------------------------

def padded(n):
    return "seq=%d pad=%s" % (n, "p" * 92)


def test_truncation_live_offline_shrunk_regrown(scratch):
    """Truncated in place while running, while stopped with fewer bytes
    than the saved offset, and while stopped with more: every line once."""
    standin = scratch.standin()
    live = scratch.join("logs", "app.log")
    scratch.write("logs/app.log",
                  "".join(padded(n) + "\n" for n in range(1, 6)))
    config = harness.write_config(scratch, [plain_input([live])],
                                  standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 5, what="seq=1..5")

    os.truncate(live, 0)
    write_lines(live, ["seq=6 ok", "seq=7 ok"])
    written = time.monotonic()
    harness.wait_until(lambda: len(messages(standin)) >= 7, timeout=2,
                       what="seq=6 and seq=7 within 2 s")
    check(time.monotonic() - written <= 2.0, "seq=6..7 took over 2 s")
    check_eq(agent.stop(), 0, "exit status after case A")

    os.truncate(live, 0)
    write_lines(live, ["seq=8 ok"])
    agent = harness.Agent(scratch, config, name="agent2")
    harness.wait_until(lambda: len(messages(standin)) >= 8, timeout=2,
                       what="seq=8 after the offline truncation")
    check_eq(agent.stop(), 0, "exit status after case B")
    check_eq(list(registry_offsets(scratch).values()).count(
        os.path.getsize(live)), 1, "registry entries at the size of seq=8")

    os.truncate(live, 0)
    write_lines(live, [padded(n) for n in range(9, 16)])
    agent = harness.Agent(scratch, config, name="agent3")
    harness.wait_until(lambda: len(messages(standin)) >= 15, timeout=2,
                       what="seq=9..15 after the offline regrowth")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after case C")

    expected = [padded(n) for n in range(1, 6)] + \
        ["seq=%d ok" % n for n in (6, 7, 8)] + \
        [padded(n) for n in range(9, 16)]
    check_eq(sorted(messages(standin)), sorted(expected), "messages")
    check_eq(len(items_sent(standin)), 15, "items sent")


# --- copy and truncate ---------------------------------------------------

def numbered(prefix, first, count):
    return ["%s seq=%d" % (prefix, n) for n in range(first, first + count)]


def copytruncate(scratch, glob):
    """The agent is stopped (SIGSTOP) while lines are appended, the file is
    copied to app.log.1 and truncated, and new lines are written: the
    appended lines come from the copy, under the old file's ids."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    live = os.path.join(logs, "app.log")
    before = numbered("old", 1, 100)
    unread = numbered("old", 101, 20)
    after = numbered("new", 1, 10)
    write_lines(live, before, mode="w")
    config = harness.write_config(
        scratch, [plain_input([os.path.join(logs, glob)])], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 100,
                       what="the first 100 lines")
    time.sleep(0.3)
    agent.proc.send_signal(signal.SIGSTOP)
    try:
        write_lines(live, unread)
        shutil.copyfile(live, live + ".1")
        os.truncate(live, 0)
        write_lines(live, after)
    finally:
        agent.proc.send_signal(signal.SIGCONT)
    harness.wait_until(lambda: len(messages(standin)) >= 130, timeout=10,
                       what="all 130 lines")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = stored(standin)
    check_eq(sorted(m for m, _, _ in docs), sorted(before + unread + after),
             "messages")
    ids = {m: file_id_of(i) for m, i, _ in docs}
    old_id = ids[before[0]]
    check_eq({ids[m] for m in before + unread}, {old_id},
             "file ids of the lines written before the truncation")
    new_ids = {ids[m] for m in after}
    check_eq(len(new_ids), 1, "file ids of the lines after the truncation")
    check(old_id not in new_ids, "the truncated file kept its id")
    check_eq(len(items_sent(standin)), 130, "items sent")
    check("reading the rotated copy of a truncated file" in agent.output(),
          "the copy was not read as a continuation: %s"
          % harness.tail(agent.output()))
    check("truncated_bytes_lost=0 " in agent.output(),
          "summary without truncated_bytes_lost=0: %s"
          % harness.tail(agent.output()))
    offsets = registry_offsets(scratch)
    check_eq(sorted(offsets.values()),
             sorted([len("".join(l + "\n" for l in before)),
                     os.path.getsize(live), os.path.getsize(live + ".1")]),
             "registry offsets (old identity, new generation, copy)")
    check_eq(offsets[new_ids.pop()], os.path.getsize(live),
             "registry offset of the new generation")


def test_copytruncate_copy_matches_glob(scratch):
    copytruncate(scratch, "app.log*")


def test_copytruncate_copy_outside_glob(scratch):
    copytruncate(scratch, "app.log")


def test_truncation_same_first_line_new_ids(scratch):
    """After a truncation the file's first line is byte for byte the old
    one: the new lines still get new ids, so none is rejected with 409."""
    standin = scratch.standin()
    live = scratch.join("logs", "app.log")
    first = numbered("line", 1, 30)
    second = [first[0]] + numbered("again", 1, 9)
    scratch.write("logs/app.log", "".join(l + "\n" for l in first))
    config = harness.write_config(scratch, [plain_input([live])],
                                  standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 30,
                       what="the first 30 lines")
    with open(live, "w") as fp:
        fp.write("".join(l + "\n" for l in second))
    harness.wait_until(lambda: len(messages(standin)) >= 40, timeout=10,
                       what="the 10 lines written after the truncation")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)), sorted(first + second), "messages")
    statuses = [i["status"] for i in items_sent(standin)]
    check_eq(statuses, [201] * 40, "item statuses")


def test_truncation_during_backpressure_counts_lost(scratch):
    """Reading is paused by a hanging Elasticsearch when the file is
    truncated with no copy left: the bytes seen but not read are counted
    in truncated_bytes_lost, and the lines read before and after arrive."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "action": "hang"}]})
    lines = big_lines(20000)
    data = "".join(l + "\n" for l in lines)
    live = scratch.write("logs/app.log", data)
    # A small memory queue, so reading pauses before the end of the file.
    config = harness.write_config(
        scratch, [plain_input([live], scan_frequency="1s")], standin.url,
        queue={"mem.max_bytes": "64KiB"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(standin.request_log()) >= 1,
                       what="the first bulk request")
    time.sleep(1)

    after = numbered("new", 1, 5)
    with open(live, "w") as fp:
        fp.write("".join(l + "\n" for l in after))
    standin.set_faults({})
    standin.release.set()
    match = harness.wait_until(
        lambda: re.search(r"no rotated copy of the truncated file.* "
                          r"offset=(\d+) lost_bytes=(\d+)", agent.output()),
        what="the warning about lost bytes")

    offset, lost = int(match.group(1)), int(match.group(2))
    check_eq(offset + lost, len(data.encode()), "offset + lost bytes")
    check(offset > 0, "nothing was read before the truncation")
    read_lines = [l for l, o in zip(lines, harness.line_offsets(data.encode()))
                  if o < offset]
    harness.wait_until(
        lambda: len(messages(standin)) >= len(read_lines) + len(after),
        what="the lines read before and written after the truncation")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)), sorted(read_lines + after),
             "messages")
    check("truncated_bytes_lost=%d " % lost in agent.output(),
          "summary without truncated_bytes_lost=%d" % lost)


# --- compressed rotated files --------------------------------------------

def test_gz_copy_continues_from_offset(scratch):
    """app.log is read to offset X, written further while the agent is
    stopped, then rotated and compressed to app.log.1.gz: the next run
    reads the compressed file from X with the old ids, and nothing twice."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    live = os.path.join(logs, "app.log")
    first = numbered("old", 1, 50)
    later = numbered("old", 51, 10)
    fresh = numbered("new", 1, 5)
    write_lines(live, first, mode="w")
    config = harness.write_config(
        scratch, [plain_input([live + "*"])], standin.url)
    harness.run_once(scratch, config)
    check_eq(len(messages(standin)), 50, "documents after the first run")

    write_lines(live, later)
    os.rename(live, live + ".1")
    with open(live + ".1", "rb") as src, \
            gzip.open(live + ".1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.unlink(live + ".1")
    write_lines(live, fresh, mode="w")
    proc = harness.run_once(scratch, config)
    check("reading a compressed copy of a file already read" in proc.stderr,
          "the compressed file was not continued: %s"
          % harness.tail(proc.stderr))

    docs = stored(standin)
    check_eq(sorted(m for m, _, _ in docs), sorted(first + later + fresh),
             "messages")
    ids = {m: i for m, i, _ in docs}
    old_id = file_id_of(ids[first[0]])
    check_eq({file_id_of(ids[m]) for m in later}, {old_id},
             "file ids of the lines read from the compressed file")
    text = "".join(l + "\n" for l in first + later).encode()
    check_eq(sorted(int(ids[m].split("-")[1], 16) for m in later),
             harness.line_offsets(text)[50:],
             "offsets of the lines read from the compressed file")
    check_eq(len(items_sent(standin)), 65, "items sent")

    proc = harness.run_once(scratch, config)
    check_eq(len(items_sent(standin)), 65, "items sent after a third run")


def test_gz_file_read_whole(scratch):
    """A compressed file never seen before is read from its start, with
    offsets in the uncompressed text."""
    standin = scratch.standin()
    lines = numbered("gz", 1, 3000)
    text = "".join(l + "\n" for l in lines).encode()
    path = scratch.join("logs", "app.log.3.gz")
    os.makedirs(scratch.join("logs"))
    with gzip.open(path, "wb") as fp:
        fp.write(text)
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "app.log*")])],
        standin.url)
    harness.run_once(scratch, config)
    docs = standin.documents(harness.INDEX)
    check_eq(sorted(field(d["_source"], "message") for d in docs),
             sorted(lines), "messages")
    check_eq(sorted(field(d["_source"], "log.offset") for d in docs),
             harness.line_offsets(text), "offsets")


# --- registry pruning ------------------------------------------------------

def test_registry_drops_removed_files(scratch):
    """The entry of a removed file leaves the registry once it has not
    changed for registry.clean_removed. The entry of a file that is still
    there stays, however old."""
    standin = scratch.standin()
    keep = scratch.write("logs/keep.log", "keep seq=1\n")
    gone = scratch.write("logs/gone.log", "gone seq=1\n")
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "*.log")])],
        standin.url, **{"registry.clean_removed": "2s",
                        "registry.flush": "100ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 2,
                       what="both lines")
    harness.wait_until(lambda: len(registry_offsets(scratch)) == 2,
                       what="two registry entries")
    ids = {p: file_id_of(i) for _, i, p in stored(standin)}
    os.unlink(gone)
    harness.wait_until(lambda: len(registry_offsets(scratch)) == 1,
                       timeout=6, what="the entry of gone.log to go")
    time.sleep(2.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(registry_offsets(scratch), {ids[keep]: len("keep seq=1\n")},
             "registry after pruning")
    check("removed the entries of files gone" in agent.output(),
          "no log line about pruning: %s" % harness.tail(agent.output()))


# --- inode reuse ----------------------------------------------------------

def fixed_lines(first):
    """Three lines of 50 bytes each: seq=N word=alpha-NN, padded."""
    out = []
    for n in range(first, first + 3):
        line = "seq=%d word=alpha-%02d" % (n, n)
        out.append(line + " " * (49 - len(line)))
    return out


def create_on_inode(folder, name, lines, inode, map_file):
    """Write `lines` to folder/name so that the agent sees inode `inode`.
    The file system often hands a freed inode out again: up to 50 files are
    created, 20 ms apart, until one gets it. When none does, because
    another process took the inode, the inode shim reports it. Returns
    True when the reuse is real."""
    data = "".join(l + "\n" for l in lines)
    tmp = os.path.join(folder, "incoming.tmp")
    for _ in range(50):
        with open(tmp, "w") as fp:
            fp.write(data)
        if os.stat(tmp).st_ino == inode:
            os.rename(tmp, os.path.join(folder, name))
            return True
        os.unlink(tmp)
        time.sleep(0.02)
    with open(tmp, "w") as fp:
        fp.write(data)
    with open(map_file, "w") as fp:
        fp.write("%d %d\n" % (os.stat(tmp).st_ino, inode))
    os.rename(tmp, os.path.join(folder, name))
    return False


def shim_env(map_file):
    """Environment that loads the inode shim into the agent."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": os.environ["LF_INODE_SHIM"],
            "LF_INODE_MAP_FILE": map_file,
            # The shim is loaded before the sanitizer runtime.
            "ASAN_OPTIONS": (asan + ":" if asan else "") +
            "verify_asan_link_order=0"}


def test_reused_inode_is_new_file(scratch):
    """A new file on the inode of a removed one is read from its start,
    while running and across a restart."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    map_file = scratch.join("inode-map")
    env = shim_env(map_file)
    a = os.path.join(logs, "a.log")
    write_lines(a, fixed_lines(1), mode="w")
    check_eq(os.path.getsize(a), 150, "size of a.log")
    config = harness.write_config(
        scratch, [plain_input([os.path.join(logs, "*.log")],
                              scan_frequency="1s")],
        standin.url)
    agent = harness.Agent(scratch, config, env=env)
    harness.wait_until(lambda: len(messages(standin)) >= 3, what="seq=1..3")
    inode = os.stat(a).st_ino
    os.unlink(a)
    harness.wait_until(lambda: not holds_file(agent.proc.pid, a), timeout=5,
                       what="a.log to be closed")
    real = create_on_inode(logs, "b.log", fixed_lines(4), inode, map_file)
    print("  b.log on inode %d: %s" % (inode, "reused by the file system"
                                       if real else "reported by the shim"))
    time.sleep(3)
    check_eq(agent.stop(), 0, "exit status of the first run")

    os.unlink(os.path.join(logs, "b.log"))
    real = create_on_inode(logs, "c.log", fixed_lines(7), inode, map_file)
    print("  c.log on inode %d: %s" % (inode, "reused by the file system"
                                       if real else "reported by the shim"))
    agent = harness.Agent(scratch, config, env=env, name="agent2")
    time.sleep(3)
    check_eq(agent.stop(), 0, "exit status of the second run")

    registry_inodes = set()
    with open(scratch.join("data", "registry.json")) as fp:
        for entry in json.load(fp)["files"]:
            registry_inodes.add(entry["ino"])
    check_eq(registry_inodes, {inode}, "inodes in the registry")
    expected = fixed_lines(1) + fixed_lines(4) + fixed_lines(7)
    check_eq(sorted(messages(standin)), sorted(expected), "messages")
    check_eq(len(items_sent(standin)), 9, "items sent")


def test_twenty_byte_file_ships_at_once(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/tiny.log", "seq=1 tiny line: ok\n")
    check_eq(os.path.getsize(path), 20, "file size")
    config = harness.write_config(scratch, [plain_input([path])],
                                  standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 1, timeout=3,
                       what="the line of a 20-byte file")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(messages(standin), ["seq=1 tiny line: ok"], "messages")


def test_renamed_file_found_past_stale_entries(scratch):
    """A file renamed away from the glob while the agent was stopped is
    read to its end although older registry entries of removed files
    name the same inode number first."""
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "seq=1 first\n")
    config = harness.write_config(scratch, [plain_input([path])],
                                  standin.url)
    harness.run_once(scratch, config)
    registry = scratch.join("data", "registry.json")
    with open(registry) as fp:
        state = json.load(fp)
    check_eq(len(state["files"]), 1, "registry entries after the first run")
    entry = state["files"][0]
    stale = []
    for n in range(3):
        other = dict(entry)
        other_id = "%016x" % (int(entry["id"], 16) ^ (0x1111 << n))
        other["id"] = other_id
        other["base"] = other_id
        other.pop("doc_id", None)
        other["offset"] = 1
        stale.append(other)
    state["files"] = stale + [entry]
    with open(registry, "w") as fp:
        json.dump(state, fp)

    write_lines(path, ["seq=2 after", "seq=3 last"])
    os.rename(path, path + ".1")
    harness.run_once(scratch, config)
    check_eq(sorted(messages(standin)),
             ["seq=1 first", "seq=2 after", "seq=3 last"], "messages")
    check_eq(len(items_sent(standin)), 3, "items sent")


def copytruncate_while_stopped(scratch, glob_suffix):
    """A copy-and-truncate rotation while the agent is stopped: the copy is
    read from the offset the truncated file was read to, under its ids."""
    standin = scratch.standin()
    path = scratch.join("logs", "app.log")
    os.makedirs(scratch.join("logs"))
    write_lines(path, ["seq=1 a", "seq=2 b", "seq=3 c"], mode="w")
    config = harness.write_config(
        scratch, [plain_input([path + glob_suffix])], standin.url)
    harness.run_once(scratch, config)
    write_lines(path, ["seq=4 d", "seq=5 e"])
    shutil.copyfile(path, path + ".1")
    os.truncate(path, 0)
    write_lines(path, ["seq=6 f"])
    harness.run_once(scratch, config)

    check_eq(sorted(messages(standin)),
             ["seq=%d %s" % (n, c) for n, c in enumerate("abcdef", 1)],
             "messages")
    check_eq(len(items_sent(standin)), 6, "items sent")
    ids = {m: file_id_of(i) for m, i, _ in stored(standin)}
    check_eq(ids["seq=4 d"], ids["seq=1 a"],
             "file id of the lines read from the copy")


def test_copytruncate_while_stopped(scratch):
    copytruncate_while_stopped(scratch, "*")


def test_copytruncate_while_stopped_copy_outside_glob(scratch):
    copytruncate_while_stopped(scratch, "")


def test_truncated_file_killed_before_registry_save(scratch):
    """Lines written after a truncation keep their document ids when the
    agent is killed before the registry is saved, so the restart does not
    store them twice."""
    standin = scratch.standin()
    path = scratch.join("logs", "app.log")
    os.makedirs(scratch.join("logs"))
    write_lines(path, ["seq=1 a", "seq=2 b", "seq=3 c"], mode="w")
    config = harness.write_config(
        scratch, [plain_input([path])], standin.url,
        **{"registry.flush": "1h"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 3, what="seq=1..3")
    shutil.copyfile(path, path + ".1")
    os.truncate(path, 0)
    write_lines(path, ["seq=4 d"])
    harness.wait_until(lambda: len(messages(standin)) >= 4, what="seq=4")
    agent.kill()
    agent = harness.Agent(scratch, config, name="agent2")
    write_lines(path, ["seq=5 e"])
    harness.wait_until(lambda: "seq=5 e" in messages(standin), what="seq=5")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)),
             ["seq=1 a", "seq=2 b", "seq=3 c", "seq=4 d", "seq=5 e"],
             "messages")


def test_copytruncate_with_lines_in_flight_then_killed(scratch):
    """Lines sent but not yet acknowledged when the file is truncated are
    read again from the copy, so a kill before their results come loses
    nothing."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 2, "action": "hang"}]})
    path = scratch.join("logs", "app.log")
    os.makedirs(scratch.join("logs"))
    write_lines(path, ["seq=1 a", "seq=2 b", "seq=3 c"], mode="w")
    config = harness.write_config(
        scratch, [plain_input([path + "*"])], standin.url,
        output={"timeout": "60s"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 3, what="seq=1..3")
    write_lines(path, ["seq=4 d", "seq=5 e"])
    harness.wait_until(lambda: len(standin.request_log()) >= 2,
                       what="the request of seq=4..5")
    shutil.copyfile(path, path + ".1")
    os.truncate(path, 0)
    write_lines(path, ["seq=6 f"])
    harness.wait_until(lambda: "reading the rotated copy" in agent.output(),
                       what="the copy to be found")
    time.sleep(2)  # the registry, with the copy's entry, is saved
    agent.kill()
    agent = harness.Agent(scratch, config, name="agent2")
    harness.wait_until(lambda: len(messages(standin)) >= 6, what="seq=1..6")
    harness.wait_until(lambda: "harvesting file" in agent.output(),
                       what="the second run to start reading")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)),
             ["seq=%d %s" % (n, c) for n, c in enumerate("abcdef", 1)],
             "messages")


def test_copy_found_then_killed_before_registry_save(scratch):
    """A rotated copy matching the glob that the agent paired with the
    truncation, killed before the registry recorded the pairing: the
    restart pairs them again from the saved entry instead of reading the
    copy from its start under new ids."""
    standin = scratch.standin()
    path = scratch.join("logs", "app.log")
    os.makedirs(scratch.join("logs"))
    write_lines(path, ["seq=1 a", "seq=2 b", "seq=3 c"], mode="w")
    config = harness.write_config(
        scratch, [plain_input([path + "*"])], standin.url,
        **{"registry.flush": "3s"})

    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 3, what="seq=1..3")
    registry = scratch.join("data", "registry.json")
    harness.wait_until(lambda: os.path.exists(registry) and
                       3 * len("seq=1 a\n") in
                       registry_offsets(scratch).values(), timeout=10,
                       what="the registry save of seq=1..3")

    write_lines(path, ["seq=4 d", "seq=5 e"])
    harness.wait_until(lambda: len(messages(standin)) >= 5, what="seq=4..5")
    shutil.copyfile(path, path + ".1")
    os.truncate(path, 0)
    write_lines(path, ["seq=6 f"])
    harness.wait_until(lambda: "reading the rotated copy" in agent.output(),
                       what="the copy to be found")

    agent.kill()
    # The truncated file grows past the saved offset before the restart,
    # so only its new first line shows that it was truncated.
    write_lines(path, ["seq=7 g", "seq=8 h", "seq=9 i"])
    check(os.path.getsize(path) > 3 * len("seq=1 a\n"),
          "the file is past the saved offset")

    agent = harness.Agent(scratch, config, name="agent2")
    harness.wait_until(lambda: len(messages(standin)) >= 9, what="seq=1..9")
    harness.wait_until(lambda: "harvesting file" in agent.output(),
                       what="the second run to start reading")
    time.sleep(1)

    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)),
             sorted("seq=%d %s" % (n, c) for n, c in
                    enumerate("abcdefghi", 1)), "messages")
    check("reading the rotated copy of a file truncated while the agent "
          "was stopped" in agent.output(),
          "the restart did not pair the copy: %s"
          % harness.tail(agent.output()))


def test_copytruncate_while_stopped_nothing_acknowledged(scratch):
    """Lines indexed but not yet acknowledged when the agent was killed
    leave a registry entry at offset 0. The rotated copy made while the
    agent was stopped still continues that entry's ids, so those lines
    get status 409 instead of being stored twice."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "delay": 20}]})
    path = scratch.join("logs", "app.log")
    os.makedirs(scratch.join("logs"))
    write_lines(path, ["seq=1 a", "seq=2 b", "seq=3 c"], mode="w")
    config = harness.write_config(
        scratch, [plain_input([path + "*"])], standin.url,
        output={"timeout": "60s"}, **{"registry.flush": "100ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(messages(standin)) >= 3, what="seq=1..3")
    registry = scratch.join("data", "registry.json")
    harness.wait_until(lambda: os.path.exists(registry) and
                       list(registry_offsets(scratch).values()) == [0],
                       timeout=10, what="the registry save at offset 0")

    agent.kill()
    shutil.copyfile(path, path + ".1")
    os.truncate(path, 0)
    write_lines(path, ["seq=4 d"])

    agent = harness.Agent(scratch, config, name="agent2")
    harness.wait_until(lambda: len(messages(standin)) >= 4, what="seq=4")
    harness.wait_until(lambda: "reading the rotated copy" in agent.output(),
                       what="the copy to be paired")
    time.sleep(1)

    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)),
             ["seq=1 a", "seq=2 b", "seq=3 c", "seq=4 d"], "messages")


def test_released_file_inode_reused_by_new_file(scratch):
    """A file renamed away from the glob and released stays closed when
    its name and inode number are later taken by a new file, which no
    glob matches."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    map_file = scratch.join("inode-map")
    live = os.path.join(logs, "app.log")
    rotated = live + ".1"
    write_lines(live, fixed_lines(1), mode="w")
    config = harness.write_config(
        scratch, [plain_input([live], scan_frequency="1s")], standin.url)
    agent = harness.Agent(scratch, config, env=shim_env(map_file))
    harness.wait_until(lambda: len(messages(standin)) >= 3, what="seq=1..3")
    inode = os.stat(live).st_ino
    os.rename(live, rotated)
    harness.wait_until(lambda: "closing file until it is written again" in
                       agent.output(), what="the renamed file released")
    # The next rotation, seen by the agent only as a whole: the file
    # moves on and is removed, and the new copy gets its inode number.
    agent.proc.send_signal(signal.SIGSTOP)
    try:
        os.rename(rotated, live + ".2")
        os.unlink(live + ".2")
        real = create_on_inode(logs, "app.log.1", fixed_lines(4), inode,
                               map_file)
    finally:
        agent.proc.send_signal(signal.SIGCONT)
    print("  app.log.1 on inode %d: %s" % (inode, "reused by the file "
                                          "system" if real else
                                          "reported by the shim"))
    harness.wait_until(lambda: "file was removed while closed" in
                       agent.output(), what="the released file closed")
    time.sleep(2)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(sorted(messages(standin)), sorted(fixed_lines(1)), "messages")


TESTS = [
    test_rename_after_idle_close_glob_matches,
    test_rename_after_idle_close_live_name_only,
    test_idle_file_reopened_on_write,
    test_removed_file_closed_when_read,
    test_removed_file_read_into_spool_then_closed,
    test_close_timeout_abandons_removed_file,
    test_rotated_names_in_glob_not_reread,
    test_truncation_live_offline_shrunk_regrown,
    test_copytruncate_copy_matches_glob,
    test_copytruncate_copy_outside_glob,
    test_truncation_same_first_line_new_ids,
    test_truncation_during_backpressure_counts_lost,
    test_gz_copy_continues_from_offset,
    test_gz_file_read_whole,
    test_registry_drops_removed_files,
    test_reused_inode_is_new_file,
    test_twenty_byte_file_ships_at_once,
    test_renamed_file_found_past_stale_entries,
    test_copytruncate_while_stopped,
    test_copytruncate_while_stopped_copy_outside_glob,
    test_truncated_file_killed_before_registry_save,
    test_copytruncate_with_lines_in_flight_then_killed,
    test_copy_found_then_killed_before_registry_save,
    test_copytruncate_while_stopped_nothing_acknowledged,
    test_released_file_inode_reused_by_new_file,
]

if __name__ == "__main__":
    harness.main(TESTS)
