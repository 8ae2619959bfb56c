"""SIGKILL in the middle of shipping, then `--once`: every line is in the
index exactly once, and the stand-in replied 409 to the resent ones."""

import os
import signal
import time

import harness
from harness import check, check_eq, field

LINES = 200000


def test_sigkill_then_once(scratch):
    standin = scratch.standin()
    # A slow cluster: each bulk reply waits 50 ms after indexing, so the
    # kill lands while documents are in flight.
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "delay": 0.05}]})
    lines, _ = harness.app_lines(LINES, seed=99)
    data = "".join(l + "\n" for l in lines).encode()
    path = scratch.write("logs/app.log", data, "wb")
    config = harness.write_config(
        scratch, [harness.app_input([path])], standin.url,
        output={"bulk_max_size": 1600, "workers": 2})
    agent = harness.Agent(scratch, config)
    harness.wait_until(
        lambda: len(standin.store.indices.get(harness.INDEX).docs)
        >= LINES // 10 if harness.INDEX in standin.store.indices else False,
        timeout=120, what="a tenth of the lines", interval=0.01)
    agent.check_running()
    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait()
    held = len(standin.documents(harness.INDEX))
    check(held < LINES, "all %d lines arrived before the kill; the test "
          "needs a slower stand-in" % LINES)
    # Requests the agent sent before it died may still be read and
    # indexed: let them land before telling them apart from the resends.
    time.sleep(1)
    killed_requests = standin.bulk_count

    standin.set_faults({})
    started = time.monotonic()
    harness.run_once(scratch, config, timeout=240)
    print("  killed with %d of %d lines stored; --once took %.1f s"
          % (held, LINES, time.monotonic() - started))

    docs = standin.documents(harness.INDEX)
    check_eq(len(docs), LINES, "documents")
    offsets = sorted(field(d["_source"], "log.offset") for d in docs)
    check_eq(offsets, harness.line_offsets(data), "offsets stored")
    items = [i for e in standin.request_log() for i in e["items"]]
    created = [i["id"] for i in items if i["status"] == 201]
    conflicts = [i["id"] for i in items if i["status"] == 409]
    check_eq(len(created), LINES, "items answered 201")
    check_eq(len(set(created)), LINES, "distinct ids answered 201")
    before_kill = {i["id"] for e in standin.request_log()
                   if e["n"] <= killed_requests
                   for i in e["items"] if i["status"] == 201}
    check(conflicts, "no resent document got a 409 reply")
    check_eq(set(conflicts) - before_kill, set(),
             "409s for documents not stored before the kill")
    others = [i for i in items if i["status"] not in (201, 409)]
    check_eq(others, [], "items answered neither 201 nor 409")


TESTS = [test_sigkill_then_once]

if __name__ == "__main__":
    harness.main(TESTS)
