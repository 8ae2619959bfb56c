#!/usr/bin/env python3
"""A bulk receiver that checks exactly-once delivery without keeping ids.

It replies to POST /_bulk and /<index>/_bulk like Elasticsearch with
filter_path applied, for `create` actions only. It keeps no documents.
Every line that bench/outage.py writes carries its stream, its file
generation and its byte offset in that file, and all lines have the same
length. So for each file the receiver stores only the offset of the
next line expected and the offsets stored ahead of it, which are few
because they come only from requests in flight at the same time. A line
already stored is answered 409 (version_conflict_engine_exception), as
Elasticsearch answers a `create` of an existing `_id`.

The receiver also checks that the document id is `<file id>-<offset>`
with the line's offset in lowercase hexadecimal, and that the file id
stays the same for every line of one file. GET /_outage/stats returns
the counts.
"""

import argparse
import gzip
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREATED = b'{"create":{"status":201}}'
CONFLICT = (b'{"create":{"status":409,"error":{"type":'
            b'"version_conflict_engine_exception","reason":'
            b'"version conflict, document already exists"}}}')

# One action line and the document after it. The message of every line
# written by outage.py contains "stream=S gen=G seq=N off=O".
ITEM = re.compile(
    rb'\{"create":\{"_id":"([^"\\]*)"\}\}\n'
    rb'[^\n]*?stream=(\d+) gen=(\d+) seq=\d+ off=(\d+)[^\n]*(?:\n|$)')

# Kept in the stats so that a failing run shows what went wrong.
MAX_ERRORS = 20


class File:
    """Delivery state of one file: lines before `next_offset` and those at
    the offsets in `ahead` are stored."""

    def __init__(self, file_id):
        self.file_id = file_id
        self.next_offset = 0
        self.ahead = set()
        self.max_ahead = 0
        self.stored = 0


class State:
    def __init__(self, line_bytes):
        self.line_bytes = line_bytes
        self.lock = threading.Lock()
        self.files = {}
        self.stored = 0
        self.conflicts = 0
        self.out_of_order = 0
        self.requests = 0
        self.body_bytes = 0
        self.errors = []
        self.error_count = 0

    def error(self, text):
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def file_of(self, doc_id, stream, gen, offset):
        """Return the state of the line's file, after checking its id."""
        file_id, sep, id_offset = doc_id.rpartition(b"-")
        where = "stream %d gen %d offset %d" % (stream, gen, offset)
        if not sep or id_offset != b"%x" % offset:
            self.error("%s: document id %r does not end with the offset"
                       % (where, doc_id))
        if offset % self.line_bytes != 0:
            self.error("%s: not a multiple of the line length" % where)
        state = self.files.get((stream, gen))
        if state is None:
            state = self.files[(stream, gen)] = File(file_id)
        elif state.file_id != file_id:
            self.error("%s: file id %r, expected %r"
                       % (where, file_id, state.file_id))
        return state

    def settle(self, state, offset):
        """Return True when the line is new, and record it as stored."""
        if offset < state.next_offset or offset in state.ahead:
            self.conflicts += 1
            return False
        self.stored += 1
        state.stored += 1
        if offset != state.next_offset:
            self.out_of_order += 1
            state.ahead.add(offset)
            state.max_ahead = max(state.max_ahead, len(state.ahead))
            return True
        state.next_offset += self.line_bytes
        while state.next_offset in state.ahead:
            state.ahead.remove(state.next_offset)
            state.next_offset += self.line_bytes
        return True

    def stats(self):
        return {
            "stored": self.stored,
            "conflicts": self.conflicts,
            "out_of_order": self.out_of_order,
            "requests": self.requests,
            "body_bytes": self.body_bytes,
            "error_count": self.error_count,
            "errors": self.errors,
            "files": {"%d-%d" % key: {"next_offset": f.next_offset,
                                      "ahead": len(f.ahead),
                                      "max_ahead": f.max_ahead,
                                      "stored": f.stored}
                      for key, f in self.files.items()},
        }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes. Without TCP_NODELAY the body
    # waits for the client's delayed ACK.
    disable_nagle_algorithm = True
    state = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/_outage/stats":
            self.reply(404, b'{"error":"not found","status":404}')
            return
        with self.state.lock:
            body = json.dumps(self.state.stats()).encode()
        self.reply(200, body)

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if not path.endswith("/_bulk"):
            self.reply(404, b'{"error":"not found","status":404}')
            return
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        items = []
        conflict = False
        state = self.state
        matches = list(ITEM.finditer(body))
        lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
        with state.lock:
            state.requests += 1
            state.body_bytes += length
            if len(matches) * 2 != lines:
                state.error("request %d: %d lines, %d items recognised"
                            % (state.requests, lines, len(matches)))
                self.reply(400, b'{"error":{"type":"parse_exception"},'
                                b'"status":400}')
                return
            for match in matches:
                doc_id, stream, gen, offset = match.groups()
                offset = int(offset)
                file_state = state.file_of(doc_id, int(stream), int(gen),
                                           offset)
                if state.settle(file_state, offset):
                    items.append(CREATED)
                else:
                    items.append(CONFLICT)
                    conflict = True
        reply = (b'{"errors":' + (b"true" if conflict else b"false") +
                 b',"items":[' + b",".join(items) + b"]}")
        self.reply(200, reply)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--line-bytes", type=int, required=True,
                        help="length of every line with its newline")
    args = parser.parse_args()
    Handler.state = State(args.line_bytes)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
