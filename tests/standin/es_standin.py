#!/usr/bin/env python3
"""Elasticsearch 8 stand-in for logferry's integration tests.

It serves the parts of the Elasticsearch 8 REST API that a log shipper
uses (cluster info, _bulk, _search, _count, _doc) on 127.0.0.1, with the
same validation and error shapes. A control API under /_standin/ scripts
faults and returns every bulk request received. README.md beside this
file lists where the stand-in differs from Elasticsearch.

Run it as a program:
    python3 es_standin.py --port 0 --port-file PORTFILE [--data-dir DIR]
or import it and use StandIn(...).start() / .stop().
"""

import argparse
import gzip
import json
import os
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from es_bulk import BulkExecutor, Faults, parse_bulk_body
from es_model import (EsError, JsonError, SimpleError, Store, field_values,
                      parse_byte_size, strict_loads, token_name,
                      validate_index_name)
from es_query import (apply_filter_path, compile_query, sort_hits,
                      sort_key_fn)

ES_VERSION = "8.15.0"

LUCENE_VERSION = "9.11.1"

# http.max_content_length default in Elasticsearch 8 (100mb).
DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024

# index.max_result_window default: from + size may not exceed it.
MAX_RESULT_WINDOW = 10000

# Hits counted exactly when track_total_hits is not set.
DEFAULT_TRACK_TOTAL_HITS = 10000

# URL parameters of the _bulk API (rest-api-spec bulk.json) and the ones
# every REST endpoint accepts.
BULK_URL_PARAMS = frozenset((
    "wait_for_active_shards", "refresh", "routing", "timeout", "_source",
    "_source_excludes", "_source_includes", "pipeline", "require_alias",
    "require_data_stream", "list_executed_pipelines",
    "include_source_on_error",
))

COMMON_URL_PARAMS = frozenset((
    "pretty", "human", "error_trace", "filter_path", "source",
    "source_content_type",
))

SEARCH_URL_PARAMS = frozenset((
    "size", "from", "track_total_hits", "allow_no_indices",
    "ignore_unavailable", "expand_wildcards", "rest_total_hits_as_int",
))

WHOLE_REQUEST_ERRORS = {
    401: ("security_exception",
          "missing authentication credentials for REST request [{path}]"),
    403: ("security_exception",
          "action [indices:data/write/bulk] is unauthorized for user "
          "[logferry] with effective roles [viewer]"),
    429: ("es_rejected_execution_exception",
          "rejected execution of coordinating operation "
          "[coordinating_and_primary_bytes=0, replica_bytes=0, "
          "all_bytes=0, coordinating_operation_bytes=1024, "
          "max_coordinating_and_primary_bytes=107374182]"),
    500: ("exception", "internal failure while executing the request"),
    503: ("cluster_block_exception",
          "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / "
          "initialized];"),
}

HTTP_REASONS = {
    200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 409: "Conflict", 413: "Request Entity Too Large",
    429: "Too Many Requests", 500: "Internal Server Error",
    503: "Service Unavailable",
}


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, standin):
        self.standin = standin
        super().__init__(address, Handler)

    def process_request(self, request, client_address):
        self.standin.track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.standin.track(request, False)
        super().shutdown_request(request)

    def get_request(self):
        """Accept a connection, counting failed TLS handshakes."""
        try:
            return super().get_request()
        except ssl.SSLError:
            self.standin.count("tls_failures")
            raise


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "es-standin"
    sys_version = ""
    query = {}
    filter_path = None
    cut_reply_bytes = None  # send only this many bytes of a 2xx body
    bulk_active = False  # a bulk request of this handler is in progress

    def log_message(self, fmt, *args):
        if self.server.standin.verbose:
            sys.stderr.write("es-standin: %s\n" % (fmt % args))

    def handle_expect_100(self):
        """Reject an oversized body before the client sends it."""
        length = self.headers.get("Content-Length")
        limit = self.server.standin.max_content_length
        if length is not None and length.isdigit() and int(length) > limit:
            self.send_reply(413, None)
            self.close_connection = True
            return False
        return super().handle_expect_100()

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def dispatch(self, method):
        standin = self.server.standin
        url = urllib.parse.urlsplit(self.path)
        self.query = dict(urllib.parse.parse_qsl(url.query,
                                                 keep_blank_values=True))
        self.filter_path = self.query.get("filter_path")
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        standin.count("requests")
        headers = None
        try:
            body = self.read_body()
            if body is None:
                return
            status, reply = standin.route(self, method, parts, body)
        except EsError as err:
            status, reply = err.status, err.body()
            headers = getattr(err, "reply_headers", None)
            self.filter_path = None
        except SimpleError as err:
            status, reply = err.status, {"error": err.text,
                                         "status": err.status}
            self.filter_path = None
        except Exception as exc:  # a stand-in bug: show it, reply 500
            traceback.print_exc()
            status = 500
            reply = EsError(500, "exception", "stand-in failure: %r"
                            % (exc,)).body()
            self.filter_path = None
        if status is not None:
            self.send_reply(status, reply, head=(method == "HEAD"),
                            headers=headers)
        if self.bulk_active:
            # After the reply, so that a request sent once it arrived is
            # never counted as concurrent with this one.
            self.bulk_active = False
            standin.bulk_finished()

    def read_body(self):
        """Read the request body, chunked or not; None after a 413."""
        limit = self.server.standin.max_content_length
        self.wire_bytes = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self.read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                self.drain(length)
                self.send_reply(413, None)
                return None
            body = self.rfile.read(length)
        self.wire_bytes = len(body)
        if len(body) > limit:
            self.send_reply(413, None)
            return None
        return body

    def read_chunked(self):
        chunks = []
        while True:
            size_line = self.rfile.readline(65537)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                         b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)

    def drain(self, length):
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def send_reply(self, status, body, head=False, headers=None):
        """Send a reply; `headers` is a dict or a list of (name, value)
        pairs, which may repeat a name."""
        extra = list(headers.items() if isinstance(headers, dict)
                     else headers or [])
        if body is None:
            data = b""
        else:
            if self.filter_path and 200 <= status < 300:
                body = apply_filter_path(body, self.filter_path)
            indent = 2 if "pretty" in self.query else None
            data = json.dumps(body, indent=indent,
                              separators=None if indent else (",", ":"))
            data = data.encode("utf-8") + (b"\n" if indent else b"")
            if self.cut_reply_bytes is not None and 200 <= status < 300:
                data = data[:self.cut_reply_bytes]
                self.cut_reply_bytes = None
        if data and "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data, compresslevel=1)
            extra.append(("Content-Encoding", "gzip"))
        self.send_response(status, HTTP_REASONS.get(status))
        self.send_header("X-elastic-product", "Elasticsearch")
        if body is not None:
            self.send_header("content-type", self.reply_content_type())
        for key, value in extra:
            self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        try:
            self.end_headers()
            if not head and data:
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (or a refuse fault reset the socket).
            self.close_connection = True
            return
        self.server.standin.record_status(status)

    def reply_content_type(self):
        accept = self.headers.get("Accept", "")
        match = re.search(r"compatible-with=(\d+)", accept)
        if "vnd.elasticsearch" in accept and match:
            return ("application/vnd.elasticsearch+json;compatible-with=%s"
                    % match.group(1))
        return "application/json"

    def drop_connection(self):
        """Close the connection without sending a reply."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self, release):
        """Keep the request unanswered until the client gives up, the
        stand-in stops or the hang is released."""
        self.close_connection = True
        while not release.is_set():
            try:
                ready, _, _ = select.select([self.connection], [], [], 0.1)
                if ready and not self.connection.recv(1, socket.MSG_PEEK):
                    return
            except OSError:
                return
        self.drop_connection()


class StandIn:
    """The stand-in server: start() it, point the agent at .url, stop()."""

    def __init__(self, host="127.0.0.1", port=0, data_dir=None,
                 max_content_length=DEFAULT_MAX_CONTENT_LENGTH,
                 verbose=False, security=None, tls=None):
        """`security` is an es_security.Security (None: security off);
        `tls` a dict with the PEM files "cert", "key" and optionally
        "client_ca", which makes a client certificate signed by it
        required (None: plain HTTP)."""
        self.host = host
        self.security = security
        self.tls_context = make_tls_context(tls) if tls else None
        self.port = port
        self.max_content_length = max_content_length
        self.verbose = verbose
        self.store = Store(data_dir)
        self.faults = Faults()
        self.stats_lock = threading.Lock()
        self.counters = {}
        self.requests = []
        self.bulk_count = 0
        self.bulk_in_progress = 0
        self.max_concurrent = 0
        self.started = time.monotonic()
        self.connections = set()
        self.release = threading.Event()
        self.server = None
        self.thread = None
        self.listen_lock = threading.Lock()
        self.listening = False
        self.reopen_timer = None

    # lifecycle ------------------------------------------------------------

    @property
    def url(self):
        scheme = "https" if self.tls_context else "http"
        return "%s://%s:%d" % (scheme, self.host, self.port)

    def start(self):
        self.open_listener()
        return self

    def open_listener(self):
        with self.listen_lock:
            if self.listening:
                return
            self.server = StandInServer((self.host, self.port), self)
            self.port = self.server.server_address[1]
            if self.tls_context is not None:
                # The handshake runs in accept(), on the server thread.
                self.server.socket = self.tls_context.wrap_socket(
                    self.server.socket, server_side=True)
            self.thread = threading.Thread(target=self.server.serve_forever,
                                           kwargs={"poll_interval": 0.05},
                                           daemon=True)
            self.thread.start()
            self.listening = True

    def close_listener(self):
        """Stop accepting and reset every open connection."""
        with self.listen_lock:
            if not self.listening:
                return
            self.listening = False
            server = self.server
            server.shutdown()
            server.server_close()
            with self.stats_lock:
                open_now = list(self.connections)
            for conn in open_now:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def refuse(self, seconds):
        """Stop listening for `seconds`, then listen on the same port."""
        self.count("refusals")
        self.close_listener()
        if self.reopen_timer is not None:
            self.reopen_timer.cancel()
        self.reopen_timer = threading.Timer(seconds, self.open_listener)
        self.reopen_timer.daemon = True
        self.reopen_timer.start()

    def stop(self):
        if self.reopen_timer is not None:
            self.reopen_timer.cancel()
        self.release.set()
        self.close_listener()
        self.store.close()

    def track(self, conn, is_open):
        with self.stats_lock:
            if is_open:
                self.connections.add(conn)
                self.counters["connections"] = \
                    self.counters.get("connections", 0) + 1
            else:
                self.connections.discard(conn)

    # bookkeeping ----------------------------------------------------------

    def count(self, name, amount=1):
        with self.stats_lock:
            self.counters[name] = self.counters.get(name, 0) + amount

    def bulk_finished(self):
        with self.stats_lock:
            self.bulk_in_progress -= 1

    def record_status(self, status):
        self.count("status_%d" % status)

    def stats(self):
        with self.stats_lock:
            out = dict(self.counters)
        with self.store.lock:
            out["docs"] = {name: len(index.docs)
                           for name, index in self.store.indices.items()}
        out["bulk_requests"] = self.bulk_count
        out["max_concurrent"] = self.max_concurrent
        out["faults_fired"] = self.faults.fired
        return out

    def request_log(self, since=0):
        with self.stats_lock:
            return [dict(r) for r in self.requests if r["n"] > since]

    def set_faults(self, spec):
        with self.stats_lock:
            base = self.bulk_count
        self.faults.set(spec, base)
        if spec.get("refuse_seconds"):
            self.refuse(float(spec["refuse_seconds"]))

    def documents(self, index_expr):
        with self.store.lock:
            try:
                indices = self.store.resolve(index_expr)
            except EsError:
                return []
            return [{"_index": index.write_index, "_id": doc_id,
                     "_source": entry[0]}
                    for index in indices
                    for doc_id, entry in index.docs.items()]

    # routing --------------------------------------------------------------

    def route(self, handler, method, parts, body):
        if parts and parts[0] == "_standin":
            return self.route_control(handler, method, parts[1:], body)
        principal = None
        if self.security is not None:
            path = handler.path.split("?")[0]
            principal = self.security.authenticate(handler.headers, path)
            if parts == ["_security", "user", "_has_privileges"]:
                self.allow(method, ("GET", "POST"), handler.path)
                return 200, self.security.has_privileges(
                    principal, self.search_body(handler, body))
            if parts and parts[-1] == "_bulk":
                self.security.check_bulk(principal)
        if not parts:
            self.allow(method, ("GET", "HEAD"), "/")
            return 200, self.cluster_info()
        if parts[-1] == "_bulk" and len(parts) <= 2:
            self.allow(method, ("POST", "PUT"), handler.path)
            return self.bulk(handler, parts[0] if len(parts) == 2 else None,
                             body)
        if parts[-1] in ("_search", "_count") and len(parts) <= 2:
            self.allow(method, ("GET", "POST"), handler.path)
            expr = parts[0] if len(parts) == 2 else "_all"
            return self.search(handler, expr, body, parts[-1] == "_count")
        if parts[-1] == "_refresh" and len(parts) <= 2:
            self.allow(method, ("GET", "POST"), handler.path)
            return 200, {"_shards": {"total": 2, "successful": 1,
                                     "failed": 0}}
        if len(parts) == 3 and parts[1] == "_doc":
            self.allow(method, ("GET", "HEAD"), handler.path)
            return self.get_doc(parts[0], parts[2])
        if len(parts) == 1 and not parts[0].startswith("_"):
            self.allow(method, ("DELETE",), handler.path)
            return self.delete_index(parts[0])
        raise SimpleError(400, "no handler found for uri [%s] and method "
                          "[%s]" % (handler.path, method))

    def allow(self, method, allowed, path):
        if method not in allowed:
            raise SimpleError(405, "Incorrect HTTP method for uri [%s] and "
                              "method [%s], allowed: [%s]"
                              % (path, method, ", ".join(allowed)))

    def cluster_info(self):
        return {
            "name": "standin-node-1",
            "cluster_name": "standin",
            "cluster_uuid": "c3RhbmRpbi1jbHVzdGVy",
            "version": {
                "number": ES_VERSION,
                "build_flavor": "default",
                "build_type": "tar",
                "build_hash": "0" * 40,
                "build_date": "2024-08-05T10:05:34.233336849Z",
                "build_snapshot": False,
                "lucene_version": LUCENE_VERSION,
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }

    def check_params(self, handler, allowed):
        for key in handler.query:
            if key not in allowed and key not in COMMON_URL_PARAMS:
                raise EsError(400, "illegal_argument_exception",
                              "request [%s] contains unrecognized parameter:"
                              " [%s]" % (handler.path.split("?")[0], key))

    def check_content_type(self, handler, body):
        header = handler.headers.get("Content-Type")
        if header is None:
            if body:
                # NOTE: the status matches Elasticsearch 8; the wording
                # of this message was not compared with a live cluster.
                raise SimpleError(406, "Content-Type header is missing")
            return
        media = header.split(";")[0].strip().lower()
        params = header.lower()
        ndjson_types = ("application/x-ndjson", "application/json",
                        "application/vnd.elasticsearch+x-ndjson",
                        "application/vnd.elasticsearch+json")
        if media in ("application/yaml", "application/cbor",
                     "application/vnd.elasticsearch+yaml",
                     "application/vnd.elasticsearch+cbor"):
            raise SimpleError(406, "Content-Type [%s] does not support "
                              "stream parsing. Use JSON or SMILE instead"
                              % media.rsplit("/", 1)[-1].split("+")[-1])
        if media not in ndjson_types and media != "application/smile":
            raise SimpleError(406, "Content-Type header [%s] is not "
                              "supported" % header)
        if media == "application/smile":
            raise EsError(400, "illegal_argument_exception",
                          "SMILE bodies are not supported by this stand-in")
        if media.startswith("application/vnd.elasticsearch"):
            match = re.search(r"compatible-with=(\d+)", params)
            if not match or match.group(1) not in ("7", "8"):
                raise EsError(400, "media_type_header_exception",
                              "Invalid media-type value on headers "
                              "[Content-Type]")

    def decode_body(self, handler, body):
        encoding = handler.headers.get("Content-Encoding", "").lower()
        if encoding in ("", "identity"):
            return body, False
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise EsError(400, "illegal_argument_exception",
                          "unsupported Content-Encoding [%s]" % encoding)
        wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
        decomp = zlib.decompressobj(wbits)
        try:
            out = decomp.decompress(body, self.max_content_length + 1)
            if len(out) > self.max_content_length:
                raise SimpleError(413, None)
            if not decomp.eof or decomp.unused_data:
                raise zlib.error("truncated or trailing data in gzip stream")
        except zlib.error as exc:
            # NOTE: the 400 is what a client sees from Elasticsearch; the
            # error type and reason here are this stand-in's own.
            raise EsError(400, "illegal_argument_exception",
                          "failed to decompress request body: %s" % exc)
        return out, True

    # bulk -----------------------------------------------------------------

    def bulk(self, handler, url_index, wire_body):
        started = time.monotonic()
        with self.stats_lock:
            self.bulk_count += 1
            number = self.bulk_count
            self.bulk_in_progress += 1
            self.max_concurrent = max(self.max_concurrent,
                                      self.bulk_in_progress)
            handler.bulk_active = True
            entry = {"n": number, "method": handler.command,
                     "received": round(started - self.started, 6),
                     "concurrent": self.bulk_in_progress,
                     "path": handler.path.split("?")[0],
                     "query": dict(handler.query),
                     "content_type": handler.headers.get("Content-Type"),
                     "content_encoding":
                         handler.headers.get("Content-Encoding"),
                     "authorization": handler.headers.get("Authorization"),
                     "gzip": False, "wire_bytes": len(wire_body),
                     "body_bytes": None, "status": None,
                     "outcome": "answered", "fault": None, "items": []}
            self.requests.append(entry)
        try:
            status, reply = self.bulk_answer(handler, url_index, wire_body,
                                             number, entry)
        except SimpleError as err:
            if err.text is None:
                handler.send_reply(err.status, None)
                entry["status"] = err.status
                return None, None
            entry["status"] = err.status
            raise
        except EsError as err:
            entry["status"] = err.status
            raise
        if status is not None:
            reply_took = int((time.monotonic() - started) * 1000)
            if isinstance(reply, dict) and "took" in reply:
                reply["took"] = reply_took
            entry["status"] = status
        return status, reply

    def bulk_answer(self, handler, url_index, wire_body, number, entry):
        """Validate and run one bulk request. Returns (status, reply), or
        (None, None) when a fault already replied or dropped it."""
        self.check_params(handler, BULK_URL_PARAMS)
        self.check_content_type(handler, wire_body)
        body, gzipped = self.decode_body(handler, wire_body)
        entry["gzip"] = gzipped
        entry["body_bytes"] = len(body)
        if url_index is not None:
            validate_index_name(url_index)

        items = parse_bulk_body(body, url_index)
        entry["items"] = [{"action": it.action, "index": it.index_name,
                           "id": it.doc_id, "routing": it.meta.get("routing"),
                           "status": None, "error_type": None}
                          for it in items]

        rule = self.faults.for_request(number) or {}
        if rule:
            entry["fault"] = {k: v for k, v in rule.items()
                              if k not in ("first", "last", "until")}
            if self.request_fault(handler, rule, entry):
                return None, None

        executor = BulkExecutor(self.store, self.faults, rule.get("items"),
                                handler.query.get("pipeline"))
        results = executor.run(items)
        self.log_items(entry, results)
        if rule.get("delay"):
            time.sleep(float(rule["delay"]))
        if rule.get("action") == "cut_reply":
            entry["outcome"] = "cut"
            handler.cut_reply_bytes = rule["bytes"]
        if rule.get("action") == "close_after_index":
            entry["outcome"] = "closed"
            handler.drop_connection()
            return None, None

        errors = any("error" in next(iter(r.values())) for r in results)
        return 200, {"errors": errors, "took": 0, "items": results}

    def request_fault(self, handler, rule, entry):
        """Apply a whole-request fault. Returns True when it replied to the
        request or dropped it, False to let the items run."""
        action = rule.get("action")
        if action == "hang":
            entry["outcome"] = "hang"
            handler.hang(self.release)
            return True
        if action == "close":
            entry["outcome"] = "closed"
            handler.drop_connection()
            return True
        if action == "refuse":
            entry["outcome"] = "refused"
            self.refuse(float(rule.get("seconds", 1)))
            handler.drop_connection()
            return True

        status = rule.get("status")
        if status is None:
            return False
        status = int(status)
        entry["status"] = status
        if rule.get("delay"):
            time.sleep(float(rule["delay"]))
        if status == 413:
            handler.send_reply(413, None)
            return True

        etype, reason = WHOLE_REQUEST_ERRORS.get(
            status, ("exception", "request failed"))
        etype = rule.get("type", etype)
        reason = rule.get("reason", reason).format(path=entry["path"])
        headers = None
        if status == 401:
            headers = {"WWW-Authenticate":
                       'Basic realm="security" charset="UTF-8"'}
        handler.send_reply(status, EsError(status, etype, reason).body(),
                           headers=headers)
        return True

    def log_items(self, entry, results):
        by_status = {}
        for logged, result in zip(entry["items"], results):
            body = next(iter(result.values()))
            logged["status"] = body["status"]
            logged["id"] = body.get("_id")
            if "error" in body:
                logged["error_type"] = body["error"]["type"]
            key = str(body["status"])
            by_status[key] = by_status.get(key, 0) + 1
        for key, amount in by_status.items():
            self.count("items_%s" % key, amount)
        self.count("bulk_items", len(results))
        if entry["gzip"]:
            self.count("gzip_requests")

    # reads ----------------------------------------------------------------

    def search_body(self, handler, body):
        if not body:
            return {}
        try:
            request = strict_loads(body)
        except JsonError as exc:
            raise EsError(400, "x_content_parse_exception",
                          "[%d:%d] %s" % (exc.line, exc.col, exc.msg))
        if not isinstance(request, dict):
            raise EsError(400, "parsing_exception",
                          "Expected [START_OBJECT] but found [%s]"
                          % token_name(request))
        return request

    def search(self, handler, expr, body, count_only):
        self.check_params(handler, SEARCH_URL_PARAMS)
        if body:
            self.check_content_type(handler, body)
        request = self.search_body(handler, body)
        pred = compile_query(request.get("query", {"match_all": {}}))

        with self.store.lock:
            indices = self.store.resolve(expr)
            hits = [(index, doc_id, entry[0])
                    for index in indices
                    for doc_id, entry in index.docs.items()
                    if pred(entry[0])]
        shards = {"total": len(indices), "successful": len(indices),
                  "skipped": 0, "failed": 0}
        if count_only:
            return 200, {"count": len(hits), "_shards": shards}

        size = int(handler.query.get("size", request.get("size", 10)))
        start = int(handler.query.get("from", request.get("from", 0)))
        if start + size > MAX_RESULT_WINDOW:
            raise EsError(400, "illegal_argument_exception",
                          "Result window is too large, from + size must be "
                          "less than or equal to: [%d] but was [%d]. See the "
                          "scroll api for a more efficient way to request "
                          "large data sets. This limit can be set by "
                          "changing the [index.max_result_window] index "
                          "level setting." % (MAX_RESULT_WINDOW,
                                              start + size))

        keys = sort_key_fn(request.get("sort"))
        if keys:
            hits = sort_hits(hits, keys)
        return 200, {"took": 1, "timed_out": False, "_shards": shards,
                     "hits": {"total": self.total_hits(request, len(hits)),
                              "max_score": None if keys else
                              (1.0 if hits else None),
                              "hits": [self.hit(h, keys)
                                       for h in hits[start:start + size]]}}

    def total_hits(self, request, total):
        track = request.get("track_total_hits", DEFAULT_TRACK_TOTAL_HITS)
        if track is True:
            return {"value": total, "relation": "eq"}
        if track is False:
            return None
        if total > int(track):
            return {"value": int(track), "relation": "gte"}
        return {"value": total, "relation": "eq"}

    def hit(self, hit, keys):
        index, doc_id, source = hit
        out = {"_index": index.write_index, "_id": doc_id,
               "_score": None if keys else 1.0, "_source": source}
        if keys:
            out["sort"] = [(field_values(source, f) or [None])[0]
                           for f, _ in keys]
        return out

    def get_doc(self, name, doc_id):
        with self.store.lock:
            index = self.store.resolve(name)[0]
            entry = index.docs.get(doc_id)
            if entry is None:
                return 404, {"_index": index.write_index, "_id": doc_id,
                             "found": False}
            return 200, {"_index": index.write_index, "_id": doc_id,
                         "_version": entry[1], "_seq_no": entry[2],
                         "_primary_term": 1, "found": True,
                         "_source": entry[0]}

    def delete_index(self, name):
        with self.store.lock:
            self.store.resolve(name)
            self.store.drop(name)
            self.store.sync()
        return 200, {"acknowledged": True}

    # control API ----------------------------------------------------------

    def route_control(self, handler, method, parts, body):
        name = parts[0] if parts else ""
        handler.filter_path = None
        if name == "faults":
            if method == "GET":
                return 200, self.faults.describe()
            if method == "DELETE":
                self.faults.clear()
                self.release.set()
                self.release = threading.Event()
                return 200, {"acknowledged": True}
            if method in ("POST", "PUT"):
                try:
                    self.set_faults(json.loads(body or b"{}"))
                except (ValueError, TypeError, AttributeError) as exc:
                    raise EsError(400, "illegal_argument_exception",
                                  "invalid fault script: %s" % exc)
                return 200, {"acknowledged": True,
                             "bulk_requests": self.bulk_count}
        if name == "requests":
            if method == "DELETE":
                with self.stats_lock:
                    self.requests = []
                return 200, {"acknowledged": True}
            since = int(handler.query.get("since", 0))
            return 200, {"requests": self.request_log(since)}
        if name == "stats" and method == "GET":
            return 200, self.stats()
        if name == "docs" and method == "GET":
            docs = self.documents(handler.query.get("index", "_all"))
            fields = handler.query.get("fields")
            if fields:
                wanted = fields.split(",")
                docs = [{"_index": d["_index"], "_id": d["_id"],
                         "fields": {f: field_values(d["_source"], f)
                                    for f in wanted}} for d in docs]
            return 200, {"docs": docs}
        if name == "release" and method == "POST":
            self.release.set()
            self.release = threading.Event()
            return 200, {"acknowledged": True}
        raise SimpleError(400, "no handler found for uri [%s] and method "
                          "[%s]" % (handler.path, method))


def make_tls_context(tls):
    """Build the server-side TLS context of the stand-in."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls["cert"], tls["key"])
    if tls.get("client_ca"):
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(tls["client_ca"])
    return context


def load_faults_arg(text):
    if text.startswith("@"):
        with open(text[1:], "r", encoding="utf-8") as fp:
            text = fp.read()
    return json.loads(text)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Elasticsearch 8 stand-in for integration tests.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9200,
                        help="TCP port; 0 picks a free one (default 9200)")
    parser.add_argument("--port-file",
                        help="write the port to this file once listening")
    parser.add_argument("--data-dir",
                        help="keep documents in this directory so that a "
                             "restarted stand-in finds them")
    parser.add_argument("--max-content-length", default="100mb",
                        help="http.max_content_length, e.g. 100mb or 65536")
    parser.add_argument("--faults",
                        help="fault script as JSON, or @FILE (same schema "
                             "as POST /_standin/faults)")
    parser.add_argument("--refuse-seconds", type=float, default=0,
                        help="pick the port, then refuse connections for "
                             "this many seconds before listening")
    parser.add_argument("--verbose", action="store_true",
                        help="log every HTTP request to stderr")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    standin = StandIn(args.host, args.port, args.data_dir,
                      parse_byte_size(args.max_content_length),
                      args.verbose)
    if args.faults:
        standin.set_faults(load_faults_arg(args.faults))
    standin.start()
    if args.refuse_seconds > 0:
        standin.refuse(args.refuse_seconds)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as fp:
            fp.write("%d\n" % standin.port)
        os.replace(tmp, args.port_file)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
