"""A real Python program logging through the logging module while the
agent tails its file: every line arrives, levels are normalised, and the
lines of a traceback are separate events tagged _parse_failure."""

import datetime
import subprocess
import sys

import harness
from harness import check, check_eq, field

PROGRAM = r'''
import logging
import sys
import time

class Txn(logging.Filter):
    """Give every record the transaction id of the request it serves."""
    def __init__(self):
        super().__init__()
        self.txn = "boot"
    def filter(self, record):
        record.txn = self.txn
        return True

handler = logging.FileHandler(sys.argv[1], encoding="utf-8")
handler.setFormatter(logging.Formatter(
    "%(asctime)s %(levelname)s [txn=%(txn)s] %(name)s: %(message)s"))
txn = Txn()
handler.addFilter(txn)
log = logging.getLogger("rewards.api")
log.addHandler(handler)
log.setLevel(logging.DEBUG)

def redeem(points, balance):
    if points > balance:
        raise ValueError("points %d exceed balance %d" % (points, balance))
    return balance - points

for n in range(int(sys.argv[2])):
    txn.txn = "t%05d" % n
    log.debug("loading account %d", n)
    log.info("redeem request points=%d", n * 3)
    if n % 10 == 3:
        log.warning("slow upstream: catalog answered in %d ms", 900 + n)
    if n % 25 == 7:
        try:
            redeem(n * 100, 5)
        except ValueError:
            log.exception("redeem failed for account %d", n)
    if n % 40 == 11:
        log.error("payment gateway unreachable (café ☕ branch)")
    if n % 50 == 17:
        log.critical("ledger out of sync; refusing writes")
    time.sleep(0.002)
'''

PATTERN = (r"^(?<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) "
           r"(?<level>[A-Z]+) \[txn=(?<txn>\w+)\] ")
LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn",
          "ERROR": "error", "CRITICAL": "fatal"}


def expected_timestamp(line):
    stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + line[20:23] + "Z"


def test_python_logging_program(scratch):
    standin = scratch.standin()
    path = scratch.join("logs", "service.log")
    program = scratch.write("service.py", PROGRAM)
    config = harness.write_config(scratch, [{
        "id": "python", "paths": [path],
        "fields": {"service.name": "rewards-api"},
        "parsers": [{"regex": {"pattern": PATTERN, "fields": {
            "ts": {"field": "@timestamp", "type": "timestamp"},
            "level": "log.level", "txn": "transaction.id"}}}]}],
        standin.url)
    scratch.write("logs/service.log", "")
    agent = harness.Agent(scratch, config)
    subprocess.run([sys.executable, program, path, "120"], check=True,
                   env=harness.agent_env(), timeout=120)
    with open(path, "rb") as fp:
        data = fp.read()
    lines = data.decode("utf-8").split("\n")[:-1]
    harness.wait_until(lambda: len(harness.documents(standin)) >=
                       len(lines), what="%d lines" % len(lines))
    check_eq(agent.stop(), 0, "exit status after SIGTERM")

    docs = harness.by_offset(harness.documents(standin))
    check_eq(len(docs), len(lines), "documents")
    version = harness.agent_version()
    traceback_lines = 0
    seen_levels = set()
    for offset, line in zip(harness.line_offsets(data), lines):
        doc = docs.get((path, offset))
        check(doc is not None, "no document for %r" % line)
        harness.check_common(doc, path, offset, version,
                             {"message": line,
                              "service.name": "rewards-api"})
        if line[:4].isdigit():
            level = line.split(" ")[2]
            harness.check_fields(doc, {
                "log.level": LEVELS[level],
                "transaction.id": line.split("[txn=")[1].split("]")[0],
                "@timestamp": expected_timestamp(line)}, line)
            check_eq(doc.get("tags"), None, "tags of %r" % line)
            seen_levels.add(LEVELS[level])
        else:
            traceback_lines += 1
            check_eq(doc.get("tags"), ["_parse_failure"],
                     "tags of traceback line %r" % line)
            check_eq(field(doc, "log.level"), None,
                     "log.level of traceback line %r" % line)
    check_eq(seen_levels, {"debug", "info", "warn", "error", "fatal"},
             "levels seen")
    # 5 exceptions, each "Traceback ...", 2 frames of 2 lines, the error.
    check_eq(traceback_lines, 5 * 6, "traceback lines")


TESTS = [test_python_logging_program]

if __name__ == "__main__":
    harness.main(TESTS)
