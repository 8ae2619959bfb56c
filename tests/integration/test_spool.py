"""The queue and the disk spool with the real agent: Elasticsearch down
while lines are written, a spool left for the next run, SIGTERM and a
second signal, and corrupt segments and registry. Every line must be in
the index exactly once, except the events of corrupt records."""

import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time

import harness
from harness import check, check_eq, field
from test_http_endpoint import metric, scrape

SEGMENT_HEADER = 20
RECORD_HEADER = 24
# The agent's endpoint on a port of the system's choosing.
HTTP = {"enabled": True, "port": 0}


def registry_offset(scratch, path):
    """Return the saved offset of `path`, or -1 when it has none yet."""
    try:
        with open(scratch.join("data", "registry.json")) as fp:
            registry = json.load(fp)
    except (OSError, ValueError):
        return -1
    offsets = [entry["offset"] for entry in registry["files"]
               if entry.get("path") == path]
    return offsets[0] if offsets else -1


def spool_records(scratch):
    """Return the sequence numbers of the records in the spool's segments,
    read with the layout of docs/architecture.md."""
    folder = scratch.join("spool")
    seqs = []
    if not os.path.isdir(folder):
        return seqs
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".seg"):
            continue
        with open(os.path.join(folder, name), "rb") as fp:
            data = fp.read()
        pos = SEGMENT_HEADER
        while pos + RECORD_HEADER <= len(data):
            magic, length, seq = struct.unpack_from("<4sIQ", data, pos)
            if magic != b"LFRC" or pos + RECORD_HEADER + length > len(data):
                break
            seqs.append(seq)
            pos += RECORD_HEADER + length
    return seqs


def spool_bytes(scratch):
    folder = scratch.join("spool")
    if not os.path.isdir(folder):
        return 0
    return sum(os.path.getsize(os.path.join(folder, n))
               for n in os.listdir(folder) if n.endswith(".seg"))


def spool_config(scratch, path, url, mode="overflow", max_bytes="64MiB",
                 name="logferry.yml", output=None, **top):
    queue = {"mem.max_bytes": "64KiB", "disk.path": scratch.join("spool"),
             "disk.max_bytes": max_bytes, "disk.mode": mode}
    settings = {"queue": queue}
    settings.update(top)
    out = {"bulk_max_size": 200}
    out.update(output or {})
    return harness.write_config(scratch, [harness.app_input([path])], url,
                                name=name, output=out, **settings)


def write_lines(scratch, count, seed, first=0, name="logs/app.log"):
    lines, expected = harness.app_lines(count, seed=seed, first=first)
    path = scratch.append(name, "".join(l + "\n" for l in lines))
    return path, lines, expected


def check_all_once(standin, path, lines, expected):
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())


def created_ids(standin):
    """Ids the stand-in returned 201 for, in the order it indexed them."""
    return [i["id"] for e in standin.request_log() for i in e["items"]
            if i["status"] == 201]


def summary(output):
    """Return the values of the last shutdown report line as a dict."""
    found = re.findall(r"shutdown report: (.*)", output)
    check(found, "no shutdown report in the output: %s"
          % harness.tail(output))
    return dict(kv.split("=", 1) for kv in found[-1].split())


def http_port(agent):
    """Return the port of the agent's endpoint, read from its log."""
    match = re.search(r"http: serving .* port=(\d+)", agent.output())
    check(match is not None, "no endpoint in the log: %s"
          % harness.tail(agent.output()))
    return int(match.group(1))


def doc_count(standin):
    if harness.INDEX not in standin.store.indices:
        return 0
    return len(standin.store.indices[harness.INDEX].docs)


# --- outage --------------------------------------------------------------

def test_outage_spool_reads_files_to_end(scratch):
    """mode always: offsets are committed once records are durable."""
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 5000, seed=61)
    config = spool_config(scratch, path, url, mode="always")
    agent = harness.Agent(scratch, config)
    size = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       timeout=30, what="offset at the end of the file "
                       "while Elasticsearch is down")
    agent.check_running()
    check(spool_bytes(scratch) > 0, "the spool is empty")

    standin = scratch.standin(port=port)
    harness.wait_until(lambda: doc_count(standin) >= len(lines),
                       timeout=30, what="every line after the outage")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), len(lines), "items answered 201")


def test_outage_overflow_reads_files_to_end(scratch):
    """mode overflow: the file is read to its end into the spool."""
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 5000, seed=60)
    config = spool_config(scratch, path, url,
                          **{"shutdown.timeout": "1s"})
    agent = harness.Agent(scratch, config)
    # The output keeps the batches that it retries; the rest is queued.
    harness.wait_until(lambda: len(spool_records(scratch)) > 4000,
                       timeout=30, what="events spooled while "
                       "Elasticsearch is down")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    values = summary(agent.output())
    spooled = int(values["spooled"])
    check_eq(spooled + int(values["left_in_files"]), 5000,
             "events spooled and left in files")
    check_eq(values["spool_events"], str(spooled), "events in the spool")
    check_eq(len(spool_records(scratch)), spooled, "records on disk")

    standin = scratch.standin(port=port)
    agent = harness.Agent(scratch, config, name="second")
    harness.wait_until(lambda: doc_count(standin) >= len(lines),
                       timeout=30, what="every line after the outage")
    size = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       timeout=10, what="offset at the end of the file")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), len(lines), "items answered 201")


def test_outage_small_spool_stops_reading(scratch):
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 8000, seed=62)
    config = spool_config(scratch, path, url, max_bytes="256KiB")
    agent = harness.Agent(scratch, config)
    size = os.path.getsize(path)
    # The spool fills and reading stops short of the end.
    harness.wait_until(lambda: spool_bytes(scratch) > 128 * 1024,
                       timeout=30, what="the spool filled")
    time.sleep(2)
    first = len(spool_records(scratch))
    time.sleep(1.5)
    second = len(spool_records(scratch))
    check_eq(second, first, "spooled events while the spool is full")
    check(first < 8000 - 400, "%d events spooled with a 256KiB spool"
          % first)
    check(spool_bytes(scratch) <= 256 * 1024, "spool size %d over 256KiB"
          % spool_bytes(scratch))
    check_eq(registry_offset(scratch, path), 0, "offset while the events "
             "before the spooled ones wait in the output")

    standin = scratch.standin(port=port)
    harness.wait_until(lambda: doc_count(standin) >= len(lines),
                       timeout=60, what="every line after the outage")
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       timeout=10, what="offset at the end of the file")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), len(lines), "items answered 201")


# --- restart and shutdown -------------------------------------------------

def test_restart_replays_spool_first(scratch):
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 1000, seed=63)
    # One worker, so requests are indexed in the order they are sent.
    config = spool_config(scratch, path, url, mode="always",
                          output={"workers": 1},
                          **{"shutdown.timeout": "1s"})
    agent = harness.Agent(scratch, config)
    size = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       timeout=30, what="every line spooled")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    values = summary(agent.output())
    check_eq(values["delivered"], "0", "delivered")
    check_eq(values["spooled"], "1000", "spooled")
    check_eq(values["left_in_files"], "0", "left in files")

    more, more_expected = harness.app_lines(500, seed=64, first=1000)
    scratch.append("logs/app.log", "".join(l + "\n" for l in more))
    standin = scratch.standin(port=port)
    second = harness.Agent(scratch, config, name="second")
    harness.wait_until(lambda: doc_count(standin) >= 1500, timeout=30,
                       what="old and new lines")
    check_eq(second.stop(), 0, "exit status of the second run")
    check(re.search(r"spool opened .* events=1000 ", second.output()),
          "the second run did not report 1000 spooled events: %s"
          % harness.tail(second.output()))
    check_all_once(standin, path, lines + more, expected + more_expected)
    ids = created_ids(standin)
    check_eq(len(ids), 1500, "items answered 201")
    offsets = {}
    for d in standin.documents(harness.INDEX):
        offsets[d["_id"]] = field(d["_source"], "log.offset")
    order = [offsets[i] for i in ids]
    check_eq(order, sorted(order), "offsets in the order indexed")


def test_sigterm_spools_memory_queue(scratch):
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 300, seed=65)
    config = spool_config(scratch, path, url, output={"bulk_max_size": 50,
                                                      "workers": 1},
                          **{"shutdown.timeout": "1s"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: "waiting" in agent.output() or
                       registry_offset(scratch, path) == 0, timeout=10,
                       what="the agent started")
    time.sleep(1.5)
    started = time.monotonic()
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    took = time.monotonic() - started
    check(took < 5, "stopping took %.1f s with shutdown.timeout 1s" % took)
    values = summary(agent.output())
    check_eq(values["output"], "elasticsearch", "output")
    check_eq(values["delivered"], "0", "delivered")
    spooled = int(values["spooled"])
    left = int(values["left_in_files"])
    check_eq(spooled + left, 300, "spooled + left_in_files")
    check(spooled > 0, "nothing was spooled")

    standin = scratch.standin(port=port)
    second = harness.Agent(scratch, config, name="second")
    harness.wait_until(lambda: doc_count(standin) >= 300, timeout=30,
                       what="every line in the second run")
    check_eq(second.stop(), 0, "exit status of the second run")
    check(re.search(r"spool opened .* events=%d " % spooled,
                    second.output()),
          "the second run did not find %d spooled events: %s"
          % (spooled, harness.tail(second.output())))
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), 300, "items answered 201")


def test_second_signal_exits_at_once(scratch):
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 2000, seed=66)
    config = spool_config(scratch, path, url,
                          **{"shutdown.timeout": "20s"})
    agent = harness.Agent(scratch, config)
    size = os.path.getsize(path)
    harness.wait_until(lambda: spool_bytes(scratch) > 0, timeout=10,
                       what="events spooled")
    agent.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    started = time.monotonic()
    agent.proc.send_signal(signal.SIGINT)
    agent.proc.wait(10)
    took = time.monotonic() - started
    check(took < 2, "exit took %.1f s after the second signal" % took)
    check(re.search(r"again while stopping", agent.output()),
          "the second signal was not logged")
    check(registry_offset(scratch, path) <= size, "offset past the end")

    standin = scratch.standin(port=port)
    second = harness.Agent(scratch, config, name="second")
    harness.wait_until(lambda: doc_count(standin) >= 2000, timeout=30,
                       what="every line in the second run")
    check_eq(second.stop(), 0, "exit status of the second run")
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), 2000, "items answered 201")


def test_sigterm_reads_files_to_end(scratch):
    """A slow cluster: SIGTERM still reads the file to its end and waits
    for every result, within shutdown.timeout."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "delay": 0.2}]})
    path, lines, expected = write_lines(scratch, 3000, seed=69)
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"bulk_max_size": 100, "workers": 1},
        queue={"mem.max_bytes": "64KiB"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: doc_count(standin) > 0, timeout=10,
                       what="a first document")
    check(doc_count(standin) < 1000, "most lines were indexed before "
          "SIGTERM; the test needs a slower stand-in")
    check_eq(agent.stop(timeout=30), 0, "exit status after SIGTERM")
    values = summary(agent.output())
    check_eq(values["delivered"], "3000", "delivered")
    check_eq(values["spooled"], "0", "spooled")
    check_eq(values["left_in_files"], "0", "left in files")
    check(re.search(r"open files read to their end", agent.output()),
          "reading to the end was not logged")
    check_all_once(standin, path, lines, expected)


def test_drop_oldest_keeps_reading(scratch):
    """on_full: drop_oldest deletes the oldest segments, logs each drop,
    and reading never stops; the rest arrives once."""
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 3000, seed=70)
    config = spool_config(scratch, path, url, mode="always",
                          max_bytes="256KiB", http=HTTP,
                          **{"queue.disk.on_full": "drop_oldest"})
    agent = harness.Agent(scratch, config)
    size = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       timeout=30, what="the whole file spooled")
    drops = re.findall(r"dropped a segment segment=\S+ first_seq=(\d+) "
                       r"last_seq=(\d+) events=(\d+)", agent.output())
    check(drops, "no drop was logged: %s" % harness.tail(agent.output()))
    dropped = sum(int(d[2]) for d in drops)
    for first, last, count in drops:
        check_eq(int(last) - int(first) + 1, int(count),
                 "events of the range %s..%s" % (first, last))
    values = scrape(http_port(agent))[1]
    check_eq(metric(values, "logferry_events_dropped_total",
                    reason="spool_full"), dropped, "spool_full drops")
    check_eq(metric(values, "logferry_events_dropped_total",
                    reason="spool_corrupt"), 0, "spool_corrupt drops")

    standin = scratch.standin(port=port)
    harness.wait_until(lambda: doc_count(standin) >= 3000 - dropped,
                       timeout=30, what="the events not dropped")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    # Sequences start at 1 in file order, so the drops are the oldest
    # lines. The first ones were read from the spool into the output's
    # batches (4 of 200 here), plus one the queue read and kept while the
    # output was full, before their segments were dropped. Those are
    # still delivered.
    stored = sorted(field(d["_source"], "log.offset")
                    for d in standin.documents(harness.INDEX))
    offsets = harness.line_offsets(("".join(l + "\n" for l in lines))
                                   .encode())
    sent_before = len(stored) - (3000 - dropped)
    check(0 <= sent_before <= 801, "%d dropped events were delivered"
          % sent_before)
    check_eq(stored, offsets[:sent_before] + offsets[dropped:],
             "offsets stored")
    check_eq(len(created_ids(standin)), len(stored), "items answered 201")


# --- corruption -----------------------------------------------------------

def segment_records(path):
    """Return (offset, length, doc id) of each record of a segment."""
    with open(path, "rb") as fp:
        data = fp.read()
    records = []
    pos = SEGMENT_HEADER
    while pos + RECORD_HEADER <= len(data):
        magic, length, _ = struct.unpack_from("<4sIQ", data, pos)
        if magic != b"LFRC" or pos + RECORD_HEADER + length > len(data):
            break
        payload = pos + RECORD_HEADER
        # Event format 2 puts the file id and two offsets (24 bytes) after
        # the version byte. Format 1 has the document id there.
        id_at = payload + 1 + (24 if data[payload] == 2 else 0)
        id_len = data[id_at]
        doc_id = data[id_at + 1:id_at + 1 + id_len].decode()
        records.append((pos, length, doc_id))
        pos = payload + length
    return records


def doc_offset(doc_id):
    return int(doc_id.split("-")[1], 16)


def test_corrupt_spool_and_registry(scratch):
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 300, seed=67)
    config = spool_config(scratch, path, url, mode="always",
                          max_bytes="1MiB", http=HTTP,
                          **{"shutdown.timeout": "1s"})
    agent = harness.Agent(scratch, config)
    half = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == half,
                       timeout=30, what="the first half spooled")
    # Two saves, so registry.json.prev contains the first half's offset.
    more, _ = harness.app_lines(300, seed=68, first=300)
    scratch.append("logs/app.log", "".join(l + "\n" for l in more))
    lines += more
    size = os.path.getsize(path)
    harness.wait_until(lambda: registry_offset(scratch, path) == size,
                       timeout=30, what="every line spooled")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    folder = scratch.join("spool")
    segments = sorted(n for n in os.listdir(folder) if n.endswith(".seg"))
    check(len(segments) >= 3, "only %d segments" % len(segments))
    # A flipped byte in the payload of the 5th record of the first segment.
    first = os.path.join(folder, segments[0])
    records = segment_records(first)
    flipped = records[4]
    with open(first, "r+b") as fp:
        fp.seek(flipped[0] + RECORD_HEADER + flipped[1] // 2)
        byte = fp.read(1)
        fp.seek(-1, os.SEEK_CUR)
        fp.write(bytes([byte[0] ^ 0x5a]))
    # The last segment cut in the middle of its third record from the end.
    last = os.path.join(folder, segments[-1])
    records = segment_records(last)
    torn = records[-3]
    os.truncate(last, torn[0] + RECORD_HEADER + torn[1] // 2)
    lost_in_spool = [flipped[2]] + [r[2] for r in records[-3:]]
    # A torn registry: the agent falls back to registry.json.prev.
    with open(scratch.join("data", "registry.json.prev")) as fp:
        prev = json.load(fp)
    prev_offset = [e["offset"] for e in prev["files"]
                   if e["path"] == path][0]
    with open(scratch.join("data", "registry.json"), "r+b") as fp:
        fp.truncate(40)

    standin = scratch.standin(port=port)
    second = harness.Agent(scratch, config, name="second")
    # Lines after the previous registry copy's offset are read again, so
    # only lost spool records before it are missing from the index.
    missing = sorted(doc_offset(i) for i in lost_in_spool
                     if doc_offset(i) < prev_offset)
    offsets = harness.line_offsets(("".join(l + "\n" for l in lines))
                                   .encode())
    check_eq(len(missing), 1, "lost spool records before the copy's offset")
    wanted = sorted(set(offsets) - set(missing))
    harness.wait_until(lambda: doc_count(standin) >= len(wanted),
                       timeout=30, what="%d documents" % len(wanted))
    time.sleep(1)
    values = scrape(http_port(second))[1]
    check_eq(metric(values, "logferry_events_dropped_total",
                    reason="spool_corrupt"), 1, "spool_corrupt drops")
    check_eq(metric(values, "logferry_events_dropped_total",
                    reason="spool_full"), 0, "spool_full drops")
    check_eq(second.stop(), 0, "exit status of the second run")
    out = second.output()
    check(re.search(r"registry\.json\.prev", out),
          "the registry fallback was not logged: %s" % harness.tail(out))
    check(re.search(r"corrupt spool records skipped .* events=1 ", out),
          "the corrupt record was not reported: %s" % harness.tail(out))
    check(re.search(r"spool opened .* corrupt_events_skipped=1 "
                    r"segments_set_aside=0 bytes_truncated=%d"
                    % (torn[1] // 2 + RECORD_HEADER), out),
          "the spool counts are wrong: %s" % harness.tail(out))
    stored = sorted(field(d["_source"], "log.offset")
                    for d in standin.documents(harness.INDEX))
    check_eq(stored, wanted, "offsets stored")
    check_eq(len(created_ids(standin)), len(wanted), "items answered 201")


TESTS = [
    test_outage_spool_reads_files_to_end,
    test_outage_overflow_reads_files_to_end,
    test_outage_small_spool_stops_reading,
    test_restart_replays_spool_first,
    test_sigterm_spools_memory_queue,
    test_second_signal_exits_at_once,
    test_sigterm_reads_files_to_end,
    test_drop_oldest_keeps_reading,
    test_corrupt_spool_and_registry,
]

if __name__ == "__main__":
    harness.main(TESTS)
