"""An overloaded or failing cluster. Item 429s are retried with growing
backoff, a 30 s storm of 429s is ridden out, and fewer requests run at
once while the cluster is overloaded. A batch indexed by a cluster whose
reply never came is resolved by 409s, with the agent alive or killed,
and so are the items after the end of a reply cut short."""

import os
import re
import signal
import threading
import time

import harness
from harness import check, check_eq

# Each backoff wait is within 20% of backoff.init * 2^(attempt - 1), and
# at most backoff.max (docs/configuration.md).
JITTER = 0.2


def line_numbers_by_offset(data):
    """Map each line's byte offset to its 1-based line number."""
    return {off: n + 1 for n, off in enumerate(harness.line_offsets(data))}


def line_numbers(entry, numbers):
    """Return the sorted line numbers of a request's items. An `_id` is
    `<file id>-<offset>`, both in hexadecimal."""
    return sorted(numbers[int(item["id"].rsplit("-", 1)[1], 16)]
                  for item in entry["items"])


def summary_count(output, name):
    match = re.search(r"summary: .*\b%s=(\d+)" % name, output)
    check(match, "no summary line with %s: %s" % (name, harness.tail(output)))
    return int(match.group(1))


def setup_app_log(scratch, count, faults, output=None):
    """Write `count` app lines and a configuration for a stand-in scripted
    with `faults`; return (standin, config, path, lines, expected)."""
    standin = scratch.standin()
    standin.set_faults(faults)
    lines, expected = harness.app_lines(count, seed=count)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url, output=output)
    return standin, config, path, lines, expected


def min_wait(attempt, init, maximum):
    """Return the shortest backoff wait of step `attempt`, in seconds."""
    return min(init * 2 ** (attempt - 1), maximum) * (1 - JITTER)


def test_item_429_backoff_between_resends(scratch):
    standin = scratch.standin()
    standin.set_faults({"requests": [
        {"on": 1, "items": {"1": 429, "3": 429, "4": 429}},
        {"on": 2, "items": {"1": 429}}]})
    lines, expected = harness.app_lines(5, seed=18)
    data = "".join(l + "\n" for l in lines).encode()
    path = scratch.write("logs/app.log", data, "wb")
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"backoff.init": "1s", "backoff.max": "30s"})
    harness.run_once(scratch, config)
    log = standin.request_log()
    numbers = line_numbers_by_offset(data)
    check_eq([line_numbers(e, numbers) for e in log],
             [[1, 2, 3, 4, 5], [2, 4, 5], [4]], "lines of each request")
    check_eq([[i["status"] for i in e["items"]] for e in log],
             [[201, 429, 201, 429, 429], [201, 429, 201], [201]],
             "item statuses")
    gaps = [b["received"] - a["received"] for a, b in zip(log, log[1:])]
    check(gaps[0] >= min_wait(1, 1.0, 30.0),
          "first resend after %.3f s, expected at least 0.8 s" % gaps[0])
    check(gaps[1] >= min_wait(2, 1.0, 30.0),
          "second resend after %.3f s, expected at least 1.6 s" % gaps[1])
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())


def storm_request_bound(workers, init, maximum, seconds):
    """Return the most requests an agent may send while every request
    gets a 429 for `seconds`: the first `workers` ones, then one per
    backoff step whose shortest wait still ends within the storm. The
    first 429 halves the requests allowed in flight and the next ones
    bring it to 1."""
    steps = 0
    elapsed = min_wait(1, init, maximum)
    while elapsed <= seconds:
        steps += 1
        elapsed += min_wait(steps + 1, init, maximum)
    return workers + steps


def test_429_storm_backs_off_and_recovers(scratch):
    storm_s, init_s, max_s, workers = 30.0, 0.5, 4.0, 2
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "duration": storm_s,
                                      "status": 429}]})
    lines, expected = harness.app_lines(300, seed=30)
    path = scratch.write("logs/app.log", "")
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"backoff.init": "%gs" % init_s, "backoff.max": "%gs" % max_s,
                "workers": workers})
    agent = harness.Agent(scratch, config)

    # A writer appends 10 lines a second for as long as the storm lasts.
    def write():
        for n in range(0, len(lines), 5):
            with open(path, "a") as fp:
                fp.write("".join(l + "\n" for l in lines[n:n + 5]))
            time.sleep(0.5)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join()
    harness.wait_until(lambda: len(harness.documents(standin)) >= len(lines),
                       timeout=storm_s, what="every line after the storm")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    log = standin.request_log()
    storm = [e for e in log if e["status"] == 429]
    after = [e for e in log if e["status"] != 429]
    first = storm[0]["received"]
    check(all(e["received"] < first + storm_s for e in storm),
          "a 429 outside the storm: %s" % [e["received"] - first
                                            for e in storm])
    bound = storm_request_bound(workers, init_s, max_s, storm_s)
    print("  %d requests during the %g s storm, backoff allows %d"
          % (len(storm), storm_s, bound))
    check(len(storm) <= bound, "%d requests during the storm, backoff "
          "allows at most %d" % (len(storm), bound))
    check(len(storm) >= 5, "only %d requests during the storm" % len(storm))
    check(after, "no request after the storm")
    check_eq(sorted({e["status"] for e in after}), [200],
             "statuses after the storm")
    check_eq(sorted({i["status"] for e in after for i in e["items"]}),
             [201], "item statuses after the storm")
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())
    output = agent.output()
    check("requests in flight allowed lowered to 1 of 2" in output,
          "the lower limit is not logged: %s" % harness.tail(output))
    check("requests in flight allowed raised to 2 of 2" in output,
          "the recovery is not logged: %s" % harness.tail(output))


def test_429_burst_lowers_concurrency(scratch):
    standin = scratch.standin()
    standin.set_faults({"requests": [
        {"on": 1, "count": 8, "delay": 0.3},
        {"on": 9, "count": 6, "status": 429, "delay": 0.3},
        {"on": 15, "count": 1000, "delay": 0.3}]})
    lines, expected = harness.app_lines(400, seed=4)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"workers": 4, "bulk_max_size": 10, "backoff.init": "500ms",
                "backoff.max": "1s"})
    proc = harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq([e["status"] for e in log[8:14]], [429] * 6,
             "statuses of requests 9-14")
    check_eq(max(e["concurrent"] for e in log[:8]), 4,
             "most requests at once before the 429s")
    # Requests 9-12 went out together. 13 and 14 were sent one at a time.
    check_eq([e["concurrent"] for e in log[12:14]], [1, 1],
             "requests at once after the 429s")
    check_eq(log[14]["concurrent"], 1, "first request after the 429s")
    check_eq(max(e["concurrent"] for e in log[15:]), 4,
             "most requests at once after recovery")

    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())
    output = proc.stdout + proc.stderr
    check("requests in flight allowed lowered to 1 of 4" in output,
          "the lower limit is not logged: %s" % harness.tail(output))
    check("requests in flight allowed raised to 4 of 4" in output,
          "the recovery is not logged: %s" % harness.tail(output))


def test_reply_cut_short_resends_rest(scratch):
    # The reply to filter_path is {"errors":false,"items":[ and then 26
    # bytes per item and a comma: the cut leaves 3 items complete.
    cut = len('{"errors":false,"items":[') + 3 * 27 + 10
    standin, config, path, lines, expected = setup_app_log(
        scratch, 10, {"requests": [{"on": 1, "action": "cut_reply",
                                    "bytes": cut}]})
    proc = harness.run_once(scratch, config)

    log = standin.request_log()
    check_eq([e["outcome"] for e in log], ["cut", "answered"],
             "request outcomes")
    first = [i["id"] for i in log[0]["items"]]
    check_eq([i["id"] for i in log[1]["items"]], first[3:], "ids resent")
    check_eq([i["status"] for i in log[1]["items"]], [409] * 7,
             "statuses of the resent items")
    output = proc.stdout + proc.stderr
    check("bulk reply ended after 3 of 10 items, retrying the other 7"
          in output, "the cut is not logged: %s" % harness.tail(output))
    check_eq(summary_count(output, "indexed"), 3, "indexed counted")
    check_eq(summary_count(output, "duplicates"), 7, "duplicates counted")
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())


def check_hundred_once(standin, path, lines, expected):
    docs = standin.documents(harness.INDEX)
    check_eq(len(docs), 100, "documents")
    check_eq(len({d["_id"] for d in docs}), 100, "distinct ids")
    harness.check_app_file([d["_source"] for d in docs], path, lines,
                           expected, harness.agent_version())


def test_lost_reply_of_request_2(scratch):
    standin, config, path, lines, expected = setup_app_log(
        scratch, 100, {"requests": [{"on": 2,
                                     "action": "close_after_index"}]},
        output={"bulk_max_size": 50})
    proc = harness.run_once(scratch, config)
    log = standin.request_log()
    check_eq([e["outcome"] for e in log], ["answered", "closed", "answered"],
             "request outcomes")
    check_eq([len(e["items"]) for e in log], [50, 50, 50], "items")
    check_eq(sorted(i["id"] for i in log[2]["items"]),
             sorted(i["id"] for i in log[1]["items"]), "ids resent")
    check_eq([i["status"] for i in log[2]["items"]], [409] * 50,
             "statuses of the resent items")
    output = proc.stdout + proc.stderr
    check_eq(summary_count(output, "duplicates"), 50, "duplicates counted")
    check_eq(summary_count(output, "indexed"), 50, "indexed counted")
    check_eq(summary_count(output, "rejected"), 0, "rejected counted")
    check_hundred_once(standin, path, lines, expected)


def test_sigkill_after_request_2_indexed(scratch):
    # Request 2 is indexed, then its reply waits long enough for the kill.
    standin, config, path, lines, expected = setup_app_log(
        scratch, 100, {"requests": [{"on": 2, "delay": 30}]},
        output={"bulk_max_size": 50})
    agent = harness.Agent(scratch, config)

    def request_2_indexed():
        log = standin.request_log()
        return len(log) >= 2 and log[1]["items"] and \
            log[1]["items"][0]["status"] is not None

    harness.wait_until(request_2_indexed, what="request 2 indexed")
    agent.check_running()
    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait()
    killed = standin.bulk_count
    standin.set_faults({})

    proc = harness.run_once(scratch, config)
    log = standin.request_log()
    second = {i["id"] for i in log[1]["items"]}
    check_eq(len(second), 50, "ids in request 2")
    resent = [i for e in log if e["n"] > killed for i in e["items"]
              if i["id"] in second]
    check_eq(len(resent), 50, "items of request 2 sent again")
    check_eq({i["status"] for i in resent}, {409}, "statuses of the resends")
    output = proc.stdout + proc.stderr
    check_eq(summary_count(output, "rejected"), 0, "rejected counted")
    check_hundred_once(standin, path, lines, expected)


TESTS = [
    test_item_429_backoff_between_resends,
    test_429_storm_backs_off_and_recovers,
    test_429_burst_lowers_concurrency,
    test_lost_reply_of_request_2,
    test_reply_cut_short_resends_rest,
    test_sigkill_after_request_2_indexed,
]

if __name__ == "__main__":
    harness.main(TESTS)
