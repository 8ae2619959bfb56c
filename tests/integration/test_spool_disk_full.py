"""The spool on a full file system: its folder is a 4 MiB tmpfs mounted
in a user and mount namespace that the test creates (`unshare -Urm`), so
writes fail with ENOSPC for real. Where the machine does not allow that
mount, and in one more case everywhere, the folder is made to act as a
4 MiB file system by an LD_PRELOAD shim (enospc_shim.c) chosen at run
time, with nothing compiled into logferry. 40,000 lines of 200 bytes are written
over 4 s while Elasticsearch is down, which is brought up 2 s after the
writer ends. The agent must keep running, log why it stopped spooling at
most once per 10 s, leave segments that a restart reads cleanly, and
deliver every line once, in order."""

import os
import re
import shutil
import signal
import subprocess
import time

import harness
from harness import check, check_eq, field

LINES = 40000
LINE_BYTES = 200
WRITE_SECONDS = 4.0


FS_BYTES = 4 * 1024 * 1024


def userns_available():
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-Urm", "sh", "-c",
         "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


def line(i):
    head = "%06d disk-full line " % i
    return head + "x" * (LINE_BYTES - 1 - len(head))


def shim_env(spool):
    """Environment that makes `spool` act as a full 4 MiB file system."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": os.environ["LF_ENOSPC_SHIM"],
            "LF_ENOSPC_DIR": spool,
            "LF_ENOSPC_BYTES": str(FS_BYTES),
            # The shim is loaded before the sanitizer runtime.
            "ASAN_OPTIONS": (asan + ":" if asan else "") +
            "verify_asan_link_order=0"}


def start_agents(scratch, config, spool, injected):
    """Run two agents one after the other, where `spool` is a 4 MiB file
    system: a tmpfs in a namespace of their own, or a folder the shim
    fills when `injected`. The second starts when the first exits, on the
    spool the first left. Returns the Popen of the shell that runs
    them."""
    script = ('"$2" -c "$3" >>"$4" 2>&1 & echo $! >"$5.tmp"\n'
              'mv "$5.tmp" "$5"; wait $!\n'
              '"$2" -c "$3" >>"$6" 2>&1 & echo $! >"$7.tmp"\n'
              'mv "$7.tmp" "$7"; wait $!\n')
    if injected:
        argv = ["sh", "-c", script]
        env = harness.agent_env(shim_env(spool))
    else:
        script = 'mount -t tmpfs -o size=4m tmpfs "$1" || exit 97\n' + script
        argv = ["unshare", "-Urm", "sh", "-c", script]
        env = harness.agent_env()
    argv += ["sh", spool, harness.logferry_path(), config,
             scratch.join("first.log"), scratch.join("first.pid"),
             scratch.join("second.log"), scratch.join("second.pid")]
    proc = subprocess.Popen(argv, cwd=scratch.path, env=env)

    def stop():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    scratch.defer(stop)
    return proc


def read_pid(scratch, name):
    harness.wait_until(lambda: os.path.exists(scratch.join(name)),
                       timeout=10, what=name)
    with open(scratch.join(name)) as fp:
        return int(fp.read())


def read_log(scratch, name):
    try:
        with open(scratch.join(name), errors="replace") as fp:
            return fp.read()
    except OSError:
        return ""


def run_case(scratch, max_bytes, injected):
    """Returns (stand-in, output of the first run, of the second run)."""
    port = harness.free_port()
    spool = scratch.join("spool")
    os.makedirs(spool)
    path = scratch.join("logs", "bulk.log")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()
    config = harness.write_config(
        scratch, [{"id": "bulk", "paths": [path]}],
        "http://127.0.0.1:%d" % port, output={"bulk_max_size": 500, "workers": 1},
        queue={"mem.max_bytes": "64KiB", "disk.path": spool,
               "disk.max_bytes": max_bytes, "disk.mode": "always"},
        **{"shutdown.timeout": "1s"})
    proc = start_agents(scratch, config, spool, injected)
    first = read_pid(scratch, "first.pid")

    per_tick = LINES // 40
    with open(path, "a") as fp:
        for tick in range(40):
            fp.write("".join(line(i) + "\n" for i in
                             range(tick * per_tick, (tick + 1) * per_tick)))
            fp.flush()
            time.sleep(WRITE_SECONDS / 40)
    time.sleep(2)
    check(proc.poll() is None, "the agent exited while the spool was "
          "full: %s" % harness.tail(read_log(scratch, "first.log")))

    # Restart while the spool is full: the second run opens what the
    # first one left.
    os.kill(first, signal.SIGTERM)
    second = read_pid(scratch, "second.pid")
    harness.wait_until(lambda: "spool opened" in
                       read_log(scratch, "second.log"), timeout=20,
                       what="the second run opened the spool")
    standin = scratch.standin(port=port)
    harness.wait_until(
        lambda: harness.INDEX in standin.store.indices and
        len(standin.store.indices[harness.INDEX].docs) >= LINES,
        timeout=90, what="every line after Elasticsearch came back")
    os.kill(second, signal.SIGTERM)
    check_eq(proc.wait(30), 0, "exit status of the second run")
    check_all_once(standin, path)
    return (standin, read_log(scratch, "first.log"),
            read_log(scratch, "second.log"))


def check_all_once(standin, path):
    offsets = {}
    for d in standin.documents(harness.INDEX):
        offsets[d["_id"]] = field(d["_source"], "log.offset")
        check_eq(field(d["_source"], "log.file.path"), path, "path")
    check_eq(sorted(offsets.values()),
             [i * LINE_BYTES for i in range(LINES)], "offsets stored")
    items = [i for e in standin.request_log() for i in e["items"]]
    created = [i["id"] for i in items if i["status"] == 201]
    check_eq(len(created), LINES, "items answered 201")
    # One worker: requests, and so the items, are indexed in send order.
    order = [offsets[i] for i in created]
    descents = [k for k in range(1, len(order)) if order[k] < order[k - 1]]
    check_eq(descents[:5], [], "positions indexed out of order")


def check_clean_reopen(output):
    match = re.search(r"spool opened .* corrupt_events_skipped=(\d+) "
                      r"segments_set_aside=(\d+) bytes_truncated=(\d+)",
                      output)
    check(match, "no spool opened line: %s" % harness.tail(output))
    check_eq(match.groups(), ("0", "0", "0"),
             "corrupt events, segments set aside, bytes cut at reopen")


def check_stopped_and_reopened(first, second, took):
    stops = re.findall(r"spooling stopped: .*no space left on device",
                       first)
    check(stops, "no log of why spooling stopped: %s"
          % harness.tail(first))
    check(len(stops) <= 1 + int(took // 10),
          "%d logs of the stopped spool in %.0f s" % (len(stops), took))
    check_clean_reopen(second)


def test_spool_larger_than_disk(scratch):
    """queue.disk.max_bytes 8MiB on a 4 MiB file system: ENOSPC. The
    file system is a tmpfs where the machine allows it, else the shim."""
    injected = not userns_available()
    if injected:
        print("  unshare -Urm cannot mount a tmpfs here: using the shim")
    started = time.monotonic()
    _, first, second = run_case(scratch, "8MiB", injected)
    check_stopped_and_reopened(first, second, time.monotonic() - started)


def test_spool_larger_than_injected_full_disk(scratch):
    """The same with the shim, so the injected ENOSPC path runs on every
    machine."""
    started = time.monotonic()
    _, first, second = run_case(scratch, "8MiB", True)
    check_stopped_and_reopened(first, second, time.monotonic() - started)


def test_spool_bounded_below_disk(scratch):
    """queue.disk.max_bytes 2MiB on a 4 MiB file system: no ENOSPC."""
    _, first, second = run_case(scratch, "2MiB", not userns_available())
    check_eq(re.findall(r"spooling stopped.*", first), [],
             "logs of a stopped spool")
    check_clean_reopen(second)


TESTS = [test_spool_larger_than_disk,
         test_spool_larger_than_injected_full_disk,
         test_spool_bounded_below_disk]

if __name__ == "__main__":
    harness.main(TESTS)
