"""Restart resumes from the registry: nothing is sent twice."""

import os

import harness
from harness import check, check_eq, field


def test_second_run_sends_nothing(scratch):
    standin = scratch.standin()
    lines, expected = harness.app_lines(100, seed=3)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config)
    first_requests = len(standin.request_log())
    check(first_requests >= 1, "the first run sent no bulk request")
    check_eq(len(harness.documents(standin)), 100, "documents after run 1")
    check(os.listdir(scratch.join("data")) != [],
          "path.data is empty after a run")

    harness.run_once(scratch, config)
    check_eq(len(standin.request_log()), first_requests,
             "bulk requests after an idle second run")

    more, more_expected = harness.app_lines(50, seed=4, first=100)
    scratch.append("logs/app.log", "".join(l + "\n" for l in more))
    harness.run_once(scratch, config)
    new_requests = standin.request_log(since=first_requests)
    items = [i for r in new_requests for i in r["items"]]
    check_eq(len(items), 50, "items sent by the third run")
    check_eq(sorted(i["status"] for i in items), [201] * 50,
             "item statuses of the third run")
    version = harness.agent_version()
    harness.check_app_file(harness.documents(standin), path,
                           lines + more, expected + more_expected, version)


def test_resume_per_file(scratch):
    standin = scratch.standin()
    a_lines, _ = harness.app_lines(30, seed=5)
    b_lines, _ = harness.app_lines(40, seed=6)
    scratch.write("logs/a.log", "".join(l + "\n" for l in a_lines))
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config)
    scratch.write("logs/b.log", "".join(l + "\n" for l in b_lines))
    scratch.append("logs/a.log", a_lines[0] + "\n")
    harness.run_once(scratch, config)
    docs = harness.documents(standin)
    per_file = {}
    for doc in docs:
        name = os.path.basename(field(doc, "log.file.path"))
        per_file[name] = per_file.get(name, 0) + 1
    check_eq(per_file, {"a.log": 31, "b.log": 40}, "documents per file")
    statuses = [i["status"] for r in standin.request_log()
                for i in r["items"]]
    check_eq(statuses.count(201), 71, "items created")
    check_eq(len(statuses), 71, "items sent")


def test_truncated_file_is_read_again(scratch):
    standin = scratch.standin()
    lines, _ = harness.app_lines(20, seed=8)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url)
    harness.run_once(scratch, config)
    fresh, _ = harness.app_lines(5, seed=9, first=500)
    with open(path, "w") as fp:     # copytruncate-style rotation
        fp.write("".join(l + "\n" for l in fresh))
    harness.run_once(scratch, config)
    messages = sorted(field(d, "message") for d in harness.documents(standin))
    check_eq(messages, sorted(lines + fresh), "messages after truncation")


def test_sigterm_mid_stream_then_once(scratch):
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "delay": 0.2}]})
    lines, expected = harness.app_lines(30000, seed=13)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    # SIGTERM reads on for half of shutdown.timeout, then waits for the
    # acknowledgements of what was read. A small memory queue keeps the
    # file from being read into memory at once.
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"bulk_max_size": 500}, queue={"mem.max_bytes": "64KiB"},
        **{"shutdown.timeout": "2s"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) >=
                       2000, what="2000 documents")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    held = len(standin.documents(harness.INDEX))
    check(held < len(lines), "every line arrived before SIGTERM")

    standin.set_faults({})
    harness.run_once(scratch, config, timeout=120)
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())
    statuses = [i["status"] for r in standin.request_log()
                for i in r["items"]]
    check_eq(statuses.count(409), 0,
             "documents resent after a clean stop (409 replies)")
    check_eq(len(statuses), len(lines), "items sent")


TESTS = [
    test_second_run_sends_nothing,
    test_resume_per_file,
    test_truncated_file_is_read_again,
    test_sigterm_mid_stream_then_once,
]

if __name__ == "__main__":
    harness.main(TESTS)
