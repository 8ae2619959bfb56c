#!/usr/bin/env python3
"""Soak run of the CloudWatch Logs output against the strict stand-in.

logferry runs as an agent and tails a file that this script appends to
at a fixed rate. Its credentials come from the stand-in's ECS container
credentials endpoint, which issues a new key every `--rotate` seconds
that expires `--ttl` seconds after issue. The stand-in also fails a
share (`--throttle`) of PutLogEvents requests with ThrottlingException.
At the end the script stops logferry with SIGTERM, checks that every
line was stored exactly once, and prints the request counts.

Usage: bench/cw_soak.py [--duration S] [--rate LINES_PER_S] [--ttl S]
                        [--rotate S] [--throttle P] [--logferry PATH]
"""

import argparse
import collections
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STANDIN = os.path.join(ROOT, "tests", "standin", "cwl_standin.py")
ECS_TOKEN = "soak-ecs-authorization-token"

CONFIG = """\
path.data: {data}
inputs:
  - id: app
    paths: ["{log}"]
output.cloudwatch:
  region: eu-west-1
  endpoint: http://127.0.0.1:{port}
  log_group: /soak/app
  log_stream: main
  flush_interval: 1s
  backoff.init: 200ms
  backoff.max: 5s
shutdown.timeout: 60s
logging.level: warn
"""


def control(port, action, body):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/_standin/%s" % (port, action),
        data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=1800)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--ttl", type=int, default=300)
    parser.add_argument("--rotate", type=int, default=240)
    parser.add_argument("--throttle", type=float, default=0.1)
    parser.add_argument("--logferry",
                        default=os.path.join(ROOT, "build", "agent",
                                             "logferry"))
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="lf-cwsoak-")
    port_file = os.path.join(work, "cwl.port")
    standin = subprocess.Popen(["/usr/bin/python3", STANDIN, "--port", "0",
                                "--port-file", port_file])
    agent = None
    try:
        while not os.path.exists(port_file):
            time.sleep(0.05)
        with open(port_file) as f:
            port = int(f.read())
        control(port, "config", {
            "groups": {"/soak/app": {"streams": ["main"]}},
            "ecs": {"token": ECS_TOKEN, "rotate_s": args.rotate,
                    "ttl_s": args.ttl}})
        control(port, "faults", {"faults": [{
            "operation": "PutLogEvents", "probability": args.throttle,
            "status": 400, "code": "ThrottlingException",
            "message": "Rate exceeded"}]})
        log = os.path.join(work, "app.log")
        open(log, "w").close()
        config = os.path.join(work, "logferry.yml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data=os.path.join(work, "data"), log=log,
                                  port=port))
        token_file = os.path.join(work, "ecs-token")
        with open(token_file, "w") as f:
            f.write(ECS_TOKEN)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_")}
        env.update({
            "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                "http://127.0.0.1:%d/ecs/credentials" % port,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": token_file,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent", "TZ": "UTC"})
        agent = subprocess.Popen([args.logferry, "-c", config], env=env,
                                 stderr=open(os.path.join(work, "agent.err"),
                                             "w"))
        total = int(args.duration * args.rate)
        started = time.monotonic()
        with open(log, "a") as out:
            for i in range(total):
                now = datetime.datetime.now(datetime.timezone.utc)
                out.write("%s seq=%d %s\n" % (
                    now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", i,
                    "x" * 80))
                if i % args.rate == args.rate - 1:
                    out.flush()
                    delay = started + (i + 1) / args.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
        written = time.monotonic() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/_standin/state" % port,
                    timeout=60) as resp:
                state = json.loads(resp.read())
            stored = state["groups"]["/soak/app"]["streams"]["main"]
            if len(stored) >= total:
                break
            time.sleep(2)
        agent.send_signal(signal.SIGTERM)
        status = agent.wait(120)
        counts = collections.Counter(
            int(e["message"].split("seq=")[1].split()[0]) for e in stored)
        missing = [i for i in range(total) if counts[i] == 0]
        duplicated = [i for i, n in counts.items() if n > 1]
        puts = [r for r in state["requests"]
                if r["operation"] == "PutLogEvents"]
        by_code = collections.Counter(r.get("code") or str(r["status"])
                                      for r in puts)
        print("duration %.0f s at %d lines/s: %d lines written in %.1f s"
              % (args.duration, args.rate, total, written))
        print("credentials: ttl %d s, new key every %d s, %d keys issued, "
              "%d fetches" % (args.ttl, args.rotate, len(state["ecs_keys"]),
                              sum(1 for r in state["requests"]
                                  if r["operation"] == "EcsCredentials")))
        print("PutLogEvents requests: %d (%s)" % (
            len(puts), ", ".join("%s %d" % kv for kv in sorted(
                by_code.items()))))
        print("stored %d events: %d missing, %d duplicated; agent exit "
              "status %d" % (len(stored), len(missing), len(duplicated),
                             status))
        return 0 if not missing and not duplicated and status == 0 else 1
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait()
        standin.terminate()
        standin.wait()
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
