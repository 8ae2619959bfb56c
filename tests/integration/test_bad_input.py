"""Bad input never crashes the agent and never loses the good lines."""

import os
import random
import re
import time

import harness
from harness import check, check_eq, field

MIB = 1024 * 1024


def plain_input(paths, input_id="plain", **extra):
    spec = {"id": input_id, "paths": list(paths)}
    spec.update(extra)
    return spec


def by_offset(standin):
    return {field(d, "log.offset"): d for d in harness.documents(standin)}


def write_good(scratch, name="good.log", count=5):
    lines = ["good line %d" % n for n in range(count)]
    return scratch.write("logs/" + name, "".join(l + "\n" for l in lines)), \
        lines


def messages(standin):
    return sorted(field(d, "message") for d in harness.documents(standin))


def test_glob_matching_nothing(scratch):
    standin = scratch.standin()
    good, lines = write_good(scratch)
    config = harness.write_config(scratch, [
        plain_input([scratch.join("nothing", "*.log")], "empty"),
        plain_input([good])], standin.url)
    harness.run_once(scratch, config)
    check_eq(messages(standin), sorted(lines), "messages")

    alone = harness.write_config(scratch, [
        plain_input([scratch.join("nothing", "*.log")], "empty")],
        standin.url, name="alone.yml",
        **{"path.data": scratch.join("data-alone")})
    before = len(standin.request_log())
    harness.run_once(scratch, alone)
    check_eq(len(standin.request_log()), before,
             "bulk requests for a glob matching nothing")


def test_fifo_and_directory_named_log(scratch):
    standin = scratch.standin()
    good, lines = write_good(scratch)
    os.mkfifo(scratch.join("logs", "pipe.log"))
    os.mkdir(scratch.join("logs", "dir.log"))
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config, timeout=30)
    check_eq(messages(standin), sorted(lines), "messages")
    paths = {field(d, "log.file.path") for d in harness.documents(standin)}
    check_eq(paths, {good}, "files shipped")


def test_unreadable_file(scratch):
    check(os.geteuid() == 0, "this test runs the agent as nobody through "
          "setpriv, which needs root")
    standin = scratch.standin()
    os.chmod(scratch.path, 0o755)
    good, lines = write_good(scratch)
    secret = scratch.write("logs/secret.log", "secret line\n")
    os.chmod(secret, 0)
    data = scratch.join("data")
    os.makedirs(data)
    os.chown(data, 65534, 65534)
    config = harness.write_config(
        scratch, [plain_input([scratch.join("logs", "*.log")])],
        standin.url)
    proc = harness.run_once(
        scratch, config, timeout=30, expect_rc=1,
        prefix=["setpriv", "--reuid=nobody", "--regid=nogroup",
                "--clear-groups"])
    check_eq(messages(standin), sorted(lines), "messages")
    output = proc.stdout + proc.stderr
    named = [l for l in output.splitlines() if "secret.log" in l]
    check(named, "no log line names secret.log: %s" % harness.tail(output))
    check(any(re.search(r"(?i)permission denied|EACCES", l) for l in named),
          "the secret.log line gives no reason: %s" % named)
    check("matched files that could not be read: 1" in output,
          "--once does not say that a matched file could not be read: %s"
          % harness.tail(output))


def test_nul_bytes_and_binary(scratch):
    standin = scratch.standin()
    control = bytes(range(1, 10)) + bytes(range(11, 32)) + b"\x7f"
    text_lines = [b"before", b"nul\x00in\x00the\x00middle", control,
                  b"after"]
    path = scratch.write("logs/nul.log", b"".join(l + b"\n"
                                                  for l in text_lines),
                         "wb")
    rng = random.Random(5)
    blob = bytes(rng.randrange(256) for _ in range(64 * 1024)) + b"\n"
    binary = scratch.write("logs/random.bin.log", blob, "wb")
    config = harness.write_config(
        scratch, [plain_input([path, binary])], standin.url)
    harness.run_once(scratch, config)
    docs = [d for d in harness.documents(standin)
            if field(d, "log.file.path") == path]
    got = sorted((field(d, "log.offset"), field(d, "message")) for d in docs)
    check_eq(got, list(zip(harness.line_offsets(
        b"".join(l + b"\n" for l in text_lines)),
        [l.decode() for l in text_lines])), "control-character lines")
    random_docs = [d for d in harness.documents(standin)
                   if field(d, "log.file.path") == binary]
    check_eq(sorted(field(d, "log.offset") for d in random_docs),
             harness.line_offsets(blob), "offsets of the random file")


def test_invalid_utf8_replaced(scratch):
    standin = scratch.standin()
    raw = [b"caf\xe9 latin-1", b"\xff\xfe start", b"ok \xc3\xa9 valid",
           b"lone continuation \x80 byte", b"overlong \xc0\xaf slash",
           b"four byte \xf0\x9f\x98\x80 emoji"]
    want = ["caf\ufffd latin-1", "\ufffd\ufffd start", "ok \u00e9 valid",
            "lone continuation \ufffd byte",
            "overlong \ufffd\ufffd slash", "four byte \U0001F600 emoji"]
    data = b"".join(l + b"\n" for l in raw)
    path = scratch.write("logs/utf8.log", data, "wb")
    config = harness.write_config(scratch, [plain_input([path])],
                                  standin.url)
    harness.run_once(scratch, config)
    docs = by_offset(standin)
    got = [field(docs[o], "message") if o in docs else None
           for o in harness.line_offsets(data)]
    check_eq(got, want, "messages")


def test_long_line_truncated(scratch):
    standin = scratch.standin()
    long_len = 10 * MIB
    path = scratch.join("logs", "long.log")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as fp:
        fp.write(b"before\n")
        fp.write(b"x" * long_len + b"\n")
        fp.write(b"after\n")
    config = harness.write_config(
        scratch, [plain_input([path], max_line_bytes="1MiB")], standin.url)
    harness.run_once(scratch, config, timeout=120)
    docs = by_offset(standin)
    check_eq(sorted(docs), [0, 7, 7 + long_len + 1], "offsets")
    cut = docs[7]
    check_eq(len(field(cut, "message")), MIB, "length of the cut message")
    check_eq(field(cut, "message"), "x" * MIB, "cut message")
    check_eq(cut.get("log", {}).get("flags"), ["truncated"], "log.flags")
    check_eq(field(docs[0], "message"), "before", "line before")
    check_eq(field(docs[7 + long_len + 1], "message"), "after",
             "line after")
    check_eq(docs[7 + long_len + 1].get("log", {}).get("flags"), None,
             "log.flags of the line after")


def test_invalid_config_exits_2(scratch):
    config = scratch.write("broken.yml",
                           "path.data: ./data\n"
                           "inputs:\n"
                           "  - id: app\n"
                           "    pahts: [\"logs/*.log\"]\n")
    proc = harness.run_agent(["-c", config, "--once"], 10, cwd=scratch.path)
    check_eq(proc.returncode, 2, "exit status")
    check("broken.yml:4" in proc.stderr, "line 4 not named: %s"
          % harness.tail(proc.stderr))
    for wanted in ("inputs[0]", "'pahts'"):
        check(wanted in proc.stderr, "stderr does not contain %r: %s"
              % (wanted, harness.tail(proc.stderr)))


def test_elasticsearch_down_at_start(scratch):
    port = harness.free_port()
    url = "http://127.0.0.1:%d" % port
    lines, expected = harness.app_lines(600, seed=17)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(
        scratch, [harness.app_input([path])], url,
        output={"bulk_max_size": 50, "backoff.init": "500ms",
                "backoff.max": "1s"})
    agent = harness.Agent(scratch, config)
    down_s = 4.0
    time.sleep(down_s)
    agent.check_running()

    standin = scratch.standin(port=port)
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) >=
                       len(lines), what="all lines after the start")
    time.sleep(0.5)
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())
    statuses = [i["status"] for e in standin.request_log()
                for i in e["items"]]
    check_eq(statuses, [201] * len(lines), "item statuses")

    failures = [l for l in agent.output().splitlines()
                if "127.0.0.1:%d" % port in l and
                re.search(r"(?i)\b(warn|warning|error)\b", l)]
    # One line per backoff step: at most one per 250 ms (the shortest
    # jittered 500 ms step) while down, not one per batch or per worker,
    # and each names the next attempt number.
    limit = int(down_s / 0.25) + 2
    check(1 <= len(failures) <= limit,
          "%d failure lines while down %.0f s (expected 1..%d): %s"
          % (len(failures), down_s, limit, harness.tail(
              "\n".join(failures))))
    attempts = [int(m.group(1)) for m in
                (re.search(r"\battempt=(\d+)", l) for l in failures) if m]
    check_eq(attempts, list(range(1, len(failures) + 1)),
             "attempt numbers of the failure lines")


TESTS = [
    test_glob_matching_nothing,
    test_fifo_and_directory_named_log,
    test_unreadable_file,
    test_nul_bytes_and_binary,
    test_invalid_utf8_replaced,
    test_long_line_truncated,
    test_invalid_config_exits_2,
    test_elasticsearch_down_at_start,
]

if __name__ == "__main__":
    harness.main(TESTS)
