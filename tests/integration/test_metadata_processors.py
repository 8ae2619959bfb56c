"""The metadata processors through the real binary: add_cloud_metadata
against an IMDSv2 stand-in, add_ecs_task_metadata against an ECS task
metadata v4 stand-in, and add_host_metadata from this machine. Reading
waits for the first fetches, so the first event already carries the
fields."""

import os
import socket
import sys

import harness
import test_ecs_fields
from harness import check, check_eq

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests", "standin"))

import aws_metadata_standin  # noqa: E402  (path set just above)

FIXTURES = os.path.join(harness.SOURCE_ROOT, "tests", "fixtures",
                        "aws-metadata")

CLOUD = {
    "account": {"id": "111122223333"},
    # add_cloud_metadata runs after the input's add_ecs_task_metadata and
    # replaces its zone (us-west-2d) with the instance's.
    "availability_zone": "us-west-2b",
    "instance": {"id": "i-1234567890abcdef0"},
    "machine": {"type": "t3.medium"},
    "provider": "aws",
    "region": "us-west-2",
}
AWS = {
    "ec2": {"image": {"id": "ami-0abcdef1234567890"}},
    "ecs": {
        "container": {"arn": "arn:aws:ecs:us-west-2:111122223333:container/"
                             "05966557-f16c-49cb-9352-24b3a0dcd0e1"},
        "launch_type": "FARGATE",
        "task": {"arn": "arn:aws:ecs:us-west-2:111122223333:task/default/"
                        "e9028f8d5d8e4f258373e7b93ce9a3c5",
                 "family": "curltest", "revision": "3"},
    },
}
CONTAINER = {
    "id": "e9028f8d5d8e4f258373e7b93ce9a3c5-2495160603",
    "image": {"hash": {"all": ["sha256:25f3695bedfb454a50f12d127839a68ad3"
                               "caf91e451c1da073db34c542c4d2cb"]},
              "name": "111122223333.dkr.ecr.us-west-2.amazonaws.com/"
                      "curltest",
              "tag": ["latest"]},
    "name": "curl",
}
ORCHESTRATOR = {
    "cluster": {"name": "default"},
    "resource": {"id": "e9028f8d5d8e4f258373e7b93ce9a3c5", "type": "task"},
    "type": "ecs",
}


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as fp:
        return fp.read()


def start_aws(scratch):
    server = aws_metadata_standin.AwsMetadataStandIn(
        identity=fixture("ec2-identity-document.json"),
        task=fixture("ecs-v4-fargate-task.json"),
        container=fixture("ecs-v4-fargate-container.json")).start()
    scratch.defer(server.stop)
    return server


def ecs_env(server):
    return {"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:%d%s"
            % (server.port, aws_metadata_standin.DEFAULT_ECS_PATH)}


def test_metadata_on_first_event(scratch):
    aws = start_aws(scratch)
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "first\nsecond\n")
    config = harness.write_config(
        scratch,
        [{"id": "app", "paths": [path],
          "processors": [{"add_ecs_task_metadata": {}}]}],
        standin.url,
        processors=[
            {"add_cloud_metadata": {
                "endpoint": "http://127.0.0.1:%d" % aws.port}},
            {"add_host_metadata": {}}])

    harness.run_once(scratch, config, env=ecs_env(aws))
    docs = sorted(harness.documents(standin),
                  key=lambda d: d["log"]["offset"])
    check_eq([d["message"] for d in docs], ["first", "second"], "messages")

    for doc in docs:
        check_eq(doc["cloud"], CLOUD, "cloud of %s" % doc["message"])
        check_eq(doc["aws"], AWS, "aws of %s" % doc["message"])
        check_eq(doc["container"], CONTAINER,
                 "container of %s" % doc["message"])
        check_eq(doc["orchestrator"], ORCHESTRATOR,
                 "orchestrator of %s" % doc["message"])
        host = doc["host"]
        uname = os.uname()
        check_eq(host["name"], socket.gethostname().lower(), "host.name")
        check_eq(host["architecture"], uname.machine, "host.architecture")
        check_eq(host["os"]["kernel"], uname.release, "host.os.kernel")
        check_eq(host["os"]["type"], "linux", "host.os.type")
        check(isinstance(host["ip"], list) and host["ip"],
              "host.ip is a non-empty list: %r" % host.get("ip"))
        check("127.0.0.1" not in host["ip"] and "::1" not in host["ip"],
              "host.ip without loopback: %r" % host["ip"])

    check_eq(test_ecs_fields.field_problems(
        docs[0], test_ecs_fields.load_ecs(),
        test_ecs_fields.load_documented()), [], "fields outside ECS")

    methods = [(r["method"], r["path"]) for r in aws.requests]
    check_eq(methods.count(("PUT", "/latest/api/token")), 1,
             "IMDSv2 token requests")
    check_eq(methods.count(
        ("GET", "/latest/dynamic/instance-identity/document")), 1,
        "identity document requests")


def test_metadata_source_down_ships_without_fields(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/app.log", "line\n")
    down = harness.free_port()
    config = harness.write_config(
        scratch, [{"id": "app", "paths": [path]}], standin.url,
        processors=[{"add_cloud_metadata": {
            "endpoint": "http://127.0.0.1:%d" % down, "timeout": "1s"}}])
    proc = harness.run_once(scratch, config)
    docs = harness.documents(standin)
    check_eq([d["message"] for d in docs], ["line"], "messages")
    check("cloud" not in docs[0], "no cloud fields: %r" % docs[0])
    warnings = [l for l in proc.stderr.splitlines() if " warn " in l]
    check_eq(len(warnings), 1, "warnings: %s" % warnings)


TESTS = [
    test_metadata_on_first_event,
    test_metadata_source_down_ships_without_fields,
]

if __name__ == "__main__":
    harness.main(TESTS)
