"""Shared harness of the integration tests.

Each test script calls harness.main(TESTS): every test gets a scratch
directory, the Elasticsearch stand-in runs in-process on 127.0.0.1, and the
script ends with the line "N passed, N failed" and exit status 0 only when
nothing failed. The agent binary is $LOGFERRY; the source root is
$LF_SOURCE_ROOT (both set by tests/integration/meson.build).
"""

import datetime
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

SOURCE_ROOT = os.environ.get(
    "LF_SOURCE_ROOT",
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "standin"))

import es_standin  # noqa: E402  (path set just above)

STANDIN_SCRIPT = os.path.join(SOURCE_ROOT, "tests", "standin",
                              "es_standin.py")
INDEX = "logs-app-default"
# Default wait of wait_until() and of agent runs, in seconds. Generous
# because CI shares two cores with the build.
DEFAULT_TIMEOUT = 60


class TestFailure(AssertionError):
    """An expectation that did not hold; the message has both values."""


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %s, got %s"
                          % (what, short(expected), short(actual)))


def short(value, limit=600):
    text = repr(value)
    if len(text) > limit:
        text = text[:limit] + "... (%d chars)" % len(text)
    return text


def wait_until(predicate, timeout=DEFAULT_TIMEOUT, what="condition",
               interval=0.05):
    """Poll `predicate` until it returns a true value; return that value.
    Raises TestFailure naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.0f s waiting for %s"
                              % (timeout, what))
        time.sleep(interval)


def free_port():
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def logferry_path():
    path = os.environ.get("LOGFERRY")
    if not path:
        raise TestFailure("LOGFERRY is not set: run through meson test or "
                          "set it to the built logferry binary")
    if not os.access(path, os.X_OK):
        raise TestFailure("LOGFERRY=%s is not an executable file" % path)
    return os.path.abspath(path)   # the agent runs in the scratch dir


class Scratch:
    """A scratch directory for one test, removed when the test passes."""

    def __init__(self, name):
        base = os.environ.get("LF_SCRATCH_BASE") or None
        self.path = tempfile.mkdtemp(prefix="lf-%s-" % name, dir=base)
        self.cleanups = []
        self.standins = []

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def write(self, relpath, data, mode="w"):
        path = self.join(relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        encoding = None if "b" in mode else "utf-8"
        with open(path, mode, encoding=encoding) as fp:
            fp.write(data)
        return path

    def append(self, relpath, data):
        return self.write(relpath, data, "ab" if isinstance(data, bytes)
                          else "a")

    def standin(self, **kwargs):
        """Start an in-process stand-in; it stops with the test."""
        server = es_standin.StandIn(**kwargs).start()
        self.standins.append(server)
        return server

    def defer(self, func, *args):
        self.cleanups.append((func, args))

    def close(self, keep):
        for func, args in reversed(self.cleanups):
            try:
                func(*args)
            except Exception:  # cleanup must go on after one failure
                traceback.print_exc()
        for server in self.standins:
            server.stop()
        if keep:
            print("  scratch kept: %s" % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


# --- configuration -------------------------------------------------------

def yaml_scalar(value):
    """Quote a scalar for YAML: JSON strings are valid YAML scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def yaml_block(value, indent=0):
    """Emit block-style YAML for dicts, lists and scalars."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, (dict, list)) and child:
                lines.append("%s%s:" % (pad, yaml_key(key)))
                lines.extend(yaml_block(child, indent + 2))
            elif isinstance(child, dict):
                lines.append("%s%s: {}" % (pad, yaml_key(key)))
            elif isinstance(child, list):
                lines.append("%s%s: []" % (pad, yaml_key(key)))
            else:
                lines.append("%s%s: %s" % (pad, yaml_key(key),
                                           yaml_scalar(child)))
        return lines
    for child in value:
        sub = yaml_block(child, indent + 2) if isinstance(
            child, (dict, list)) else ["%s  %s" % (pad, yaml_scalar(child))]
        first = sub[0].lstrip()
        lines.append("%s- %s" % (pad, first))
        lines.extend(sub[1:])
    return lines


def yaml_key(key):
    """Quote a mapping key unless it is a plain YAML scalar. `@` is a
    reserved indicator, so a key such as `@metadata.kind` is quoted."""
    plain = (key[:1] not in ("", "@") and
             all(c.isalnum() or c in "._-@" for c in key))
    return key if plain else json.dumps(key)


APP_PATTERN = (r"^(?<ts>\S+) (?<level>\w+) \[txn=(?<txn>\w+)\] "
               r"(?<method>[A-Z]+) (?<path>\S+) (?<status>\d+) "
               r"(?<took>\d+)ms")
APP_FIELDS = {
    "ts": {"field": "@timestamp", "type": "timestamp"},
    "level": "log.level",
    "txn": "transaction.id",
    "method": "http.request.method",
    "path": "url.path",
    "status": {"field": "http.response.status_code", "type": "integer"},
    "took": {"field": "event.duration", "type": "duration", "unit": "ms"},
}


def app_input(paths, input_id="app", **extra):
    """An input with the app regex parser of the configuration example."""
    spec = {"id": input_id, "paths": list(paths),
            "fields": {"service.name": "rewards-api"},
            "parsers": [{"regex": {"pattern": APP_PATTERN,
                                   "fields": APP_FIELDS}}]}
    spec.update(extra)
    return spec


# Level spellings written by the app log generator, with the level the
# agent must store for each.
APP_LEVELS = [
    ("INFO", "info"), ("info", "info"), ("I", "info"), ("DEBUG", "debug"),
    ("TRACE", "trace"), ("WARN", "warn"), ("WARNING", "warn"), ("W", "warn"),
    ("ERROR", "error"), ("ERR", "error"), ("E", "error"),
    ("SEVERE", "error"), ("CRITICAL", "fatal"), ("FATAL", "fatal"),
    ("PANIC", "fatal"),
]
APP_ROUTES = ["/api/rewards", "/api/rewards/1234", "/api/users/42/points",
              "/api/redeem", "/api/catalog/items", "/healthz"]
APP_METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH"]
APP_START = datetime.datetime(2026, 3, 1, 10, 0, 0,
                              tzinfo=datetime.timezone.utc)


def iso_ms(moment):
    """Format a UTC datetime the way the agent writes @timestamp."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (moment.microsecond // 1000)


def app_lines(count, seed=1, first=0):
    """Return (lines, expected) for `count` app log lines in the regex
    format. expected[i] maps ECS field paths to the values the agent must
    store for lines[i], message included (without its newline)."""
    rng = random.Random(seed)
    lines = []
    expected = []
    for i in range(first, first + count):
        moment = APP_START + datetime.timedelta(milliseconds=i * 1037)
        form = i % 3
        if form == 0:
            stamp = iso_ms(moment)
        elif form == 1:
            local = moment.astimezone(datetime.timezone(
                datetime.timedelta(hours=1)))
            stamp = local.strftime("%Y-%m-%dT%H:%M:%S.") + \
                "%03d+01:00" % (moment.microsecond // 1000)
        else:
            moment = moment.replace(microsecond=0)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        written, level = APP_LEVELS[rng.randrange(len(APP_LEVELS))]
        txn = "%016x" % rng.getrandbits(64)
        method = APP_METHODS[rng.randrange(len(APP_METHODS))]
        path = APP_ROUTES[rng.randrange(len(APP_ROUTES))]
        status = 500 if level in ("error", "fatal") else \
            rng.choice([200, 200, 201, 204, 302, 400, 404])
        took = rng.randrange(0, 3000)
        line = "%s %s [txn=%s] %s %s %d %dms" % (stamp, written, txn,
                                                  method, path, status, took)
        if i % 4 == 0:
            line += " user=%d points=%d" % (rng.randrange(1, 10 ** 6),
                                            rng.randrange(0, 500))
        lines.append(line)
        expected.append({
            "@timestamp": iso_ms(moment), "log.level": level,
            "transaction.id": txn, "http.request.method": method,
            "url.path": path, "http.response.status_code": status,
            "event.duration": took * 1000000, "message": line})
    return lines, expected


def agent_version():
    """Return the version that `logferry --version` prints."""
    proc = run_agent(["--version"], 10)
    match = re.search(r"(\d+\.\d+\.\d+\S*)", proc.stdout)
    check(match is not None, "no version in --version output %r"
          % proc.stdout)
    return match.group(1)


def check_fields(doc, expected, what):
    """Compare each expected dotted field with the document's value."""
    for path, value in expected.items():
        check_eq(field(doc, path), value, "%s %s" % (what, path))


def check_common(doc, path, offset, version, fields=None):
    """Check the fields every document carries."""
    what = "%s@%d" % (os.path.basename(path), offset)
    check_eq(field(doc, "log.file.path"), path, what + " log.file.path")
    check_eq(field(doc, "log.offset"), offset, what + " log.offset")
    check_eq(field(doc, "host.name"), socket.gethostname(),
             what + " host.name")
    check_eq(field(doc, "agent.type"), "logferry", what + " agent.type")
    check_eq(field(doc, "agent.version"), version, what + " agent.version")
    check_eq(field(doc, "input.type"), "filestream", what + " input.type")
    check_eq(field(doc, "event.original"), None, what + " event.original")
    check(isinstance(field(doc, "@timestamp"), str),
          what + " @timestamp missing")
    for key, value in (fields or {}).items():
        check_eq(field(doc, key), value, what + " " + key)


# Every field of a document made from a matched app line, and nothing
# else: the common fields, the input's fields and the regex captures.
APP_DOC_FIELDS = sorted([
    "@timestamp", "agent.type", "agent.version", "event.duration",
    "host.name", "http.request.method", "http.response.status_code",
    "input.type", "log.file.path", "log.level", "log.offset", "message",
    "service.name", "transaction.id", "url.path"])


def leaf_fields(doc, prefix=""):
    """Return the sorted dotted paths of every leaf of a nested document."""
    out = []
    for key, value in doc.items():
        if isinstance(value, dict):
            out.extend(leaf_fields(value, prefix + key + "."))
        else:
            out.append(prefix + key)
    return sorted(out)


def check_app_file(docs, path, lines, expected, version, first_offset=0):
    """Check that `docs` contains exactly the app lines of one file, each
    once, with every parsed field."""
    found = by_offset(d for d in docs
                      if field(d, "log.file.path") == path)
    offsets = []
    position = first_offset
    for line in lines:
        offsets.append(position)
        position += len(line.encode("utf-8")) + 1
    check_eq(sorted(o for _, o in found), offsets,
             "offsets stored for %s" % path)
    for line_offset, exp in zip(offsets, expected):
        doc = found[(path, line_offset)]
        check_common(doc, path, line_offset, version,
                     {"service.name": "rewards-api"})
        check_fields(doc, exp, "%s@%d" % (os.path.basename(path),
                                          line_offset))
        check_eq(field(doc, "tags"), None, "tags of offset %d"
                 % line_offset)
        check_eq(leaf_fields(doc), APP_DOC_FIELDS,
                 "fields of the document at offset %d" % line_offset)


def write_config(scratch, inputs, standin_url, name="logferry.yml",
                 output=None, **top):
    """Write a configuration file and return its path. `output` entries
    override the defaults below; `top` adds or overrides top-level keys
    (use dotted names such as shutdown.timeout)."""
    out = {"hosts": [standin_url], "index": INDEX, "compression": "gzip",
           "flush_interval": "200ms", "backoff.init": "100ms",
           "backoff.max": "1s"}
    out.update(output or {})
    config = {"path.data": scratch.join("data"), "inputs": inputs,
              "output.elasticsearch": out, "shutdown.timeout": "20s",
              "logging.level": "info"}
    config.update(top)
    text = "\n".join(yaml_block(config)) + "\n"
    return scratch.write(name, text)


# --- running the agent ---------------------------------------------------

def agent_env(extra=None):
    env = dict(os.environ)
    env.setdefault("TZ", "UTC")
    env.update(extra or {})
    return env


def run_agent(args, timeout=DEFAULT_TIMEOUT, env=None, cwd=None,
              prefix=None):
    """Run logferry to completion; return the CompletedProcess (text)."""
    argv = list(prefix or []) + [logferry_path()] + list(args)
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              env=agent_env(env), cwd=cwd,
                              errors="replace")
    except subprocess.TimeoutExpired as exc:
        raise TestFailure("%s did not exit within %d s; stderr tail: %s"
                          % (" ".join(argv), timeout,
                             tail(exc.stderr)))


def run_once(scratch, config, expect_rc=0, timeout=DEFAULT_TIMEOUT,
             env=None, prefix=None):
    """Run `logferry -c CONFIG --once` and check its exit status."""
    proc = run_agent(["-c", config, "--once"], timeout, env,
                     cwd=scratch.path, prefix=prefix)
    if proc.returncode != expect_rc:
        raise TestFailure("logferry --once exited %d, expected %d; "
                          "stderr: %s" % (proc.returncode, expect_rc,
                                          tail(proc.stderr)))
    return proc


def tail(text, lines=25):
    if text is None:
        return "<none>"
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n" + "\n".join(text.splitlines()[-lines:])


class Agent:
    """logferry running in agent mode, its output captured to files."""

    def __init__(self, scratch, config, env=None, prefix=None, name="agent"):
        self.stdout_path = scratch.join(name + ".stdout")
        self.stderr_path = scratch.join(name + ".stderr")
        argv = list(prefix or []) + [logferry_path(), "-c", config]
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                         cwd=scratch.path,
                                         env=agent_env(env))
        scratch.defer(self.kill)

    def output(self):
        with open(self.stderr_path, "r", errors="replace") as fp:
            err = fp.read()
        with open(self.stdout_path, "r", errors="replace") as fp:
            return fp.read() + err

    def check_running(self):
        code = self.proc.poll()
        if code is not None:
            raise TestFailure("logferry exited early with status %d; "
                              "output: %s" % (code, tail(self.output())))

    def stop(self, signum=signal.SIGTERM, timeout=DEFAULT_TIMEOUT):
        """Send `signum` and wait; return the exit status."""
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("logferry did not exit within %d s of "
                              "signal %d; output: %s"
                              % (timeout, signum, tail(self.output())))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- reading the stand-in ------------------------------------------------

def documents(standin, index=INDEX):
    """Return the sources stored under `index`, as a list."""
    return [doc["_source"] for doc in standin.documents(index)]


def field(doc, path):
    """Return the value at a dotted path of a nested document, or None."""
    values = es_standin.field_values(doc, path)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def by_offset(docs):
    """Map log.offset to the document, failing on a repeated offset."""
    out = {}
    for doc in docs:
        key = (field(doc, "log.file.path"), field(doc, "log.offset"))
        check(key not in out, "two documents for file %s offset %s"
              % key)
        out[key] = doc
    return out


def line_offsets(data):
    """Return the byte offset of each complete line of `data` (bytes)."""
    offsets = []
    start = 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            return offsets
        offsets.append(start)
        start = end + 1


def http_json(url, method="GET", body=None, headers=None, timeout=10):
    """Send a request; return (status, parsed JSON body or None)."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else \
            json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers=headers or {})
    if body is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw = err.read()
        status = err.code
    return status, (json.loads(raw) if raw else None)


# --- running tests -------------------------------------------------------

def main(tests):
    """Run the test functions (each takes a Scratch), print one line per
    test and the closing count, and exit 1 when any failed. Arguments
    select tests by substring of their name."""
    wanted = sys.argv[1:]
    selected = [t for t in tests
                if not wanted or any(w in t.__name__ for w in wanted)]
    passed = 0
    failed = 0
    for test in selected:
        scratch = Scratch(test.__name__)
        started = time.monotonic()
        ok = False
        try:
            test(scratch)
            ok = True
        except TestFailure as exc:
            print("FAIL %s: %s" % (test.__name__, exc))
        except Exception:
            print("FAIL %s: unexpected exception" % test.__name__)
            traceback.print_exc(file=sys.stdout)
        finally:
            scratch.close(keep=not ok)
        took = time.monotonic() - started
        if ok:
            passed += 1
            print("ok   %s (%.1f s)" % (test.__name__, took))
        else:
            failed += 1
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not selected else 0)
