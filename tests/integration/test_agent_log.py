"""The agent's own log: JSON lines in a file, the rate limit of repeated
warnings, and the warnings about a configuration file that other users can
read while it contains a secret, and about readable ${file:...} files."""

import json
import os
import re

import harness
from harness import check, check_eq

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def read_json_lines(path):
    with open(path) as fp:
        return [json.loads(line) for line in fp.read().splitlines()]


def make_directories(scratch, count):
    """Create `count` folders that an input's *.log pattern matches: each
    is reported once as not a regular file, with the same format string."""
    for i in range(count):
        os.makedirs(scratch.join("logs", "d%02d.log" % i))


def test_json_lines_in_file(scratch):
    standin = scratch.standin()
    make_directories(scratch, 1)
    log_path = scratch.join("agent.log")
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url,
        **{"logging.format": "json", "logging.to": "file",
           "logging.file.path": log_path})
    proc = harness.run_once(scratch, config)
    check_eq(proc.stderr, "", "stderr with logging.to: file")

    objects = read_json_lines(log_path)
    check(len(objects) >= 4, "only %d log lines" % len(objects))
    for obj in objects:
        check(TIMESTAMP.match(obj["@timestamp"]) is not None,
              "@timestamp %r" % obj["@timestamp"])
        check(obj["log.level"] in ("error", "warn", "info"),
              "log.level %r" % obj["log.level"])
        check(list(obj)[:4] == ["@timestamp", "log.level", "log.logger",
                                "message"], "keys of %r" % obj)
    warnings = [o for o in objects if o["log.level"] == "warn"]
    directory = scratch.join("logs", "d00.log")
    check_eq(len(warnings), 1, "warnings logged")
    check_eq({k: v for k, v in warnings[0].items() if k != "@timestamp"}, {
        "log.level": "warn", "log.logger": "input",
        "message": "open regular file failed: invalid argument (EINVAL); "
                   "skipping the file until it changes input=app path=%s"
                   % directory,
        "input": "app", "path": directory}, "the warning's fields")
    check_eq(objects[-1]["message"], "stopped", "last message")


def test_repeated_warning_rate_limited(scratch):
    standin = scratch.standin()
    make_directories(scratch, 25)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url,
        **{"logging.rate_limit.burst": 3,
           "logging.rate_limit.interval": "1m"})
    proc = harness.run_once(scratch, config)
    lines = [TEXT_PREFIX.sub("", line) for line in proc.stderr.splitlines()]
    written = [l for l in lines if l.startswith("warn  input: open regular "
                                                "file failed")]
    check_eq(len(written), 3, "warnings written; stderr: %s"
             % harness.tail(proc.stderr))
    summaries = [l for l in lines if "message repeated" in l]
    check_eq(len(summaries), 1, "summary lines")
    match = re.match(r"warn  input: message repeated (\d+) times in the "
                     r"last \d+ m?s and not written, the last one: open "
                     r"regular file failed: invalid argument \(EINVAL\); "
                     r"skipping the file until it changes input=app "
                     r"path=\S+/logs/d\d\d\.log$", summaries[0])
    check(match is not None, "summary line: %s" % summaries[0])
    check_eq(int(match.group(1)), 22, "suppressed warnings")
    check_eq(lines[-1], summaries[0], "the summary is written at exit, "
             "after the last message")


def test_summary_when_window_ends(scratch):
    standin = scratch.standin()
    make_directories(scratch, 6)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url,
        **{"logging.rate_limit.burst": 2,
           "logging.rate_limit.interval": "500ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: "message repeated" in agent.output(),
                       timeout=10, what="the summary line")
    agent.check_running()
    lines = [TEXT_PREFIX.sub("", line)
             for line in agent.output().splitlines()]
    summaries = [l for l in lines if "message repeated" in l]
    check_eq(len(summaries), 1, "summary lines while running")
    check(summaries[0].startswith("warn  input: message repeated 4 times "
                                  "in the last 500 ms and not written, "),
          "summary line: %s" % summaries[0])
    check_eq(agent.stop(), 0, "exit status")


def secret_config(scratch, standin, password_value, mode):
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url,
        output={"username": "shipper", "password": password_value})
    os.chmod(config, mode)
    return config


def test_secret_warning_readable_config(scratch):
    standin = scratch.standin()
    scratch.write("logs/app.log", "")
    config = secret_config(scratch, standin, "hunter2", 0o644)
    expected = ("configuration file %s contains a secret "
                "(output.elasticsearch.password) and is readable by every "
                "user (mode 0644); run chmod 600 %s" % (config, config))

    proc = harness.run_once(scratch, config)
    lines = [TEXT_PREFIX.sub("", line) for line in proc.stderr.splitlines()]
    check_eq([l for l in lines if l.startswith("warn  config: ")],
             ["warn  config: " + expected], "warnings of the run")
    check("hunter2" not in proc.stderr, "the password was logged")

    proc = harness.run_agent(["test", "config", "-c", config],
                             cwd=scratch.path)
    check_eq(proc.returncode, 0, "test config exit status")
    check_eq(proc.stderr, "logferry: warning: %s\n" % expected,
             "test config stderr")


def test_secret_warning_file_reference(scratch):
    standin = scratch.standin()
    scratch.write("logs/app.log", "")
    secret = scratch.write("secret", "hunter2\n")
    os.chmod(secret, 0o600)
    config = secret_config(scratch, standin, "${file:%s}" % secret, 0o640)
    proc = harness.run_agent(["test", "config", "-c", config],
                             cwd=scratch.path)
    check_eq(proc.stderr,
             "logferry: warning: configuration file %s contains a secret "
             "(output.elasticsearch.password) and is readable by its group "
             "(mode 0640); run chmod 600 %s\n" % (config, config),
             "test config stderr")


def test_secret_warning_readable_secret_file(scratch):
    standin = scratch.standin()
    scratch.write("logs/app.log", "")
    secret = scratch.write("secret", "hunter2\n")
    os.chmod(secret, 0o644)
    config = secret_config(scratch, standin, "${file:%s}" % secret, 0o600)
    expected = ("secret file %s (read for output.elasticsearch.password) is "
                "readable by every user (mode 0644); run chmod 600 %s"
                % (secret, secret))

    proc = harness.run_once(scratch, config)
    lines = [TEXT_PREFIX.sub("", line) for line in proc.stderr.splitlines()]
    check_eq([l for l in lines if l.startswith("warn  config: ")],
             ["warn  config: " + expected], "warnings of the run")
    check("hunter2" not in proc.stderr, "the password was logged")

    # A readable configuration file and a secret file readable by the
    # group: one warning each.
    os.chmod(secret, 0o640)
    os.chmod(config, 0o604)
    proc = harness.run_agent(["test", "config", "-c", config],
                             cwd=scratch.path)
    check_eq(proc.returncode, 0, "test config exit status")
    check_eq(proc.stderr.splitlines(), [
        "logferry: warning: configuration file %s contains a secret "
        "(output.elasticsearch.password) and is readable by every user "
        "(mode 0604); run chmod 600 %s" % (config, config),
        "logferry: warning: secret file %s (read for "
        "output.elasticsearch.password) is readable by its group (mode "
        "0640); run chmod 600 %s" % (secret, secret)],
        "test config warnings")


def test_no_secret_warning_when_private(scratch):
    standin = scratch.standin()
    scratch.write("logs/app.log", "")
    config = secret_config(scratch, standin, "hunter2", 0o600)
    proc = harness.run_agent(["test", "config", "-c", config],
                             cwd=scratch.path)
    check_eq(proc.stderr, "", "test config stderr of a mode 0600 file")

    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url, name="public.yml")
    os.chmod(config, 0o644)
    proc = harness.run_agent(["test", "config", "-c", config],
                             cwd=scratch.path)
    check_eq(proc.stderr, "", "test config stderr of a file without secrets")


TESTS = [
    test_json_lines_in_file,
    test_repeated_warning_rate_limited,
    test_summary_when_window_ends,
    test_secret_warning_readable_config,
    test_secret_warning_file_reference,
    test_secret_warning_readable_secret_file,
    test_no_secret_warning_when_private,
]

if __name__ == "__main__":
    harness.main(TESTS)
