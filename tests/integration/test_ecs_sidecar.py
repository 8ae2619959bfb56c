"""The ECS sidecar example of packaging/ecs: logferry-cloudwatch.yml run
as it is against the ECS task metadata stand-in, the ECS container
credentials endpoint and the CloudWatch Logs stand-in (which checks every
signature with botocore), logferry-both.yml run the same way with the
Elasticsearch stand-in as well, and logferry-elasticsearch.yml loaded by
`logferry test config`."""

import datetime
import json
import os
import re
import sys

import harness
from harness import check, check_eq, main, run_agent, run_once
from cw_harness import CwStandIn, cw_env, iso, ms, now_utc, summary_counters

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests", "standin"))
import aws_metadata_standin  # noqa: E402  (path set just above)

PACKAGING = os.path.join(harness.SOURCE_ROOT, "packaging", "ecs")
FIXTURES = os.path.join(harness.SOURCE_ROOT, "tests", "fixtures",
                        "aws-metadata")
ECS_TOKEN = "sidecar-ecs-authorization-token"
TASK_ID = "e9028f8d5d8e4f258373e7b93ce9a3c5"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as fp:
        return fp.read()


def test_sidecar_cloudwatch_config(scratch):
    metadata = aws_metadata_standin.AwsMetadataStandIn(
        task=fixture("ecs-v4-fargate-task.json"),
        container=fixture("ecs-v4-fargate-container.json")).start()
    scratch.defer(metadata.stop)

    standin = CwStandIn(scratch, {"ecs": {"token": ECS_TOKEN,
                                          "rotate_s": 300, "ttl_s": 360}})
    logs = scratch.join("logs")
    os.makedirs(logs)
    base = now_utc() - datetime.timedelta(minutes=2)
    lines = ["%s INFO GET /api/rewards 200 %dms"
             % (iso(base + datetime.timedelta(seconds=i)), 10 + i)
             for i in range(3)]
    scratch.write("logs/app.log", "".join(line + "\n" for line in lines))

    proc = run_once(scratch, os.path.join(PACKAGING,
                                          "logferry-cloudwatch.yml"),
                    env=cw_env({
                        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                        "AWS_REGION": "us-west-2",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                            standin.url + "/ecs/credentials",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": ECS_TOKEN,
                        "ECS_CONTAINER_METADATA_URI_V4":
                            metadata.url + metadata.ecs_path,
                        "LOGFERRY_LOG_DIR": logs,
                        "LOGFERRY_DATA": scratch.join("data"),
                        "LOGFERRY_CLOUDWATCH_ENDPOINT": standin.url}))

    state = standin.state()
    check_eq(list(state["groups"]), ["/ecs/curltest"], "log groups")
    group = state["groups"]["/ecs/curltest"]
    check_eq(group["retention"], 30, "retention")
    check_eq(list(group["streams"]), ["rewards-api/" + TASK_ID],
             "log streams")
    events = group["streams"]["rewards-api/" + TASK_ID]
    check_eq([e["timestamp"] for e in events],
             [ms(base + datetime.timedelta(seconds=i)) for i in range(3)],
             "timestamps")
    for i, event in enumerate(events):
        doc = json.loads(event["message"])
        check_eq(doc["message"], lines[i], "message %d" % i)
        check_eq(doc["log"]["level"], "info", "log.level %d" % i)
        check_eq(doc["service"]["name"], "rewards-api", "service.name")
        check_eq(doc["aws"]["ecs"]["task"]["family"], "curltest",
                 "aws.ecs.task.family")
        check_eq(doc["orchestrator"]["resource"]["id"], TASK_ID,
                 "orchestrator.resource.id")
        check_eq(doc["cloud"]["region"], "us-west-2", "cloud.region")

    puts = standin.puts(state)
    check_eq([p["status"] for p in puts], [400, 200], "PutLogEvents")
    check_eq(puts[-1]["access_key_id"], state["ecs_keys"][0],
             "key of the PutLogEvents request")
    counters = summary_counters(proc.stderr)
    check_eq(counters["delivered"], 3, "delivered")
    check(ECS_TOKEN not in proc.stderr, "the agent logged the ECS token")


def test_sidecar_both_outputs_config(scratch):
    metadata = aws_metadata_standin.AwsMetadataStandIn(
        task=fixture("ecs-v4-fargate-task.json"),
        container=fixture("ecs-v4-fargate-container.json")).start()
    scratch.defer(metadata.stop)
    es = scratch.standin()
    standin = CwStandIn(scratch, {"ecs": {"token": ECS_TOKEN,
                                          "rotate_s": 300, "ttl_s": 360}})
    logs = scratch.join("logs")
    os.makedirs(logs)
    base = now_utc() - datetime.timedelta(minutes=2)
    lines = ["%s INFO GET /api/rewards 200 %dms"
             % (iso(base + datetime.timedelta(seconds=i)), 10 + i)
             for i in range(3)]
    scratch.write("logs/app.log", "".join(line + "\n" for line in lines))

    proc = run_once(scratch, os.path.join(PACKAGING, "logferry-both.yml"),
                    env=cw_env({
                        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                        "AWS_REGION": "us-west-2",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                            standin.url + "/ecs/credentials",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": ECS_TOKEN,
                        "ECS_CONTAINER_METADATA_URI_V4":
                            metadata.url + metadata.ecs_path,
                        "ES_HOSTS": es.url,
                        "ES_API_KEY": "aWQ6a2V5",
                        "LOGFERRY_LOG_DIR": logs,
                        "LOGFERRY_DATA": scratch.join("data"),
                        "LOGFERRY_CLOUDWATCH_ENDPOINT": standin.url}))

    group = standin.state()["groups"]["/ecs/curltest"]
    events = group["streams"]["rewards-api/" + TASK_ID]
    check_eq([json.loads(e["message"])["message"] for e in events], lines,
             "messages in CloudWatch Logs")
    docs = sorted((d["_source"] for d in
                   es.documents("logs-rewards-api-default")),
                  key=lambda doc: doc["log"]["offset"])
    check_eq([doc["message"] for doc in docs], lines,
             "messages in Elasticsearch")
    for i, doc in enumerate(docs):
        check_eq(doc["aws"]["ecs"]["task"]["family"], "curltest",
                 "aws.ecs.task.family of document %d" % i)
        check_eq(doc["orchestrator"]["resource"]["id"], TASK_ID,
                 "orchestrator.resource.id of document %d" % i)
    check_eq(summary_counters(proc.stderr)["delivered"], 3,
             "delivered to CloudWatch Logs")
    check(re.search(r"shutdown report: output=elasticsearch,cloudwatch "
                    r"delivered=3 ", proc.stderr) is not None,
          "shutdown report: %s" % harness.tail(proc.stderr, 5))
    check("aWQ6a2V5" not in proc.stderr, "the agent logged the API key")
    check(ECS_TOKEN not in proc.stderr, "the agent logged the ECS token")


def test_sidecar_elasticsearch_config_loads(scratch):
    proc = run_agent(["test", "config", "-c",
                      os.path.join(PACKAGING, "logferry-elasticsearch.yml")],
                     env={"ES_HOSTS": "https://es.example.internal:9200",
                          "ES_API_KEY": "aWQ6a2V5",
                          "LOGFERRY_DATA": scratch.join("data")})
    check_eq(proc.returncode, 0, "exit status of test config; stderr: %s"
             % proc.stderr)
    check("aWQ6a2V5" not in proc.stdout + proc.stderr,
          "test config printed the API key")


def test_sidecar_test_config_outputs(scratch):
    # `test config` names each configured output, and a file without
    # output.elasticsearch has no Elasticsearch host to print.
    env = {"AWS_REGION": "eu-west-1",
           "LOGFERRY_CLOUDWATCH_ENDPOINT": "",
           "ES_HOSTS": "https://es.example.internal:9200",
           "ES_API_KEY": "aWQ6a2V5",
           "LOGFERRY_DATA": scratch.join("data")}
    endpoint = "https://logs.eu-west-1.amazonaws.com"
    cases = [
        ("logferry-cloudwatch.yml", "output cloudwatch %s" % endpoint),
        ("logferry-both.yml",
         "output elasticsearch https://es.example.internal:9200, "
         "output cloudwatch %s" % endpoint),
    ]
    for name, outputs in cases:
        path = os.path.join(PACKAGING, name)
        proc = run_agent(["test", "config", "-c", path], env=env)
        check_eq(proc.returncode, 0, "exit status of test config -c %s; "
                 "stderr: %s" % (name, proc.stderr))
        check_eq(proc.stdout, "Config OK: %s (1 input, %s)\n"
                 % (path, outputs), "test config -c %s" % name)


TESTS = [
    test_sidecar_cloudwatch_config,
    test_sidecar_both_outputs_config,
    test_sidecar_elasticsearch_config_loads,
    test_sidecar_test_config_outputs,
]

if __name__ == "__main__":
    main(TESTS)
