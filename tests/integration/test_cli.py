"""The command line: --version, --help, usage errors, `test config` and
`test output` (its checks against the stand-in are in
test_es_connection.py)."""

import os
import re
import signal
import time

import harness
from harness import check, check_eq

GOOD_CONFIG = """\
path.data: ${LF_TEST_DATA}
inputs:
  - id: app
    paths: ["${LF_TEST_LOGS}/*.log"]
    fields: {service.name: rewards-api}
    parsers:
      - regex:
          pattern: '^(?<ts>\\S+) (?<level>\\w+) (?<msg>.*)'
          fields:
            ts: {field: "@timestamp", type: timestamp}
            level: log.level
output.elasticsearch:
  hosts: ["${ES_URL:-http://127.0.0.1:9200}"]
  index: logs-app-default
  compression: gzip
  bulk_max_size: 1600
  flush_interval: 1s
  workers: 2
  backoff.init: 1s
  backoff.max: 60s
shutdown.timeout: 25s
logging.level: info
"""

HEAD = """\
path.data: ./data
inputs:
  - id: app
    paths: ["logs/*.log"]
output.elasticsearch:
  hosts: ["http://127.0.0.1:9200"]
"""

# (name, configuration text, line the error is on, texts the message
# must contain: the key path, or the parent path and the unknown key)
BAD_CONFIGS = [
    ("unknown_key", HEAD + "  hsots: [\"x\"]\n", 7,
     ["output.elasticsearch", "'hsots'"]),
    ("paths_map", HEAD.replace('paths: ["logs/*.log"]',
                               "paths: {a: b}"), 4, ["inputs[0].paths"]),
    ("bad_compression", HEAD + "  compression: brotli\n", 7,
     ["output.elasticsearch.compression", "brotli"]),
    ("unset_variable", HEAD + "  index: ${LF_TEST_UNSET_VARIABLE}\n", 7,
     ["output.elasticsearch.index", "LF_TEST_UNSET_VARIABLE"]),
    ("bad_duration", HEAD + "shutdown.timeout: soon\n", 7,
     ["shutdown.timeout", "soon"]),
    ("unknown_top_key", HEAD + "outputs: {}\n", 7, ["'outputs'"]),
    ("duplicate_dotted_key", HEAD + "path:\n  data: ./other\n", 8,
     ["path.data", "line 1"]),
    ("bad_op_type", HEAD + "  op_type: upsert\n", 7,
     ["output.elasticsearch.op_type", "upsert"]),
    ("bad_index_template", HEAD + "  index: \"app-%{+yyyy.ww}\"\n", 7,
     ["output.elasticsearch.index", "yyyy.ww"]),
    ("small_dead_letter", HEAD + "  dead_letter.max_bytes: 1KiB\n", 7,
     ["output.elasticsearch.dead_letter.max_bytes", "64KiB"]),
]


def project_version():
    with open(os.path.join(harness.SOURCE_ROOT, "meson.build")) as fp:
        match = re.search(r"version\s*:\s*'([^']+)'", fp.read())
    return match.group(1)


def test_version(scratch):
    proc = harness.run_agent(["--version"], 10)
    check_eq(proc.returncode, 0, "exit status")
    check_eq(proc.stdout.strip(), "logferry " + project_version(),
             "--version output")


def test_help(scratch):
    proc = harness.run_agent(["--help"], 10)
    check_eq(proc.returncode, 0, "exit status")
    for word in ("--config", "--once", "--version", "--help",
                 "test config", "test output", "dlq list", "dlq replay",
                 "registry list", "registry forget", "--json"):
        check(word in proc.stdout, "--help does not mention %r: %s"
              % (word, harness.tail(proc.stdout)))


def test_usage_errors_exit_2(scratch):
    for args in (["--no-such-option"], ["-c"], ["--config"],
                 ["test", "nothing"], ["--once"], ["dlq"],
                 ["dlq", "purge"], ["dlq", "list", "--once"],
                 ["test", "output", "--once"], ["test"],
                 ["registry", "list", "--once"], ["--json"]):
        proc = harness.run_agent(args, 10)
        check_eq(proc.returncode, 2, "exit status of %s" % args)
        check(proc.stderr.strip() != "", "no message on stderr for %s"
              % args)


def test_dlq_usage_messages(scratch):
    cases = [
        (["dlq"], "logferry: 'dlq' needs a subcommand: 'dlq list' or "
                  "'dlq replay'"),
        (["dlq", "purge"], "logferry: unknown subcommand 'dlq purge'; "
                           "expected 'dlq list' or 'dlq replay'"),
        (["dlq", "list", "all"], "logferry: unexpected argument 'all' "
                                 "after 'dlq list'"),
    ]
    for args, message in cases:
        proc = harness.run_agent(args, 10)
        check_eq(proc.returncode, 2, "exit status of %s" % args)
        check_eq(proc.stderr.strip(), message, "message for %s" % args)


def test_config_good(scratch):
    config = scratch.write("good.yml", GOOD_CONFIG)
    env = {"LF_TEST_DATA": scratch.join("data"),
           "LF_TEST_LOGS": scratch.join("logs")}
    proc = harness.run_agent(["test", "config", "-c", config], 10, env)
    check_eq(proc.returncode, 0, "exit status; stderr: %s"
             % harness.tail(proc.stderr))
    proc = harness.run_agent(["test", "config", "--config", config], 10,
                             env)
    check_eq(proc.returncode, 0, "exit status with --config")


def test_config_example_file(scratch):
    example = os.path.join(harness.SOURCE_ROOT, "examples", "logferry.yml")
    proc = harness.run_agent(["test", "config", "-c", example], 10,
                             cwd=scratch.path)
    check_eq(proc.returncode, 0, "examples/logferry.yml; stderr: %s"
             % harness.tail(proc.stderr))


def test_config_bad(scratch):
    for name, text, line, texts in BAD_CONFIGS:
        path = scratch.write(name + ".yml", text)
        proc = harness.run_agent(["test", "config", "-c", path], 10)
        check_eq(proc.returncode, 2, "%s exit status" % name)
        for wanted in ["%s.yml:%d:" % (name, line)] + texts:
            check(wanted in proc.stderr, "%s: stderr does not contain %r:"
                  " %s" % (name, wanted, harness.tail(proc.stderr)))


def test_once_refuses_bad_config(scratch):
    _, text, line, texts = BAD_CONFIGS[0]
    path = scratch.write("bad.yml", text)
    proc = harness.run_agent(["-c", path, "--once"], 10, cwd=scratch.path)
    check_eq(proc.returncode, 2, "exit status")
    for wanted in ["bad.yml:%d:" % line] + texts:
        check(wanted in proc.stderr, "stderr does not contain %r: %s"
              % (wanted, harness.tail(proc.stderr)))


def test_output_bad_config_exits_2(scratch):
    _, text, line, texts = BAD_CONFIGS[0]
    path = scratch.write("bad.yml", text)
    proc = harness.run_agent(["test", "output", "-c", path], 10)
    check_eq(proc.returncode, 2, "exit status")
    check_eq(proc.stdout, "", "stdout")
    check("bad.yml:%d:" % line in proc.stderr, "stderr does not name the "
          "line: %s" % harness.tail(proc.stderr))


def test_output_unreachable_host_exits_1(scratch):
    port = harness.free_port()
    text = HEAD.replace("http://127.0.0.1:9200",
                        "http://127.0.0.1:%d" % port)
    path = scratch.write("down.yml", text)
    proc = harness.run_agent(["test", "output", "-c", path], 20)
    check_eq(proc.returncode, 1, "exit status; stdout: %s"
             % harness.tail(proc.stdout))
    lines = proc.stdout.splitlines()
    check_eq(lines[:2], ["output.elasticsearch: index logs-generic-default,"
                         " 1 host", "http://127.0.0.1:%d" % port],
             "first lines")
    check(lines[2].startswith("  connection: FAILED: connection refused"),
          "connection line: %r" % lines[2])
    check_eq(lines[3:], ["Result: FAILED: no host passed every check, so "
                         "the output cannot ship"], "last lines")


def test_missing_config_file(scratch):
    path = scratch.join("absent.yml")
    proc = harness.run_agent(["test", "config", "-c", path], 10)
    check_eq(proc.returncode, 2, "exit status")
    check(path in proc.stderr, "stderr does not name %s: %s"
          % (path, harness.tail(proc.stderr)))


def test_sigint_stops_and_saves_state(scratch):
    standin = scratch.standin()
    lines, _ = harness.app_lines(30, seed=2)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 30,
                       what="30 documents")
    check_eq(agent.stop(signal.SIGINT), 0, "exit status after SIGINT")
    sent = len(standin.request_log())
    harness.run_once(scratch, config)
    check_eq(len(standin.request_log()), sent,
             "bulk requests of a --once run after the agent stopped")


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def test_sighup_while_starting(scratch):
    """A SIGHUP that comes before the agent runs its loop is logged, not
    fatal. The configuration is read from a FIFO, so loading it waits
    until the test has sent the signal."""
    standin = scratch.standin()
    lines, _ = harness.app_lines(5, seed=3)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    written = harness.write_config(scratch, [harness.app_input([path])],
                                   standin.url)
    fifo = scratch.join("fifo.yml")
    os.mkfifo(fifo, 0o600)

    agent = harness.Agent(scratch, fifo)
    harness.wait_until(lambda: exe_of(agent.proc.pid) ==
                       os.path.realpath(harness.logferry_path()),
                       what="logferry executed")
    # Enough for the loader and main() to start; opening the FIFO then
    # blocks the configuration load until the test writes to it.
    time.sleep(0.3)
    agent.proc.send_signal(signal.SIGHUP)
    fd = harness.wait_until(lambda: open_writer(fifo),
                            what="logferry reading its configuration")
    with open(written, "rb") as src, os.fdopen(fd, "wb") as dst:
        dst.write(src.read())

    harness.wait_until(lambda: len(harness.documents(standin)) >= 5,
                       what="5 documents")
    agent.check_running()
    check("received SIGHUP while starting; the configuration is not "
          "reloaded" in agent.output(),
          "no warning about the early SIGHUP: %s" % harness.tail(
              agent.output()))
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def open_writer(fifo):
    """Opens the FIFO for writing once a reader has it open, else None."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None
    os.set_blocking(fd, True)
    return fd


TESTS = [
    test_version,
    test_help,
    test_usage_errors_exit_2,
    test_dlq_usage_messages,
    test_config_good,
    test_config_example_file,
    test_config_bad,
    test_once_refuses_bad_config,
    test_output_bad_config_exits_2,
    test_output_unreachable_host_exits_1,
    test_missing_config_file,
    test_sigint_stops_and_saves_state,
    test_sighup_while_starting,
]

if __name__ == "__main__":
    harness.main(TESTS)
