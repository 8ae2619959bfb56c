"""Bulk replies in shapes that a broken proxy or gateway may return.
A front server on 127.0.0.1 replies to some bulk requests itself,
without passing them on, with items whose status is missing or invalid: none of
them may count as delivered. Another front removes the filter_path query
parameter, so the agent reads the full replies of Elasticsearch."""

import gzip
import http.client
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import check, check_eq

LINES = 30

# Fast retries: each bad reply is followed by a resend after 100 ms or so.
FAST = {"backoff.init": "100ms", "backoff.max": "1s", "bulk_max_size": 10}

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te",
              "trailer", "upgrade", "proxy-connection", "content-length"}


class Front:
    """A reverse proxy in front of the stand-in. Each bulk request, while
    `canned` has item shapes left, gets a reply with the next shape for
    every item and is not passed on. Later requests are passed on. With `drop_filter`,
    the filter_path query parameter is removed before passing a request
    on."""

    def __init__(self, upstream_port, canned=(), drop_filter=False):
        self.upstream_port = upstream_port
        self.canned = list(canned)
        self.drop_filter = drop_filter
        self.answered = []  # item counts of the requests replied to here
        self.forwarded = []  # request targets passed on
        self.lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                front.handle(self)

            do_GET = do_PUT = do_HEAD = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        target = urllib.parse.urlsplit(handler.path)
        shape = None
        with self.lock:
            if target.path.endswith("/_bulk") and self.canned:
                shape = self.canned.pop(0)
        if shape is not None:
            self.answer(handler, body, shape)
            return
        self.forward(handler, body, target)

    def answer(self, handler, body, shape):
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = [l for l in body.split(b"\n") if l]
        # Every action of the output is followed by its document.
        items = len(lines) // 2
        with self.lock:
            self.answered.append(items)
        reply = ('{"took":1,"errors":false,"items":[%s]}'
                 % ",".join([shape] * items)).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("X-elastic-product", "Elasticsearch")
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)

    def forward(self, handler, body, target):
        query = urllib.parse.parse_qsl(target.query, keep_blank_values=True)
        if self.drop_filter:
            query = [(k, v) for k, v in query if k != "filter_path"]
        path = target.path
        if query:
            path += "?" + urllib.parse.urlencode(query)
        with self.lock:
            self.forwarded.append(path)
        upstream = http.client.HTTPConnection("127.0.0.1",
                                              self.upstream_port, timeout=30)
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() not in HOP_BY_HOP}
        upstream.request(handler.command, path, body=body, headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        handler.send_response(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in HOP_BY_HOP:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        upstream.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run_through_front(scratch, front_args):
    standin = scratch.standin()
    port = urllib.parse.urlsplit(standin.url).port
    front = Front(port, **front_args)
    scratch.defer(front.close)
    lines, expected = harness.app_lines(LINES, seed=LINES)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  front.url, output=dict(FAST))
    proc = harness.run_once(scratch, config)
    harness.check_app_file(harness.documents(standin), path, lines, expected,
                           harness.agent_version())
    return standin, front, proc


def test_items_without_valid_status_resent(scratch):
    shapes = ['{"create":{}}',
              '{"create":{"status":"201"}}',
              '{"create":{"status":-201}}',
              '{"create":{"status":2010}}',
              '{"create":{"_id":"x","result":"created"}}']
    standin, front, _ = run_through_front(scratch, {"canned": shapes})
    check_eq(len(front.answered), len(shapes), "requests replied to by the "
             "front")
    check_eq(front.answered, [10] * len(shapes), "items of each request "
             "replied to by the front")
    # Every line went on to the stand-in once, after the five bad replies.
    stats = standin.stats()
    check_eq(stats["bulk_items"], LINES, "items the stand-in received")
    check_eq(stats.get("items_201", 0), LINES, "items the stand-in indexed")


def test_filter_path_removed_by_proxy(scratch):
    standin, front, _ = run_through_front(scratch, {"drop_filter": True})
    bulk = [t for t in front.forwarded if "/_bulk" in t]
    check_eq(len(bulk), LINES // FAST["bulk_max_size"], "bulk requests")
    for target in bulk:
        check("filter_path" not in target, "filter_path passed on: %s"
              % target)
    for entry in standin.request_log():
        check(entry["query"] is None or "filter_path" not in
              json.dumps(entry["query"]), "stand-in saw filter_path: %s"
              % entry["query"])
    check_eq(standin.stats()["bulk_items"], LINES, "items received")


def test_reason_cannot_forge_log_lines(scratch):
    # Elasticsearch quotes field values in its reasons, so a document can
    # put a newline and a whole forged log line into one.
    forged = "2026-01-01T00:00:00.000Z error es: FORGED"
    standin = scratch.standin()
    standin.set_faults({"requests": [{"on": 1, "items": {"0": {
        "status": 400, "type": "mapper_parsing_exception",
        "reason": "bad value\n" + forged + "\r\x1b[2Kend"}}}]})
    lines, _ = harness.app_lines(3, seed=3)
    path = scratch.write("logs/app.log", "".join(l + "\n" for l in lines))
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url, output=dict(FAST))
    proc = harness.run_once(scratch, config, expect_rc=1)
    output = proc.stdout + proc.stderr
    rejected = [l for l in output.splitlines() if "document rejected" in l]
    check_eq(len(rejected), 1, "lines about the rejected document")
    check("bad value " + forged + "  [2Kend" in rejected[0],
          "reason not on one line: %r" % rejected[0])
    for line in output.splitlines():
        check(not line.startswith(forged), "forged line: %r" % line)
        check("\x1b" not in line and "\r" not in line,
              "control character in %r" % line)


if __name__ == "__main__":
    harness.main([test_items_without_valid_status_resent,
                  test_filter_path_removed_by_proxy,
                  test_reason_cannot_forge_log_lines])
