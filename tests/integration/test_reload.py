"""Configuration reload on SIGHUP, under load.

Each test starts the agent, keeps a writer appending to its log files,
rewrites the configuration file and sends SIGHUP to the agent's pid. The
checks then compare exact line sets at the Elasticsearch stand-in: every
line written to a file that an input reads arrives once, and no bulk item
is sent twice (every item gets status 201, none 409).
"""

import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import check, check_eq, field  # noqa: E402
from test_http_endpoint import metric, scrape  # noqa: E402

# Seconds the writer runs before and after each reload.
WRITE_S = 1.0


class Writer:
    """Appends numbered lines to files in turn until stopped."""

    def __init__(self, paths, interval=0.002):
        self.paths = list(paths)
        self.interval = interval
        self.lines = {path: [] for path in self.paths}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        seq = 0
        while not self.done.is_set():
            for path in self.paths:
                line = "%s line %06d" % (os.path.basename(path), seq)
                with open(path, "a") as fp:
                    fp.write(line + "\n")
                self.lines[path].append(line)
            seq += 1
            time.sleep(self.interval)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()


def plain_input(input_id, path, **extra):
    spec = {"id": input_id, "paths": [path]}
    spec.update(extra)
    return spec


def write_config(scratch, standin, inputs, **top):
    return harness.write_config(scratch, inputs, standin.url, **top)


def messages_of(standin, path):
    return [field(d, "message") for d in harness.documents(standin)
            if field(d, "log.file.path") == path]


def wait_for_lines(standin, path, lines):
    harness.wait_until(lambda: len(messages_of(standin, path)) >= len(lines),
                       what="%d lines of %s at the stand-in"
                       % (len(lines), path))


def check_once(standin, path, lines):
    """Check that `path` has every line of `lines` once, and no other."""
    got = messages_of(standin, path)
    check_eq(len(got), len(set(got)), "distinct messages of " + path)
    check_eq(sorted(got), sorted(lines), "messages of " + path)


def check_items_created(standin, expected):
    statuses = [i["status"] for r in standin.request_log()
                for i in r["items"]]
    check_eq(len(statuses), expected, "bulk items sent")
    check_eq(statuses.count(201), expected, "bulk items created")


def reload(agent, scratch, standin, inputs, count=1, **top):
    """Rewrite the configuration, send SIGHUP and wait for the `count`-th
    "configuration reloaded" line."""
    write_config(scratch, standin, inputs, **top)
    os.kill(agent.proc.pid, signal.SIGHUP)
    harness.wait_until(
        lambda: agent.output().count("configuration reloaded") >= count,
        what="reload %d to be applied" % count)


def harvest_count(agent, path):
    return agent.output().count("harvesting file path=%s " % path)


def stop(agent):
    """Stop the agent; check that it logged no error but rejections."""
    check_eq(agent.stop(), 0, "exit status")
    errors = [line for line in agent.output().splitlines()
              if re.match(r"\S+ error ", line)
              and "configuration rejected" not in line]
    check_eq(errors, [], "errors logged")


def test_reload_adds_input(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    b = scratch.write("logs/b.log", "")
    config = write_config(scratch, standin, [plain_input("a", a)])
    agent = harness.Agent(scratch, config)
    writer = Writer([a, b]).start()
    time.sleep(WRITE_S)
    reload(agent, scratch, standin,
           [plain_input("a", a), plain_input("b", b)])
    time.sleep(WRITE_S)
    # The harvester of b keeps the configuration it was opened with while
    # this reload replaces it: a use after free would end the agent.
    reload(agent, scratch, standin,
           [plain_input("a", a), plain_input("b", b)], count=2,
           processors=[{"add_tags": {"tags": ["second"]}}])
    time.sleep(WRITE_S / 2)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    wait_for_lines(standin, b, writer.lines[b])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_once(standin, b, writer.lines[b])
    check_items_created(standin, len(writer.lines[a]) + len(writer.lines[b]))
    check_eq(harvest_count(agent, a), 1, "harvesters opened for a.log")
    check_eq(harvest_count(agent, b), 1, "harvesters opened for b.log")
    check("inputs added=[b] removed=[] restarted=[]" in agent.output(),
          "reload summary missing: " + harness.tail(agent.output()))


def test_reload_removes_then_readds(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    b = scratch.write("logs/b.log", "")
    both = [plain_input("a", a), plain_input("b", b)]
    config = write_config(scratch, standin, both)
    agent = harness.Agent(scratch, config)
    writer = Writer([a, b]).start()
    time.sleep(WRITE_S)
    reload(agent, scratch, standin, [plain_input("a", a)])
    stopped_at = len(writer.lines[b])
    time.sleep(WRITE_S)

    # b is read no further than what was written by the reload, and
    # what was read of it arrives once, from its first line on.
    got = messages_of(standin, b)
    check(0 < len(got) <= stopped_at,
          "b.log lines at the stand-in after removal: %d, written by the "
          "reload: %d" % (len(got), stopped_at))
    time.sleep(0.5)
    check_eq(sorted(messages_of(standin, b)), sorted(got),
             "b.log lines while removed")
    check_eq(sorted(got), writer.lines[b][:len(got)], "b.log prefix read")

    reload(agent, scratch, standin, both, count=2)
    time.sleep(WRITE_S)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    wait_for_lines(standin, b, writer.lines[b])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_once(standin, b, writer.lines[b])
    # A re-read of b.log from its start would get 409 replies.
    check_items_created(standin, len(writer.lines[a]) + len(writer.lines[b]))
    check_eq(harvest_count(agent, a), 1, "harvesters opened for a.log")
    check_eq(harvest_count(agent, b), 2, "harvesters opened for b.log")
    check("inputs added=[] removed=[b] restarted=[]" in agent.output(),
          "removal summary missing: " + harness.tail(agent.output()))


def check_switch(standin, path, name, old, new):
    """Check that the documents of `path`, in file order, have `old` in
    field `name` up to some line and `new` from there on, and that both
    values occur."""
    docs = [d for d in harness.documents(standin)
            if field(d, "log.file.path") == path]
    values = [field(d, name) for d in sorted(docs,
                                             key=lambda d: field(
                                                 d, "log.offset"))]
    first_new = values.index(new) if new in values else len(values)
    check(first_new > 0, "no event with %s=%s" % (name, old))
    check(first_new < len(values), "no event with %s=%s" % (name, new))
    check_eq(values[:first_new], [old] * first_new,
             "%s before the reload" % name)
    check_eq(values[first_new:], [new] * (len(values) - first_new),
             "%s after the reload" % name)


def test_reload_changes_processor(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")

    def processors(value):
        return [{"add_fields": {"target": "labels",
                                "fields": {"phase": value}}}]

    inputs = [plain_input("a", a)]
    config = write_config(scratch, standin, inputs,
                          processors=processors("old"))
    agent = harness.Agent(scratch, config)
    writer = Writer([a]).start()
    time.sleep(WRITE_S)
    reload(agent, scratch, standin, inputs, processors=processors("new"))
    time.sleep(WRITE_S)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_items_created(standin, len(writer.lines[a]))
    check_switch(standin, a, "labels.phase", "old", "new")
    check_eq(harvest_count(agent, a), 1, "harvesters opened for a.log")
    check("inputs added=[] removed=[] restarted=[] processors=changed"
          in agent.output(), "reload summary missing")


def test_reload_restarts_changed_input(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    config = write_config(scratch, standin,
                          [plain_input("a", a, fields={"labels.rev": "1"})])
    agent = harness.Agent(scratch, config)
    writer = Writer([a]).start()
    time.sleep(WRITE_S)
    reload(agent, scratch, standin,
           [plain_input("a", a, fields={"labels.rev": "2"})])
    harness.wait_until(
        lambda: "added and changed inputs started" in agent.output(),
        what="the changed input to start")
    time.sleep(WRITE_S)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_items_created(standin, len(writer.lines[a]))
    check_switch(standin, a, "labels.rev", "1", "2")
    check_eq(harvest_count(agent, a), 2, "harvesters opened for a.log")
    check("inputs added=[] removed=[] restarted=[a]" in agent.output(),
          "reload summary missing")


def test_reload_rejects_invalid_config(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    inputs = [plain_input("a", a)]
    config = write_config(scratch, standin, inputs)
    agent = harness.Agent(scratch, config)
    writer = Writer([a]).start()
    time.sleep(WRITE_S)
    # Two inputs with one id: valid YAML, invalid configuration.
    write_config(scratch, standin, inputs + [plain_input("a", a)])
    os.kill(agent.proc.pid, signal.SIGHUP)
    harness.wait_until(lambda: "configuration rejected" in agent.output(),
                       what="the rejection to be logged")
    written_at_reject = len(writer.lines[a])
    time.sleep(WRITE_S)
    writer.stop()
    check(len(writer.lines[a]) > written_at_reject,
          "the writer wrote nothing after the rejection")
    wait_for_lines(standin, a, writer.lines[a])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_items_created(standin, len(writer.lines[a]))
    out = agent.output()
    check(re.search(r"configuration rejected, the running one is kept: "
                    r".*duplicate input id 'a'", out) is not None,
          "rejection message: " + harness.tail(out))
    check("configuration reloaded" not in out, "the invalid file was applied")


def test_reload_warns_restart_settings(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "a line\n")
    inputs = [plain_input("a", a)]
    config = write_config(scratch, standin, inputs)
    agent = harness.Agent(scratch, config)
    wait_for_lines(standin, a, ["a line"])
    write_config(scratch, standin, inputs, **{"shutdown.timeout": "7s",
                                              "registry.flush": "2s"})
    os.kill(agent.proc.pid, signal.SIGHUP)
    harness.wait_until(lambda: "nothing to apply" in agent.output(),
                       what="the reload to end")
    out = agent.output()
    for key in ("shutdown.timeout", "registry.flush"):
        check("needs a restart to take effect, the running value is kept "
              "key=%s" % key in out, "no warning for " + key)
    check_eq(out.count("needs a restart"), 2, "restart warnings")
    stop(agent)


def test_reload_repeated_signals(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    b = scratch.write("logs/b.log", "")
    config = write_config(scratch, standin,
                          [plain_input("a", a, fields={"labels.rev": "1"})])
    agent = harness.Agent(scratch, config)
    writer = Writer([a, b]).start()
    time.sleep(WRITE_S)

    # Each signal comes while the previous reload may still wait for the
    # results of the restarted input.
    for rev in ("2", "3", "4"):
        write_config(scratch, standin,
                     [plain_input("a", a, fields={"labels.rev": rev}),
                      plain_input("b", b, harvester_limit=1)])
        os.kill(agent.proc.pid, signal.SIGHUP)
        time.sleep(0.05)

    # Signals that arrive together may be merged into one reload.
    harness.wait_until(lambda: "4" in revisions(standin, a),
                       what="events of the last configuration")
    time.sleep(WRITE_S)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    wait_for_lines(standin, b, writer.lines[b])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_once(standin, b, writer.lines[b])
    check_items_created(standin, len(writer.lines[a]) + len(writer.lines[b]))

    revs = revisions(standin, a)
    check_eq(revs, sorted(revs), "labels.rev in file order")
    check_eq(revs[0], "1", "labels.rev of the first line")
    check_eq(revs[-1], "4", "labels.rev of the last line")


def test_reload_metadata_processor(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    inputs = [plain_input("a", a)]
    config = write_config(scratch, standin, inputs)
    agent = harness.Agent(scratch, config)
    writer = Writer([a]).start()
    time.sleep(WRITE_S / 2)
    reload(agent, scratch, standin, inputs,
           processors=[{"add_host_metadata": {}}])
    time.sleep(WRITE_S / 2)
    # Retires the configuration whose metadata source is running.
    reload(agent, scratch, standin, inputs, count=2)
    time.sleep(WRITE_S / 2)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    check_items_created(standin, len(writer.lines[a]))

    docs = [d for d in harness.documents(standin)
            if field(d, "log.file.path") == a]
    docs.sort(key=lambda d: field(d, "log.offset"))
    has_arch = [field(d, "host.architecture") is not None for d in docs]
    # Runs of equal values, in file order: without, with, without.
    runs = [v for i, v in enumerate(has_arch)
            if i == 0 or v != has_arch[i - 1]]
    check_eq(runs, [False, True, False], "host.architecture in file order")


def http_port(agent):
    """Return the port of the agent's endpoint, read from its log."""
    found = []

    def port_logged():
        agent.check_running()
        match = re.search(r"http: serving .* port=(\d+)", agent.output())
        if match:
            found.append(int(match.group(1)))
        return bool(found)

    harness.wait_until(port_logged, what="the endpoint's port in the log")
    return found[0]


def append_lines(path, lines):
    with open(path, "a") as fp:
        fp.write("".join(line + "\n" for line in lines))


def test_reload_counters_and_metrics_rules(scratch):
    """A rejected and an accepted reload are counted, and a changed
    `metrics:` list is warned about while the rules of the start keep
    counting."""
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    b = scratch.write("logs/b.log", "")
    http = {"http": {"enabled": True, "port": 0}}
    first_rules = [{"type": "counter", "name": "reload_test_lines",
                    "help": "Lines shipped."}]
    inputs = [plain_input("a", a)]
    config = write_config(scratch, standin, inputs, metrics=first_rules,
                          **http)
    agent = harness.Agent(scratch, config)
    port = http_port(agent)
    lines_a = ["a line %d" % i for i in range(3)]
    append_lines(a, lines_a)
    wait_for_lines(standin, a, lines_a)
    harness.wait_until(
        lambda: metric(scrape(port)[1], "reload_test_lines_total") == 3,
        what="3 lines counted by the rule")
    values = scrape(port)[1]
    started = metric(values, "process_start_time_seconds")
    last_success = "logferry_config_last_reload_success_timestamp_seconds"
    check_eq(metric(values, "logferry_config_reloads_total", result="ok"), 0,
             "accepted reloads at start")
    check_eq(metric(values, "logferry_config_reloads_total",
                    result="rejected"), 0, "rejected reloads at start")
    check_eq(metric(values, last_success), started,
             "last successful load at start")
    check_eq(metric(values, "logferry_config_last_reload_successful"), 1,
             "last reload successful at start")

    # Two inputs with one id: valid YAML, invalid configuration.
    write_config(scratch, standin, inputs + [plain_input("a", a)],
                 metrics=first_rules, **http)
    os.kill(agent.proc.pid, signal.SIGHUP)
    harness.wait_until(lambda: "configuration rejected" in agent.output(),
                       what="the rejection to be logged")
    values = scrape(port)[1]
    check_eq(metric(values, "logferry_config_reloads_total", result="ok"), 0,
             "accepted reloads after the rejection")
    check_eq(metric(values, "logferry_config_reloads_total",
                    result="rejected"), 1, "rejected reloads")
    check_eq(metric(values, last_success), started,
             "last successful load after the rejection")
    check_eq(metric(values, "logferry_config_last_reload_successful"), 0,
             "last reload successful after the rejection")

    before_reload = time.time()
    new_rules = [{"type": "counter", "name": "reload_test_other",
                  "help": "Lines shipped, counted by a rule added later."}]
    reload(agent, scratch, standin, inputs + [plain_input("b", b)],
           metrics=new_rules, **http)
    lines_b = ["b line %d" % i for i in range(2)]
    append_lines(a, ["a line 3"])
    append_lines(b, lines_b)
    wait_for_lines(standin, b, lines_b)
    wait_for_lines(standin, a, lines_a + ["a line 3"])
    harness.wait_until(
        lambda: metric(scrape(port)[1], "reload_test_lines_total") == 6,
        what="6 lines counted by the rule of the start")
    body, values = scrape(port)
    check_eq(metric(values, "logferry_config_reloads_total", result="ok"), 1,
             "accepted reloads")
    check_eq(metric(values, "logferry_config_reloads_total",
                    result="rejected"), 1, "rejected reloads at the end")
    check_eq(metric(values, "logferry_config_last_reload_successful"), 1,
             "last reload successful after the accepted reload")
    reloaded_at = metric(values, last_success)
    check(before_reload <= reloaded_at <= time.time(),
          "last successful reload at %s, sent at %s"
          % (reloaded_at, before_reload))
    check("reload_test_other" not in body,
          "a rule of the reloaded file is served")
    stop(agent)
    out = agent.output()
    check_eq(out.count("setting changed but needs a restart to take "
                       "effect, the running value is kept key=metrics"), 1,
             "restart warnings for metrics")
    check_eq(out.count("needs a restart"), 1, "restart warnings")
    check_once(standin, a, lines_a + ["a line 3"])
    check_once(standin, b, lines_b)


def test_reload_warns_readable_secret_file(scratch):
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "a line\n")
    secret = scratch.write("token", "s3cr3t-token\n")
    os.chmod(secret, 0o644)
    config = write_config(scratch, standin, [plain_input("a", a)])
    os.chmod(config, 0o600)
    agent = harness.Agent(scratch, config)
    wait_for_lines(standin, a, ["a line"])
    reload(agent, scratch, standin,
           [plain_input("a", a, fields={"labels.token":
                                        "${file:%s}" % secret})])
    stop(agent)
    warnings = [line.split(" ", 1)[1] for line in agent.output().splitlines()
                if " warn  config: " in line]
    check_eq(warnings, [
        "warn  config: secret file %s (read for inputs[0].fields.labels.token)"
        " is readable by every user (mode 0644); run chmod 600 %s"
        % (secret, secret)], "warnings of the reload")
    check("s3cr3t-token" not in agent.output(), "the secret was logged")


class RotatingWriter(Writer):
    """Appends numbered lines to `path` and renames it to path.N after
    every `per_file` lines, as a rotation that the input's glob does not
    match."""

    def __init__(self, path, per_file, interval=0.002):
        super().__init__([path], interval)
        self.path = path
        self.per_file = per_file
        self.rotations = 0

    def run(self):
        seq = 0
        while not self.done.is_set():
            with open(self.path, "a") as fp:
                for _ in range(10):
                    line = "line %07d" % seq
                    fp.write(line + "\n")
                    self.lines[self.path].append(line)
                    seq += 1
            if seq % self.per_file == 0:
                self.rotations += 1
                os.rename(self.path, "%s.%d" % (self.path, self.rotations))
            time.sleep(self.interval)


def test_reload_during_rename_rotation(scratch):
    """A restarted input reads the rest of each file renamed away from
    its glob, and no line twice."""
    standin = scratch.standin()
    a = scratch.write("logs/app.log", "")

    def inputs(rev):
        return [plain_input("app", a, fields={"labels.rev": str(rev)})]

    config = write_config(scratch, standin, inputs(0))
    agent = harness.Agent(scratch, config)
    writer = RotatingWriter(a, per_file=600, interval=0.005).start()
    reloads = 16
    for rev in range(1, reloads + 1):
        time.sleep(0.2)
        write_config(scratch, standin, inputs(rev))
        os.kill(agent.proc.pid, signal.SIGHUP)
    harness.wait_until(
        lambda: agent.output().count("added and changed inputs started") >=
        1, what="a restarted input")
    time.sleep(0.3)
    writer.stop()
    lines = writer.lines[a]
    check(writer.rotations >= 4, "rotations: %d" % writer.rotations)

    def all_messages():
        return [field(d, "message") for d in harness.documents(standin)]

    try:
        harness.wait_until(lambda: len(all_messages()) >= len(lines),
                           timeout=20,
                           what="%d lines at the stand-in" % len(lines))
    except harness.TestFailure:
        pass  # the checks below name the missing lines
    stop(agent)
    got = all_messages()
    missing = sorted(set(lines) - set(got))
    check_eq(missing[:3], [], "lines missing (first 3 of %d)" % len(missing))
    check_eq(len(got), len(set(got)), "distinct messages")
    check_eq(sorted(got), sorted(lines), "messages")
    check_items_created(standin, len(lines))
    check("resuming a file renamed away from the globs" in agent.output(),
          "no renamed file was resumed: " + harness.tail(agent.output()))


def test_reload_drops_path_of_changed_input(scratch):
    """A file that a changed input's new `paths` no longer match stops
    being read, although it stays under its name."""
    standin = scratch.standin()
    a = scratch.write("logs/a.log", "")
    b = scratch.write("logs/b.log", "")
    config = write_config(scratch, standin,
                          [{"id": "app", "paths": [a, b]}])
    agent = harness.Agent(scratch, config)
    writer = Writer([a, b]).start()
    time.sleep(WRITE_S)
    reload(agent, scratch, standin, [{"id": "app", "paths": [a]}])
    stopped_at = len(writer.lines[b])
    harness.wait_until(
        lambda: "added and changed inputs started" in agent.output(),
        what="the changed input to start")
    time.sleep(WRITE_S)
    writer.stop()
    wait_for_lines(standin, a, writer.lines[a])
    stop(agent)
    check_once(standin, a, writer.lines[a])
    got = messages_of(standin, b)
    check(0 < len(got) <= stopped_at,
          "b.log lines at the stand-in: %d, written by the reload: %d"
          % (len(got), stopped_at))
    check_eq(sorted(got), writer.lines[b][:len(got)], "b.log prefix read")
    check_items_created(standin, len(writer.lines[a]) + len(got))
    check_eq(harvest_count(agent, b), 1, "harvesters opened for b.log")


def revisions(standin, path):
    """Return labels.rev of the documents of `path`, in file order."""
    docs = [d for d in harness.documents(standin)
            if field(d, "log.file.path") == path]
    docs.sort(key=lambda d: field(d, "log.offset"))
    return [field(d, "labels.rev") for d in docs]


TESTS = [
    test_reload_adds_input,
    test_reload_removes_then_readds,
    test_reload_changes_processor,
    test_reload_restarts_changed_input,
    test_reload_rejects_invalid_config,
    test_reload_warns_restart_settings,
    test_reload_repeated_signals,
    test_reload_metadata_processor,
    test_reload_counters_and_metrics_rules,
    test_reload_warns_readable_secret_file,
    test_reload_during_rename_rotation,
    test_reload_drops_path_of_changed_input,
]

if __name__ == "__main__":
    harness.main(TESTS)
