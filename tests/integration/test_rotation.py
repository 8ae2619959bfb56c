"""Rotation by rename-and-create in agent mode: every line exactly once,
whether or not the glob matches the rotated name."""

import os
import time

import harness
from harness import check, check_eq, field


def write_lines(fp, lines):
    fp.write("".join(l + "\n" for l in lines))
    fp.flush()


def count_docs(standin):
    return len(standin.documents(harness.INDEX))


def rotate_and_check(scratch, glob):
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    live = os.path.join(logs, "app.log")
    lines, _ = harness.app_lines(420, seed=11)
    batches = [lines[:150], lines[150:200], lines[200:230], lines[230:]]
    config = harness.write_config(
        scratch, [harness.app_input([os.path.join(logs, glob)])],
        standin.url)

    old = open(live, "w")
    try:
        write_lines(old, batches[0])
        agent = harness.Agent(scratch, config)
        harness.wait_until(lambda: count_docs(standin) >= 150,
                           what="the first 150 lines")
        write_lines(old, batches[1])
        os.rename(live, live + ".1")
        # The application keeps the renamed file open and writes a
        # few more lines before it reopens its log.
        write_lines(old, batches[2])
    finally:
        old.close()
    with open(live, "w") as new:
        write_lines(new, batches[3])
    harness.wait_until(lambda: count_docs(standin) >= len(lines),
                       what="all %d lines" % len(lines))
    agent.check_running()
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = harness.documents(standin)
    messages = [field(d, "message") for d in docs]
    check_eq(len(messages), len(lines), "documents")
    check_eq(sorted(messages), sorted(lines), "messages")
    new_docs = [d for d in docs if field(d, "message") in set(batches[3])]
    check_eq(sorted(field(d, "log.offset") for d in new_docs),
             harness.line_offsets("".join(l + "\n" for l in batches[3])
                                  .encode()),
             "offsets of the lines in the new file")
    check_eq({field(d, "log.file.path") for d in new_docs}, {live},
             "log.file.path of the new file")
    statuses = [i["status"] for r in standin.request_log()
                for i in r["items"]]
    check_eq(statuses.count(201), len(lines), "items created")
    check(len(statuses) == len(lines),
          "%d items sent for %d lines (duplicates)"
          % (len(statuses), len(lines)))


def test_rotation_glob_matches_rotated_name(scratch):
    rotate_and_check(scratch, "app.log*")


def test_rotation_glob_matches_live_name_only(scratch):
    rotate_and_check(scratch, "app.log")


def test_delete_and_recreate_same_name(scratch):
    standin = scratch.standin()
    live = scratch.join("logs", "app.log")
    first, _ = harness.app_lines(100, seed=41)
    second, _ = harness.app_lines(60, seed=42, first=1000)
    scratch.write("logs/app.log", "".join(l + "\n" for l in first))
    config = harness.write_config(
        scratch, [harness.app_input([live])], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: count_docs(standin) >= 100,
                       what="the first 100 lines")
    old_inode = os.stat(live).st_ino
    os.unlink(live)
    time.sleep(0.5)
    # The new file often gets the inode just freed: identity must also
    # look at the content, or these lines would be taken as already read.
    scratch.write("logs/app.log", "".join(l + "\n" for l in second))
    reused = os.stat(live).st_ino == old_inode
    harness.wait_until(lambda: count_docs(standin) >= 160,
                       what="the 60 lines of the new file (inode %s)"
                       % ("reused" if reused else "new"))
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    messages = sorted(field(d, "message") for d in harness.documents(standin))
    check_eq(messages, sorted(first + second), "messages")


def test_truncate_in_place_while_running(scratch):
    standin = scratch.standin()
    live = scratch.join("logs", "app.log")
    first, _ = harness.app_lines(100, seed=51)
    second, _ = harness.app_lines(30, seed=52, first=1000)
    scratch.write("logs/app.log", "".join(l + "\n" for l in first))
    config = harness.write_config(
        scratch, [harness.app_input([live])], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: count_docs(standin) >= 100,
                       what="the first 100 lines")

    # Truncated in place, as `> app.log` or copytruncate do, then written
    # with fewer bytes than were read before.
    with open(live, "w") as fp:
        write_lines(fp, second)
    harness.wait_until(lambda: count_docs(standin) >= 130,
                       what="the 30 lines written after the truncation")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = harness.documents(standin)
    check_eq(sorted(field(d, "message") for d in docs),
             sorted(first + second), "messages")
    new_docs = [d for d in docs if field(d, "message") in set(second)]
    check_eq(sorted(field(d, "log.offset") for d in new_docs),
             harness.line_offsets("".join(l + "\n" for l in second)
                                  .encode()),
             "offsets of the lines after the truncation")
    check_eq(agent.output().count("file was truncated"), 1,
             "truncation warnings")


def test_rotated_during_outage_then_restart(scratch):
    """The glob names only app.log. It is renamed while Elasticsearch is
    down and the agent is stopped before anything was acknowledged: the
    next run must still find app.log.1 and ship all of it."""
    live = scratch.join("logs", "app.log")
    old, _ = harness.app_lines(3000, seed=61)
    new, _ = harness.app_lines(10, seed=62, first=5000)
    scratch.write("logs/app.log", "".join(l + "\n" for l in old))
    dead_url = "http://127.0.0.1:%d" % harness.free_port()
    down = harness.write_config(
        scratch, [harness.app_input([live])], dead_url, name="down.yml",
        **{"shutdown.timeout": "1s", "registry.flush": "50ms"})
    agent = harness.Agent(scratch, down)
    harness.wait_until(
        lambda: os.path.exists(scratch.join("data", "registry.json")),
        what="the registry to record the file")
    os.rename(live, live + ".1")
    scratch.write("logs/app.log", "".join(l + "\n" for l in new))
    check_eq(agent.stop(), 1, "exit status after SIGTERM with nothing "
             "acknowledged")

    standin = scratch.standin()
    up = harness.write_config(
        scratch, [harness.app_input([live])], standin.url, name="up.yml")
    proc = harness.run_once(scratch, up)
    check("resuming a file renamed away from the globs" in proc.stderr,
          "the renamed file was not resumed: %s" % harness.tail(proc.stderr))
    messages = sorted(field(d, "message") for d in harness.documents(standin))
    check_eq(len(messages), len(old) + len(new), "documents")
    check_eq(messages, sorted(old + new), "messages")


def test_new_directory_found_by_inotify(scratch):
    """With a wildcard folder in the glob and rescans an hour apart, a
    folder and file created after the start are found through inotify."""
    standin = scratch.standin()
    first, _ = harness.app_lines(10, seed=81)
    later, _ = harness.app_lines(10, seed=82, first=100)
    scratch.write("logs/a/app.log", "".join(l + "\n" for l in first))
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*", "app.log")],
                                    scan_frequency="1h")],
        standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: count_docs(standin) >= 10,
                       what="the lines of logs/a/app.log")

    os.makedirs(scratch.join("logs", "b"))
    time.sleep(0.3)
    scratch.write("logs/b/app.log", "".join(l + "\n" for l in later))
    harness.wait_until(lambda: count_docs(standin) >= 20, timeout=10,
                       what="the lines of the new logs/b/app.log")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    messages = sorted(field(d, "message") for d in harness.documents(standin))
    check_eq(messages, sorted(first + later), "messages")


def rotate_repeatedly(scratch, glob, pause_s):
    """Write 6,000 lines while the agent runs, rotating every 1,000 the way
    logrotate does: app.log.N becomes app.log.N+1, app.log becomes
    app.log.1, and a new app.log is created. Every line must arrive once."""
    standin = scratch.standin()
    logs = scratch.join("logs")
    os.makedirs(logs)
    live = os.path.join(logs, "app.log")
    lines, _ = harness.app_lines(6000, seed=31)
    config = harness.write_config(
        scratch, [harness.app_input([os.path.join(logs, glob)])],
        standin.url)
    open(live, "w").close()
    agent = harness.Agent(scratch, config)

    for part in range(6):
        with open(live, "a") as fp:
            for start in range(part * 1000, (part + 1) * 1000, 50):
                write_lines(fp, lines[start:start + 50])
                time.sleep(0.01)
        for n in range(part, 0, -1):
            os.rename("%s.%d" % (live, n), "%s.%d" % (live, n + 1))
        os.rename(live, live + ".1")
        open(live, "w").close()
        time.sleep(pause_s)
    harness.wait_until(lambda: count_docs(standin) >= len(lines),
                       what="all %d lines" % len(lines))
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    messages = sorted(field(d, "message") for d in harness.documents(standin))
    check_eq(len(messages), len(lines), "documents")
    check(messages == sorted(lines), "stored messages differ from the "
          "lines written")
    statuses = [i["status"] for r in standin.request_log()
                for i in r["items"]]
    check_eq(len(statuses), len(lines), "items sent")


def test_repeated_rotation_glob_matches_all(scratch):
    rotate_repeatedly(scratch, "app.log*", 0.05)


def test_repeated_rotation_live_name_only(scratch):
    rotate_repeatedly(scratch, "app.log", 1.0)


TESTS = [
    test_rotation_glob_matches_rotated_name,
    test_rotation_glob_matches_live_name_only,
    test_delete_and_recreate_same_name,
    test_truncate_in_place_while_running,
    test_rotated_during_outage_then_restart,
    test_new_directory_found_by_inotify,
    test_repeated_rotation_glob_matches_all,
    test_repeated_rotation_live_name_only,
]

if __name__ == "__main__":
    harness.main(TESTS)
