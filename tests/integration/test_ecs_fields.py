"""Every field of every document the parsers produce exists in ECS with a
matching type, or is listed in docs/fields.md. Malformed lines never
crash a parser or lose their event.

Each case runs `logferry parse` with one parser configuration over sample
lines (the project's fixtures where there are some) and checks the leaf
fields of every document against the ECS field table in
tests/fixtures/ecs/fields.csv."""

import csv
import datetime
import ipaddress
import json
import os
import re
import subprocess

import harness
from harness import check, check_eq

ROOT = os.environ.get("LF_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

STRING_TYPES = {"keyword", "wildcard", "match_only_text", "text",
                "constant_keyword", "version"}
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
NUMBER_TYPES = {"float", "double", "half_float", "scaled_float"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def fixture_lines(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8",
              errors="surrogateescape") as fp:
        return fp.read().splitlines()


# (case name, parsers list, sample lines[, processors list]). The json case keeps the
# application's own keys as they are, so JSON_OWN_KEYS lists those of its
# fixture lines: they must come out outside ECS, exactly these.
JSON_OWN_KEYS = ["count", "module", "sku"]
CASES = [
    ("nginx_access", [{"preset": "nginx"}],
     fixture_lines("filebeat-access", "nginx", "test.log")
     + fixture_lines("filebeat-access", "nginx", "test-with-host.log")),
    ("apache_access", [{"preset": "apache"}],
     fixture_lines("filebeat-access", "apache", "test.log")
     + fixture_lines("filebeat-access", "apache", "darwin-2.4.23.log")
     + fixture_lines("filebeat-access", "apache", "test-vhost.log")),
    ("grok_combined_apache_log_with_timestamp",
     [{"grok": {"patterns": ["%{HTTPD_COMBINEDLOG}"]}},
      {"timestamp": {"field": "timestamp",
                     "layouts": ["%d/%b/%Y:%H:%M:%S %z"]}}],
     fixture_lines("filebeat-access", "apache", "test.log"),
     [{"drop_fields": {"fields": ["timestamp"]}}]),
    ("syslog", [{"preset": "syslog"}],
     fixture_lines("filebeat-system", "syslog", "darwin-syslog.log")
     + fixture_lines("filebeat-system", "syslog", "suse-syslog.log")),
    ("auth", [{"preset": "auth"}],
     fixture_lines("filebeat-system", "auth", "test.log")
     + fixture_lines("filebeat-system", "auth", "auth-ubuntu1204.log")
     + fixture_lines("filebeat-system", "auth", "timestamp.log")),
    ("nginx_error", [{"preset": "nginx"}],
     fixture_lines("filebeat-modules", "nginx", "error.log")),
    ("apache_error", [{"preset": "apache"}],
     fixture_lines("filebeat-modules", "apache", "error-darwin-2.4.23.log")
     + fixture_lines("filebeat-modules", "apache",
                     "error-ubuntu-2.2.22.log")),
    ("app", [{"preset": "app"}], harness.app_lines(60, seed=6)[0]),
    ("json_ecs_loggers", [{"json": {}}],
     fixture_lines("json-logs", "structured.ndjson")[:5]),
    ("logfmt", [{"logfmt": {}}], fixture_lines("json-logs", "app.logfmt")),
    ("regex_app", [{"regex": {"pattern": harness.APP_PATTERN,
                              "fields": harness.APP_FIELDS}}],
     harness.app_lines(60, seed=5)[0]),
]

# Lines no parser should choke on: each must come out as one event that
# keeps its message.
MALFORMED = [
    b'{"message": "truncated json',
    b'{' * 5000 + b'}' * 5000,
    b'x' * (1024 * 1024),
    b'\xff\xfe invalid \xc3\x28 utf-8',
    b'2024-13-45T99:99:99Z ERROR impossible time',
    b'<999>Mar 45 25:61:61 host app[x]: bad syslog',
    b'key="unterminated value level=error',
    b'\x00\x01\x02 nul bytes',
]


def load_ecs():
    """Map each ECS field name to (type, normalization list)."""
    fields = {}
    with open(os.path.join(FIXTURES, "ecs", "fields.csv"),
              encoding="utf-8") as fp:
        for row in csv.DictReader(fp):
            fields[row["Field"]] = (row["Type"], row["Normalization"])
    return fields


def load_documented():
    """The fields and namespaces of the table "Fields outside ECS" in
    docs/fields.md: field name to type."""
    documented = {}
    row = re.compile(r"^\| `([^`]+)` \| ([a-z_]+)")
    section = None
    with open(os.path.join(ROOT, "docs", "fields.md"),
              encoding="utf-8") as fp:
        for line in fp:
            if line.startswith("## "):
                section = line[3:].strip()
            match = row.match(line)
            if match and section == "Fields outside ECS":
                documented[match.group(1)] = match.group(2)
    return documented


def leaves(doc, prefix=""):
    """Yield (dotted path, value) for every leaf of a nested document;
    a list is one leaf."""
    for key, value in doc.items():
        path = prefix + key
        if isinstance(value, dict):
            yield from leaves(value, path + ".")
        else:
            yield path, value


def fits(ecs_type, value):
    """Whether one JSON value fits an ECS field type, or the type `any`
    of a documented namespace whose values the configuration chooses."""
    if ecs_type == "any":
        return not isinstance(value, dict)
    if ecs_type in STRING_TYPES:
        return isinstance(value, str)
    if ecs_type in INTEGER_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if ecs_type in NUMBER_TYPES:
        return isinstance(value, (int, float)) and \
            not isinstance(value, bool)
    if ecs_type == "boolean":
        return isinstance(value, bool)
    if ecs_type == "date":
        return isinstance(value, str) and ISO_DATE.match(value) is not None
    if ecs_type == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except (TypeError, ValueError):
            return False
    if ecs_type in ("object", "flattened", "nested"):
        return isinstance(value, dict)
    return False


def documented_type(documented, path):
    if path in documented:
        return documented[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        namespace = ".".join(parts[:i]) + ".*"
        if namespace in documented:
            return documented[namespace]
    return None


def field_problems(doc, ecs, documented):
    """Return a description of each field of `doc` that is neither ECS
    with a fitting type nor documented."""
    problems = []
    for path, value in leaves(doc):
        values = value if isinstance(value, list) else [value]
        if path in ecs:
            ecs_type, normalization = ecs[path]
            if isinstance(value, list) and "array" not in normalization \
                    and path != "tags":
                # Elasticsearch takes a list for any field; ECS marks the
                # fields meant to hold one, and only those may.
                problems.append("%s: a list, but ECS expects one value"
                                % path)
            for item in values:
                if not fits(ecs_type, item):
                    problems.append("%s: %r does not fit ECS type %s"
                                    % (path, item, ecs_type))
            continue
        doc_type = documented_type(documented, path)
        if doc_type is None:
            problems.append("%s: not an ECS field and not in docs/fields.md"
                            % path)
            continue
        for item in values:
            if not fits(doc_type, item):
                problems.append("%s: %r does not fit documented type %s"
                                % (path, item, doc_type))
    return problems


def write_config(scratch, parsers, processors=None):
    inputs = [{"id": "sample", "paths": [scratch.join("logs", "*.log")],
               "parsers": parsers}]
    if processors:
        inputs[0]["processors"] = processors
    return harness.write_config(scratch, inputs, "http://127.0.0.1:9")


def parse(scratch, config, data):
    argv = [harness.logferry_path(), "parse", "-c", config]
    proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120,
                          env=harness.agent_env(), cwd=scratch.path)
    check(proc.returncode in (0, 1), "parse exited %d; stderr: %s"
          % (proc.returncode, proc.stderr[-2000:]))
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_ecs_fields_of_every_parser(scratch):
    ecs = load_ecs()
    documented = load_documented()
    check("labels.*" in documented, "docs/fields.md lists labels.*")
    for name, parsers, lines, *processors in CASES:
        check(len(lines) > 0, "%s has sample lines" % name)
        config = write_config(scratch, parsers, *processors)
        data = "".join(line + "\n" for line in lines).encode(
            "utf-8", "surrogateescape")
        docs = parse(scratch, config, data)
        check_eq(len(docs), len(lines), "%s: documents" % name)
        parsed = [d for d in docs if "_parse_failure" not in d.get("tags",
                                                                  [])]
        check(len(parsed) > 0, "%s: some line parsed" % name)
        problems = sorted({p for d in docs
                           for p in field_problems(d, ecs, documented)})
        own = JSON_OWN_KEYS if name == "json_ecs_loggers" else []
        check_eq(problems, ["%s: not an ECS field and not in docs/fields.md"
                            % key for key in own],
                 "%s: fields outside ECS" % name)


def test_malformed_lines_keep_their_event(scratch):
    data = b"".join(line + b"\n" for line in MALFORMED)
    for name, parsers, _, *processors in CASES:
        config = write_config(scratch, parsers, *processors)
        docs = parse(scratch, config, data)
        check_eq(len(docs), len(MALFORMED), "%s: documents" % name)
        for doc, line in zip(docs, MALFORMED):
            expected = line.decode("utf-8", "replace")
            check_eq(doc["message"], expected,
                     "%s: message of %r" % (name, line[:40]))


def test_field_checker_rejects_wrong_types(scratch):
    """The checker itself: a wrong type, an unknown field and a misplaced
    list are each reported."""
    ecs = load_ecs()
    documented = load_documented()
    doc = {"http": {"response": {"status_code": "200"}},
           "made": {"up": 1},
           "source": {"ip": "not-an-ip"},
           "host": {"name": ["a", "b"]},
           "@timestamp": datetime.datetime(2024, 1, 1).isoformat(),
           "labels": {"x": "y"}, "log": {"offset": 3}}
    check_eq(field_problems(doc, ecs, documented), [
        "http.response.status_code: '200' does not fit ECS type long",
        "made.up: not an ECS field and not in docs/fields.md",
        "source.ip: 'not-an-ip' does not fit ECS type ip",
        "host.name: a list, but ECS expects one value",
        "@timestamp: '2024-01-01T00:00:00' does not fit ECS type date",
    ], "problems found")


TESTS = [
    test_ecs_fields_of_every_parser,
    test_malformed_lines_keep_their_event,
    test_field_checker_rejects_wrong_types,
]

if __name__ == "__main__":
    harness.main(TESTS)
