"""Connections of the Elasticsearch output.

The tests cover TLS with certificates made by the test with openssl,
verification modes and CA fingerprint pinning, the exact Authorization
headers, and secrets kept out of every output. They also cover failover
among several hosts, the path prefix, an HTTP proxy, and `test output`."""

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import check, check_eq

import es_security

LINES = 40

# Fast retries, and a short shutdown for the runs stopped while failing.
FAST = {"backoff.init": "100ms", "backoff.max": "1s"}
SHORT_SHUTDOWN = {"shutdown.timeout": "1s"}


# --- certificates ----------------------------------------------------------

def openssl(scratch, *args):
    proc = subprocess.run(["openssl"] + list(args), cwd=scratch.join("pki"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          errors="replace", timeout=30)
    check(proc.returncode == 0, "openssl %s failed: %s"
          % (" ".join(args), proc.stderr))


def make_ca(scratch, name):
    """Make a self-signed CA; return the path of its certificate."""
    openssl(scratch, "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=logferry test %s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", name + ".key", "-out", name + ".pem")
    return scratch.join("pki", name + ".pem")


def make_cert(scratch, name, ca, extensions):
    """Make a key and a certificate signed by `ca`; return their paths.
    The certificate file contains the chain: the certificate, then the CA."""
    scratch.write("pki/%s.ext" % name, "\n".join(extensions) + "\n")
    openssl(scratch, "req", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
            "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".csr")
    openssl(scratch, "x509", "-req", "-in", name + ".csr", "-CA",
            ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
            "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt")
    with open(scratch.join("pki", name + ".crt")) as leaf, \
            open(scratch.join("pki", ca + ".pem")) as issuer:
        chain = leaf.read() + issuer.read()
    cert = scratch.write("pki/%s-chain.pem" % name, chain)
    return cert, scratch.join("pki", name + ".key")


def make_pki(scratch, server_names="IP:127.0.0.1"):
    """Make a CA, a server and a client certificate, and a second CA that
    signed nothing. Returns a dict of paths."""
    os.makedirs(scratch.join("pki"), exist_ok=True)
    pki = {"ca": make_ca(scratch, "ca"), "other_ca": make_ca(scratch,
                                                             "other")}
    pki["server_cert"], pki["server_key"] = make_cert(
        scratch, "server", "ca",
        ["subjectAltName=%s" % server_names, "basicConstraints=CA:FALSE",
         "extendedKeyUsage=serverAuth"])
    pki["client_cert"], pki["client_key"] = make_cert(
        scratch, "client", "ca",
        ["basicConstraints=CA:FALSE", "extendedKeyUsage=clientAuth"])
    return pki


def fingerprint(pem_path):
    """SHA-256 of the DER form of a certificate, as 64 hex digits."""
    with open(pem_path) as fp:
        der = ssl.PEM_cert_to_DER_cert(fp.read())
    return hashlib.sha256(der).hexdigest()


def tls_standin(scratch, pki, client_ca=False, **kwargs):
    tls = {"cert": pki["server_cert"], "key": pki["server_key"]}
    if client_ca:
        tls["client_ca"] = pki["ca"]
    return scratch.standin(tls=tls, **kwargs)


# --- setup and checks --------------------------------------------------------

def write_logs(scratch, count=LINES, name="app.log"):
    lines, expected = harness.app_lines(count, seed=count)
    path = scratch.write("logs/" + name, "".join(l + "\n" for l in lines))
    return path, lines, expected


def config_for(scratch, path, hosts, output=None, name="logferry.yml",
               data="data", **top):
    out = dict(FAST)
    out["hosts"] = list(hosts)
    out.update(output or {})
    top.setdefault("path.data", scratch.join(data))
    return harness.write_config(scratch, [harness.app_input([path])],
                                hosts[0], name=name, output=out, **top)


def check_all_once(standin, path, lines, expected):
    harness.check_app_file(harness.documents(standin), path, lines,
                           expected, harness.agent_version())


def run_until_logged(scratch, config, text, name="agent"):
    """Run the agent until its output contains `text`, stop it, check
    that it reports undelivered events, and return the output."""
    agent = harness.Agent(scratch, config, name=name)
    harness.wait_until(lambda: text in agent.output(), 30,
                       "%r in the agent output" % text)
    # Events were still unacknowledged at shutdown: exit status 1.
    check_eq(agent.stop(), 1, "exit status after SIGTERM; output: %s"
             % harness.tail(agent.output()))
    return agent.output()


def line_with(output, text):
    """Return the first line of `output` that contains `text`."""
    for line in output.splitlines():
        if text in line:
            return line
    raise harness.TestFailure("no line contains %r: %s"
                              % (text, harness.tail(output)))


# --- TLS -------------------------------------------------------------------

def test_tls_client_certificate_required(scratch):
    pki = make_pki(scratch)
    standin = tls_standin(scratch, pki, client_ca=True)
    path, lines, expected = write_logs(scratch)
    with open(pki["ca"]) as fp:
        inline_ca = fp.read()
    # The CA is given inline and the client certificate as files.
    config = config_for(scratch, path, [standin.url], {
        "ssl.certificate_authorities": [inline_ca],
        "ssl.certificate": pki["client_cert"],
        "ssl.key": pki["client_key"]})
    check(standin.url.startswith("https://"), "stand-in URL %s"
          % standin.url)
    harness.run_once(scratch, config)
    check_all_once(standin, path, lines, expected)
    check_eq(standin.stats().get("tls_failures", 0), 0, "TLS failures")


def test_tls_missing_client_certificate(scratch):
    pki = make_pki(scratch)
    standin = tls_standin(scratch, pki, client_ca=True)
    path, _, _ = write_logs(scratch)
    config = config_for(scratch, path, [standin.url], {
        "ssl.certificate_authorities": [pki["ca"]]}, **SHORT_SHUTDOWN)
    output = run_until_logged(scratch, config, "bulk request failed")
    line = line_with(output, "bulk request failed")
    check("host=" + standin.url in line, "host missing: %s" % line)
    check_eq(harness.documents(standin), [], "documents")
    check(standin.stats().get("tls_failures", 0) >= 1,
          "the stand-in saw no failed handshake")


def test_tls_wrong_ca_rejected_then_fixed(scratch):
    pki = make_pki(scratch)
    standin = tls_standin(scratch, pki)
    path, lines, expected = write_logs(scratch)
    config = config_for(scratch, path, [standin.url], {
        "ssl.certificate_authorities": [pki["other_ca"]]}, **SHORT_SHUTDOWN)
    output = run_until_logged(scratch, config, "SSL certificate problem")
    line = line_with(output, "SSL certificate problem")
    check("tls handshake or certificate failed" in line,
          "error kind missing: %s" % line)
    check("self-signed certificate in certificate chain" in line,
          "verification failure missing: %s" % line)
    check("host=" + standin.url in line, "host missing: %s" % line)
    check_eq(harness.documents(standin), [], "documents before the fix")

    config = config_for(scratch, path, [standin.url], {
        "ssl.certificate_authorities": [pki["ca"]]})
    harness.run_once(scratch, config)
    check_all_once(standin, path, lines, expected)


def test_tls_verification_modes(scratch):
    # The server certificate names another host, so only the host name
    # check fails.
    pki = make_pki(scratch, server_names="DNS:elsewhere.invalid")
    standin = tls_standin(scratch, pki)
    path, lines, expected = write_logs(scratch)

    config = config_for(scratch, path, [standin.url], {
        "ssl.certificate_authorities": [pki["ca"]]}, name="full.yml",
        data="data-full", **SHORT_SHUTDOWN)
    output = run_until_logged(scratch, config, "bulk request failed",
                              name="full")
    line = line_with(output, "bulk request failed")
    check("no alternative certificate subject name matches target host "
          "name '127.0.0.1'" in line, "host name failure: %s" % line)
    check("host=" + standin.url in line, "host missing: %s" % line)
    check_eq(harness.documents(standin), [], "documents with mode full")

    config = config_for(scratch, path, [standin.url], {
        "ssl.certificate_authorities": [pki["ca"]],
        "ssl.verification_mode": "certificate"}, name="certificate.yml",
        data="data-certificate")
    proc = harness.run_once(scratch, config)
    check("verification_mode is none" not in proc.stderr,
          "warning without mode none")
    check_all_once(standin, path, lines, expected)

    # No CA at all: only mode none connects, and it logs a warning at start.
    other = tls_standin(scratch, pki)
    config = config_for(scratch, path, [other.url], {
        "ssl.verification_mode": "none"}, name="none.yml", data="data-none")
    proc = harness.run_once(scratch, config)
    line = line_with(proc.stdout + proc.stderr, "verification_mode is none")
    check("WARN" in line.upper(), "not a warning: %s" % line)
    check_all_once(other, path, lines, expected)


def test_tls_fingerprint_pinning(scratch):
    pki = make_pki(scratch)
    standin = tls_standin(scratch, pki)
    path, lines, expected = write_logs(scratch)

    config = config_for(scratch, path, [standin.url], {
        "ssl.ca_trusted_fingerprint": fingerprint(pki["other_ca"])},
        name="wrong.yml", data="data-wrong", **SHORT_SHUTDOWN)
    output = run_until_logged(scratch, config, "SSL certificate problem",
                              name="wrong")
    line = line_with(output, "SSL certificate problem")
    check("host=" + standin.url in line, "host missing: %s" % line)
    check_eq(harness.documents(standin), [], "documents, wrong pin")

    config = config_for(scratch, path, [standin.url], {
        "ssl.ca_trusted_fingerprint": fingerprint(pki["ca"])},
        name="right.yml", data="data-right")
    harness.run_once(scratch, config)
    check_all_once(standin, path, lines, expected)


# --- authentication ----------------------------------------------------------

def b64(text):
    return base64.b64encode(text.encode()).decode()


def secured_standin(scratch):
    security = es_security.Security()
    security.add_user("logferry", "p4ss:word-1")
    security.add_user("reader", "reader-pass", may_write=False)
    security.add_api_key("VuaCfGcBCdbkQm", "ui2lp2axTNmsyakw9tvNnw")
    security.add_token("dGhpcyBpcyBhIHRlc3QgdG9rZW4")
    return scratch.standin(security=security)


# (case, output settings, Authorization header Elasticsearch expects)
AUTH_CASES = [
    ("basic", {"username": "logferry", "password": "p4ss:word-1"},
     "Basic " + b64("logferry:p4ss:word-1")),
    ("api_key_pair", {"api_key": "VuaCfGcBCdbkQm:ui2lp2axTNmsyakw9tvNnw"},
     "ApiKey " + b64("VuaCfGcBCdbkQm:ui2lp2axTNmsyakw9tvNnw")),
    ("api_key_encoded",
     {"api_key": b64("VuaCfGcBCdbkQm:ui2lp2axTNmsyakw9tvNnw")},
     "ApiKey " + b64("VuaCfGcBCdbkQm:ui2lp2axTNmsyakw9tvNnw")),
    ("bearer", {"bearer_token": "dGhpcyBpcyBhIHRlc3QgdG9rZW4"},
     "Bearer dGhpcyBpcyBhIHRlc3QgdG9rZW4"),
]


def test_auth_headers_exact(scratch):
    path, lines, expected = write_logs(scratch)
    for case, settings, header in AUTH_CASES:
        standin = secured_standin(scratch)
        config = config_for(scratch, path, [standin.url], settings,
                            name=case + ".yml", data="data-" + case)
        harness.run_once(scratch, config)
        log = standin.request_log()
        check(len(log) >= 1, "%s: no bulk request" % case)
        check_eq(sorted(set(e["authorization"] for e in log)), [header],
                 "%s: Authorization headers" % case)
        check_all_once(standin, path, lines, expected)


def test_auth_secret_from_file(scratch):
    path, lines, expected = write_logs(scratch)
    secret = scratch.write("secrets/es_password", "p4ss:word-1\n")
    standin = secured_standin(scratch)
    config = config_for(scratch, path, [standin.url], {
        "username": "logferry", "password": "${file:%s}" % secret})
    harness.run_once(scratch, config)
    check_eq(sorted(set(e["authorization"] for e in standin.request_log())),
             ["Basic " + b64("logferry:p4ss:word-1")], "Authorization")
    check_all_once(standin, path, lines, expected)


def test_auth_secret_file_missing(scratch):
    path, _, _ = write_logs(scratch)
    missing = scratch.join("secrets", "absent")
    config = config_for(scratch, path, ["http://127.0.0.1:9"], {
        "username": "logferry", "password": "${file:%s}" % missing})
    proc = harness.run_agent(["test", "config", "-c", config], 10)
    check_eq(proc.returncode, 2, "exit status")
    check("logferry.yml:" in proc.stderr, "no config line: %s"
          % proc.stderr)
    check("reading secret file '%s' failed: no such file or directory"
          % missing in proc.stderr, "message: %s" % proc.stderr)


# (kind, output settings with a wrong secret, texts that must appear
# nowhere: the secret and what would be sent for it)
SECRET_CASES = [
    ("password", {"username": "logferry", "password": "Wr0ng-pa55word"},
     ["Wr0ng-pa55word", b64("logferry:Wr0ng-pa55word")]),
    ("api_key", {"api_key": "VuaCfGcBCdbkQm:Wr0ngApiKeyValue"},
     ["Wr0ngApiKeyValue", b64("VuaCfGcBCdbkQm:Wr0ngApiKeyValue")]),
    ("bearer_token", {"bearer_token": "Wr0ngBearerTokenValue"},
     ["Wr0ngBearerTokenValue"]),
    ("password_file", {"username": "logferry",
                       "password": "${file:SECRET_FILE}"},
     ["Wr0ng-file-secret", b64("logferry:Wr0ng-file-secret")]),
    ("password_env", {"username": "logferry",
                      "password": "${LF_TEST_ES_PASSWORD}"},
     ["Wr0ng-env-secret", b64("logferry:Wr0ng-env-secret")]),
]


def test_secrets_never_in_output(scratch):
    path, _, _ = write_logs(scratch)
    secret_file = scratch.write("secrets/password", "Wr0ng-file-secret\n")
    # The agents started below inherit the test's environment.
    os.environ["LF_TEST_ES_PASSWORD"] = "Wr0ng-env-secret"
    scratch.defer(os.environ.pop, "LF_TEST_ES_PASSWORD")
    for kind, settings, secrets in SECRET_CASES:
        settings = {k: v.replace("SECRET_FILE", secret_file)
                    for k, v in settings.items()}
        standin = secured_standin(scratch)
        config = config_for(scratch, path, [standin.url], settings,
                            name=kind + ".yml", data="data-" + kind,
                            **SHORT_SHUTDOWN)
        outputs = {"agent": run_until_logged(scratch, config, "status 401",
                                             name=kind)}
        check(standin.security.failures >= 1, "%s: no 401" % kind)
        for command in ("config", "output"):
            proc = harness.run_agent(["test", command, "-c", config], 20)
            outputs["test " + command] = proc.stdout + proc.stderr
        check("status 401" in outputs["test output"],
              "%s: test output does not report the 401: %s"
              % (kind, outputs["test output"]))
        for where, text in outputs.items():
            for secret in secrets:
                check(secret not in text, "%s: %s shows the secret: %s"
                      % (kind, where, harness.tail(text)))


def test_cloud_auth_never_in_output(scratch):
    path, _, _ = write_logs(scratch)
    cloud_id = "staging:" + b64("us-east-1.aws.example.invalid$es1$kb1")
    config = config_for(scratch, path, ["http://unused"], {
        "hosts": None, "cloud.id": cloud_id,
        "cloud.auth": "elastic:Wr0ngCloudPass"})
    proc = harness.run_agent(["test", "config", "-c", config], 10)
    check_eq(proc.returncode, 0, "exit status: %s" % proc.stderr)
    check("https://es1.us-east-1.aws.example.invalid:443" in proc.stdout,
          "cloud URL missing: %s" % proc.stdout)
    check("Wr0ngCloudPass" not in proc.stdout + proc.stderr,
          "cloud.auth shown: %s" % proc.stdout)

    bad = config_for(scratch, path, ["http://unused"], {
        "hosts": None, "cloud.id": cloud_id,
        "cloud.auth": "Wr0ngCloudPass-without-colon"}, name="bad.yml")
    proc = harness.run_agent(["test", "config", "-c", bad], 10)
    check_eq(proc.returncode, 2, "exit status")
    check("cloud.auth: expected <user>:<password>" in proc.stderr,
          "message: %s" % proc.stderr)
    check("Wr0ngCloudPass" not in proc.stderr, "cloud.auth shown: %s"
          % proc.stderr)


# --- several hosts -----------------------------------------------------------

class ClosingListener:
    """A TCP listener that accepts each connection and closes it at once,
    counting them: a host that is up but never responds to HTTP."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


def test_dead_host_among_three(scratch):
    first = scratch.standin()
    second = es_standin_sharing(scratch, first)
    dead = ClosingListener()
    scratch.defer(dead.close)
    path, lines, expected = write_logs(scratch, count=400)
    config = config_for(scratch, path, [first.url, dead.url, second.url], {
        "bulk_max_size": 10, "workers": 1, "backoff.init": "300ms",
        "backoff.max": "5s"})
    proc = harness.run_once(scratch, config)
    check_all_once(first, path, lines, expected)
    live = [first.bulk_count, second.bulk_count]
    check(sum(live) >= 40, "bulk requests answered by the live hosts: %s"
          % live)
    check(dead.accepted >= 1, "the dead host was never tried")
    check(dead.accepted * 4 <= min(live), "dead host connections %d, live "
          "hosts' requests %s" % (dead.accepted, live))
    line = line_with(proc.stdout + proc.stderr, "skipping this host")
    check("host=" + dead.url in line, "skipped host: %s" % line)


def test_503_moves_to_next_host(scratch):
    first = scratch.standin()
    second = es_standin_sharing(scratch, first)
    first.set_faults({"requests": [{"on": 1, "status": 503}]})
    path, lines, expected = write_logs(scratch)
    config = config_for(scratch, path, [first.url, second.url])
    proc = harness.run_once(scratch, config)
    check_all_once(first, path, lines, expected)
    failed = first.request_log()
    resent = second.request_log()
    check_eq([e["status"] for e in failed], [503], "first host statuses")
    check_eq([e["status"] for e in resent], [200], "second host statuses")
    check_eq([i["id"] for i in resent[0]["items"]],
             [i["id"] for i in failed[0]["items"]], "ids sent again")
    output = proc.stdout + proc.stderr
    line = line_with(output, "skipping this host")
    check("status 503" in line and "host=" + first.url in line,
          "failover line: %s" % line)
    check("retrying in" not in output, "a backoff step was taken: %s"
          % harness.tail(output))


def es_standin_sharing(scratch, other):
    """Start a second stand-in that stores into `other`'s documents, as a
    second node of one cluster."""
    standin = harness.es_standin.StandIn()
    standin.store = other.store
    scratch.standins.append(standin.start())
    return standin


def test_every_host_down_then_back(scratch):
    port = harness.free_port()
    path, lines, expected = write_logs(scratch)
    config = config_for(scratch, path, ["http://127.0.0.1:%d" % port,
                                        "http://127.0.0.1:%d" % port])
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: "retrying in" in agent.output(), 20,
                       "a backoff step")
    standin = harness.es_standin.StandIn(port=port)
    scratch.standins.append(standin.start())
    harness.wait_until(lambda: len(harness.documents(standin)) == LINES, 20,
                       "every document")
    agent.stop()
    check_all_once(standin, path, lines, expected)


# --- path prefix and proxy ---------------------------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection",
              "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class ForwardingProxy:
    """A small HTTP proxy on 127.0.0.1. As a forward proxy it takes
    absolute-form targets ("POST http://127.0.0.1:PORT/x") and forwards
    them to 127.0.0.1 only. As a reverse proxy it takes only paths under
    `prefix`, strips the prefix and forwards to `upstream`. It records
    every request target it received."""

    def __init__(self, upstream_port=None, prefix=None):
        self.upstream_port = upstream_port
        self.prefix = prefix
        self.targets = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                proxy.forward(self)

            do_POST = do_PUT = do_HEAD = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def route(self, target):
        """Return (port, path) to forward to, or None."""
        if self.prefix is None:
            url = urllib.parse.urlsplit(target)
            if url.scheme != "http" or url.hostname != "127.0.0.1":
                return None
            path = url.path + ("?" + url.query if url.query else "")
            return url.port, path
        if target == self.prefix or \
                target.startswith(self.prefix + "/"):
            return self.upstream_port, target[len(self.prefix):] or "/"
        return None

    def forward(self, handler):
        self.targets.append(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        route = self.route(handler.path)
        if route is None:
            handler.send_error(404 if self.prefix else 403)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", route[0],
                                              timeout=30)
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() not in HOP_BY_HOP}
        upstream.request(handler.command, route[1], body=body,
                         headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        handler.send_response(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in HOP_BY_HOP and \
                    key.lower() != "content-length":
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
        upstream.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_path_prefix(scratch):
    standin = scratch.standin()
    proxy = ForwardingProxy(upstream_port=standin.port, prefix="/es")
    scratch.defer(proxy.close)
    path, lines, expected = write_logs(scratch)
    config = config_for(scratch, path, [proxy.url], {"path": "/es/"})
    harness.run_once(scratch, config)
    check_all_once(standin, path, lines, expected)
    log = standin.request_log()
    check_eq(len(proxy.targets), len(log), "requests through the proxy")
    for target in proxy.targets:
        check(target.startswith("/es/" + harness.INDEX + "/_bulk?"),
              "request target %s" % target)
    check_eq(sorted(set(e["path"] for e in log)),
             ["/%s/_bulk" % harness.INDEX], "paths the stand-in saw")


def test_proxy_url(scratch):
    standin = scratch.standin()
    proxy = ForwardingProxy()
    scratch.defer(proxy.close)
    path, lines, expected = write_logs(scratch)
    config = config_for(scratch, path, [standin.url],
                        {"proxy_url": proxy.url})
    harness.run_once(scratch, config, env={"no_proxy": "", "NO_PROXY": ""})
    check_all_once(standin, path, lines, expected)
    check_eq(len(proxy.targets), len(standin.request_log()),
             "requests through the proxy")
    for target in proxy.targets:
        check(target.startswith("%s/%s/_bulk?" % (standin.url,
                                                 harness.INDEX)),
              "request target %s" % target)


# --- test output -------------------------------------------------------------

def run_test_output(config):
    return harness.run_agent(["test", "output", "-c", config], 30)


def test_output_without_security(scratch):
    standin = scratch.standin()
    path, _, _ = write_logs(scratch)
    config = config_for(scratch, path, [standin.url])
    proc = run_test_output(config)
    check_eq(proc.returncode, 0, "exit status; output: %s" % proc.stdout)
    check_eq(proc.stdout.splitlines(), [
        "output.elasticsearch: index %s, 1 host" % harness.INDEX,
        standin.url,
        "  connection: OK (plain HTTP)",
        "  version: 8.15.0 (cluster standin)",
        "  write access: OK: security is disabled on this cluster, so "
        "anyone who can reach it may write",
        "Result: OK: the output can ship through 1 of 1 host",
    ], "test output lines")
    check_eq(standin.bulk_count, 0, "bulk requests")


def test_output_with_security(scratch):
    pki = make_pki(scratch)
    security = es_security.Security()
    security.add_user("logferry", "p4ss-word")
    security.add_user("reader", "reader-pass", may_write=False)
    standin = tls_standin(scratch, pki, security=security)
    path, _, _ = write_logs(scratch)
    tls = {"ssl.certificate_authorities": [pki["ca"]]}

    writer = dict(tls, username="logferry", password="p4ss-word")
    proc = run_test_output(config_for(scratch, path, [standin.url], writer,
                                      name="writer.yml"))
    check_eq(proc.returncode, 0, "writer exit status: %s" % proc.stdout)
    check_eq(proc.stdout.splitlines()[1:], [
        standin.url,
        "  connection: OK (TLS, verification full)",
        "  version: 8.15.0 (cluster standin)",
        "  write access: OK: user logferry has the create_doc privilege "
        "on %s" % harness.INDEX,
        "Result: OK: the output can ship through 1 of 1 host",
    ], "writer lines")

    reader = dict(tls, username="reader", password="reader-pass")
    proc = run_test_output(config_for(scratch, path, [standin.url], reader,
                                      name="reader.yml"))
    check_eq(proc.returncode, 1, "reader exit status")
    check_eq(proc.stdout.splitlines()[4:], [
        "  write access: FAILED: user reader lacks the create_doc "
        "privilege on %s" % harness.INDEX,
        "Result: FAILED: no host passed every check, so the output cannot "
        "ship",
    ], "reader lines")

    nobody = dict(tls)
    proc = run_test_output(config_for(scratch, path, [standin.url], nobody,
                                      name="nobody.yml"))
    check_eq(proc.returncode, 1, "no credentials exit status")
    check_eq(proc.stdout.splitlines()[3], "  version: FAILED: status 401: "
             "security_exception: missing authentication credentials for "
             "REST request [/]; no credentials are configured",
             "no credentials line")

    wrong_ca = dict(writer, **{"ssl.certificate_authorities":
                               [pki["other_ca"]]})
    proc = run_test_output(config_for(scratch, path, [standin.url],
                                      wrong_ca, name="wrong-ca.yml"))
    check_eq(proc.returncode, 1, "wrong CA exit status")
    check_eq(proc.stdout.splitlines()[2], "  connection: FAILED: tls "
             "handshake or certificate failed (SSL certificate problem: "
             "self-signed certificate in certificate chain); check "
             "ssl.certificate_authorities, ssl.ca_trusted_fingerprint, "
             "ssl.verification_mode and the client certificate",
             "wrong CA line")

    # One host down of two: the output can still ship.
    down = "https://127.0.0.1:%d" % harness.free_port()
    proc = run_test_output(config_for(scratch, path, [standin.url, down],
                                      writer, name="two.yml"))
    check_eq(proc.returncode, 0, "two hosts exit status: %s" % proc.stdout)
    check_eq(proc.stdout.splitlines()[-1], "Result: OK: the output can "
             "ship through 1 of 2 hosts", "two hosts result")
    check_eq(standin.bulk_count, 0, "bulk requests")


class HostileCluster:
    """An HTTP server on 127.0.0.1 that looks like Elasticsearch 8 and
    puts a newline, a forged line and a terminal escape in every text it
    returns: the version, the cluster name and an error reason."""

    FORGED = "Result: OK: forged"

    def __init__(self):
        forged = "x\n" + self.FORGED + "\r\x1b[2K\x7f"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def reply(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("X-elastic-product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self.reply(200, {"cluster_name": forged,
                                 "version": {"number": "8.15.0" + forged}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.reply(403, {"error": {"type": "security_exception",
                                           "reason": forged}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_output_prints_server_text_safely(scratch):
    cluster = HostileCluster()
    scratch.defer(cluster.close)
    path, _, _ = write_logs(scratch)
    proc = run_test_output(config_for(scratch, path, [cluster.url]))
    check_eq(proc.returncode, 1, "exit status: %s" % proc.stdout)
    lines = proc.stdout.splitlines()
    # Each control character is printed as one space.
    shown = "x " + HostileCluster.FORGED + "  [2K "
    check_eq(lines[3], "  version: 8.15.0%s (cluster %s)" % (shown, shown),
             "version line")
    check_eq(lines[4], "  write access: FAILED: status 403: "
             "security_exception: " + shown, "write line")
    check_eq(lines[5], "Result: FAILED: no host passed every check, so the "
             "output cannot ship", "result line")
    check_eq(len(lines), 6, "lines: %r" % proc.stdout)
    check("\x1b" not in proc.stdout and "\r" not in proc.stdout,
          "control characters in %r" % proc.stdout)


# --- the stand-in's security -------------------------------------------------

def raw_request(url, method="GET", body=None, headers=None):
    """Return (status, list of header pairs, body bytes)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                      timeout=10)
    conn.request(method, parts.path or "/", body=body, headers=headers or {})
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, reply.getheaders(), data


def test_standin_security_responses(scratch):
    standin = secured_standin(scratch)
    status, headers, data = raw_request(standin.url + "/")
    check_eq(status, 401, "status without credentials")
    check_eq([v for k, v in headers if k == "WWW-Authenticate"],
             es_security.WWW_AUTHENTICATE, "WWW-Authenticate headers")
    body = json.loads(data)
    check_eq(body["status"], 401, "body status")
    check_eq(body["error"]["type"], "security_exception", "error type")
    check_eq(body["error"]["reason"], "missing authentication credentials "
             "for REST request [/]", "reason")
    check_eq(body["error"]["header"],
             {"WWW-Authenticate": es_security.WWW_AUTHENTICATE},
             "header field of the error")

    status, _, data = raw_request(standin.url + "/", headers={
        "Authorization": "Basic " + b64("logferry:wrong")})
    check_eq(status, 401, "status with a wrong password")
    check_eq(json.loads(data)["error"]["reason"],
             "unable to authenticate user [logferry] for REST request [/]",
             "wrong password reason")

    reader = {"Authorization": "Basic " + b64("reader:reader-pass"),
              "Content-Type": "application/x-ndjson"}
    status, _, data = raw_request(
        standin.url + "/logs-x-default/_bulk", "POST",
        b'{"create":{}}\n{"a":1}\n', reader)
    check_eq(status, 403, "bulk status of a reader")
    check(json.loads(data)["error"]["reason"].startswith(
        "action [indices:data/write/bulk] is unauthorized for user "
        "[reader]"), "403 reason: %s" % data)

    request = json.dumps({"index": [{
        "names": ["logs-x-default"], "privileges": ["create_doc", "read"]}]})
    status, _, data = raw_request(
        standin.url + "/_security/user/_has_privileges", "POST", request,
        dict(reader, **{"Content-Type": "application/json"}))
    check_eq(status, 200, "has_privileges status")
    check_eq(json.loads(data), {
        "username": "reader", "has_all_requested": False, "cluster": {},
        "index": {"logs-x-default": {"create_doc": False, "read": True}},
        "application": {}}, "has_privileges reply")

    plain = scratch.standin()
    status, _, data = raw_request(
        plain.url + "/_security/user/_has_privileges", "POST", request,
        {"Content-Type": "application/json"})
    check_eq(status, 400, "has_privileges status without security")
    check_eq(json.loads(data)["error"], "no handler found for uri "
             "[/_security/user/_has_privileges] and method [POST]",
             "has_privileges error without security")


TESTS = [
    test_tls_client_certificate_required,
    test_tls_missing_client_certificate,
    test_tls_wrong_ca_rejected_then_fixed,
    test_tls_verification_modes,
    test_tls_fingerprint_pinning,
    test_auth_headers_exact,
    test_auth_secret_from_file,
    test_auth_secret_file_missing,
    test_secrets_never_in_output,
    test_cloud_auth_never_in_output,
    test_dead_host_among_three,
    test_503_moves_to_next_host,
    test_every_host_down_then_back,
    test_path_prefix,
    test_proxy_url,
    test_output_without_security,
    test_output_with_security,
    test_output_prints_server_text_safely,
    test_standin_security_responses,
]


if __name__ == "__main__":
    harness.main(TESTS)
