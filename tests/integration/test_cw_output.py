"""CloudWatch Logs output against the strict stand-in: auto-create with
retention, name templates, `format: json`, batch order and span, batch
limits, throttling, sequence tokens, rejected events and ECS container
credentials. Every request's SigV4 signature is checked by botocore in
the stand-in, so a request that reached it with status 200 was signed
correctly."""

import datetime
import json
import os
import sys
import time

import harness
from harness import (check, check_eq, main, run_once, Agent, run_agent,
                     wait_until)
from cw_harness import (CwStandIn, cw_env, seq_input, write_cw_config, iso,
                        ms, now_utc, summary_counters)

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests", "standin"))
import aws_metadata_standin  # noqa: E402  (path set just above)


def write_seq(scratch, name, items):
    """Write lines "TIME seq=N" for (datetime, n) items; return the path."""
    text = "".join("%s seq=%d\n" % (iso(t), n) for t, n in items)
    return scratch.write(name, text)


def request_statuses(state):
    return [(r["operation"], r["status"], r.get("code"))
            for r in state["requests"] if r["operation"] != "EcsCredentials"]


def test_auto_create_with_retention(scratch):
    standin = CwStandIn(scratch)
    base = now_utc() - datetime.timedelta(minutes=5)
    path = write_seq(scratch, "a.log", [(base + datetime.timedelta(
        seconds=i), i) for i in range(1, 4)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url, {
        "log_group": "/ecs/rewards-api", "log_stream": "app-stream",
        "auto_create": True, "retention_days": 7})
    proc = run_once(scratch, config, env=cw_env())
    state = standin.state()
    check_eq(request_statuses(state), [
        ("PutLogEvents", 400, "ResourceNotFoundException"),
        ("CreateLogStream", 400, "ResourceNotFoundException"),
        ("CreateLogGroup", 200, None),
        ("PutRetentionPolicy", 200, None),
        ("CreateLogStream", 200, None),
        ("PutLogEvents", 200, None)], "requests")
    group = state["groups"]["/ecs/rewards-api"]
    check_eq(group["retention"], 7, "retention")
    events = group["streams"]["app-stream"]
    check_eq([e["message"] for e in events],
             ["%s seq=%d" % (iso(base + datetime.timedelta(seconds=i)), i)
              for i in range(1, 4)], "messages")
    check_eq([e["timestamp"] for e in events],
             [ms(base + datetime.timedelta(seconds=i)) for i in range(1, 4)],
             "timestamps")
    counters = summary_counters(proc.stderr)
    check_eq(counters["delivered"], 3, "delivered")
    check_eq(counters["groups_created"], 1, "groups_created")
    check_eq(counters["streams_created"], 1, "streams_created")


def test_missing_group_without_auto_create(scratch):
    standin = CwStandIn(scratch)
    path = write_seq(scratch, "a.log", [(now_utc(), 1)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url)
    proc = run_once(scratch, config, expect_rc=1, env=cw_env())
    state = standin.state()
    check_eq(request_statuses(state),
             [("PutLogEvents", 400, "ResourceNotFoundException")],
             "requests")
    counters = summary_counters(proc.stderr)
    check_eq(counters["rejected_not_found"], 1, "rejected_not_found")
    check_eq(counters["delivered"], 0, "delivered")


def test_name_templates(scratch):
    standin = CwStandIn(scratch, {"groups": {}})
    base = now_utc() - datetime.timedelta(minutes=1)
    a = write_seq(scratch, "a.log", [(base, 1)])
    b = write_seq(scratch, "b.log", [(base, 2)])
    inputs = [seq_input([a], "a", fields={"service.name": "rewards-api",
                                          "container.name": "web"}),
              seq_input([b], "b", fields={"service.name": "points",
                                          "container.name": "worker"})]
    config = write_cw_config(scratch, inputs, standin.url, {
        "log_group": "/ecs/{service.name}",
        "log_stream": "{container.name}/{log.file.path}",
        "auto_create": True})
    run_once(scratch, config, env=cw_env())
    groups = standin.state()["groups"]
    check_eq(sorted(groups), ["/ecs/points", "/ecs/rewards-api"], "groups")
    check_eq(list(groups["/ecs/rewards-api"]["streams"]), ["web/" + a],
             "rewards-api streams")
    check_eq(list(groups["/ecs/points"]["streams"]), ["worker/" + b],
             "points streams")
    check_eq([e["message"] for e in
              groups["/ecs/points"]["streams"]["worker/" + b]],
             ["%s seq=2" % iso(base)], "points messages")


def test_format_json(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}})
    moment = now_utc() - datetime.timedelta(seconds=30)
    path = write_seq(scratch, "a.log", [(moment, 7)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             {"format": "json"})
    run_once(scratch, config, env=cw_env())
    events = standin.events("/test/app", "main")
    check_eq(len(events), 1, "events")
    doc = json.loads(events[0]["message"])
    check_eq(doc["@timestamp"], iso(moment), "@timestamp")
    check_eq(doc["message"], "%s seq=7" % iso(moment), "message")
    check_eq(doc["labels"]["seq"], "7", "labels.seq")
    check_eq(doc["service"]["name"], "rewards-api", "service.name")
    check_eq(doc["log"]["file"]["path"], path, "log.file.path")
    check_eq(doc["log"]["offset"], 0, "log.offset")
    check_eq(events[0]["timestamp"], ms(moment), "timestamp")


def check_batches_valid(puts):
    """Every request: non-decreasing timestamps, span within 24 h, within
    the count and byte limits."""
    for i, put in enumerate(puts):
        ts = put["timestamps"]
        check(ts == sorted(ts), "request %d is not in chronological order: "
              "%s" % (i, ts[:20]))
        check(ts[-1] - ts[0] <= 24 * 3600 * 1000,
              "request %d spans %d ms" % (i, ts[-1] - ts[0]))
        check(put["event_count"] <= 10000, "request %d has %d events"
              % (i, put["event_count"]))
        check(put["bytes"] <= 1048576, "request %d has %d bytes"
              % (i, put["bytes"]))


def test_batch_order_and_span(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}})
    now = now_utc()
    base = now - datetime.timedelta(hours=2)

    def at(seconds):
        return base + datetime.timedelta(seconds=seconds)

    files = [
        write_seq(scratch, "a.log", [(at(0), 1), (at(2), 3)]),
        write_seq(scratch, "b.log", [(at(1), 2), (at(3), 4)]),
        write_seq(scratch, "c.log", [(at(5), 6), (at(4), 5)]),
        write_seq(scratch, "d.log", [
            (now - datetime.timedelta(hours=30), 7),
            (now - datetime.timedelta(hours=1), 8)]),
    ]
    config = write_cw_config(scratch, [seq_input(files)], standin.url,
                             {"flush_interval": "1s"})
    run_once(scratch, config, env=cw_env())
    state = standin.state()
    puts = standin.puts(state)
    check_eq([r["status"] for r in puts], [200] * len(puts), "statuses")
    check_batches_valid(puts)
    seq_request = {}
    for i, put in enumerate(puts):
        for message in put["messages"]:
            seq_request[int(message.split("seq=")[1])] = i
    check(seq_request[7] != seq_request[8],
          "seq=7 and seq=8 were sent in one request")
    events = state["groups"]["/test/app"]["streams"]["main"]
    seqs = sorted(int(e["message"].split("seq=")[1]) for e in events)
    check_eq(seqs, list(range(1, 9)), "stored seq numbers")
    expected_ts = {1: at(0), 2: at(1), 3: at(2), 4: at(3), 5: at(4),
                   6: at(5), 7: now - datetime.timedelta(hours=30),
                   8: now - datetime.timedelta(hours=1)}
    for e in events:
        seq = int(e["message"].split("seq=")[1])
        check_eq(e["timestamp"], ms(expected_ts[seq]),
                 "timestamp of seq=%d" % seq)
    recent = [int(m.split("seq=")[1]) for put in puts
              for m in put["messages"]]
    check_eq([n for n in recent if n <= 6], [1, 2, 3, 4, 5, 6],
             "order of the events of one span")


def test_batch_limits(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}, "max_event_bytes": 262144})
    a = scratch.write("a.log", "".join(
        "a%05d %s\n" % (i, "x" * 243) for i in range(5000)))
    b = scratch.write("b.log", "".join("b%08d\n" % i for i in range(12000)))
    c = scratch.write("c.log", "".join(
        "\u20ac" * 200 + "\n" for _ in range(2000)))
    d = scratch.write("d.log", "d" + "\u00e9" * (400 * 512) + "\n")

    config = write_cw_config(scratch, [{"id": "raw",
                                        "paths": [a, b, c, d],
                                        "max_line_bytes": "1MiB"}],
                             standin.url,
                             {"max_event_bytes": 262144,
                              "large_event": "truncate",
                              "flush_interval": "2s"})
    proc = run_once(scratch, config, env=cw_env(), timeout=120)

    state = standin.state()
    puts = standin.puts(state)
    check_eq(sorted(set(r["status"] for r in puts)), [200], "statuses")
    check_batches_valid(puts)
    events = state["groups"]["/test/app"]["streams"]["main"]
    check_eq(len(events), 19001, "events stored")
    messages = [e["message"] for e in events]

    check_eq(sorted(m for m in messages if m.startswith("a")),
             ["a%05d %s" % (i, "x" * 243) for i in range(5000)],
             "a.log events")
    check_eq(sorted(m for m in messages if m.startswith("b")),
             ["b%08d" % i for i in range(12000)], "b.log events")
    check_eq([m for m in messages if m.startswith("\u20ac")],
             ["\u20ac" * 200] * 2000, "c.log events")

    large = [m for m in messages if m.startswith("d")]
    check_eq(len(large), 1, "d.log events")
    encoded = large[0].encode("utf-8")
    check(len(encoded) + 26 <= 262144, "d.log event has %d bytes"
          % len(encoded))
    check(large[0].endswith("[truncated]"), "d.log event has no marker")
    body = large[0][1:-len("[truncated]")]
    check_eq(set(body), {"\u00e9"}, "characters kept of the d.log event")
    check_eq(len(encoded), 1 + 2 * len(body) + len("[truncated]"),
             "d.log event length")
    check(len(encoded) + 26 > 262144 - 2, "d.log event cut short: %d bytes"
          % len(encoded))
    counters = summary_counters(proc.stderr)
    check_eq(counters["truncated"], 1, "truncated counter")
    check_eq(counters["delivered"], 19001, "delivered")


def check_throttle_run(scratch, fault, expected_gaps):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}})
    standin.faults(fault)
    base = now_utc() - datetime.timedelta(minutes=1)
    path = write_seq(scratch, "a.log", [
        (base + datetime.timedelta(milliseconds=i), i)
        for i in range(1, 11)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url, {
        "backoff.init": "500ms", "backoff.max": "10s"})
    proc = run_once(scratch, config, env=cw_env())
    puts = standin.puts()
    check_eq(len(puts), len(expected_gaps) + 1, "PutLogEvents requests")
    expected = ["%s seq=%d" % (iso(base + datetime.timedelta(
        milliseconds=i)), i) for i in range(1, 11)]
    for i, put in enumerate(puts):
        check_eq(put["messages"], expected, "events of request %d" % i)
    for i, gap in enumerate(expected_gaps):
        took = puts[i + 1]["time"] - puts[i]["time"]
        check(took >= gap, "gap %d was %.3f s, expected at least %.1f s"
              % (i, took, gap))
    check_eq(standin.events("/test/app", "main"),
             [{"timestamp": ms(base + datetime.timedelta(milliseconds=i)),
               "message": expected[i - 1]} for i in range(1, 11)],
             "stored events")
    return summary_counters(proc.stderr)


def test_throttling_retried(scratch):
    counters = check_throttle_run(scratch, {
        "operation": "PutLogEvents", "count": 3, "status": 400,
        "code": "ThrottlingException", "message": "Rate exceeded"},
        [0.4, 0.8, 1.6])
    check_eq(counters["throttled"], 3, "throttled")
    check_eq(counters["retries"], 3, "retries")
    check_eq(counters["delivered"], 10, "delivered")
    check_eq(counters["rejected"], 0, "rejected")


def test_service_unavailable_retried(scratch):
    counters = check_throttle_run(scratch, {
        "operation": "PutLogEvents", "count": 3, "status": 503,
        "code": "ServiceUnavailableException",
        "message": "The server failed to fulfill the request"},
        [0.4, 0.8, 1.6])
    check_eq(counters["throttled"], 0, "throttled")
    check_eq(counters["delivered"], 10, "delivered")


def test_throttled_create_stream(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {}}})
    standin.faults({"operation": "CreateLogStream", "count": 1,
                    "status": 400, "code": "ThrottlingException",
                    "message": "Rate exceeded"})
    path = write_seq(scratch, "a.log", [(now_utc(), i) for i in range(3)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url, {
        "auto_create": True, "backoff.init": "500ms"})
    run_once(scratch, config, env=cw_env())
    state = standin.state()
    ops = request_statuses(state)
    check_eq(ops, [
        ("PutLogEvents", 400, "ResourceNotFoundException"),
        ("CreateLogStream", 400, "ThrottlingException"),
        ("CreateLogStream", 200, None),
        ("PutLogEvents", 200, None)], "requests")
    creates = [r for r in state["requests"]
               if r["operation"] == "CreateLogStream"]
    check(creates[1]["time"] - creates[0]["time"] >= 0.4,
          "CreateLogStream retried after %.3f s"
          % (creates[1]["time"] - creates[0]["time"]))
    check_eq(len(state["groups"]["/test/app"]["streams"]["main"]), 3,
             "events stored")


def test_access_denied_kept_and_retried(scratch):
    """A refused permission or signature keeps the batch, which is sent
    again after a backoff until the service accepts it."""
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}})
    standin.faults({"operation": "PutLogEvents", "count": 2, "status": 400,
                    "code": "AccessDeniedException",
                    "message": "User is not authorized to perform: "
                               "logs:PutLogEvents"},
                   {"operation": "PutLogEvents", "count": 1, "status": 400,
                    "code": "InvalidSignatureException",
                    "message": "Signature expired"})

    base = now_utc() - datetime.timedelta(minutes=1)
    path = write_seq(scratch, "a.log", [
        (base + datetime.timedelta(seconds=i), i) for i in range(4)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url)
    proc = run_once(scratch, config, env=cw_env())

    check_eq(request_statuses(standin.state()), [
        ("PutLogEvents", 400, "AccessDeniedException"),
        ("PutLogEvents", 400, "AccessDeniedException"),
        ("PutLogEvents", 400, "InvalidSignatureException"),
        ("PutLogEvents", 200, None)], "requests")
    events = standin.events("/test/app", "main")
    check_eq([e["message"].split("seq=")[1] for e in events],
             ["0", "1", "2", "3"], "stored events")

    counters = summary_counters(proc.stderr)
    check_eq(counters["delivered"], 4, "delivered")
    check_eq(counters["rejected"], 0, "rejected")
    check_eq(counters["denied"], 3, "denied")
    check_eq(proc.stderr.count("PutLogEvents refused: HTTP 400 "
                               "AccessDeniedException: User is not "
                               "authorized"), 2,
             "errors logged for AccessDeniedException")


def test_rejected_events_counted(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}})
    standin.faults({"operation": "PutLogEvents", "count": 1,
                    "reject": {"too_old": 2, "too_new": 1}})
    base = now_utc() - datetime.timedelta(minutes=1)
    path = write_seq(scratch, "a.log", [
        (base + datetime.timedelta(seconds=i), i) for i in range(5)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url)
    proc = run_once(scratch, config, expect_rc=1, env=cw_env())
    events = standin.events("/test/app", "main")
    check_eq([e["message"].split("seq=")[1] for e in events], ["2", "3"],
             "stored events")
    counters = summary_counters(proc.stderr)
    check_eq(counters["rejected_too_old"], 2, "rejected_too_old")
    check_eq(counters["rejected_too_new"], 1, "rejected_too_new")
    check_eq(counters["delivered"], 2, "delivered")
    check_eq(counters["rejected"], 3, "rejected")
    check("CloudWatch Logs rejected 3 of 5 events" in proc.stderr,
          "no warning about the rejected events")


KEY_B = {"access_key_id": "AKIDLOGFERRYTEST02",
         "secret_access_key": "bSecretKeyOfTheSecondAgentLOGFERRY0002"}


def test_sequence_tokens_two_writers(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["shared-stream"]}}, "sequence_tokens": True,
        "keys": [{"access_key_id": "AKIDLOGFERRYTEST01",
                  "secret_access_key":
                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLOGFERRY01"}, KEY_B]})
    agents = {}
    paths = {}
    for name, env in (("a", cw_env()), ("b", cw_env({
            "AWS_ACCESS_KEY_ID": KEY_B["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": KEY_B["secret_access_key"]}))):
        paths[name] = scratch.write(name + ".log", "")
        config = write_cw_config(
            scratch, [seq_input([paths[name]])], standin.url,
            {"log_stream": "shared-stream", "flush_interval": "100ms"},
            name=name + ".yml", **{"path.data": scratch.join("data-" + name)})
        agents[name] = Agent(scratch, config, env=env, name=name)

    base = now_utc() - datetime.timedelta(minutes=1)
    for i in range(10):
        name = "ab"[i % 2]
        scratch.append(paths[name], "%s seq=%d\n" % (
            iso(base + datetime.timedelta(milliseconds=i)), i))
        time.sleep(0.2)
    wait_until(lambda: len(standin.events("/test/app", "shared-stream"))
               >= 10, 20, "10 stored events")
    for name, agent in agents.items():
        check_eq(agent.stop(), 0, "exit status of agent %s" % name)

    state = standin.state()
    events = state["groups"]["/test/app"]["streams"]["shared-stream"]
    check_eq(sorted(int(e["message"].split("seq=")[1]) for e in events),
             list(range(10)), "stored seq numbers")

    token_errors = 0
    for key in ("AKIDLOGFERRYTEST01", KEY_B["access_key_id"]):
        puts = [r for r in standin.puts(state)
                if r["access_key_id"] == key]
        rejected_tokens = set()
        for i, put in enumerate(puts):
            check(put["sequence_token"] not in rejected_tokens or
                  put["sequence_token"] is None,
                  "%s reused the stale token %s" % (key,
                                                    put["sequence_token"]))
            if put.get("code") == "InvalidSequenceTokenException":
                token_errors += 1
                rejected_tokens.add(put["sequence_token"])
                check(i + 1 < len(puts), "%s did not resend" % key)
                check_eq(puts[i + 1]["sequence_token"],
                         put["expected_token"],
                         "token of the resend after request %d" % i)
    check(token_errors > 0, "the two writers never raced for the token")


def test_data_already_accepted(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}, "sequence_tokens": True})
    standin.faults({"operation": "PutLogEvents", "count": 1,
                    "status": 500, "code": "InternalFailure",
                    "after_accept": True})
    base = now_utc() - datetime.timedelta(minutes=1)
    path = write_seq(scratch, "a.log", [
        (base + datetime.timedelta(milliseconds=i), i) for i in range(4)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url)
    proc = run_once(scratch, config, env=cw_env())
    state = standin.state()
    check_eq(request_statuses(state), [
        ("PutLogEvents", 500, "InternalFailure"),
        ("PutLogEvents", 400, "DataAlreadyAcceptedException")],
        "requests")
    check_eq(len(state["groups"]["/test/app"]["streams"]["main"]), 4,
             "events stored")
    counters = summary_counters(proc.stderr)
    check_eq(counters["duplicates"], 4, "duplicates")
    check_eq(counters["rejected"], 0, "rejected")


def test_modern_mode_sends_no_token(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}})
    base = now_utc() - datetime.timedelta(minutes=1)
    path = scratch.write("a.log", "")
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             {"flush_interval": "100ms"})
    agent = Agent(scratch, config, env=cw_env())
    for i in range(3):
        scratch.append(path, "%s seq=%d\n" % (iso(base), i))
        wait_until(lambda: len(standin.puts()) > i, 10, "request %d" % i)
    check_eq(agent.stop(), 0, "exit status")
    puts = standin.puts()
    check_eq([(p["status"], p["sequence_token"]) for p in puts],
             [(200, None)] * 3, "statuses and tokens")


def ecs_env(scratch, standin, token="ecs-auth-token-1"):
    token_file = scratch.write("ecs-token", token + "\n")
    return cw_env({
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI":
            standin.url + "/ecs/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": token_file})


def run_ecs_agent(scratch, revoke_at=None, seconds=10.0):
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "ecs": {"token": "ecs-auth-token-1", "rotate_s": 5, "ttl_s": 6}})
    path = scratch.write("a.log", "")
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             {"flush_interval": "100ms"})
    agent = Agent(scratch, config, env=ecs_env(scratch, standin))
    base = now_utc() - datetime.timedelta(minutes=1)
    count = int(seconds * 10)
    started = time.monotonic()
    for i in range(count):
        if revoke_at is not None and i == int(revoke_at * 10):
            standin.revoke()
        scratch.append(path, "%s seq=%d\n" % (
            iso(base + datetime.timedelta(milliseconds=i)), i))
        time.sleep(max(0, started + (i + 1) * 0.1 - time.monotonic()))
    wait_until(lambda: len(standin.events("/test/app", "main")) >= count,
               20, "%d stored events" % count)
    check_eq(agent.stop(), 0, "exit status")
    state = standin.state()
    events = state["groups"]["/test/app"]["streams"]["main"]
    check_eq(sorted(int(e["message"].split("seq=")[1]) for e in events),
             list(range(count)), "stored seq numbers")
    with open(agent.stderr_path, errors="replace") as f:
        stderr = f.read()
    for secret in ("secret-", "token-", "ecs-auth-token-1"):
        check(secret not in stderr, "the agent logged a secret (%s)"
              % secret)
    return standin, state, stderr


def test_ecs_credentials_rotate(scratch):
    standin, state, stderr = run_ecs_agent(scratch)
    puts = standin.puts(state)
    check_eq([p for p in puts if p["status"] != 200], [],
             "failed PutLogEvents requests")
    used = []
    for p in puts:
        if not used or used[-1] != p["access_key_id"]:
            used.append(p["access_key_id"])
    check(len(used) >= 2, "one key used for the whole run: %s" % used)
    check_eq(used, state["ecs_keys"][:len(used)], "keys in issue order")
    counters = summary_counters(stderr)
    check_eq(counters["credential_refreshes"], 0, "credential_refreshes")


def test_ecs_key_revoked(scratch):
    standin, state, stderr = run_ecs_agent(scratch, revoke_at=3.0)
    puts = standin.puts(state)
    failed = [i for i, p in enumerate(puts) if p["status"] != 200]
    check_eq(len(failed), 1, "failed PutLogEvents requests")
    check_eq(puts[failed[0]]["code"], "UnrecognizedClientException",
             "error of the failed request")
    check_eq(puts[failed[0] + 1]["status"], 200, "status of the resend")
    check(puts[failed[0] + 1]["access_key_id"] !=
          puts[failed[0]]["access_key_id"], "resent with the revoked key")
    counters = summary_counters(stderr)
    check_eq(counters["credential_refreshes"], 1, "credential_refreshes")
    check_eq(counters["rejected"], 0, "rejected")


def check_no_secret(stderr, secrets):
    for secret in secrets:
        check(secret not in stderr, "the agent logged a secret (%s...)"
              % secret[:6])


def test_web_identity_credentials(scratch):
    role_arn = "arn:aws:iam::123456789012:role/logferry-shipper"
    web_token = "eyJhbGciOiJSUzI1NiJ9.logferry-web-identity.c2lnbmF0dXJl"
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "sts": {"token": web_token, "role_arn": role_arn, "ttl_s": 3600}})
    token_file = scratch.write("web-token", web_token + "\n")
    path = write_seq(scratch, "a.log", [(now_utc(), i) for i in range(3)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url)
    proc = run_once(scratch, config, env=cw_env({
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
        "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
        "AWS_ROLE_ARN": role_arn,
        "AWS_ROLE_SESSION_NAME": "logferry-test",
        "AWS_ENDPOINT_URL_STS": standin.url + "/sts/"}))
    state = standin.state()
    assumes = [r for r in state["requests"]
               if r["operation"] == "AssumeRoleWithWebIdentity"]
    check_eq([(r["role_arn"], r["session"]) for r in assumes],
             [(role_arn, "logferry-test")], "STS calls")
    puts = standin.puts(state)
    check_eq([(p["status"], p["access_key_id"]) for p in puts],
             [(200, state["sts_keys"][0])], "PutLogEvents requests")
    check_eq(len(state["groups"]["/test/app"]["streams"]["main"]), 3,
             "events stored")
    check_no_secret(proc.stderr, [web_token, "stssecret-", "ststoken-"])


def test_web_identity_rejected(scratch):
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "sts": {"token": "expected-token", "role_arn":
                "arn:aws:iam::123456789012:role/logferry-shipper"}})
    token_file = scratch.write("web-token", "another-token")
    path = write_seq(scratch, "a.log", [(now_utc(), 1)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             **{"shutdown.timeout": "2s"})
    proc = run_once(scratch, config, expect_rc=1, env=cw_env({
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
        "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/logferry-shipper",
        "AWS_ENDPOINT_URL_STS": standin.url + "/sts/"}))
    check_eq(proc.stderr.count("fetching web identity credentials from STS "
                               "failed: HTTP 400 InvalidIdentityToken; "
                               "retrying every 1s"), 1,
             "logged STS failures")
    check_eq(standin.puts(), [], "PutLogEvents requests")
    check_no_secret(proc.stderr, ["another-token"])


def test_imds_instance_profile(scratch):
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                               time.gmtime(time.time() + 3600))
    key = {"AccessKeyId": "ASIAIMDSLOGFERRY0001",
           "SecretAccessKey": "imdsSecretKeyLOGFERRY00000000000000001",
           "Token": "imds-session-token-LOGFERRY-0001",
           "Expiration": expiration}
    imds = aws_metadata_standin.AwsMetadataStandIn(
        role="logferry-node", role_credentials=key).start()
    scratch.defer(imds.stop)

    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "keys": [{"access_key_id": key["AccessKeyId"],
                  "secret_access_key": key["SecretAccessKey"],
                  "session_token": key["Token"]}]})
    path = write_seq(scratch, "a.log", [(now_utc(), i) for i in range(2)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url)
    proc = run_once(scratch, config, env=cw_env({
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
        "AWS_EC2_METADATA_DISABLED": "",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url + "/"}))

    check_eq([(r["method"], r["path"], r["status"], r["token"], r["ttl"])
              for r in imds.requests], [
        ("PUT", "/latest/api/token", 200, None, "21600"),
        ("GET", "/latest/meta-data/iam/security-credentials/", 200,
         "valid", None),
        ("GET", "/latest/meta-data/iam/security-credentials/logferry-node",
         200, "valid", None)], "IMDS requests")

    puts = standin.puts()
    check_eq([(p["status"], p["access_key_id"]) for p in puts],
             [(200, key["AccessKeyId"])], "PutLogEvents requests")
    check_eq(len(standin.events("/test/app", "main")), 2, "events stored")
    check_no_secret(proc.stderr, [key["SecretAccessKey"], key["Token"]])


def test_no_credentials_found(scratch):
    standin = CwStandIn(scratch)
    path = write_seq(scratch, "a.log", [(now_utc(), 1)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             **{"shutdown.timeout": "2s"})
    proc = run_once(scratch, config, expect_rc=1, env=cw_env({
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}))
    check_eq(proc.stderr.count("no AWS credentials found"), 1,
             "logged lookups")
    check_eq(standin.state()["requests"], [], "stand-in requests")


def test_assume_role(scratch):
    role_arn = "arn:aws:iam::123456789012:role/logferry-writer"
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "sts": {"assume_role_arn": role_arn, "ttl_s": 3600}})
    path = write_seq(scratch, "a.log", [(now_utc(), i) for i in range(2)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url, {
        "role_arn": role_arn, "role_session_name": "shipper-1",
        "external_id": "ext-42"})
    proc = run_once(scratch, config, env=cw_env({
        "AWS_ENDPOINT_URL_STS": standin.url + "/sts/"}))
    state = standin.state()
    assumes = [r for r in state["requests"]
               if r["operation"] == "AssumeRole"]
    check_eq([(r["status"], r["access_key_id"], r["role_arn"], r["session"],
               r["external_id"]) for r in assumes],
             [(200, "AKIDLOGFERRYTEST01", role_arn, "shipper-1", "ext-42")],
             "AssumeRole calls")
    puts = standin.puts(state)
    check_eq([(p["status"], p["access_key_id"]) for p in puts],
             [(200, state["sts_keys"][0])], "PutLogEvents requests")
    check_eq(len(state["groups"]["/test/app"]["streams"]["main"]), 2,
             "events stored")
    check_no_secret(proc.stderr, ["stssecret-", "ststoken-"])


def test_throttled_stream_not_blocking(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["slow", "fast"]}}})
    standin.faults({"operation": "PutLogEvents", "stream": "slow",
                    "count": 3, "status": 400,
                    "code": "ThrottlingException",
                    "message": "Rate exceeded"})
    moment = now_utc() - datetime.timedelta(seconds=10)
    slow = write_seq(scratch, "slow.log", [(moment, 1)])
    fast = write_seq(scratch, "fast.log", [(moment, 2)])
    inputs = [seq_input([slow], "slow", fields={"service.name": "slow"}),
              seq_input([fast], "fast", fields={"service.name": "fast"})]
    config = write_cw_config(scratch, inputs, standin.url, {
        "log_stream": "{service.name}", "backoff.init": "1s",
        "backoff.max": "10s"})
    run_once(scratch, config, env=cw_env())
    puts = standin.puts()
    check_eq([(p["stream"], p["status"]) for p in puts if
              p["stream"] == "slow"],
             [("slow", 400)] * 3 + [("slow", 200)], "slow stream requests")
    fast_puts = [p for p in puts if p["stream"] == "fast"]
    check_eq([p["status"] for p in fast_puts], [200], "fast stream requests")
    slow_first = [p["time"] for p in puts if p["stream"] == "slow"][0]
    check(fast_puts[0]["time"] - slow_first < 0.5,
          "the fast stream waited %.3f s for the throttled one"
          % (fast_puts[0]["time"] - slow_first))
    check_eq(len(standin.events("/test/app", "fast")), 1, "fast events")
    check_eq(len(standin.events("/test/app", "slow")), 1, "slow events")


def test_profile_role_with_source_profile(scratch):
    role_arn = "arn:aws:iam::123456789012:role/logferry-profile-role"
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "sts": {"assume_role_arn": role_arn}})
    credentials = scratch.write("aws/credentials",
                                "[base]\n"
                                "aws_access_key_id = AKIDLOGFERRYTEST01\n"
                                "aws_secret_access_key = "
                                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLOGFERRY01\n")
    aws_config = scratch.write("aws/config",
                               "[profile shipper]\n"
                               "role_arn = %s\n"
                               "source_profile = base\n"
                               "role_session_name = profile-session\n"
                               "external_id = ext-7\n" % role_arn)
    path = write_seq(scratch, "a.log", [(now_utc(), 1)])
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             {"profile": "shipper"})
    run_once(scratch, config, env=cw_env({
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": credentials,
        "AWS_CONFIG_FILE": aws_config,
        "AWS_ENDPOINT_URL_STS": standin.url + "/sts/"}))

    state = standin.state()
    assumes = [r for r in state["requests"]
               if r["operation"] == "AssumeRole"]
    check_eq([(r["status"], r["access_key_id"], r["role_arn"], r["session"],
               r["external_id"]) for r in assumes],
             [(200, "AKIDLOGFERRYTEST01", role_arn, "profile-session",
               "ext-7")], "AssumeRole calls")
    check_eq([(p["status"], p["access_key_id"])
              for p in standin.puts(state)],
             [(200, state["sts_keys"][0])], "PutLogEvents requests")


def test_large_event_split(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}, "max_event_bytes": 262144})
    line = "s" + "\u00e9" * (300 * 1024)
    path = scratch.write("a.log", line + "\nafter\n")
    config = write_cw_config(scratch, [{"id": "raw", "paths": [path],
                                        "max_line_bytes": "1MiB"}],
                             standin.url, {"max_event_bytes": 262144})
    proc = run_once(scratch, config, env=cw_env())

    events = standin.events("/test/app", "main")
    messages = [e["message"] for e in events]
    check_eq(len(messages), 4, "stored events")
    check_eq("".join(messages[:3]), line, "parts joined")
    for i, message in enumerate(messages[:3]):
        check(len(message.encode("utf-8")) + 26 <= 262144,
              "part %d has %d bytes" % (i, len(message.encode("utf-8"))))
    check_eq(messages[3], "after", "event after the split one")
    check_eq(len(set(e["timestamp"] for e in events[:3])), 1,
             "timestamps of the parts")
    counters = summary_counters(proc.stderr)
    check_eq(counters["split_events"], 1, "split_events")
    check_eq(counters["split_parts"], 3, "split_parts")
    check_eq(counters["delivered"], 2, "delivered")


def run_split_across_batches(scratch, *faults):
    """Ship one line split into three parts, each in its own request
    because max_batch_bytes fits one part, then the line "after".
    Returns (line, stand-in, agent run)."""
    standin = CwStandIn(scratch, {"groups": {"/test/app": {
        "streams": ["main"]}}, "max_event_bytes": 262144})
    standin.faults(*faults)
    line = "s" + "\u00e9" * (300 * 1024)
    path = scratch.write("a.log", line + "\nafter\n")
    config = write_cw_config(scratch, [{"id": "raw", "paths": [path],
                                        "max_line_bytes": "1MiB"}],
                             standin.url, {"max_event_bytes": 262144,
                                           "max_batch_bytes": 300000,
                                           "backoff.init": "100ms"})
    rejects = any("reject" in f and f["reject"] for f in faults)
    proc = run_once(scratch, config, expect_rc=1 if rejects else 0,
                    env=cw_env())
    return line, standin, proc


def split_parts(line):
    """The parts of `line` as the agent cuts them for 262,144-byte events:
    262,118 message bytes at most, cut at a character boundary."""
    data = line.encode("utf-8")
    parts = []
    while data:
        n = min(len(data), 262144 - 26)
        while n < len(data) and (data[n] & 0xC0) == 0x80:
            n -= 1
        parts.append(data[:n].decode("utf-8"))
        data = data[n:]
    return parts


def test_split_part_rejected(scratch):
    # The first request stores part 1; the second has its one entry,
    # part 2, marked expired.
    line, standin, proc = run_split_across_batches(
        scratch,
        {"operation": "PutLogEvents", "count": 1, "reject": {}},
        {"operation": "PutLogEvents", "count": 1, "reject": {"expired": 1}})
    parts = split_parts(line)
    check_eq(len(parts), 3, "parts")
    puts = standin.puts()
    check_eq([p["status"] for p in puts], [200, 200, 200], "PutLogEvents")
    check_eq(sum(p["event_count"] for p in puts), 4, "entries sent")
    messages = [e["message"] for e in standin.events("/test/app", "main")]
    check_eq(messages, [parts[0], parts[2], "after"], "stored events")
    counters = summary_counters(proc.stderr)
    check_eq(counters["split_events"], 1, "split_events")
    check_eq(counters["split_parts"], 3, "split_parts")
    check_eq(counters["rejected_expired"], 1, "rejected_expired")
    check_eq(counters["rejected"], 1, "rejected")
    check_eq(counters["delivered"], 1, "delivered")


def test_split_part_retried(scratch):
    # Part 2 is throttled once; its request is sent again, part 1 is not.
    line, standin, proc = run_split_across_batches(
        scratch,
        {"operation": "PutLogEvents", "count": 1, "reject": {}},
        {"operation": "PutLogEvents", "count": 1, "status": 400,
         "code": "ThrottlingException", "message": "Rate exceeded"})
    parts = split_parts(line)
    puts = standin.puts()
    check_eq([p["status"] for p in puts], [200, 400, 200, 200],
             "PutLogEvents")
    check_eq([p["event_count"] for p in puts[:3]], [1, 1, 1],
             "entries of the first three requests")
    check_eq(sum(p["event_count"] for p in puts), 5, "entries sent")
    messages = [e["message"] for e in standin.events("/test/app", "main")]
    check_eq(messages, parts + ["after"], "stored events")
    counters = summary_counters(proc.stderr)
    check_eq(counters["throttled"], 1, "throttled")
    check_eq(counters["retries"], 1, "retries")
    check_eq(counters["rejected"], 0, "rejected")
    check_eq(counters["delivered"], 2, "delivered")


def test_test_output_command(scratch):
    standin = CwStandIn(scratch, {"groups": {"/test/app": {}}})
    config = write_cw_config(scratch, [seq_input([scratch.join("a.log")])],
                             standin.url)
    proc = run_agent(["test", "output", "-c", config], env=cw_env())
    check_eq(proc.returncode, 0, "exit status; stderr: %s" % proc.stderr)
    check_eq(proc.stdout.splitlines(), [
        "output.cloudwatch: log group /test/app, region eu-west-1, "
        "endpoint %s" % standin.url,
        "credentials: OK: environment, access key AKIDLOGFERRYTEST01",
        "access: OK: DescribeLogGroups succeeded",
        "log group: /test/app exists",
        "Result: OK: the output can ship"], "output")

    proc = run_agent(["test", "output", "-c", config], env=cw_env({
        "AWS_SECRET_ACCESS_KEY": "not-the-secret"}))
    check_eq(proc.returncode, 1, "exit status with a wrong secret")
    check_eq(proc.stdout.splitlines()[2:], [
        "access: FAILED: DescribeLogGroups: HTTP 403 "
        "InvalidSignatureException: The request signature we calculated "
        "does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method.",
        "Result: FAILED: the output cannot ship"], "output")
    check("not-the-secret" not in proc.stdout + proc.stderr,
          "test output printed the secret")
    check_eq([r["operation"] for r in standin.state()["requests"]],
             ["DescribeLogGroups", "DescribeLogGroups"], "requests")


TESTS = [
    test_access_denied_kept_and_retried,
    test_auto_create_with_retention,
    test_missing_group_without_auto_create,
    test_name_templates,
    test_format_json,
    test_batch_order_and_span,
    test_batch_limits,
    test_large_event_split,
    test_split_part_rejected,
    test_split_part_retried,
    test_throttling_retried,
    test_service_unavailable_retried,
    test_throttled_create_stream,
    test_throttled_stream_not_blocking,
    test_rejected_events_counted,
    test_sequence_tokens_two_writers,
    test_data_already_accepted,
    test_modern_mode_sends_no_token,
    test_ecs_credentials_rotate,
    test_ecs_key_revoked,
    test_web_identity_credentials,
    test_web_identity_rejected,
    test_imds_instance_profile,
    test_no_credentials_found,
    test_assume_role,
    test_profile_role_with_source_profile,
    test_test_output_command,
]

if __name__ == "__main__":
    main(TESTS)
