"""Documents, indices and JSON rules of the Elasticsearch stand-in."""

import datetime
import fnmatch
import json
import os
import re
import threading
import uuid

# index.mapping.total_fields.limit default for indices without a template.
TOTAL_FIELDS_LIMIT = 1000

# The value leaf_paths() pairs with an object path; never modified.
EMPTY_OBJECT = {}

# Index names longer than this are invalid (bytes, UTF-8).
MAX_INDEX_NAME_BYTES = 255

# Pattern of the built-in "logs" index template, which makes a data stream.
DATA_STREAM_PATTERN = "logs-*-*"

INVALID_INDEX_CHARS = set('\\/*?"<>| ,#:')

_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$")


# Metadata fields of Elasticsearch 8.15 indices; a document may not set
# them at its top level.
METADATA_FIELDS = frozenset([
    "_id", "_index", "_routing", "_source", "_seq_no", "_version",
    "_ignored", "_ignored_source", "_field_names", "_nested_path", "_tier",
    "_data_stream_timestamp", "_doc_count"])


def metadata_field_error(key):
    """The error of a document that sets a metadata field: Elasticsearch
    8 wraps the parser's message in "failed to parse"."""
    reason = ("[1:2] Field [%s] is a metadata field and cannot be added "
              "inside a document. Use the index API request parameters."
              % key)
    return EsError(400, "document_parsing_exception",
                   "[1:2] failed to parse: " + reason[len("[1:2] "):],
                   {"type": "document_parsing_exception", "reason": reason})


class EsError(Exception):
    """An error Elasticsearch reports with its usual JSON shape."""

    def __init__(self, status, etype, reason, caused_by=None, **extra):
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.caused_by = caused_by
        self.extra = extra

    def cause(self):
        body = {"type": self.etype, "reason": self.reason}
        body.update(self.extra)
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by
        return body

    def body(self):
        root = {"type": self.etype, "reason": self.reason}
        root.update(self.extra)
        error = {"root_cause": [root]}
        error.update(self.cause())
        return {"error": error, "status": self.status}


class SimpleError(Exception):
    """An error sent as {"error": "text", "status": N} (REST layer)."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


def parse_byte_size(text):
    """Parse an Elasticsearch byte size such as "100mb" or "512"."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?b)?\s*", str(text).lower())
    if not match:
        raise ValueError("invalid byte size: %r" % (text,))
    units = {None: 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30,
             "tb": 1 << 40}
    return int(match.group(1)) * units[match.group(2)]


def is_data_stream_name(name):
    return fnmatch.fnmatchcase(name, DATA_STREAM_PATTERN)


def validate_index_name(name):
    """Raise EsError when Elasticsearch would reject the index name."""
    def invalid(problem):
        return EsError(400, "invalid_index_name_exception",
                       "Invalid index name [%s], %s" % (name, problem),
                       **{"index_uuid": "_na_", "index": name})

    if name != name.lower():
        raise invalid("must be lowercase")
    if name in (".", ".."):
        raise invalid("must not be '.' or '..'")
    if name[:1] in ("_", "-", "+"):
        raise invalid("must not start with '_', '-', or '+'")
    bad = sorted(INVALID_INDEX_CHARS.intersection(name))
    if bad:
        raise invalid("must not contain the following characters %s"
                      % json.dumps(sorted(INVALID_INDEX_CHARS)))
    if len(name.encode("utf-8")) > MAX_INDEX_NAME_BYTES:
        raise invalid("index name is too long, (%d > %d)"
                      % (len(name.encode("utf-8")), MAX_INDEX_NAME_BYTES))


def parse_es_date(value):
    """Return epoch milliseconds for strict_date_optional_time||epoch_millis.

    Raises ValueError for anything Elasticsearch's default date format
    would reject.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text) and len(text) != 4:
        return int(float(text))
    match = _DATE_RE.match(text)
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, sec, frac, zone = match.groups()
    stamp = datetime.datetime(
        int(year), int(month or 1), int(day or 1), int(hour or 0),
        int(minute or 0), int(sec or 0),
        int((frac or "0").ljust(6, "0")[:6]),
        tzinfo=datetime.timezone.utc)
    offset = 0
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        if zone[0] == "-":
            offset = -offset
    stamp -= datetime.timedelta(minutes=offset)
    return int(stamp.timestamp() * 1000)


class JsonError(ValueError):
    """A JSON syntax error with the position Elasticsearch reports."""

    def __init__(self, line, col, msg):
        super().__init__(msg)
        self.line = line
        self.col = col
        self.msg = msg


def reject_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise JsonError(1, 1, "Duplicate field '%s'" % key)
        seen[key] = value
    return seen


def reject_constant(name):
    raise JsonError(1, 1, "Non-standard token '%s'" % name)


def strict_loads(raw, line=1):
    """Parse JSON as Elasticsearch's parser does: UTF-8 only, no
    duplicate keys, no NaN or Infinity. Raises JsonError."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise JsonError(line, exc.start + 1,
                        "Invalid UTF-8 start byte 0x%02x"
                        % raw[exc.start])
    try:
        return json.loads(text, object_pairs_hook=reject_duplicates,
                          parse_constant=reject_constant)
    except JsonError as exc:
        exc.line = line
        raise
    except json.JSONDecodeError as exc:
        raise JsonError(line + exc.lineno - 1, exc.colno, exc.msg)


def field_values(source, path):
    """Return every value at a dotted path, through objects, dotted keys
    and arrays (arrays are flattened as Elasticsearch indexes them)."""
    parts = path.split(".")
    out = []

    def walk(node, rest):
        if isinstance(node, list):
            for element in node:
                walk(element, rest)
            return
        if not rest:
            out.append(node)
            return
        if not isinstance(node, dict):
            return
        for i in range(1, len(rest) + 1):
            key = ".".join(rest[:i])
            if key in node:
                walk(node[key], rest[i:])

    walk(source, parts)
    flat = []
    for value in out:
        if isinstance(value, list):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def leaf_paths(source):
    """Return [(path, value)] for every leaf and [(path, {})] for every
    object, expanding dotted keys the way the document parser does."""
    out = []

    def walk(node, prefix):
        for key, value in node.items():
            path = prefix + key
            if "." in key:
                parents = path.split(".")
                for i in range(1, len(parents)):
                    out.append((".".join(parents[:i]), EMPTY_OBJECT))
            if isinstance(value, dict):
                out.append((path, EMPTY_OBJECT))
                walk(value, path + ".")
            elif isinstance(value, list):
                for element in value:
                    if isinstance(element, dict):
                        out.append((path, EMPTY_OBJECT))
                        walk(element, path + ".")
                    elif element is not None:
                        out.append((path, element))
            elif value is not None:
                out.append((path, value))

    walk(source, "")
    return out


def java_string(value):
    """Format a parsed JSON value as Java's toString() of the Map, List
    and boxed values Elasticsearch parses it into."""
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s=%s" % (k, java_string(v))
                                  for k, v in value.items())
    if isinstance(value, list):
        return "[%s]" % ", ".join(java_string(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def value_kind(value):
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    return "keyword"


def values_equal(stored, wanted):
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return str(stored).lower() == str(wanted).lower()
    if isinstance(stored, (int, float)) or isinstance(wanted, (int, float)):
        try:
            return float(stored) == float(wanted)
        except (TypeError, ValueError):
            return False
    return stored == wanted


def token_name(value):
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if value is None:
        return "VALUE_NULL"
    return "VALUE_NUMBER"


class Index:
    """One index or data stream: documents and a dynamic mapping."""

    def __init__(self, name, created=None, index_uuid=None):
        self.name = name
        self.data_stream = is_data_stream_name(name)
        self.uuid = index_uuid or uuid.uuid4().hex[:22]
        self.created = created or datetime.date.today().strftime("%Y.%m.%d")
        self.docs = {}          # _id -> [source, version, seq_no]
        self.mapping = {}       # field path -> kind (see value_kind)
        self.seq_no = 0

    @property
    def write_index(self):
        """Name reported as _index: the backing index of a data stream."""
        if self.data_stream:
            return ".ds-%s-%s-000001" % (self.name, self.created)
        return self.name

    def check_mapping(self, doc_id, source):
        """Return the fields the document would add to the mapping, or
        raise EsError as dynamic mapping would."""
        for key in source:
            if key in METADATA_FIELDS:
                raise metadata_field_error(key)
        added = {}
        for path, value in leaf_paths(source):
            kind = value_kind(value)
            known = self.mapping.get(path, added.get(path))
            if known is None:
                added[path] = kind
                continue
            if (known == "object") != (kind == "object"):
                raise self.mapping_conflict(doc_id, path, known, source)
            # NOTE: logs-*-* data streams are taken to set
            # index.mapping.ignore_malformed, as the built-in logs settings
            # of recent 8.x releases do; not checked against each release.
            if known in ("long", "float") and kind == "keyword" \
                    and not self.data_stream:
                try:
                    float(value)
                except ValueError:
                    raise self.malformed_number(doc_id, path, known, value)
        if not self.data_stream and \
                len(self.mapping) + len(added) > TOTAL_FIELDS_LIMIT:
            raise EsError(
                400, "illegal_argument_exception",
                "Limit of total fields [%d] has been exceeded while adding "
                "new fields [%d]" % (TOTAL_FIELDS_LIMIT, len(added)))
        return added

    def mapping_conflict(self, doc_id, path, known, source):
        """The error of a value where the mapping has an object, or of an
        object where it has a value. As in Elasticsearch, the second
        bracket of the first names the key as written, the last part of
        the path, and the preview of the second is Java's Map.toString()."""
        if known == "object":
            reason = ("object mapping for [%s] tried to parse field [%s] "
                      "as object, but found a concrete value"
                      % (path, path.rsplit(".", 1)[-1]))
            return EsError(400, "document_parsing_exception",
                           "[1:1] " + reason)
        objects = [v for v in field_values(source, path)
                   if isinstance(v, dict)]
        reason = ("failed to parse field [%s] of type [%s] in document "
                  "with id '%s'. Preview of field's value: '%s'"
                  % (path, known, doc_id,
                     java_string(objects[0] if objects else {})))
        cause = {"type": "illegal_state_exception",
                 "reason": "Can't get text on a START_OBJECT at 1:1"}
        return EsError(400, "document_parsing_exception", "[1:1] " + reason,
                       cause)

    def malformed_number(self, doc_id, path, known, value):
        reason = ("[1:1] failed to parse field [%s] of type [%s] in "
                  "document with id '%s'. Preview of field's value: '%s'"
                  % (path, known, doc_id, value))
        cause = {"type": "illegal_argument_exception",
                 "reason": "For input string: \"%s\"" % value}
        return EsError(400, "document_parsing_exception", reason, cause)


class Store:
    """Every index, with an optional append-only journal per index so a
    restarted stand-in finds the same documents."""

    def __init__(self, data_dir=None):
        self.lock = threading.RLock()
        self.indices = {}
        self.data_dir = data_dir
        self.journals = {}
        self.closed = False     # a stopped stand-in writes no more records
        if data_dir:
            os.makedirs(data_dir, exist_ok=True)
            self.load()

    def load(self):
        for entry in sorted(os.listdir(self.data_dir)):
            if not entry.endswith(".jsonl"):
                continue
            with open(os.path.join(self.data_dir, entry), "rb") as fp:
                for raw in fp:
                    if not raw.endswith(b"\n"):
                        break   # torn last record of a killed stand-in
                    self.replay(json.loads(raw))

    def replay(self, rec):
        if rec["op"] == "index":
            self.indices[rec["name"]] = Index(rec["name"], rec["created"],
                                              rec["uuid"])
            return
        index = self.indices[rec["name"]]
        if rec["op"] == "put":
            index.docs[rec["id"]] = [rec["source"], rec["version"],
                                     rec["seq_no"]]
            for path, value in leaf_paths(rec["source"]):
                index.mapping.setdefault(path, value_kind(value))
            index.seq_no = max(index.seq_no, rec["seq_no"] + 1)
        elif rec["op"] == "delete":
            index.docs.pop(rec["id"], None)
        elif rec["op"] == "drop":
            del self.indices[rec["name"]]

    def journal(self, rec):
        if not self.data_dir or self.closed:
            return
        name = rec["name"]
        fp = self.journals.get(name)
        if fp is None:
            path = os.path.join(self.data_dir, name + ".jsonl")
            fp = open(path, "ab")
            self.journals[name] = fp
        fp.write(json.dumps(rec, separators=(",", ":")).encode() + b"\n")

    def sync(self):
        for fp in self.journals.values():
            fp.flush()

    def close(self):
        with self.lock:
            self.closed = True
            for fp in self.journals.values():
                fp.close()
            self.journals.clear()

    def get_or_create(self, name):
        index = self.indices.get(name)
        if index is None:
            validate_index_name(name)
            index = Index(name)
            self.indices[name] = index
            self.journal({"op": "index", "name": name,
                          "created": index.created, "uuid": index.uuid})
        return index

    def put(self, index, doc_id, source, added_mapping):
        old = index.docs.get(doc_id)
        version = old[1] + 1 if old else 1
        seq_no = index.seq_no
        index.seq_no += 1
        index.docs[doc_id] = [source, version, seq_no]
        index.mapping.update(added_mapping)
        self.journal({"op": "put", "name": index.name, "id": doc_id,
                      "version": version, "seq_no": seq_no,
                      "source": source})
        return version, seq_no, old is not None

    def delete(self, index, doc_id):
        old = index.docs.pop(doc_id)
        seq_no = index.seq_no
        index.seq_no += 1
        self.journal({"op": "delete", "name": index.name, "id": doc_id})
        return old[1] + 1, seq_no

    def drop(self, name):
        if name in self.indices:
            del self.indices[name]
            self.journal({"op": "drop", "name": name})

    def resolve(self, expression):
        """Return the indices an index expression names, or raise 404."""
        names = []
        for part in expression.split(","):
            if part in ("_all", "*") or "*" in part:
                pattern = "*" if part == "_all" else part
                names.extend(n for n in sorted(self.indices)
                             if fnmatch.fnmatchcase(n, pattern))
            elif part in self.indices:
                names.append(part)
            else:
                raise EsError(404, "index_not_found_exception",
                              "no such index [%s]" % part,
                              **{"resource.type": "index_or_alias",
                                 "resource.id": part, "index_uuid": "_na_",
                                 "index": part})
        return [self.indices[n] for n in dict.fromkeys(names)]
