#!/usr/bin/python3
"""CloudWatch Logs stand-in for logferry's tests, on 127.0.0.1.

It serves the JSON 1.1 API (POST / with X-Amz-Target) for PutLogEvents,
CreateLogGroup, CreateLogStream, PutRetentionPolicy and DescribeLogGroups,
and is strict where the service is:

- botocore (Debian's python3-botocore) computes every request's SigV4
  signature again from the signed headers and the body, and it must
  match. The key must be known, unexpired and unrevoked, and its session
  token must be sent.
- Every request body is validated against the operation's input shape
  in the API model (tests/fixtures/cloudwatch-logs-api/model/service-2.json):
  required members, types, string and list limits, name patterns.
- PutLogEvents batches must be in chronological order, span at most 24
  hours, and contain at most 10,000 events and 1,048,576 bytes counted as
  UTF-8 message bytes plus 26 per event. Events too old or too new are
  rejected one by one in rejectedLogEventsInfo, as the service does.

It also serves ECS container credentials (GET /ecs/credentials) that
rotate every `rotate_s` seconds and expire `ttl_s` seconds after issue,
and STS AssumeRoleWithWebIdentity (POST /sts/, form-encoded, answered in
XML as STS does). It keeps every group, stream, event and request for
the tests to read.

Control API (JSON bodies), on the same port:
    GET  /_standin/state        groups, streams, events, requests
    POST /_standin/config       {"sequence_tokens": bool, "keys": [...],
                                 "ecs": {...}, "sts": {...},
                                 "max_event_bytes": N,
                                 "count_only": bool}
    POST /_standin/faults       {"faults": [rule, ...]}, see apply_fault()
    POST /_standin/revoke       revokes the current ECS key now
    POST /_standin/reset        forgets events and requests

Run: /usr/bin/python3 cwl_standin.py --port 0 --port-file FILE
"""

import argparse
import calendar
import hashlib
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - reported at start
    SigV4Auth = None

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_PATH = os.path.join(HERE, "..", "fixtures", "cloudwatch-logs-api",
                          "model", "service-2.json")

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Logs_20140328."
SIGNING_NAME = "logs"
ALGORITHM = "AWS4-HMAC-SHA256"

# PutLogEvents limits (model documentation of PutLogEvents).
MAX_BATCH_BYTES = 1048576
EVENT_OVERHEAD = 26
MAX_BATCH_EVENTS = 10000
MAX_SPAN_MS = 24 * 3600 * 1000
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000
# Requests signed more than 5 minutes away from the server's clock are
# rejected (SigV4 documentation).
MAX_CLOCK_SKEW_S = 300

RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
                  731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]


class ApiError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def invalid(message):
    return ApiError(400, "InvalidParameterException", message)


# --- the API model -------------------------------------------------------

class Model:
    """Input shapes of the operations, read from the botocore model."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.shapes = data["shapes"]
        self.operations = data["operations"]
        self.target_prefix = data["metadata"]["targetPrefix"] + "."

    def validate(self, operation, body):
        shape = self.operations[operation]["input"]["shape"]
        errors = []
        self._check(shape, body, "", errors)
        if errors:
            raise ApiError(400, "InvalidParameterException",
                           "%d validation error%s detected: %s"
                           % (len(errors), "" if len(errors) == 1 else "s",
                              "; ".join(errors)))

    def _check(self, name, value, where, errors):
        shape = self.shapes[name]
        kind = shape["type"]
        label = where or "request"
        if kind == "structure":
            if not isinstance(value, dict):
                errors.append("Value at '%s' must be an object" % label)
                return
            for member in shape.get("required", []):
                if member not in value:
                    errors.append("Value null at '%s' failed to satisfy "
                                  "constraint: Member must not be null"
                                  % (where + "." + member if where
                                     else member))
            for key, item in value.items():
                member = shape["members"].get(key)
                path = where + "." + key if where else key
                if member is None:
                    errors.append("Unknown member '%s'" % path)
                    continue
                self._check(member["shape"], item, path, errors)
        elif kind == "list":
            if not isinstance(value, list):
                errors.append("Value at '%s' must be a list" % label)
                return
            self._limits(shape, len(value), value, label, errors,
                         "length")
            for i, item in enumerate(value):
                self._check(shape["member"]["shape"], item,
                            "%s.%d.member" % (label, i + 1), errors)
        elif kind == "string":
            if not isinstance(value, str):
                errors.append("Value at '%s' must be a string" % label)
                return
            self._limits(shape, len(value), value, label, errors, "length")
            pattern = shape.get("pattern")
            if pattern and not re.fullmatch(pattern, value):
                errors.append("Value '%s' at '%s' failed to satisfy "
                              "constraint: Member must satisfy regular "
                              "expression pattern: %s"
                              % (value[:64], label, pattern))
            if "enum" in shape and value not in shape["enum"]:
                errors.append("Value '%s' at '%s' is not one of %s"
                              % (value, label, shape["enum"]))
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append("Value at '%s' must be an integer" % label)
                return
            self._limits(shape, value, value, label, errors, "value")
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append("Value at '%s' must be a boolean" % label)
        elif kind == "map":
            if not isinstance(value, dict):
                errors.append("Value at '%s' must be an object" % label)
                return
            self._limits(shape, len(value), value, label, errors, "length")
            for key, item in value.items():
                self._check(shape["key"]["shape"], key, label, errors)
                self._check(shape["value"]["shape"], item,
                            "%s.%s" % (label, key), errors)

    @staticmethod
    def _limits(shape, measure, value, label, errors, what):
        quoted = value if what == "value" else "..."
        if "min" in shape and measure < shape["min"]:
            errors.append("Value '%s' at '%s' failed to satisfy constraint: "
                          "Member must have %s greater than or equal to %d"
                          % (quoted, label, what, shape["min"]))
        if "max" in shape and measure > shape["max"]:
            errors.append("Value '%s' at '%s' failed to satisfy constraint: "
                          "Member must have %s less than or equal to %d"
                          % (quoted, label, what, shape["max"]))


# --- the service ---------------------------------------------------------

class Key:
    def __init__(self, access_key_id, secret, token=None, expires_at=None):
        self.access_key_id = access_key_id
        self.secret = secret
        self.token = token
        self.expires_at = expires_at  # Unix time, None: never
        self.revoked = False


class Stream:
    def __init__(self):
        self.events = []         # stored events, in accepted order
        self.token_counter = 0   # legacy sequence tokens
        self.last_batch = None   # (token used, body digest) of the last put

    def expected_token(self):
        return None if self.token_counter == 0 else \
            "%056d" % self.token_counter


class CloudWatchLogsStandIn:
    """State, faults and the request handlers."""

    def __init__(self, model_path=MODEL_PATH):
        self.model = Model(model_path)
        self.lock = threading.Lock()
        self.keys = {}
        self.groups = {}       # name -> {"retention": int|None,
                               #          "streams": {name: Stream}}
        self.requests = []     # one dict per API request
        self.faults = []
        self.random = random.Random(1)
        self.sequence_tokens = False
        self.max_event_bytes = None   # None: 1 MB, the service's limit
        self.count_only = False
        self.events_counted = 0
        self.ecs = None        # ECS credentials settings, or None
        self.sts = None        # web identity settings, or None
        self.ecs_issued = []   # (issued_at, Key)

    # ---- configuration ----

    def configure(self, cfg):
        with self.lock:
            for k in cfg.get("keys", []):
                key = Key(k["access_key_id"], k["secret_access_key"],
                          k.get("session_token"), k.get("expires_at"))
                self.keys[key.access_key_id] = key
            if "sequence_tokens" in cfg:
                self.sequence_tokens = bool(cfg["sequence_tokens"])
            if "max_event_bytes" in cfg:
                self.max_event_bytes = cfg["max_event_bytes"]
            if "count_only" in cfg:
                self.count_only = bool(cfg["count_only"])
            if "ecs" in cfg:
                self.ecs = dict(cfg["ecs"])
            if "sts" in cfg:
                self.sts = dict(cfg["sts"])
            for name, group in cfg.get("groups", {}).items():
                entry = self.groups.setdefault(
                    name, {"retention": None, "streams": {}})
                for stream in group.get("streams", []):
                    entry["streams"].setdefault(stream, Stream())

    def set_faults(self, faults):
        with self.lock:
            self.faults = [dict(f) for f in faults]

    def revoke_ecs_key(self):
        with self.lock:
            if self.ecs_issued:
                self.ecs_issued[-1][1].revoked = True
                self.ecs_issued[-1] = (0, self.ecs_issued[-1][1])

    # ---- ECS credentials endpoint ----

    def ecs_credentials(self, authorization):
        with self.lock:
            if self.ecs is None:
                return 404, {"message": "no ECS credentials configured"}
            if authorization != self.ecs.get("token"):
                return 401, {"code": "AccessDenied",
                             "message": "invalid authorization token"}
            now = time.time()
            rotate_s = self.ecs.get("rotate_s", 300)
            ttl_s = self.ecs.get("ttl_s", 360)
            if not self.ecs_issued or \
                    now - self.ecs_issued[-1][0] >= rotate_s:
                n = len(self.ecs_issued) + 1
                key = Key("ASIAKEY%013d" % n, "secret-%d-%s" % (
                    n, os.urandom(8).hex()), "token-%d-%s" % (
                    n, os.urandom(8).hex()), int(now + ttl_s))
                self.keys[key.access_key_id] = key
                self.ecs_issued.append((now, key))
            key = self.ecs_issued[-1][1]
            self.requests.append({"operation": "EcsCredentials",
                                  "time": now,
                                  "access_key_id": key.access_key_id})
            return 200, {
                "AccessKeyId": key.access_key_id,
                "SecretAccessKey": key.secret,
                "Token": key.token,
                "Expiration": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.expires_at)),
                "RoleArn": "arn:aws:iam::123456789012:role/logferry-task",
            }

    # ---- STS web identity ----

    def sts_call(self, method, path, headers, body):
        """Return (status, XML) for an STS call: AssumeRoleWithWebIdentity
        (unsigned, the token authenticates it) or AssumeRole (signed with
        SigV4 for service sts, checked with botocore)."""
        form = {k: v[0] for k, v in parse_qs(
            body.decode("utf-8", "replace"),
            keep_blank_values=True).items()}
        if form.get("Action") != "AssumeRole":
            return self.assume_role_with_web_identity(
                headers.get("Content-Type"), body)
        with self.lock:
            try:
                key_id = self.check_signature(
                    method, path, headers, body, service="sts",
                    required=("host", "x-amz-date"))
            except ApiError as err:
                self.requests.append({"operation": "AssumeRole",
                                      "time": time.time(),
                                      "status": err.status,
                                      "code": err.code})
                return sts_error(err.status, "Sender",
                                 err.code.replace("Exception", ""),
                                 err.message)
            self.requests.append({"operation": "AssumeRole",
                                  "time": time.time(), "status": 200,
                                  "access_key_id": key_id,
                                  "role_arn": form.get("RoleArn"),
                                  "session": form.get("RoleSessionName"),
                                  "external_id": form.get("ExternalId")})
            allowed = self.sts.get("assume_role_arn") if self.sts else None
            if isinstance(allowed, str):
                allowed = [allowed]
            if form.get("RoleArn") not in (allowed or []):
                return sts_error(403, "Sender", "AccessDenied",
                                 "User is not authorized to perform "
                                 "sts:AssumeRole")
            key = self._issue_sts_key()
        return 200, sts_credentials_xml("AssumeRole", key,
                                        form.get("RoleArn"),
                                        form.get("RoleSessionName"))

    def _issue_sts_key(self):
        n = len(self.keys) + 1
        key = Key("ASIASTS%013d" % n, "stssecret-%d-%s" % (
            n, os.urandom(8).hex()), "ststoken-%d-%s" % (
            n, os.urandom(8).hex()),
            int(time.time() + self.sts.get("ttl_s", 3600)))
        self.keys[key.access_key_id] = key
        self.sts.setdefault("issued", []).append(key.access_key_id)
        return key

    def assume_role_with_web_identity(self, content_type, body):
        """Return (status, XML) for an AssumeRoleWithWebIdentity call."""
        if not (content_type or "").startswith(
                "application/x-www-form-urlencoded"):
            return sts_error(400, "Sender", "InvalidAction",
                             "Content-Type must be "
                             "application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(
            body.decode("utf-8"), keep_blank_values=True).items()}
        with self.lock:
            self.requests.append({"operation": "AssumeRoleWithWebIdentity",
                                  "time": time.time(),
                                  "role_arn": form.get("RoleArn"),
                                  "session": form.get("RoleSessionName")})
            if self.sts is None:
                return sts_error(400, "Sender", "InvalidAction",
                                 "STS is not configured")
            if form.get("Action") != "AssumeRoleWithWebIdentity" or \
                    form.get("Version") != "2011-06-15":
                return sts_error(400, "Sender", "InvalidAction",
                                 "Could not find operation %s for version "
                                 "%s" % (form.get("Action"),
                                         form.get("Version")))
            session = form.get("RoleSessionName", "")
            if not re.fullmatch(r"[\w+=,.@-]{2,64}", session):
                return sts_error(400, "Sender", "ValidationError",
                                 "1 validation error detected: Value '%s' "
                                 "at 'roleSessionName' failed to satisfy "
                                 "constraint" % session)
            if form.get("WebIdentityToken") != self.sts["token"]:
                return sts_error(400, "Sender", "InvalidIdentityToken",
                                 "Incorrect token audience")
            if form.get("RoleArn") != self.sts.get("role_arn"):
                return sts_error(403, "Sender", "AccessDenied",
                                 "Not authorized to perform "
                                 "sts:AssumeRoleWithWebIdentity")
            key = self._issue_sts_key()
        return 200, sts_credentials_xml("AssumeRoleWithWebIdentity", key,
                                        self.sts["role_arn"], session)

    # ---- signature ----

    def check_signature(self, method, path, headers, body,
                        service=SIGNING_NAME,
                        required=("host", "x-amz-date", "content-type",
                                  "x-amz-target")):
        auth = headers.get("Authorization")
        if auth is None:
            raise ApiError(400, "MissingAuthenticationTokenException",
                           "Missing Authentication Token")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/"
                         r"([a-z0-9-]+)/([a-z0-9]+)/aws4_request, "
                         r"SignedHeaders=([a-z0-9;-]+), "
                         r"Signature=([0-9a-f]{64})", auth)
        if m is None:
            raise ApiError(400, "IncompleteSignatureException",
                           "Authorization header requires 'Credential', "
                           "'SignedHeaders' and 'Signature'")
        key_id, day, region, scope_service, signed, signature = m.groups()

        if scope_service != service:
            raise ApiError(403, "InvalidSignatureException",
                           "Credential should be scoped to correct service: "
                           "'%s'." % service)
        amz_date = headers.get("X-Amz-Date", "")
        if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date) or \
                amz_date[:8] != day:
            raise ApiError(403, "InvalidSignatureException",
                           "Date in Credential scope does not match "
                           "YYYYMMDD from ISO-8601 version of date from "
                           "HTTP")
        signed_at = calendar.timegm(time.strptime(amz_date,
                                                  "%Y%m%dT%H%M%SZ"))
        if abs(signed_at - time.time()) > MAX_CLOCK_SKEW_S:
            raise ApiError(403, "InvalidSignatureException",
                           "Signature expired: %s is now earlier than the "
                           "allowed skew" % amz_date)

        names = signed.split(";")
        for header in required:
            if header not in names:
                raise ApiError(403, "InvalidSignatureException",
                               "'%s' must be a signed header" % header)

        key = self.keys.get(key_id)
        if key is None or key.revoked:
            raise ApiError(400, "UnrecognizedClientException",
                           "The security token included in the request is "
                           "invalid.")
        sent_token = headers.get("X-Amz-Security-Token")
        if key.token is not None:
            if sent_token != key.token:
                raise ApiError(400, "UnrecognizedClientException",
                               "The security token included in the request "
                               "is invalid.")
            if "x-amz-security-token" not in names:
                raise ApiError(403, "InvalidSignatureException",
                               "'x-amz-security-token' must be a signed "
                               "header")
        if key.expires_at is not None and time.time() >= key.expires_at:
            raise ApiError(400, "ExpiredTokenException",
                           "The security token included in the request is "
                           "expired")

        expected = botocore_signature(method, path, headers, names, body,
                                      key, region, amz_date, service)
        if expected != signature:
            raise ApiError(403, "InvalidSignatureException",
                           "The request signature we calculated does not "
                           "match the signature you provided. Check your "
                           "AWS Secret Access Key and signing method.")
        return key_id

    # ---- faults ----

    def apply_fault(self, operation, body):
        """Consumes the first rule for `operation`. A rule is
        {"operation": NAME or "*", "count": N, "stream": NAME (optional:
        only requests for that log stream), "probability": P (optional:
        applies to that share of the matching requests, for any count
        when "count" is left out), then either "status" and
        "code" (and "message") for an error reply, with "after_accept":
        true to store the request's effect first, or "reject": {"too_old":
        N, "too_new": N, "expired": N} to mark events rejected}."""
        for rule in self.faults:
            if rule.get("operation", "*") not in ("*", operation):
                continue
            if "stream" in rule and \
                    rule["stream"] != body.get("logStreamName"):
                continue
            if "probability" in rule:
                if self.random.random() >= rule["probability"]:
                    continue
                if "count" not in rule:
                    return rule
            if rule.get("count", 1) <= 0:
                continue
            rule["count"] = rule.get("count", 1) - 1
            return rule
        return None

    # ---- operations ----

    def handle(self, operation, body, key_id):
        entry = {"operation": operation, "time": time.time(),
                 "access_key_id": key_id}
        fault = self.apply_fault(operation, body)
        if fault is not None and "status" in fault and \
                not fault.get("after_accept"):
            entry["status"] = fault["status"]
            entry["code"] = fault.get("code")
            self._log(entry, body)
            raise ApiError(fault["status"], fault.get("code", ""),
                           fault.get("message", "injected fault"))
        handler = {
            "PutLogEvents": self.put_log_events,
            "CreateLogGroup": self.create_log_group,
            "CreateLogStream": self.create_log_stream,
            "PutRetentionPolicy": self.put_retention_policy,
            "DescribeLogGroups": self.describe_log_groups,
        }[operation]
        try:
            reply = handler(body, fault)
        except ApiError as err:
            entry["status"] = err.status
            entry["code"] = err.code
            entry["expected_token"] = err.extra.get("expectedSequenceToken")
            self._log(entry, body)
            raise
        if fault is not None and fault.get("after_accept"):
            # The request took effect but its reply is lost or failed.
            entry["status"] = fault["status"]
            entry["code"] = fault.get("code")
            entry["accepted"] = True
            self._log(entry, body)
            raise ApiError(fault["status"], fault.get("code", ""),
                           fault.get("message", "injected fault"))
        entry["status"] = 200
        self._log(entry, body)
        return reply

    def _log(self, entry, body):
        if entry["operation"] == "PutLogEvents" and isinstance(body, dict):
            events = body.get("logEvents") or []
            entry["group"] = body.get("logGroupName")
            entry["stream"] = body.get("logStreamName")
            entry["sequence_token"] = body.get("sequenceToken")
            entry["event_count"] = len(events)
            entry["bytes"] = sum(len(e.get("message", "").encode())
                                 + EVENT_OVERHEAD for e in events)
            if not self.count_only:
                entry["timestamps"] = [e.get("timestamp") for e in events]
                entry["messages"] = [e.get("message") for e in events]
        elif isinstance(body, dict):
            entry["group"] = body.get("logGroupName")
            entry["stream"] = body.get("logStreamName")
            if "retentionInDays" in body:
                entry["retention"] = body["retentionInDays"]
        self.requests.append(entry)

    def _group(self, name):
        group = self.groups.get(name)
        if group is None:
            raise ApiError(400, "ResourceNotFoundException",
                           "The specified log group does not exist.")
        return group

    def create_log_group(self, body, fault):
        if body["logGroupName"] in self.groups:
            raise ApiError(400, "ResourceAlreadyExistsException",
                           "The specified log group already exists")
        self.groups[body["logGroupName"]] = {"retention": None,
                                             "streams": {}}
        return {}

    def create_log_stream(self, body, fault):
        group = self._group(body["logGroupName"])
        if body["logStreamName"] in group["streams"]:
            raise ApiError(400, "ResourceAlreadyExistsException",
                           "The specified log stream already exists")
        group["streams"][body["logStreamName"]] = Stream()
        return {}

    def put_retention_policy(self, body, fault):
        days = body["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise invalid("1 validation error detected: Value '%d' at "
                          "'retentionInDays' failed to satisfy constraint: "
                          "Member must satisfy enum value set: [%s]"
                          % (days, ", ".join(map(str, RETENTION_DAYS))))
        self._group(body["logGroupName"])["retention"] = days
        return {}

    def describe_log_groups(self, body, fault):
        prefix = body.get("logGroupNamePrefix", "")
        names = sorted(n for n in self.groups if n.startswith(prefix))
        groups = []
        for name in names[:body.get("limit", 50)]:
            group = {"logGroupName": name,
                     "arn": "arn:aws:logs:us-east-1:123456789012:"
                            "log-group:%s:*" % name,
                     "storedBytes": 0}
            if self.groups[name]["retention"] is not None:
                group["retentionInDays"] = self.groups[name]["retention"]
            groups.append(group)
        return {"logGroups": groups}

    def put_log_events(self, body, fault):
        group = self._group(body["logGroupName"])
        stream = group["streams"].get(body["logStreamName"])
        if stream is None:
            raise ApiError(400, "ResourceNotFoundException",
                           "The specified log stream does not exist.")
        events = body["logEvents"]
        self.check_batch(events)
        digest = hashlib.sha256(json.dumps(
            events, sort_keys=True).encode()).hexdigest()
        if self.sequence_tokens:
            self.check_token(stream, body.get("sequenceToken"), digest)

        now_ms = int(time.time() * 1000)
        too_new = too_old = expired = None
        for i, e in enumerate(events):
            if e["timestamp"] > now_ms + MAX_AHEAD_MS and too_new is None:
                too_new = i
            if e["timestamp"] < now_ms - MAX_AGE_MS:
                too_old = i + 1
        retention = group["retention"]
        if retention is not None:
            for i, e in enumerate(events):
                if e["timestamp"] < now_ms - retention * 86400000:
                    expired = i + 1
        if fault is not None and "reject" in fault:
            r = fault["reject"]
            if r.get("too_old"):
                too_old = max(too_old or 0, r["too_old"])
            if r.get("expired"):
                expired = max(expired or 0, r["expired"])
            if r.get("too_new"):
                too_new = len(events) - r["too_new"]

        accepted = []
        for i, e in enumerate(events):
            if (too_old is not None and i < too_old) or \
                    (expired is not None and i < expired) or \
                    (too_new is not None and i >= too_new):
                continue
            accepted.append(e)
        if self.count_only:
            self.events_counted += len(accepted)
        else:
            stream.events.extend({"timestamp": e["timestamp"],
                                  "message": e["message"]}
                                 for e in accepted)

        reply = {}
        info = {}
        if too_new is not None:
            info["tooNewLogEventStartIndex"] = too_new
        if too_old is not None:
            info["tooOldLogEventEndIndex"] = too_old
        if expired is not None:
            info["expiredLogEventEndIndex"] = expired
        if info:
            reply["rejectedLogEventsInfo"] = info
        if self.sequence_tokens:
            stream.last_batch = (stream.expected_token(), digest)
            stream.token_counter += 1
            reply["nextSequenceToken"] = stream.expected_token()
        return reply

    def check_batch(self, events):
        """The batch rules of PutLogEvents. NOTE: the messages follow the
        service's replies as users have reported them; the API model gives
        the rules but not the wording."""
        if len(events) > MAX_BATCH_EVENTS:
            raise invalid("1 validation error detected: Value at "
                          "'logEvents' failed to satisfy constraint: Member "
                          "must have length less than or equal to 10000")
        size = sum(len(e["message"].encode("utf-8")) + EVENT_OVERHEAD
                   for e in events)
        if size > MAX_BATCH_BYTES:
            raise invalid("Upload too large: %d bytes exceeds limit of %d"
                          % (size, MAX_BATCH_BYTES))
        if self.max_event_bytes is not None:
            for e in events:
                n = len(e["message"].encode("utf-8")) + EVENT_OVERHEAD
                if n > self.max_event_bytes:
                    raise invalid("Log event too large: %d bytes exceeds "
                                  "limit of %d" % (n, self.max_event_bytes))
        for a, b in zip(events, events[1:]):
            if b["timestamp"] < a["timestamp"]:
                raise invalid("Log events in a single PutLogEvents request "
                              "must be in chronological order.")
        if events and events[-1]["timestamp"] - events[0]["timestamp"] > \
                MAX_SPAN_MS:
            raise invalid("The batch of log events in a single PutLogEvents "
                          "request cannot span more than 24 hours.")

    def check_token(self, stream, token, digest):
        expected = stream.expected_token()
        if stream.last_batch is not None and token == stream.last_batch[0] \
                and digest == stream.last_batch[1]:
            raise ApiError(400, "DataAlreadyAcceptedException",
                           "The given batch of log events has already been "
                           "accepted. The next batch can be sent with "
                           "sequenceToken: %s" % expected,
                           expectedSequenceToken=expected)
        if token != expected:
            raise ApiError(400, "InvalidSequenceTokenException",
                           "The given sequenceToken is invalid. The next "
                           "expected sequenceToken is: %s" % expected,
                           expectedSequenceToken=expected)

    def state(self):
        with self.lock:
            groups = {}
            for name, group in self.groups.items():
                groups[name] = {
                    "retention": group["retention"],
                    "streams": {s: st.events
                                for s, st in group["streams"].items()},
                }
            return {"groups": groups, "requests": list(self.requests),
                    "events_counted": self.events_counted,
                    "ecs_keys": [k.access_key_id for _, k in self.ecs_issued],
                    "sts_keys": list((self.sts or {}).get("issued", []))}


def sts_credentials_xml(action, key, role_arn, session):
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                               time.gmtime(key.expires_at))
    return (
        '<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
        "  <%sResult>\n"
        "    <Credentials>\n"
        "      <AccessKeyId>%s</AccessKeyId>\n"
        "      <SecretAccessKey>%s</SecretAccessKey>\n"
        "      <SessionToken>%s</SessionToken>\n"
        "      <Expiration>%s</Expiration>\n"
        "    </Credentials>\n"
        "    <AssumedRoleUser>\n"
        "      <Arn>%s/%s</Arn>\n"
        "    </AssumedRoleUser>\n"
        "  </%sResult>\n"
        "</%sResponse>\n"
        % (action, action, key.access_key_id, key.secret, key.token,
           expiration, role_arn, session, action, action))


def sts_error(status, kind, code, message):
    return status, (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>"
        "<RequestId>%s</RequestId></ErrorResponse>"
        % (kind, code, message, os.urandom(16).hex()))


def botocore_signature(method, path, headers, names, body, key, region,
                       amz_date, service=SIGNING_NAME):
    """The signature botocore computes for the request's signed headers."""
    signed = {}
    for name in names:
        value = headers.get(name)
        if value is None:
            raise ApiError(403, "InvalidSignatureException",
                           "signed header '%s' is missing" % name)
        signed[name] = value
    host = signed.get("host")
    request = AWSRequest(method=method, url="http://%s%s" % (host, path),
                         data=body, headers=signed)
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(key.access_key_id, key.secret, key.token),
                     service, region)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    return auth.signature(string_to_sign, request)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cwl-standin"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY the
        # second waits for the client's delayed ACK (about 40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", os.urandom(16).hex())
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        standin = self.server.standin
        if self.path == "/_standin/state":
            self._send(200, standin.state())
        elif self.path == "/ecs/credentials":
            status, obj = standin.ecs_credentials(
                self.headers.get("Authorization"))
            self._send(status, obj)
        else:
            self._send(404, {"message": "not found"})

    def do_POST(self):
        standin = self.server.standin
        body = self._body()
        if self.path.startswith("/_standin/"):
            self.control(standin, self.path[len("/_standin/"):], body)
            return
        if self.path == "/sts/":
            status, xml = standin.sts_call("POST", self.path, self.headers,
                                           body)
            data = xml.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        try:
            reply = self.api(standin, body)
        except ApiError as err:
            obj = {"__type": err.code, "message": err.message}
            obj.update(err.extra)
            self._send(err.status, obj, {"X-Amzn-ErrorType": err.code})
            return
        self._send(200, reply)

    def control(self, standin, what, body):
        cfg = json.loads(body) if body else {}
        if what == "config":
            standin.configure(cfg)
        elif what == "faults":
            standin.set_faults(cfg.get("faults", []))
        elif what == "revoke":
            standin.revoke_ecs_key()
        elif what == "reset":
            with standin.lock:
                standin.requests = []
        else:
            self._send(404, {"message": "unknown control %s" % what})
            return
        self._send(200, {})

    def api(self, standin, body):
        if self.path != "/":
            raise ApiError(404, "UnknownOperationException",
                           "unknown path %s" % self.path)
        if self.headers.get("Content-Type") != CONTENT_TYPE:
            raise ApiError(400, "SerializationException",
                           "Content-Type must be %s" % CONTENT_TYPE)
        target = self.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX):] \
            if target.startswith(TARGET_PREFIX) else None
        if operation not in ("PutLogEvents", "CreateLogGroup",
                             "CreateLogStream", "PutRetentionPolicy",
                             "DescribeLogGroups"):
            raise ApiError(400, "UnknownOperationException",
                           "unknown X-Amz-Target '%s'" % target)
        with standin.lock:
            try:
                key_id = standin.check_signature("POST", self.path,
                                                 self.headers, body)
                try:
                    parsed = json.loads(body)
                except ValueError:
                    raise ApiError(400, "SerializationException",
                                   "the body is not valid JSON")
                standin.model.validate(operation, parsed)
            except ApiError as err:
                m = re.search(r"Credential=([^/,]+)/",
                              self.headers.get("Authorization", ""))
                standin.requests.append({"operation": operation,
                                         "time": time.time(),
                                         "access_key_id":
                                             m.group(1) if m else None,
                                         "status": err.status,
                                         "code": err.code,
                                         "message": err.message})
                raise
            return standin.handle(operation, parsed, key_id)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--config", help="JSON file for /_standin/config")
    args = parser.parse_args()
    if SigV4Auth is None:
        sys.exit("cwl_standin: botocore is missing: install python3-botocore "
                 "and run this file with /usr/bin/python3")
    standin = CloudWatchLogsStandIn()
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            standin.configure(json.load(f))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.standin = standin
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
