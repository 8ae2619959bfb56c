"""Tests of the AWS metadata stand-in itself (no logferry needed), so that
a failure of a metadata test can be trusted to be the agent's."""

import http.client
import json
import os
import sys

import harness
from harness import check_eq

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests", "standin"))

import aws_metadata_standin  # noqa: E402  (path set just above)

FIXTURES = os.path.join(harness.SOURCE_ROOT, "tests", "fixtures",
                        "aws-metadata")
TOKEN = "/latest/api/token"
IDENTITY = "/latest/dynamic/instance-identity/document"
ECS = aws_metadata_standin.DEFAULT_ECS_PATH


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as fp:
        return fp.read()


def start():
    return aws_metadata_standin.AwsMetadataStandIn(
        identity=fixture("ec2-identity-document.json"),
        task=fixture("ecs-v4-fargate-task.json"),
        container=fixture("ecs-v4-fargate-container.json")).start()


def request(server, method, path, headers=None):
    """Send one request; return (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def token(server, ttl="60"):
    status, _, body = request(server, "PUT", TOKEN,
                              {aws_metadata_standin.TTL_HEADER: ttl})
    check_eq(status, 200, "token status")
    return body.decode("ascii")


def test_token_requires_valid_ttl(scratch):
    server = start()
    try:
        for ttl, expected in ((None, 400), ("", 400), ("0", 400),
                              ("21601", 400), ("abc", 400), ("1", 200),
                              ("21600", 200)):
            headers = {} if ttl is None else \
                {aws_metadata_standin.TTL_HEADER: ttl}
            status, head, _ = request(server, "PUT", TOKEN, headers)
            check_eq(status, expected, "PUT token with ttl %r" % ttl)
            if expected == 200:
                check_eq(head.get("x-aws-ec2-metadata-token-ttl-seconds"),
                         ttl, "ttl header echoed")
    finally:
        server.stop()


def test_token_rejects_forwarded_and_get(scratch):
    server = start()
    try:
        status, _, _ = request(server, "PUT", TOKEN,
                               {aws_metadata_standin.TTL_HEADER: "60",
                                "X-Forwarded-For": "203.0.113.9"})
        check_eq(status, 403, "PUT token through a proxy")
        status, head, _ = request(server, "GET", TOKEN)
        check_eq(status, 405, "GET token")
        check_eq(head.get("allow"), "PUT", "Allow header")
    finally:
        server.stop()


def test_identity_requires_token(scratch):
    server = start()
    try:
        status, _, _ = request(server, "GET", IDENTITY)
        check_eq(status, 401, "GET without a token")
        status, _, _ = request(server, "GET", IDENTITY,
                               {aws_metadata_standin.TOKEN_HEADER: "forged"})
        check_eq(status, 401, "GET with an unknown token")
        status, _, body = request(
            server, "GET", IDENTITY,
            {aws_metadata_standin.TOKEN_HEADER: token(server)})
        check_eq(status, 200, "GET with a token")
        check_eq(json.loads(body)["instanceId"], "i-1234567890abcdef0",
                 "instanceId")
        status, _, _ = request(
            server, "GET", "/latest/meta-data/nothing",
            {aws_metadata_standin.TOKEN_HEADER: token(server)})
        check_eq(status, 404, "unknown IMDS path")
    finally:
        server.stop()


def test_ecs_documents(scratch):
    server = start()
    try:
        status, _, body = request(server, "GET", ECS + "/task")
        check_eq(status, 200, "task status")
        check_eq(json.loads(body)["LaunchType"], "FARGATE", "LaunchType")
        status, _, body = request(server, "GET", ECS)
        check_eq(status, 200, "container status")
        check_eq(json.loads(body)["Name"], "curl", "container Name")
        status, _, _ = request(server, "PUT", ECS + "/task")
        check_eq(status, 405, "PUT task")
        status, _, _ = request(server, "GET", "/v4/other/task")
        check_eq(status, 404, "another task's path")
    finally:
        server.stop()


def test_request_log_and_faults(scratch):
    server = start()
    server.statuses = {ECS + "/task": 500}
    try:
        status, _, _ = request(server, "GET", ECS + "/task")
        check_eq(status, 500, "faulted status")
        status, _, _ = request(server, "GET", IDENTITY)
        check_eq(server.requests, [
            {"method": "GET", "path": ECS + "/task", "status": 500,
             "token": None, "ttl": None},
            {"method": "GET", "path": IDENTITY, "status": 401,
             "token": "missing", "ttl": None},
        ], "request log")
    finally:
        server.stop()


if __name__ == "__main__":
    harness.main([
        test_token_requires_valid_ttl,
        test_token_rejects_forwarded_and_get,
        test_identity_requires_token,
        test_ecs_documents,
        test_request_log_and_faults,
    ])
