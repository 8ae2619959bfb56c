"""The agent's HTTP endpoint: /metrics checked against what the stand-in
stored and against the exposition format, /stats, /healthz, /readyz while
the stand-in refuses connections, hostile clients, and start errors."""

import json
import math
import os
import re
import shutil
import socket
import subprocess
import time

import harness
from harness import check, check_eq

PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % METRIC_NAME)
LABEL_RE = re.compile(LABEL)


# --- a strict reader of the text exposition format 0.0.4 ------------------

def parse_labels(text, line):
    labels = {}
    pos = 0
    while pos < len(text):
        match = LABEL_RE.match(text, pos)
        check(match is not None, "malformed labels in %r" % line)
        name = match.group(1)
        check(name not in labels, "label %s repeated in %r" % (name, line))
        labels[name] = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(
            m.group(1), m.group(1)), match.group(2))
        pos = match.end()
        if pos < len(text):
            check(text[pos] == ",", "labels not separated by ',' in %r"
                  % line)
            pos += 1
    return labels


def parse_value(text, line):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    check(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text)
          is not None, "malformed value in %r" % line)
    return float(text)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) == "histogram":
            return base
    return name


def check_histogram(name, samples):
    """Buckets cumulative with increasing bounds, +Inf last, _count equal
    to the +Inf bucket, for each label set."""
    series = {}
    for sample_name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sample_name == name + "_bucket":
            series[key]["buckets"].append((labels["le"], value))
        elif sample_name == name + "_sum":
            series[key]["sum"] = value
        else:
            series[key]["count"] = value
    for key, parts in series.items():
        buckets = parts["buckets"]
        check(buckets and buckets[-1][0] == "+Inf",
              "%s%s: last bucket is not +Inf" % (name, key))
        bounds = [float(le.replace("+Inf", "inf")) for le, _ in buckets]
        check(bounds == sorted(bounds) and len(set(bounds)) == len(bounds),
              "%s%s: bounds not increasing: %s" % (name, key, bounds))
        counts = [v for _, v in buckets]
        check(counts == sorted(counts), "%s%s: buckets not cumulative: %s"
              % (name, key, counts))
        check_eq(parts["count"], counts[-1], "%s_count%s" % (name, key))
        check(parts["sum"] is not None, "%s_sum%s missing" % (name, key))


def parse_exposition(text):
    """Return {(name, frozenset(labels)): value} after checking every rule
    of the format that the agent's output must follow."""
    check(text.endswith("\n"), "exposition does not end with a line feed")
    helps, types, samples_by_family = {}, {}, {}
    done = set()
    current = None
    values = {}
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            check(name not in helps, "HELP of %s repeated" % name)
            check(name not in done, "family %s split" % name)
            helps[name] = line
            if current is not None:
                done.add(current)
            current = name
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            check_eq(len(parts), 4, "fields of %r" % line)
            name, kind = parts[2], parts[3]
            check(name == current, "TYPE of %s not right after its HELP"
                  % name)
            check(kind in ("counter", "gauge", "histogram"),
                  "type of %s: %s" % (name, kind))
            check(kind != "counter" or name.endswith("_total"),
                  "counter %s does not end in _total" % name)
            types[name] = kind
            continue
        check(not line.startswith("#") and line != "",
              "unexpected line %r" % line)
        match = SAMPLE_RE.match(line)
        check(match is not None, "malformed sample %r" % line)
        name = match.group(1)
        labels = parse_labels(match.group(2) or "", line)
        value = parse_value(match.group(3), line)
        family = family_of(name, types)
        check(family == current and family in types,
              "sample %r outside its family's block" % line)
        key = (name, frozenset(labels.items()))
        check(key not in values, "series repeated: %r" % line)
        values[key] = value
        samples_by_family.setdefault(family, []).append((name, labels,
                                                         value))
        if types[family] == "counter":
            check(value >= 0 and not math.isnan(value),
                  "counter %r negative" % line)
    for name, kind in types.items():
        if kind == "histogram":
            check_histogram(name, samples_by_family.get(name, []))
    return values


def metric(values, name, **labels):
    key = (name, frozenset(labels.items()))
    check(key in values, "series %s%s missing" % (name, labels))
    return values[key]


# --- helpers ---------------------------------------------------------------

def http_get(port, path, method="GET"):
    """Return (status, headers, body) of one request on a new connection."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close"
                  "\r\n\r\n" % (method, path)).encode())
    data = read_all(conn)
    conn.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    return status, headers, body.decode("utf-8")


def read_all(conn):
    chunks = []
    while True:
        try:
            chunk = conn.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def answers(port):
    """Return whether a request for /healthz gets a reply."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                 b"Connection: close\r\n\r\n")
    reply = read_all(conn)
    conn.close()
    return reply.startswith(b"HTTP/1.1 200 ")


def start_agent(scratch, standin, lines=None, ready_timeout="1s",
                extra_inputs=(), **top):
    """Write the app log and start the agent with the endpoint on a free
    port; return (agent, port, path, lines)."""
    if lines is None:
        lines, _ = harness.app_lines(50, seed=8)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    top.setdefault("http", {"enabled": True, "port": 0,
                            "ready_timeout": ready_timeout})
    inputs = [harness.app_input([path])] + list(extra_inputs)
    config = harness.write_config(scratch, inputs, standin.url, **top)
    agent = harness.Agent(scratch, config)
    found = []

    def port_logged():
        agent.check_running()
        match = re.search(r"http: serving .* host=127\.0\.0\.1 port=(\d+)",
                          agent.output())
        if match:
            found.append(int(match.group(1)))
        return bool(found)

    harness.wait_until(port_logged, what="the endpoint's port in the log")
    return agent, found[0], path, lines


def scrape(port):
    status, headers, body = http_get(port, "/metrics")
    check_eq(status, 200, "status of /metrics")
    check_eq(headers.get("content-type"), PROM_CONTENT_TYPE,
             "Content-Type of /metrics")
    return body, parse_exposition(body)


# --- tests -----------------------------------------------------------------

def test_metrics_match_standin(scratch):
    standin = scratch.standin()
    other = scratch.write("logs/other.txt", "one\ntwo\nthree\n")
    agent, port, path, lines = start_agent(
        scratch, standin,
        extra_inputs=[{"id": 'other "x"\\', "paths": [other]}])
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) == 53,
                       what="53 documents in the stand-in")
    harness.wait_until(lambda: metric(scrape(port)[1],
                                      "logferry_output_events_indexed_total",
                                      output="elasticsearch") == 53,
                       what="53 indexed events in /metrics")
    body, values = scrape(port)
    es = {"output": "elasticsearch"}
    bulk = standin.stats()["bulk_requests"]
    check_eq(metric(values, "logferry_input_lines_read_total", input="app"),
             50, "lines read by app")
    check_eq(metric(values, "logferry_input_bytes_read_total", input="app"),
             os.path.getsize(path), "bytes read by app")
    check_eq(metric(values, "logferry_input_lines_read_total",
                    input='other "x"\\'), 3, "lines read by other")
    check_eq(metric(values, "logferry_input_bytes_read_total",
                    input='other "x"\\'), 14, "bytes read by other")
    check('logferry_input_lines_read_total{input="other \\"x\\"\\\\"} 3\n'
          in body, "input label escaped in /metrics")
    check_eq(metric(values, "logferry_events_published_total"), 53,
             "events published")
    check_eq(metric(values, "logferry_events_acknowledged_total",
                    result="indexed"), 53, "events acknowledged as indexed")
    for result in ("duplicate", "rejected", "spooled"):
        check_eq(metric(values, "logferry_events_acknowledged_total",
                        result=result), 0, "events acknowledged as " + result)
    check_eq(metric(values, "logferry_parse_failures_total", input="app"), 0,
             "parse failures of app")
    check_eq(metric(values,
                    "logferry_output_oldest_unacked_event_age_seconds"), 0,
             "age of the oldest unacknowledged event")
    check_eq(metric(values, "logferry_output_events_duplicate_total", **es),
             0, "duplicates")
    check_eq(metric(values, "logferry_output_events_pending", **es), 0,
             "pending events")
    check_eq(metric(values, "logferry_input_harvesters_open"), 2,
             "open harvesters")
    check_eq(metric(values, "logferry_output_bulk_requests_total",
                    status="2xx", **es), bulk, "2xx bulk requests")
    for status in ("error", "1xx", "3xx", "4xx", "5xx"):
        check_eq(metric(values, "logferry_output_bulk_requests_total",
                        status=status, **es), 0, "%s bulk requests" % status)
    check_eq(metric(values,
                    "logferry_output_bulk_request_duration_seconds_count",
                    **es), bulk, "latency observations")
    check_eq(metric(values,
                    "logferry_output_bulk_request_duration_seconds_bucket",
                    le="+Inf", **es), bulk, "+Inf latency bucket")
    for reason in ("mapping", "item", "too_large", "request"):
        check_eq(metric(values, "logferry_output_events_rejected_total",
                        reason=reason, **es), 0, "rejected %s" % reason)
    for reason in ("line_filter", "processor", "dead_letter_unavailable",
                   "spool_full", "spool_corrupt"):
        check_eq(metric(values, "logferry_events_dropped_total",
                        reason=reason), 0, "dropped %s" % reason)
    check(metric(values, "process_resident_memory_bytes") > 1 << 20,
          "resident memory above 1 MiB")
    check(metric(values, "process_open_fds") >= 3, "open descriptors")
    start = metric(values, "process_start_time_seconds")
    check(abs(start - time.time()) < 60, "start time %s is now" % start)
    check_eq(metric(values, "logferry_config_reloads_total", result="ok"), 0,
             "accepted reloads")
    check_eq(metric(values, "logferry_config_reloads_total",
                    result="rejected"), 0, "rejected reloads")
    check_eq(metric(values,
                    "logferry_config_last_reload_success_timestamp_seconds"),
             start, "last successful configuration load")
    check_eq(metric(values, "logferry_config_last_reload_successful"), 1,
             "last reload successful")
    check("/" + os.path.basename(path) not in body,
          "a file path appears in /metrics")
    promtool = shutil.which("promtool")
    if promtool:
        proc = subprocess.run([promtool, "check", "metrics"], input=body,
                              capture_output=True, text=True, timeout=30)
        check_eq(proc.returncode, 0, "promtool check metrics: %s%s"
                 % (proc.stdout, proc.stderr))

    status, headers, stats = http_get(port, "/stats")
    check_eq(status, 200, "status of /stats")
    check_eq(headers.get("content-type"), "application/json",
             "Content-Type of /stats")
    stats = json.loads(stats)
    check_eq(stats["inputs"], {
        "app": {"lines_read": 50, "bytes_read": os.path.getsize(path),
                "parse_failures": 0},
        'other "x"\\': {"lines_read": 3, "bytes_read": 14,
                        "parse_failures": 0}},
        "/stats inputs")
    check_eq(stats["input"]["lines_read"], 53, "/stats lines read")
    check_eq(stats["output"]["elasticsearch"]["events_indexed"], 53,
             "/stats indexed")
    check_eq(stats["acknowledged"], {"indexed": 53, "duplicate": 0,
                                     "rejected": 0, "spooled": 0},
             "/stats acknowledged")
    check_eq(stats["reload"]["ok"], 0, "/stats accepted reloads")
    check_eq(stats["reload"]["rejected"], 0, "/stats rejected reloads")
    check_eq(stats["reload"]["last_successful"], 1,
             "/stats last reload successful")
    check_eq(stats["output"]["elasticsearch"]["bulk_requests"]["2xx"], bulk,
             "/stats 2xx bulk requests")
    check_eq(http_get(port, "/healthz")[:1], (200,), "status of /healthz")
    check_eq(http_get(port, "/healthz")[2], "ok\n", "body of /healthz")
    check_eq(http_get(port, "/readyz")[:1], (200,), "status of /readyz")
    head = http_get(port, "/metrics", method="HEAD")
    check_eq(head[0], 200, "status of HEAD /metrics")
    check_eq(head[2], "", "body of HEAD /metrics")
    check_eq(http_get(port, "/metrics", method="POST")[0], 405,
             "status of POST /metrics")
    check_eq(http_get(port, "/nope")[0], 404, "status of /nope")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_latency_histogram_delayed_replies(scratch):
    """Every reply delayed by 0.3 s lands above the 0.25 s bucket."""
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "count": 10 ** 6,
                                      "delay": 0.3}]})
    agent, port, _, lines = start_agent(scratch, standin)
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) ==
                       len(lines), what="50 documents in the stand-in")
    harness.wait_until(lambda: metric(scrape(port)[1],
                                      "logferry_output_events_indexed_total",
                                      output="elasticsearch") == 50,
                       what="50 indexed events in /metrics")
    values = scrape(port)[1]
    name = "logferry_output_bulk_request_duration_seconds"
    es = {"output": "elasticsearch"}
    bulk = standin.stats()["bulk_requests"]
    check(bulk >= 1, "bulk requests sent")
    check_eq(metric(values, name + "_bucket", le="0.25", **es), 0,
             "requests within 0.25 s")
    check_eq(metric(values, name + "_bucket", le="+Inf", **es), bulk,
             "requests in the +Inf bucket")
    check_eq(metric(values, name + "_count", **es), bulk, "observations")
    check(metric(values, name + "_sum", **es) >= 0.3 * bulk,
          "sum of at least 0.3 s per request")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_readyz_while_output_refuses(scratch):
    standin = scratch.standin()
    agent, port, path, lines = start_agent(scratch, standin)
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) ==
                       len(lines), what="the first documents")
    check_eq(http_get(port, "/readyz")[0], 200, "/readyz before the outage")
    standin.close_listener()
    more, _ = harness.app_lines(20, seed=9, first=50)
    scratch.append("logs/app.log", "".join(l + "\n" for l in more))
    harness.wait_until(lambda: http_get(port, "/readyz")[0] == 503,
                       what="/readyz answering 503")
    status, _, body = http_get(port, "/readyz")
    check(re.fullmatch(r"output elasticsearch failing for \d+s with 20 "
                       r"events waiting\n", body) is not None,
          "body of /readyz: %r" % body)
    values = scrape(port)[1]
    check(metric(values, "logferry_output_bulk_requests_total",
                 output="elasticsearch", status="error") >= 1,
          "failed bulk requests counted")
    standin.open_listener()
    harness.wait_until(lambda: http_get(port, "/readyz")[0] == 200,
                       what="/readyz answering 200 again")
    harness.wait_until(lambda: len(standin.documents(harness.INDEX)) == 70,
                       what="70 documents after the outage")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_server_survives_hostile_clients(scratch):
    standin = scratch.standin()
    agent, port, _, _ = start_agent(scratch, standin)
    # More connections than the cap of 64: the extra ones are closed.
    held = [socket.create_connection(("127.0.0.1", port), timeout=5)
            for _ in range(80)]
    time.sleep(0.3)
    closed = 0
    for conn in held[64:]:
        conn.settimeout(2)
        if read_all(conn) == b"":
            closed += 1
    check_eq(closed, 16, "connections over the cap closed")
    check_eq(agent.output().count("http: closed connections over the limit "
                                  "of 64 open connections count=1 "
                                  "host=127.0.0.1 port=%d\n" % port), 1,
             "one warning for the connections over the cap")
    for conn in held:
        conn.close()
    harness.wait_until(lambda: answers(port), what="a free connection slot")

    cases = [
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 9000, 431),
        (b"GET /metrics HTTP/3.0\r\nHost: a\r\n\r\n", 505),
        (b"GET /metrics HTTP/1.1\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"
         b"abc", 413),
    ]
    for request, expected in cases:
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(request)
        reply = read_all(conn)
        conn.close()
        check(reply.startswith(b"HTTP/1.1 %d " % expected),
              "reply to %r: %r" % (request[:40], reply[:60]))
        check(b"\r\nConnection: close\r\n" in reply,
              "connection closed after %d" % expected)

    # A client still sending after the reply to a head that is too large
    # gets the reply, not a reset: the server reads on and discards.
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 9000)
    time.sleep(0.3)
    conn.sendall(b"y" * 20000)
    reply = read_all(conn)
    conn.close()
    check(reply.startswith(b"HTTP/1.1 431 "),
          "reply to a head still being sent: %r" % reply[:60])

    # Two pipelined requests on one connection, served in order.
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                 b"GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    reply = read_all(conn)
    conn.close()
    check_eq(re.findall(rb"HTTP/1\.1 (\d+) ", reply), [b"200", b"404"],
             "statuses of pipelined requests")
    check_eq(http_get(port, "/healthz")[0], 200, "/healthz afterwards")
    agent.check_running()
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_slow_client_closed(scratch):
    """A request head must arrive whole within the 10 s idle timeout: a
    client sending one byte every half second is closed, and other
    clients are served meanwhile."""
    standin = scratch.standin()
    agent, port, _, _ = start_agent(scratch, standin)
    slow = socket.create_connection(("127.0.0.1", port), timeout=1)
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
    started = time.monotonic()
    closed = False
    while not closed and time.monotonic() - started < 15:
        try:
            slow.sendall(b"X")
            closed = slow.recv(1, socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, socket.timeout):
            pass  # nothing to read yet: the connection is still open
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        check(answers(port), "/healthz served while a client is slow")
        time.sleep(0.5)
    slow.close()
    check(closed, "slow client still connected after 15 s")
    check(time.monotonic() - started >= 9, "slow client closed before the "
          "idle timeout")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")


def test_port_in_use_fails_start(scratch):
    standin = scratch.standin()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    scratch.defer(busy.close)
    port = busy.getsockname()[1]
    path = scratch.write("logs/app.log", "")
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url,
                                  http={"enabled": True, "port": port})
    proc = harness.run_agent(["-c", config], cwd=scratch.path)
    check_eq(proc.returncode, 1, "exit status")
    check(("listening on 127.0.0.1:%d failed: address already in use"
           % port) in proc.stderr, "error names the address: %s"
          % harness.tail(proc.stderr))


def test_invalid_http_config_rejected(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "")
    for http, message in [
            ({"enabled": True, "host": "localhost"},
             'http.host: invalid value "localhost": expected an IPv4 or '
             'IPv6 address'),
            ({"enabled": True, "port": 70000}, "http.port"),
            ({"enabled": True, "ready_timeout": "0s"},
             "http.ready_timeout: expected a duration of at least 1ms"),
            ({"enable": True}, "enable")]:
        config = harness.write_config(scratch, [harness.app_input([path])],
                                      standin.url, http=http)
        proc = harness.run_agent(["-c", config], cwd=scratch.path)
        check(proc.returncode != 0, "exit status for %s" % http)
        check(message in proc.stderr, "error for %s: %s"
              % (http, harness.tail(proc.stderr)))


if __name__ == "__main__":
    harness.main([
        test_metrics_match_standin,
        test_latency_histogram_delayed_replies,
        test_readyz_while_output_refuses,
        test_server_survives_hostile_clients,
        test_slow_client_closed,
        test_port_in_use_fails_start,
        test_invalid_http_config_rejected,
    ])
