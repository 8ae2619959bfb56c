"""Crashes with the disk spool. A short crash loop (see crash_loop.py): 8
kills, 6,000 lines over three rotated files; LF_CRASH_SEED repeats a run.
Then SIGKILL while the output is down and the registry has not been saved
since the lines were spooled: the next run sends every spooled line once,
from the spool, and does not read it again from its file."""

import collections
import datetime
import os
import random
import signal
import time

import crash_loop
import harness
from harness import check, check_eq
from cw_harness import (CwStandIn, cw_env, iso, now_utc, seq_input,
                        write_cw_config)
from test_spool import (check_all_once, created_ids, registry_offset,
                        spool_records, write_lines)

# Longer than each test, so that no timed save stores the offsets that
# the spooled records moved. Only the spool records them for the next run.
NO_REGISTRY_SAVE = {"registry.flush": "10m"}


def test_crash_loop_exactly_once(scratch):
    seed = int(os.environ.get("LF_CRASH_SEED") or
               random.SystemRandom().randrange(1, 10 ** 6))
    crash_loop.run(scratch, seed, kills=8, lines=6000, seconds=6)


def wait_stable(read, what, settle=0.5):
    """Wait until read() returns the same non-zero value for `settle` s."""
    last = [None, time.monotonic()]

    def stable():
        value = read()
        if value != last[0]:
            last[0], last[1] = value, time.monotonic()
            return False
        return value != 0 and time.monotonic() - last[1] >= settle
    harness.wait_until(stable, timeout=30, what=what)
    return last[0]


def answered(standin, status):
    return [i["id"] for e in standin.request_log() for i in e["items"]
            if i["status"] == status]


def kill_spooled_es(scratch, mode, fsync, lines_count, seed):
    """Spool lines while Elasticsearch is down, SIGKILL the agent, then
    run --once with Elasticsearch up. Return the records spooled before
    the kill and what each run logged."""
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, lines_count, seed=seed)
    queue = {"mem.max_bytes": "64KiB", "disk.path": scratch.join("spool"),
             "disk.mode": mode, "disk.fsync": fsync}
    config = harness.write_config(scratch, [harness.app_input([path])], url,
                                  output={"bulk_max_size": 200},
                                  queue=queue, **NO_REGISTRY_SAVE)
    agent = harness.Agent(scratch, config)
    spooled = wait_stable(lambda: len(spool_records(scratch)),
                          "the spool to stop growing")
    agent.check_running()
    check(registry_offset(scratch, path) <= 0,
          "registry saved before the kill: offset %d"
          % registry_offset(scratch, path))
    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait()

    standin = scratch.standin(port=port)
    proc = harness.run_once(scratch, config)
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), len(lines), "items answered 201")
    check_eq(len(answered(standin, 409)), 0, "items answered 409")
    check_eq(registry_offset(scratch, path), os.path.getsize(path),
             "saved offset after the run")
    return spooled, agent.output(), proc.stderr


def test_kill_es_down_always(scratch):
    """mode always: the file resumes after the last spooled line."""
    spooled, _, second_log = kill_spooled_es(scratch, "always", "interval",
                                             3000, seed=71)
    check_eq(spooled, 3000, "records spooled before the kill")
    check("the spool contains events of a file past its saved offset"
          in second_log, "no resume past the spool in the log: %s"
          % harness.tail(second_log))


def test_kill_es_down_overflow_never(scratch):
    """mode overflow: the lines that were in memory are read again, the
    spooled lines after them are skipped while the file is read."""
    spooled, _, second_log = kill_spooled_es(scratch, "overflow", "never",
                                             3000, seed=72)
    check(0 < spooled < 3000, "records spooled before the kill: %d"
          % spooled)
    check("the spool contains events" not in second_log,
          "the file resumed past lines that were only in memory: %s"
          % harness.tail(second_log))


def test_kill_twice_es_down(scratch):
    """A second crash after the restart, before the spool was sent: the
    restart saved the offset past the spooled lines at once."""
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    path, lines, expected = write_lines(scratch, 2000, seed=73)
    queue = {"disk.path": scratch.join("spool"), "disk.mode": "always"}
    config = harness.write_config(scratch, [harness.app_input([path])], url,
                                  queue=queue, **NO_REGISTRY_SAVE)
    first = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(spool_records(scratch)) == len(lines),
                       timeout=30, what="every line spooled")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()

    second = harness.Agent(scratch, config, name="second")
    harness.wait_until(lambda: registry_offset(scratch, path) ==
                       os.path.getsize(path), timeout=30,
                       what="offset saved past the spooled lines")
    os.kill(second.proc.pid, signal.SIGKILL)
    second.proc.wait()
    check_eq(len(spool_records(scratch)), len(lines),
             "records in the spool after the second kill")

    standin = scratch.standin(port=port)
    harness.run_once(scratch, config)
    check_all_once(standin, path, lines, expected)
    check_eq(len(created_ids(standin)), len(lines), "items answered 201")
    check_eq(len(answered(standin, 409)), 0, "items answered 409")


def test_kill_cloudwatch_down(scratch):
    group, stream = "/test/app", "main"
    cw = CwStandIn(scratch, {"groups": {group: {"streams": [stream]}}})
    cw.faults({"operation": "PutLogEvents", "count": 10 ** 9, "status": 503,
               "code": "ServiceUnavailableException", "message": "down"})
    base = now_utc() - datetime.timedelta(minutes=10)
    lines = ["%s seq=%d" % (iso(base + datetime.timedelta(milliseconds=i)), i)
             for i in range(3000)]
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    queue = {"disk": {"path": scratch.join("spool"), "mode": "always",
                      "fsync": "batch"}}
    config = write_cw_config(scratch, [seq_input([path])], cw.url,
                             output={"flush_interval": "100ms",
                                     "backoff.init": "50ms",
                                     "backoff.max": "300ms"},
                             queue=queue, **NO_REGISTRY_SAVE)
    agent = harness.Agent(scratch, config, env=cw_env())
    harness.wait_until(lambda: len(spool_records(scratch)) == len(lines),
                       timeout=30, what="every line spooled")
    check_eq(cw.events(group, stream), [], "events stored while down")
    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait()

    cw.faults()
    proc = harness.run_agent(["-c", config, "--once"], cwd=scratch.path,
                             env=cw_env(), timeout=120)
    check_eq(proc.returncode, 0, "exit status of the --once run")
    counts = collections.Counter(e["message"]
                                 for e in cw.events(group, stream))
    check_eq(sum(counts.values()), len(lines), "events stored")
    check_eq(sorted(counts), sorted(lines), "distinct messages stored")


TESTS = [test_crash_loop_exactly_once, test_kill_es_down_always,
         test_kill_es_down_overflow_never, test_kill_twice_es_down,
         test_kill_cloudwatch_down]

if __name__ == "__main__":
    harness.main(TESTS)
