#!/usr/bin/env python3
"""A bulk receiver for the benchmark that only counts.

It replies to POST /_bulk and /<index>/_bulk like Elasticsearch with
filter_path applied (every item 201), gunzips the body, and counts
documents and distinct _id values, so the benchmark can check that every
line arrived exactly once. It keeps no documents. GET /_bench/stats
returns the counts.
"""

import argparse
import gzip
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEM = b'{"create":{"status":201}}'

# The action lines logferry writes, read without a JSON parser so that the
# receiver keeps up with the agent; anything else goes to json.loads().
ACTION = re.compile(
    rb'\{"(?:create|index)":\{(?:"_index":"[^"\\]*",)?"_id":"([^"\\]*)"\}\}')


def action_id(line):
    match = ACTION.fullmatch(line)
    if match:
        return match.group(1).decode()
    meta = json.loads(line)
    return next(iter(meta.values())).get("_id")


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.ids = set()
        self.documents = 0
        self.requests = 0
        self.body_bytes = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes. With Nagle's algorithm the
    # body can wait for the client's delayed ACK of the headers. That held
    # the benchmark to about one request per 27 ms on its 2-core machine.
    disable_nagle_algorithm = True
    counts = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        c = self.counts
        with c.lock:
            stats = {"documents": c.documents, "distinct_ids": len(c.ids),
                     "requests": c.requests, "body_bytes": c.body_bytes}
        self.reply(200, json.dumps(stats).encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        ids = []
        for action in lines[0::2]:
            if action:
                ids.append(action_id(action))
        c = self.counts
        with c.lock:
            c.requests += 1
            c.documents += len(ids)
            c.body_bytes += length
            c.ids.update(ids)
        reply = b'{"errors":false,"items":[' + b",".join(
            [ITEM] * len(ids)) + b"]}"
        self.reply(200, reply)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    Handler.counts = Counts()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
