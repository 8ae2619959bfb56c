"""A crash loop: lines written to several files with rotation while the
stand-in Elasticsearch refuses connections at random moments and the
agent is killed with SIGKILL at random moments and restarted. At the end
every line must be in the index exactly once.

Used by test_spool_crash.py (a short run) and bench/crash_loop.py (100
kills). Prints the seed, so a failing run can be repeated."""

import os
import random
import signal
import threading
import time

import harness
from harness import check, check_eq, field

FILES = ("api", "worker", "cron")
ROTATE_BYTES = 48 * 1024


class Writer(threading.Thread):
    """Appends `count` lines spread over FILES, renaming each file to
    NAME.log.N and starting a new one once it passes ROTATE_BYTES."""

    def __init__(self, folder, count, rng, seconds):
        super().__init__(daemon=True)
        self.folder = folder
        self.count = count
        self.rng = rng
        self.pause = seconds / count
        self.written = []
        self.rotations = 0

    def run(self):
        generation = {name: 0 for name in FILES}
        for i in range(self.count):
            name = FILES[self.rng.randrange(len(FILES))]
            path = os.path.join(self.folder, name + ".log")
            text = "%s line %07d %s" % (name, i, "z" * self.rng.randrange(
                20, 200))
            with open(path, "a") as fp:
                fp.write(text + "\n")
            self.written.append(text)
            if os.path.getsize(path) > ROTATE_BYTES:
                generation[name] += 1
                os.rename(path, "%s.%d" % (path, generation[name]))
                self.rotations += 1
            if i % 50 == 0:
                time.sleep(self.pause * 50)


def run(scratch, seed, kills, lines, seconds):
    """Runs the loop and checks the index. Returns a dict of figures."""
    rng = random.Random(seed)
    # A SIGKILL loses nothing under any fsync policy; only a power failure
    # would tell them apart.
    mode = rng.choice(["overflow", "always"])
    fsync = rng.choice(["batch", "interval", "never"])
    print("  crash loop seed=%d kills=%d lines=%d mode=%s fsync=%s"
          % (seed, kills, lines, mode, fsync))
    folder = scratch.join("logs")
    os.makedirs(folder)
    standin = scratch.standin()
    config = harness.write_config(
        scratch, [{"id": "loop", "paths": [os.path.join(folder, "*.log*")]}],
        standin.url, output={"bulk_max_size": 100},
        queue={"mem.max_bytes": "64KiB", "disk.path": scratch.join("spool"),
               "disk.max_bytes": "16MiB", "disk.mode": mode,
               "disk.fsync": fsync, "disk.fsync_interval": "200ms"},
        **{"registry.flush": "100ms", "shutdown.timeout": "2s"})
    writer = Writer(folder, lines, rng, seconds)
    started = time.monotonic()
    writer.start()
    for k in range(kills):
        agent = harness.Agent(scratch, config, name="run%d" % k)
        deadline = time.monotonic() + rng.uniform(0.2, 1.2)
        while time.monotonic() < deadline:
            if rng.random() < 0.15:
                standin.refuse(rng.uniform(0.1, 0.8))
            time.sleep(0.1)
        agent.check_running()
        os.kill(agent.proc.pid, signal.SIGKILL)
        agent.proc.wait()
    writer.join()

    agent = harness.Agent(scratch, config, name="final")
    harness.wait_until(
        lambda: harness.INDEX in standin.store.indices and
        len(standin.store.indices[harness.INDEX].docs) >= lines,
        timeout=60 + lines / 1000, what="every line after the last kill")
    time.sleep(1)
    check_eq(agent.stop(), 0, "exit status of the final run")
    took = time.monotonic() - started

    messages = [field(d["_source"], "message")
                for d in standin.documents(harness.INDEX)]
    check_eq(len(messages), lines, "documents")
    check_eq(sorted(messages), sorted(writer.written), "messages stored")
    items = [i for e in standin.request_log() for i in e["items"]]
    created = [i for i in items if i["status"] == 201]
    conflicts = [i for i in items if i["status"] == 409]
    check_eq(len(created), lines, "items answered 201")
    others = [i for i in items if i["status"] not in (201, 409)]
    check_eq(others, [], "items answered neither 201 nor 409")
    figures = {"seed": seed, "mode": mode, "fsync": fsync, "kills": kills,
               "lines": lines,
               "rotations": writer.rotations,
               "resent_409": len(conflicts), "seconds": round(took, 1)}
    print("  " + " ".join("%s=%s" % kv for kv in figures.items()))
    return figures
