"""Helpers of the CloudWatch Logs tests: the stand-in of
tests/standin/cwl_standin.py run as a subprocess of /usr/bin/python3
(Debian's interpreter, which has python3-botocore), its control API, and
configurations with `output.cloudwatch`."""

import datetime
import json
import os
import subprocess
import urllib.request

from harness import TestFailure, wait_until, yaml_block

SYSTEM_PYTHON = "/usr/bin/python3"
STANDIN = os.path.join(os.environ.get("LF_SOURCE_ROOT", "."), "tests",
                       "standin", "cwl_standin.py")

ACCESS_KEY_ID = "AKIDLOGFERRYTEST01"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLOGFERRY01"
REGION = "eu-west-1"

# Lines of the CloudWatch tests: an ISO 8601 time and a sequence number.
SEQ_PATTERN = r"^(?<ts>\S+) seq=(?<seq>\d+)"


def botocore_available():
    """Return None when /usr/bin/python3 imports botocore, else why not."""
    try:
        proc = subprocess.run([SYSTEM_PYTHON, "-c", "import botocore"],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)
    except OSError as exc:
        return "%s cannot run: %s" % (SYSTEM_PYTHON, exc)
    if proc.returncode != 0:
        return ("%s has no botocore: install python3-botocore "
                "(tests/deps.sh does)" % SYSTEM_PYTHON)
    return None


class CwStandIn:
    """The stand-in process, its URL and control calls."""

    def __init__(self, scratch, config=None):
        missing = botocore_available()
        if missing is not None:
            raise TestFailure(missing)
        port_file = scratch.join("cwl.port")
        cfg = {"keys": [{"access_key_id": ACCESS_KEY_ID,
                         "secret_access_key": SECRET_ACCESS_KEY}]}
        cfg.update(config or {})
        cfg_path = scratch.write("cwl-config.json", json.dumps(cfg))
        self.log_path = scratch.join("cwl.stderr")
        with open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(
                [SYSTEM_PYTHON, STANDIN, "--port", "0", "--port-file",
                 port_file, "--config", cfg_path],
                stdout=subprocess.DEVNULL, stderr=err)
        scratch.defer(self.stop)
        wait_until(lambda: os.path.exists(port_file) or
                   self.proc.poll() is not None, 20, "stand-in start")
        if self.proc.poll() is not None:
            with open(self.log_path, errors="replace") as f:
                raise TestFailure("the CloudWatch Logs stand-in exited: %s"
                                  % f.read()[-2000:])
        with open(port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _post(self, action, body):
        req = urllib.request.Request(
            "%s/_standin/%s" % (self.url, action),
            data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def configure(self, **cfg):
        self._post("config", cfg)

    def faults(self, *rules):
        self._post("faults", {"faults": list(rules)})

    def revoke(self):
        self._post("revoke", {})

    def state(self):
        with urllib.request.urlopen(self.url + "/_standin/state",
                                    timeout=30) as resp:
            return json.loads(resp.read())

    def events(self, group, stream):
        groups = self.state()["groups"]
        return groups.get(group, {}).get("streams", {}).get(stream)

    def puts(self, state=None):
        """The PutLogEvents requests, in arrival order."""
        state = state or self.state()
        return [r for r in state["requests"]
                if r["operation"] == "PutLogEvents"]


def cw_env(extra=None):
    """Environment with the stand-in's static key and nothing that could
    make the agent find other credentials or contact an address other
    than 127.0.0.1 (IMDS is disabled)."""
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
           "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
           "AWS_SESSION_TOKEN": "",
           "AWS_REGION": "",
           "AWS_DEFAULT_REGION": "",
           "AWS_PROFILE": "",
           "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
           "AWS_WEB_IDENTITY_TOKEN_FILE": "",
           "AWS_ROLE_ARN": "",
           "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": "",
           "AWS_ENDPOINT_URL_STS": "",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
           "AWS_CONFIG_FILE": "/nonexistent/config"}
    env.update(extra or {})
    return env


def seq_input(paths, input_id="app", **extra):
    spec = {"id": input_id, "paths": list(paths),
            "fields": {"service.name": "rewards-api"},
            "parsers": [{"regex": {"pattern": SEQ_PATTERN, "fields": {
                "ts": {"field": "@timestamp", "type": "timestamp"},
                "seq": {"field": "labels.seq"}}}}]}
    spec.update(extra)
    return spec


def write_cw_config(scratch, inputs, endpoint, output=None,
                    name="logferry.yml", **top):
    out = {"region": REGION, "endpoint": endpoint,
           "log_group": "/test/app", "log_stream": "main",
           "flush_interval": "200ms", "backoff.init": "100ms",
           "backoff.max": "1s"}
    out.update(output or {})
    config = {"path.data": scratch.join("data"), "inputs": inputs,
              "output.cloudwatch": out, "shutdown.timeout": "20s",
              "logging.level": "info"}
    config.update(top)
    text = "\n".join(yaml_block(config)) + "\n"
    return scratch.write(name, text)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (moment.microsecond // 1000)


def ms(moment):
    return int(moment.timestamp() * 1000)


def now_utc():
    """The current UTC time, cut to milliseconds as logferry keeps it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def summary_counters(stderr, component="cloudwatch"):
    """The key=value counters of the output's summary line."""
    for line in reversed(stderr.splitlines()):
        if (" %s" % component) in line and "summary:" in line:
            fields = line.split("summary:", 1)[1].split()
            return {k: int(v) for k, v in
                    (f.split("=", 1) for f in fields)}
    raise TestFailure("no %s summary line in: %s" % (component,
                                                     stderr[-2000:]))

