"""Ship the access log of a real nginx with `preset: nginx`.

The test drives requests at nginx, then checks that the document of every
access log line carries the fields of the request that produced it."""

import base64
import datetime
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import harness
from harness import check, check_eq, field

NGINX = "/usr/sbin/nginx"

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log combined;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location /api/ {{ return 200 "ok\\n"; }}
        location /gone {{ return 410; }}
    }}
}}
"""

AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148",
    "rewards-batch/2.3 (+https://example.com/bot)",
]
REFERRERS = [None, None, "http://127.0.0.1/index.html",
             "https://www.example.com/search?q=rewards&lang=en"]


def start_nginx(scratch):
    check(os.access(NGINX, os.X_OK), "%s is missing: install the Debian "
          "package nginx-light" % NGINX)
    root = scratch.path
    # nginx workers run as an unprivileged user: let them read the root.
    os.chmod(root, 0o755)
    for sub in ("www", "tmp"):
        os.makedirs(scratch.join(sub), exist_ok=True)
    scratch.write("www/index.html", "<html><body>rewards</body></html>\n")
    scratch.write("www/static/app.js", "console.log('rewards');\n" * 40)
    port = harness.free_port()
    conf = scratch.write("nginx.conf", NGINX_CONF.format(root=root,
                                                         port=port))
    proc = subprocess.Popen([NGINX, "-p", root, "-c", conf, "-e",
                             scratch.join("error.log")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)

    def stop():
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    scratch.defer(stop)
    harness.wait_until(lambda: probe(port) or proc.poll() is not None,
                       10, "nginx to listen")
    check(proc.poll() is None, "nginx exited: %s"
          % proc.stderr.read().decode(errors="replace"))
    return port, stop


def probe(port):
    """Connect without sending a request, so nginx logs nothing."""
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def plan_requests(count, seed=21):
    rng = random.Random(seed)
    plans = []
    for n in range(count):
        kind = n % 8
        method = "GET"
        data = None
        if kind == 0:
            target = "/"
        elif kind == 1:
            target = "/static/app.js"
        elif kind == 2:
            target = "/missing/page-%d.html" % n
        elif kind == 3:
            target = "/api/items?id=%d&sort=asc&tag=a%%20b" % n
        elif kind == 4:
            method = "POST"
            target = "/api/orders"
            data = b'{"points": %d}' % rng.randrange(1000)
        elif kind == 5:
            method = rng.choice(["PUT", "DELETE", "PATCH"])
            target = "/api/orders/%d" % n
            data = b"{}" if method != "DELETE" else None
        elif kind == 6:
            method = "HEAD"
            target = "/index.html"
        else:
            target = "/gone?from=%d" % n
        plans.append({"method": method, "target": target, "data": data,
                      "agent": rng.choice(AGENTS),
                      "referrer": rng.choice(REFERRERS),
                      "user": "alice" if n % 13 == 0 else None})
    return plans


def send(port, plan):
    request = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, plan["target"]), data=plan["data"],
        method=plan["method"])
    request.add_header("User-Agent", plan["agent"])
    if plan["referrer"]:
        request.add_header("Referer", plan["referrer"])
    if plan["user"]:
        token = base64.b64encode(b"%s:secret" % plan["user"].encode())
        request.add_header("Authorization", "Basic " + token.decode())
    sent = datetime.datetime.now(datetime.timezone.utc)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        body = err.read()
        status = err.code
    return sent, status, len(body)


def expected_fields(plan, status, body_bytes):
    path, _, query = plan["target"].partition("?")
    exp = {
        "source.address": "127.0.0.1", "source.ip": "127.0.0.1",
        "http.request.method": plan["method"],
        "url.original": plan["target"], "url.path": path,
        "url.query": query or None, "http.version": "1.1",
        "http.response.status_code": status,
        "http.response.body.bytes": body_bytes,
        "http.request.referrer": plan["referrer"],
        "user_agent.original": plan["agent"],
        "user.name": plan["user"],
    }
    return exp


def test_nginx_access_log(scratch):
    port, stop_nginx = start_nginx(scratch)
    plans = plan_requests(200)
    results = [send(port, plan) for plan in plans]
    stop_nginx()
    access = scratch.join("access.log")
    with open(access, "rb") as fp:
        data = fp.read()
    lines = data.decode().split("\n")[:-1]
    check_eq(len(lines), len(plans), "access log lines written by nginx")
    statuses = sorted({r[1] for r in results})
    check_eq(statuses, [200, 404, 410], "statuses driven")

    standin = scratch.standin()
    config = harness.write_config(scratch, [{
        "id": "web", "paths": [access], "parsers": [{"preset": "nginx"}],
        "max_line_bytes": "1MiB", "preserve_original_event": False}],
        standin.url)
    harness.run_once(scratch, config)
    docs = harness.by_offset(harness.documents(standin))
    check_eq(len(docs), len(plans), "documents")
    version = harness.agent_version()
    for offset, line, plan, (sent, status, size) in zip(
            harness.line_offsets(data), lines, plans, results):
        doc = docs.get((access, offset))
        check(doc is not None, "no document for %r" % line)
        harness.check_common(doc, access, offset, version,
                             {"message": line})
        harness.check_fields(doc, expected_fields(plan, status, size),
                             "%s %s" % (plan["method"], plan["target"]))
        check_eq(doc.get("tags"), None, "tags of %r" % line)
        stamp = datetime.datetime.strptime(
            field(doc, "@timestamp"), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
        check(abs((stamp - sent).total_seconds()) <= 2,
              "@timestamp %s of %r is not the time it was sent (%s)"
              % (stamp, line, sent))
    errors = harness.http_json(
        standin.url + "/%s/_count" % harness.INDEX, "POST",
        {"query": {"term": {"http.response.status_code": 404}}})[1]
    check_eq(errors["count"], sum(1 for r in results if r[1] == 404),
             "404 documents found by a term query")


TESTS = [test_nginx_access_log]

if __name__ == "__main__":
    harness.main(TESTS)
