"""Credentials of the CloudWatch Logs output from the AWS shared files:
source_profile chains, credential_source, credential_process (its
output, refresh, failure and time limit) and the errors of a bad chain.
STS and the ECS credentials endpoint are the CloudWatch stand-in's, on
127.0.0.1, and it checks every signature with botocore."""

import datetime
import json
import os
import sys
import time

from harness import check, check_eq, main, run_once, Agent, wait_until
from cw_harness import (ACCESS_KEY_ID, SECRET_ACCESS_KEY, CwStandIn, cw_env,
                        seq_input, write_cw_config, iso, now_utc,
                        summary_counters)

ROLE_HOP = "arn:aws:iam::123456789012:role/logferry-hop"
ROLE_APP = "arn:aws:iam::123456789012:role/logferry-app"

KEY_BASE = {"access_key_id": "AKIDLOGFERRYBASE0002",
            "secret_access_key": "baseSecretKeyOfTheProfileChainLOGFERRY2"}

# Keys that the credential_process script hands out, one per run.
PROCESS_KEYS = [{"access_key_id": "ASIAPROCESSLOGFERRY%d" % n,
                 "secret_access_key": "processSecret%d-LOGFERRY-0000000000" % n,
                 "session_token": "process-token-%d-LOGFERRY" % n}
                for n in range(1, 9)]

# The credential_process script. It counts its runs in a file next to
# itself, records its arguments, and behaves as its first argument
# selects.
PROCESS_SCRIPT = r'''
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
counter = os.path.join(here, "runs")
runs = int(open(counter).read()) if os.path.exists(counter) else 0
with open(counter, "w") as f:
    f.write(str(runs + 1))
with open(os.path.join(here, "argv.json"), "w") as f:
    json.dump(sys.argv[1:], f)
with open(os.path.join(here, "pid"), "w") as f:
    f.write(str(os.getpid()))
keys = json.load(open(os.path.join(here, "keys.json")))
mode = sys.argv[1]
if mode == "fail":
    print(json.dumps({"Version": 1, "AccessKeyId": "AKIDNOTUSED",
                      "SecretAccessKey": "stdoutSecretNeverLogged"}))
    sys.stderr.write("token expired:\n  run corp-login again\n")
    sys.exit(3)
if mode == "hang":
    sys.stderr.write("waiting for the vault\n")
    sys.stderr.flush()
    time.sleep(60)
if mode == "version2":
    print(json.dumps({"Version": 2, "AccessKeyId": "AKIDNOTUSED",
                      "SecretAccessKey": "version2SecretNeverLogged"}))
    sys.exit(0)
key = keys[min(runs, len(keys) - 1)]
out = {"Version": 1, "AccessKeyId": key["access_key_id"],
       "SecretAccessKey": key["secret_access_key"],
       "SessionToken": key["session_token"]}
if mode == "expiring":
    out["Expiration"] = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + float(sys.argv[2])))
sys.stderr.write("issued key %d\n" % runs)
print(json.dumps(out))
'''


def write_process_script(scratch):
    """Write the script and its keys into a directory whose name has a
    blank; return the directory."""
    directory = scratch.join("cred helper")
    os.makedirs(directory, exist_ok=True)
    scratch.write("cred helper/creds.py", PROCESS_SCRIPT)
    scratch.write("cred helper/keys.json", json.dumps(PROCESS_KEYS))
    return directory


def process_command(directory, *args):
    """credential_process value: the interpreter, the script path quoted
    because of its blank, then `args`."""
    return '%s "%s/creds.py" %s' % (sys.executable, directory,
                                    " ".join(args))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def profile_env(scratch, config_text, credentials_text="", extra=None):
    env = {"AWS_CONFIG_FILE": scratch.write("aws/config", config_text),
           "AWS_SHARED_CREDENTIALS_FILE":
               scratch.write("aws/credentials", credentials_text)}
    env.update(extra or {})
    return cw_env(env)


def write_lines(scratch, count):
    base = now_utc() - datetime.timedelta(minutes=1)
    text = "".join("%s seq=%d\n" % (iso(base + datetime.timedelta(
        milliseconds=i)), i) for i in range(count))
    return scratch.write("a.log", text)


def assume_role_calls(state):
    return [(r["status"], r.get("access_key_id"), r.get("role_arn"),
             r.get("session"), r.get("external_id"))
            for r in state["requests"] if r["operation"] == "AssumeRole"]


def check_no_secret(stderr, secrets):
    for secret in secrets:
        check(secret not in stderr, "the agent logged a secret (%s...)"
              % secret[:8])


def test_source_profile_chain(scratch):
    # app assumes its role with the credentials of hop, which assumes its
    # own role with the keys of base. The environment's keys lose to the
    # profile set in the configuration.
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "keys": [{"access_key_id": ACCESS_KEY_ID,
                  "secret_access_key": SECRET_ACCESS_KEY}, KEY_BASE],
        "sts": {"assume_role_arn": [ROLE_HOP, ROLE_APP]}})
    env = profile_env(scratch,
                      "[profile app]\n"
                      "role_arn = %s\n"
                      "source_profile = hop\n"
                      "role_session_name = app-session\n"
                      "[profile hop]\n"
                      "role_arn = %s\n"
                      "source_profile = base\n"
                      "role_session_name = hop-session\n"
                      "external_id = ext-hop\n" % (ROLE_APP, ROLE_HOP),
                      "[base]\n"
                      "aws_access_key_id = %s\n"
                      "aws_secret_access_key = %s\n"
                      % (KEY_BASE["access_key_id"],
                         KEY_BASE["secret_access_key"]),
                      {"AWS_ENDPOINT_URL_STS": standin.url + "/sts/"})
    config = write_cw_config(scratch, [seq_input([write_lines(scratch, 3)])],
                             standin.url, {"profile": "app"})
    proc = run_once(scratch, config, env=env)

    state = standin.state()
    hop_key, app_key = state["sts_keys"]
    check_eq(assume_role_calls(state), [
        (200, KEY_BASE["access_key_id"], ROLE_HOP, "hop-session", "ext-hop"),
        (200, hop_key, ROLE_APP, "app-session", None)], "AssumeRole calls")
    check_eq([(p["status"], p["access_key_id"])
              for p in standin.puts(state)], [(200, app_key)],
             "PutLogEvents requests")
    check_eq(len(standin.events("/test/app", "main")), 3, "events stored")
    check_no_secret(proc.stderr, [KEY_BASE["secret_access_key"],
                                  "stssecret-", "ststoken-"])


def test_source_profile_loop(scratch):
    standin = CwStandIn(scratch)
    env = profile_env(scratch,
                      "[profile a]\n"
                      "role_arn = %s\n"
                      "source_profile = b\n"
                      "[profile b]\n"
                      "role_arn = %s\n"
                      "source_profile = a\n" % (ROLE_APP, ROLE_HOP),
                      extra={"AWS_ACCESS_KEY_ID": "",
                             "AWS_SECRET_ACCESS_KEY": "",
                             "AWS_PROFILE": "a"})
    config = write_cw_config(scratch, [seq_input([write_lines(scratch, 1)])],
                             standin.url, **{"shutdown.timeout": "2s"})
    proc = run_once(scratch, config, expect_rc=1, env=env)
    check_eq(proc.stderr.count(
        "reading AWS profile 'a' failed: AWS profiles form a source_profile "
        "loop: a -> b -> a; end the chain at a profile with keys, "
        "credential_process or credential_source; retrying every 1s"), 1,
        "logged loop errors")
    check_eq(standin.state()["requests"], [], "stand-in requests")


def test_credential_source_ecs(scratch):
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "ecs": {"token": "ecs-auth-token-7", "rotate_s": 300, "ttl_s": 3600},
        "sts": {"assume_role_arn": ROLE_APP}})
    env = profile_env(scratch,
                      "[profile task]\n"
                      "role_arn = %s\n"
                      "credential_source = EcsContainer\n" % ROLE_APP,
                      extra={"AWS_ACCESS_KEY_ID": "",
                             "AWS_SECRET_ACCESS_KEY": "",
                             "AWS_PROFILE": "task",
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                                 standin.url + "/ecs/credentials",
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN":
                                 "ecs-auth-token-7",
                             "AWS_ENDPOINT_URL_STS": standin.url + "/sts/"})
    config = write_cw_config(scratch, [seq_input([write_lines(scratch, 2)])],
                             standin.url)
    proc = run_once(scratch, config, env=env)

    state = standin.state()
    check_eq([r["operation"] for r in state["requests"]],
             ["EcsCredentials", "AssumeRole", "PutLogEvents"], "requests")
    calls = assume_role_calls(state)
    check_eq([(c[0], c[1], c[2]) for c in calls],
             [(200, state["ecs_keys"][0], ROLE_APP)], "AssumeRole calls")
    check(calls[0][3].startswith("logferry-"),
          "default session name: %r" % calls[0][3])
    check_eq([(p["status"], p["access_key_id"])
              for p in standin.puts(state)], [(200, state["sts_keys"][0])],
             "PutLogEvents requests")
    check_no_secret(proc.stderr, ["ecs-auth-token-7", "secret-",
                                  "stssecret-"])


def test_credential_process(scratch):
    directory = write_process_script(scratch)
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "keys": PROCESS_KEYS})
    env = profile_env(scratch,
                      "[profile helper]\n"
                      "credential_process = %s\n"
                      % process_command(directory, "static",
                                        "'two words'", 'a\\"b'),
                      extra={"AWS_PROFILE": "helper"})
    config = write_cw_config(scratch, [seq_input([write_lines(scratch, 2)])],
                             standin.url, {"profile": "helper"})
    proc = run_once(scratch, config, env=env)

    check_eq(read_json(os.path.join(directory, "argv.json")),
             ["static", "two words", 'a"b'], "arguments of the command")
    with open(os.path.join(directory, "runs")) as f:
        check_eq(f.read(), "1", "runs of the command")
    check_eq([(p["status"], p["access_key_id"]) for p in standin.puts()],
             [(200, PROCESS_KEYS[0]["access_key_id"])],
             "PutLogEvents requests")
    check_no_secret(proc.stderr, ["processSecret", "process-token-"])


def test_credential_process_refresh(scratch):
    # Each key expires 8 s after issue, so it is fetched again about 4 s
    # later, before its last 2 s (a quarter of its life).
    directory = write_process_script(scratch)
    standin = CwStandIn(scratch, {
        "groups": {"/test/app": {"streams": ["main"]}},
        "keys": PROCESS_KEYS})
    env = profile_env(scratch,
                      "[profile helper]\n"
                      "credential_process = %s\n"
                      % process_command(directory, "expiring", "8"),
                      extra={"AWS_ACCESS_KEY_ID": "",
                             "AWS_SECRET_ACCESS_KEY": "",
                             "AWS_PROFILE": "helper"})
    path = scratch.write("a.log", "")
    config = write_cw_config(scratch, [seq_input([path])], standin.url,
                             {"flush_interval": "100ms"})
    agent = Agent(scratch, config, env=env)
    base = now_utc() - datetime.timedelta(minutes=1)
    count = 90
    started = time.monotonic()
    for i in range(count):
        scratch.append(path, "%s seq=%d\n" % (
            iso(base + datetime.timedelta(milliseconds=i)), i))
        time.sleep(max(0, started + (i + 1) * 0.1 - time.monotonic()))
    wait_until(lambda: len(standin.events("/test/app", "main")) >= count,
               20, "%d stored events" % count)
    check_eq(agent.stop(), 0, "exit status")

    puts = standin.puts()
    check_eq([p for p in puts if p["status"] != 200], [],
             "failed PutLogEvents requests")
    used = []
    for p in puts:
        if not used or used[-1] != p["access_key_id"]:
            used.append(p["access_key_id"])
    check(len(used) >= 2, "one key used for the whole run: %s" % used)
    check_eq(used, [k["access_key_id"] for k in PROCESS_KEYS[:len(used)]],
             "keys in issue order")
    events = standin.events("/test/app", "main")
    check_eq(sorted(int(e["message"].split("seq=")[1]) for e in events),
             list(range(count)), "stored seq numbers")
    with open(agent.stderr_path, errors="replace") as f:
        check_no_secret(f.read(), ["processSecret", "process-token-"])


def run_failing_process(scratch, args, timeout="5s"):
    directory = write_process_script(scratch)
    standin = CwStandIn(scratch)
    env = profile_env(scratch,
                      "[profile helper]\n"
                      "credential_process = %s\n"
                      % process_command(directory, *args),
                      extra={"AWS_ACCESS_KEY_ID": "",
                             "AWS_SECRET_ACCESS_KEY": "",
                             "AWS_PROFILE": "helper"})
    config = write_cw_config(scratch, [seq_input([write_lines(scratch, 1)])],
                             standin.url,
                             {"credential_process_timeout": timeout},
                             **{"shutdown.timeout": "2s"})
    proc = run_once(scratch, config, expect_rc=1, env=env)
    check_eq(standin.state()["requests"], [], "stand-in requests")
    return directory, proc


def test_credential_process_fails(scratch):
    _, proc = run_failing_process(scratch, ["fail"])
    check_eq(proc.stderr.count(
        "credential_process of AWS profile 'helper' exited with status 3; "
        "standard error: 'token expired:   run corp-login again'; retrying "
        "every 1s"), 1, "logged failures")
    check_no_secret(proc.stderr, ["stdoutSecretNeverLogged"])


def test_credential_process_bad_version(scratch):
    _, proc = run_failing_process(scratch, ["version2"])
    check_eq(proc.stderr.count(
        "invalid output of credential_process of AWS profile 'helper': "
        "Version is not 1; retrying every 1s"), 1, "logged failures")
    check_no_secret(proc.stderr, ["version2SecretNeverLogged"])


def test_credential_process_timeout(scratch):
    directory, proc = run_failing_process(scratch, ["hang"], "500ms")
    check_eq(proc.stderr.count(
        "credential_process of AWS profile 'helper' timed out after 500ms "
        "and was killed; standard error: 'waiting for the vault'; retrying "
        "every 1s"), 1, "logged time-outs")
    with open(os.path.join(directory, "pid")) as f:
        pid = int(f.read())

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    # The last run was killed when the agent stopped; init may take a
    # moment to reap it.
    wait_until(gone, 5, "end of the command %d" % pid)


TESTS = [
    test_source_profile_chain,
    test_source_profile_loop,
    test_credential_source_ecs,
    test_credential_process,
    test_credential_process_refresh,
    test_credential_process_fails,
    test_credential_process_bad_version,
    test_credential_process_timeout,
]

if __name__ == "__main__":
    main(TESTS)
