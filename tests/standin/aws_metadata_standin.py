#!/usr/bin/env python3
"""AWS metadata stand-in for logferry's tests.

It serves, on 127.0.0.1, the two local metadata services that the
add_cloud_metadata and add_ecs_task_metadata processors read:

- EC2 instance metadata with IMDSv2 sessions: PUT /latest/api/token, then
  GET /latest/... with the token header, including the instance profile
  credentials under /latest/meta-data/iam/security-credentials/;
- ECS task metadata endpoint version 4: GET ${ECS_CONTAINER_METADATA_URI_V4}
  and GET ${ECS_CONTAINER_METADATA_URI_V4}/task.

It is strict where the real services are: a token request without a valid
X-aws-ec2-metadata-token-ttl-seconds header is 400, a token request with
X-Forwarded-For is 403, a GET without a valid token is 401. README.md
beside this file lists the endpoints and options.

Run it as a program:
    python3 aws_metadata_standin.py --port 0 --port-file PORTFILE \\
        --identity FILE --task FILE --container FILE [--request-log FILE]
or import it and use AwsMetadataStandIn(...).start() / .stop().
"""

import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
IDENTITY_PATH = "/latest/dynamic/instance-identity/document"
ROLE_PATH = "/latest/meta-data/iam/security-credentials/"

# IMDSv2 accepts token lifetimes from 1 second to 6 hours.
MIN_TTL_S = 1
MAX_TTL_S = 21600

DEFAULT_ECS_PATH = "/v4/4f8b0ac7-9a50-4f1c-bb13-6a3f5c1e7e8a"


class AwsMetadataStandIn:
    """The server, its documents, its faults and its request log."""

    def __init__(self, identity=None, task=None, container=None,
                 ecs_path=DEFAULT_ECS_PATH, host="127.0.0.1", port=0,
                 request_log=None, role=None, role_credentials=None):
        self.identity = identity
        self.task = task
        self.container = container
        self.ecs_path = ecs_path.rstrip("/")
        # Instance profile: the role name and the credentials document
        # (AccessKeyId, SecretAccessKey, Token, Expiration) served for it.
        self.role = role
        self.role_credentials = role_credentials
        self.request_log_path = request_log
        self.statuses = {}   # path -> HTTP status that replaces the response
        self.delays = {}     # path -> seconds to wait before responding
        self.tokens = {}     # token -> expiry, time.monotonic() seconds
        self.requests = []   # one dict per request, in arrival order
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        self.server.standin = self
        self.port = self.server.server_address[1]
        self.url = "http://%s:%d" % (host, self.port)
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.request_log_path:
                with open(self.request_log_path, "a",
                          encoding="utf-8") as fp:
                    fp.write(json.dumps(entry, sort_keys=True) + "\n")

    def issue_token(self, ttl_s):
        token = secrets.token_urlsafe(42)
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl_s
        return token

    def token_state(self, token):
        """Return "missing", "invalid", "expired" or "valid"."""
        if token is None:
            return "missing"
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None:
            return "invalid"
        return "valid" if time.monotonic() < expiry else "expired"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-metadata-standin"

    def log_message(self, fmt, *args):
        pass

    @property
    def standin(self):
        return self.server.standin

    def do_PUT(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        delay = self.standin.delays.get(path)
        if delay and self.standin.stopping.wait(delay):
            self.close_connection = True
            return
        status, headers, body, token = self.route(path)
        override = self.standin.statuses.get(path)
        if override is not None:
            status, headers, body = override, {}, b"fault\n"
        self.standin.record({
            "method": self.command,
            "path": path,
            "status": status,
            "token": token,
            "ttl": self.headers.get(TTL_HEADER),
        })
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first, as a client that timed out does.
            self.close_connection = True

    def route(self, path):
        """Return (status, headers, body, token state) for the request."""
        if path == TOKEN_PATH:
            return self.route_token()
        if path.startswith("/latest/"):
            return self.route_imds(path)
        if path == self.standin.ecs_path or \
                path == self.standin.ecs_path + "/task":
            return self.route_ecs(path)
        return 404, {"Content-Type": "text/plain"}, b"Not Found\n", None

    def route_token(self):
        if self.command != "PUT":
            return 405, {"Allow": "PUT"}, b"Method Not Allowed\n", None
        # IMDS rejects token requests that went through a proxy.
        if self.headers.get("X-Forwarded-For") is not None:
            return 403, {}, b"Forbidden\n", None
        ttl = self.headers.get(TTL_HEADER)
        try:
            ttl_s = int(ttl)
        except (TypeError, ValueError):
            ttl_s = 0
        if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
            return 400, {}, b"Bad Request\n", None
        token = self.standin.issue_token(ttl_s)
        headers = {"Content-Type": "text/plain", TTL_HEADER: str(ttl_s)}
        return 200, headers, token.encode("ascii"), None

    def route_imds(self, path):
        if self.command != "GET":
            return 405, {"Allow": "GET"}, b"Method Not Allowed\n", None
        state = self.standin.token_state(self.headers.get(TOKEN_HEADER))
        if state != "valid":
            return 401, {}, b"Unauthorized\n", state
        if path == IDENTITY_PATH and self.standin.identity is not None:
            return 200, {"Content-Type": "text/plain"}, \
                self.standin.identity, state
        if path.startswith(ROLE_PATH) and self.standin.role is not None:
            return self.route_role(path[len(ROLE_PATH):], state)
        return 404, {"Content-Type": "text/plain"}, b"Not Found\n", state

    def route_role(self, name, state):
        """The role list, or the role's credentials as IMDS serves them."""
        text = {"Content-Type": "text/plain"}
        if name == "":
            return 200, text, self.standin.role.encode(), state
        if name != self.standin.role:
            return 404, text, b"Not Found\n", state
        doc = {"Code": "Success", "Type": "AWS-HMAC",
               "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                            time.gmtime())}
        doc.update(self.standin.role_credentials)
        return 200, text, json.dumps(doc).encode(), state

    def route_ecs(self, path):
        if self.command != "GET":
            return 405, {"Allow": "GET"}, b"Method Not Allowed\n", None
        doc = self.standin.task if path.endswith("/task") \
            else self.standin.container
        if doc is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found\n", None
        return 200, {"Content-Type": "application/json"}, doc, None


def read_file(path):
    if path is None:
        return None
    with open(path, "rb") as fp:
        return fp.read()


def parse_path_values(items, convert, option):
    result = {}
    for item in items or []:
        path, sep, value = item.rpartition("=")
        if not sep or not path.startswith("/"):
            raise SystemExit("invalid %s %r: expected PATH=VALUE"
                             % (option, item))
        result[path] = convert(value)
    return result


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="EC2 IMDSv2 and ECS task metadata v4 stand-in.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port; 0 picks a free one (default 0)")
    parser.add_argument("--port-file",
                        help="write the port to this file once listening")
    parser.add_argument("--identity",
                        help="file served as the instance identity document")
    parser.add_argument("--task", help="file served as the ECS task document")
    parser.add_argument("--container",
                        help="file served as the ECS container document")
    parser.add_argument("--ecs-path", default=DEFAULT_ECS_PATH,
                        help="path of ECS_CONTAINER_METADATA_URI_V4 "
                             "(default %s)" % DEFAULT_ECS_PATH)
    parser.add_argument("--status", action="append", metavar="PATH=CODE",
                        help="respond to every request for PATH with CODE")
    parser.add_argument("--delay", action="append", metavar="PATH=SECONDS",
                        help="wait SECONDS before responding to PATH")
    parser.add_argument("--request-log",
                        help="append one JSON line per request to this file")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    standin = AwsMetadataStandIn(read_file(args.identity),
                                 read_file(args.task),
                                 read_file(args.container), args.ecs_path,
                                 args.host, args.port, args.request_log)
    standin.statuses = parse_path_values(args.status, int, "--status")
    standin.delays = parse_path_values(args.delay, float, "--delay")
    standin.start()
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
