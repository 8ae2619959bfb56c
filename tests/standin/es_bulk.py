"""Bulk request parsing and execution, and the scripted faults, of the
Elasticsearch stand-in."""

import base64
import json
import os
import threading
import time

from es_model import (EsError, JsonError, field_values, parse_es_date,
                      strict_loads, token_name, values_equal)

# An _id longer than this is rejected by IndexRequest validation.
MAX_ID_BYTES = 512

BULK_ACTIONS = ("create", "delete", "index", "update")

# Parameters accepted inside a bulk action line (BulkRequestParser).
ACTION_PARAMS = frozenset((
    "_index", "_id", "routing", "version", "version_type", "if_seq_no",
    "if_primary_term", "pipeline", "require_alias", "require_data_stream",
    "retry_on_conflict", "op_type", "dynamic_templates",
    "list_executed_pipelines", "_source",
))

ITEM_ERRORS = {
    400: ("mapper_parsing_exception",
          "failed to parse field [http.response.status_code] of type "
          "[long] in document with id '{id}'. Preview of field's value: "
          "'abc'"),
    429: ("es_rejected_execution_exception",
          "rejected execution of primary operation "
          "[shard_detail=[{index}][0], shard_write_bytes=1024]"),
    500: ("exception", "internal failure while indexing the document"),
    503: ("unavailable_shards_exception",
          "[{index}][0] primary shard is not active Timeout: [1m]"),
}


class Faults:
    """Scripted faults. Request rules fire on the Nth bulk request counted
    from when they were set (1 = the next one); document rules fire on
    every item whose source matches, for a number of times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.request_rules = []
        self.document_rules = []
        self.fired = 0

    def set(self, spec, bulk_count):
        rules = []
        for rule in spec.get("requests", []):
            rule = dict(rule)
            first = int(rule.pop("on", 1))
            has_count = "count" in rule
            count = int(rule.pop("count", 1))
            if first < 1 or count < 1:
                raise ValueError("'on' and 'count' must be >= 1")
            rule["first"] = bulk_count + first
            rule["last"] = bulk_count + first + count - 1
            if "duration" in rule:
                if has_count or float(rule["duration"]) <= 0:
                    raise ValueError("'duration' must be > 0 and excludes "
                                     "'count': %r" % (rule,))
                rule["last"] = None  # open-ended until the time is up
                rule["until"] = None  # set when the rule first fires
            if "items" in rule:
                rule["items"] = {str(k): v for k, v in rule["items"].items()}
            if not {"action", "status", "items", "delay"} & set(rule):
                raise ValueError("a request rule needs status, items, "
                                 "delay or action: %r" % (rule,))
            if rule.get("action") not in (None, "hang", "close_after_index",
                                          "close", "refuse", "cut_reply"):
                raise ValueError("unknown action %r" % rule["action"])
            if rule.get("action") == "cut_reply" and not (
                    isinstance(rule.get("bytes"), int) and rule["bytes"] >= 0):
                raise ValueError("cut_reply needs 'bytes', an integer >= 0: "
                                 "%r" % (rule,))
            rules.append(rule)
        docs = [dict(rule) for rule in spec.get("documents", [])]
        for rule in docs:
            if "field" not in rule or "status" not in rule:
                raise ValueError("a document rule needs field and status")
        with self.lock:
            if spec.get("replace", True):
                self.request_rules = rules
                self.document_rules = docs
            else:
                self.request_rules.extend(rules)
                self.document_rules.extend(docs)

    def clear(self):
        with self.lock:
            self.request_rules = []
            self.document_rules = []

    def describe(self):
        with self.lock:
            return {"requests": list(self.request_rules),
                    "documents": list(self.document_rules),
                    "fired": self.fired}

    def for_request(self, number):
        now = time.monotonic()
        with self.lock:
            for rule in self.request_rules:
                if number < rule["first"]:
                    continue
                if rule.get("duration") is not None:
                    if rule["until"] is None:
                        rule["until"] = now + float(rule["duration"])
                    if now >= rule["until"]:
                        continue
                elif number > rule["last"]:
                    continue
                self.fired += 1
                return rule
        return None

    def for_document(self, source):
        with self.lock:
            for rule in self.document_rules:
                if rule.get("times") is not None and rule["times"] <= 0:
                    continue
                if not document_matches(rule, source):
                    continue
                if rule.get("times") is not None:
                    rule["times"] -= 1
                self.fired += 1
                return rule
        return None


def document_matches(rule, source):
    values = field_values(source, rule["field"])
    if "equals" in rule:
        return any(values_equal(v, rule["equals"]) for v in values)
    if "contains" in rule:
        return any(isinstance(v, str) and rule["contains"] in v
                   for v in values)
    return bool(values)


def item_error(status, etype, reason, index, doc_id):
    defaults = ITEM_ERRORS.get(status, ("exception", "item failed"))
    etype = etype or defaults[0]
    reason = (reason or defaults[1]).format(index=index.write_index,
                                            id=doc_id)
    return {"type": etype, "reason": reason, "index_uuid": index.uuid,
            "shard": "0", "index": index.write_index}


class BulkItem:
    """One parsed action of a bulk request."""

    def __init__(self, action, meta, line_no):
        self.action = action
        self.meta = meta
        self.line_no = line_no
        self.index_name = None
        self.doc_id = None
        self.source_line = None
        self.source_col = 0


def parse_action_line(raw, line_no):
    """Parse one action/metadata line as BulkRequestParser does."""
    try:
        obj = strict_loads(raw, line_no)
    except JsonError as exc:
        raise EsError(400, "x_content_parse_exception",
                      "[%d:%d] %s" % (exc.line, exc.col, exc.msg))
    if not isinstance(obj, dict):
        raise EsError(400, "illegal_argument_exception",
                      "Malformed action/metadata line [%d], expected "
                      "START_OBJECT or END_OBJECT but found [%s]"
                      % (line_no, token_name(obj)))
    if not obj:
        raise EsError(400, "illegal_argument_exception",
                      "Malformed action/metadata line [%d], expected "
                      "FIELD_NAME but found [END_OBJECT]" % line_no)
    if len(obj) > 1:
        raise EsError(400, "illegal_argument_exception",
                      "Malformed action/metadata line [%d], expected "
                      "END_OBJECT but found [FIELD_NAME]" % line_no)
    action, meta = next(iter(obj.items()))
    if action not in BULK_ACTIONS:
        raise EsError(400, "illegal_argument_exception",
                      "Malformed action/metadata line [%d], expected one "
                      "of [create, delete, index, update] but found [%s]"
                      % (line_no, action))
    if not isinstance(meta, dict):
        raise EsError(400, "illegal_argument_exception",
                      "Malformed action/metadata line [%d], expected "
                      "START_OBJECT but found [%s]"
                      % (line_no, token_name(meta)))
    for key, value in meta.items():
        if key not in ACTION_PARAMS:
            raise EsError(400, "illegal_argument_exception",
                          "Action/metadata line [%d] contains an unknown "
                          "parameter [%s]" % (line_no, key))
        if isinstance(value, (dict, list)) and key not in (
                "dynamic_templates", "_source"):
            raise EsError(400, "illegal_argument_exception",
                          "Malformed action/metadata line [%d], expected "
                          "a simple value for field [%s] but found [%s]"
                          % (line_no, key, token_name(value)))
    return BulkItem(action, meta, line_no)


def parse_bulk_body(body, url_index):
    """Split a bulk body into BulkItems or raise the request's EsError."""
    if not body:
        raise EsError(400, "parse_exception", "request body is required")
    if not body.endswith(b"\n"):
        raise EsError(400, "illegal_argument_exception",
                      "The bulk request must be terminated by a newline "
                      "[\\n]")
    lines = body.split(b"\n")[:-1]
    items = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        if not raw.strip():
            i += 1
            continue
        item = parse_action_line(raw, i + 1)
        i += 1
        if item.action != "delete":
            if i >= len(lines):
                break   # ES drops an action whose source line is missing
            item.source_line = lines[i]
            item.source_col = i + 1
            i += 1
        items.append(item)
    validate_items(items, url_index)
    return items


def validate_items(items, url_index):
    """Apply BulkRequest validation: every failure is listed in one 400."""
    problems = []
    if not items:
        problems.append("no requests added")
    for item in items:
        name = item.meta.get("_index", url_index)
        item.index_name = None if name is None else str(name)
        if item.index_name is None:
            problems.append("index is missing")
        doc_id = item.meta.get("_id")
        if doc_id is not None:
            item.doc_id = doc_id if isinstance(doc_id, str) else \
                json.dumps(doc_id)
            size = len(item.doc_id.encode("utf-8"))
            if size > MAX_ID_BYTES:
                problems.append(
                    "id [%s] is too long, must be no longer than %d bytes "
                    "but was: %d" % (item.doc_id, MAX_ID_BYTES, size))
            elif size == 0:
                problems.append("if _id is specified it must not be empty")
        elif item.action in ("delete", "update"):
            problems.append("id is missing")
        if item.action != "delete" and not item.source_line.strip():
            problems.append("source is missing")
        if item.action == "update":
            parse_update_source(item)
    if problems:
        text = "Validation Failed: " + "".join(
            "%d: %s;" % (n, p) for n, p in enumerate(problems, 1))
        raise EsError(400, "action_request_validation_exception", text)


def parse_update_source(item):
    try:
        body = strict_loads(item.source_line, item.source_col)
    except JsonError as exc:
        raise EsError(400, "x_content_parse_exception",
                      "[%d:%d] %s" % (exc.line, exc.col, exc.msg))
    if not isinstance(body, dict):
        raise EsError(400, "x_content_parse_exception",
                      "[%d:1] [UpdateRequest] Expected START_OBJECT but "
                      "was: %s" % (item.source_col, token_name(body)))
    for key in body:
        if key not in ("doc", "upsert", "doc_as_upsert", "detect_noop",
                       "scripted_upsert", "script", "_source"):
            raise EsError(400, "x_content_parse_exception",
                          "[%d:2] [UpdateRequest] unknown field [%s]"
                          % (item.source_col, key))
    item.update = body


def parse_document(item):
    """Parse an index/create source line, as the document parser would."""
    try:
        source = strict_loads(item.source_line)
    except JsonError as exc:
        raise EsError(400, "document_parsing_exception",
                      "[%d:%d] failed to parse: %s"
                      % (exc.line, exc.col, exc.msg))
    if not isinstance(source, dict):
        raise EsError(400, "document_parsing_exception",
                      "[1:1] failed to parse: Malformed content, must "
                      "start with an object")
    return source


def check_data_stream_doc(index, doc_id, source):
    """Data streams require a valid @timestamp in every document."""
    if "@timestamp" not in source:
        raise EsError(400, "document_parsing_exception",
                      "[1:1] failed to parse: data stream timestamp field "
                      "[@timestamp] is missing",
                      {"type": "illegal_argument_exception",
                       "reason": "data stream timestamp field [@timestamp] "
                                 "is missing"})
    value = source["@timestamp"]
    try:
        parse_es_date(value)
    except (ValueError, OverflowError):
        raise EsError(400, "document_parsing_exception",
                      "[1:15] failed to parse field [@timestamp] of type "
                      "[date] in document with id '%s'. Preview of field's "
                      "value: '%s'" % (doc_id, value),
                      {"type": "illegal_argument_exception",
                       "reason": "failed to parse date field [%s] with "
                                 "format [strict_date_optional_time||"
                                 "epoch_millis]" % (value,)})


class BulkExecutor:
    """Runs the items of one bulk request against the store."""

    def __init__(self, store, faults, item_faults, pipeline=None):
        self.store = store
        self.faults = faults
        self.item_faults = item_faults or {}
        self.pipeline = pipeline    # default ingest pipeline from the URL

    def run(self, items):
        results = []
        with self.store.lock:
            for position, item in enumerate(items):
                results.append(self.run_item(position, item))
            self.store.sync()
        return results

    def run_item(self, position, item):
        try:
            index = self.store.get_or_create(item.index_name)
        except EsError as err:
            return self.failure(item, err.status, err.cause(),
                                item.index_name)
        if item.doc_id is None:
            item.doc_id = generate_id()
        scripted = self.scripted_item_fault(position, item, index)
        if scripted is not None:
            return scripted
        try:
            pipeline = item.meta.get("pipeline", self.pipeline)
            if pipeline not in (None, "_none") and \
                    item.action in ("create", "index"):
                raise EsError(400, "illegal_argument_exception",
                              "pipeline with id [%s] does not exist"
                              % pipeline)
            if index.data_stream and item.action != "create":
                raise EsError(400, "illegal_argument_exception",
                              "only write ops with an op_type of create "
                              "are allowed in data streams")
            return getattr(self, "do_" + item.action)(item, index)
        except EsError as err:
            return self.failure(item, err.status, err.cause(),
                                index.write_index)

    def scripted_item_fault(self, position, item, index):
        rule = self.item_faults.get(str(position))
        if rule is None and item.action in ("create", "index") and \
                self.faults.document_rules:
            try:
                source = strict_loads(item.source_line)
            except JsonError:
                source = None
            if isinstance(source, dict):
                rule = self.faults.for_document(source)
        if rule is None:
            return None
        if isinstance(rule, int):
            rule = {"status": rule}
        status = int(rule["status"])
        error = item_error(status, rule.get("type"), rule.get("reason"),
                           index, item.doc_id)
        return self.failure(item, status, error, index.write_index)

    def failure(self, item, status, error, index_name):
        body = {"_index": index_name, "_id": item.doc_id, "status": status,
                "error": error}
        if item.doc_id is None:
            del body["_id"]
        return {item.action: body}

    def success(self, item, index, status, result, version, seq_no):
        return {item.action: {
            "_index": index.write_index, "_id": item.doc_id,
            "_version": version, "result": result,
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": seq_no, "_primary_term": 1, "status": status}}

    def write(self, item, index, source):
        if index.data_stream:
            check_data_stream_doc(index, item.doc_id, source)
        added = index.check_mapping(item.doc_id, source)
        return self.store.put(index, item.doc_id, source, added)

    def do_create(self, item, index):
        source = parse_document(item)
        if item.doc_id in index.docs:
            current = index.docs[item.doc_id][1]
            raise EsError(409, "version_conflict_engine_exception",
                          "[%s]: version conflict, document already exists "
                          "(current version [%d])" % (item.doc_id, current),
                          index_uuid=index.uuid, shard="0",
                          index=index.write_index)
        version, seq_no, _ = self.write(item, index, source)
        return self.success(item, index, 201, "created", version, seq_no)

    def do_index(self, item, index):
        source = parse_document(item)
        version, seq_no, existed = self.write(item, index, source)
        if existed:
            return self.success(item, index, 200, "updated", version, seq_no)
        return self.success(item, index, 201, "created", version, seq_no)

    def do_delete(self, item, index):
        if item.doc_id not in index.docs:
            old_seq = index.seq_no
            index.seq_no += 1
            body = self.success(item, index, 404, "not_found", 1, old_seq)
            return body
        version, seq_no = self.store.delete(index, item.doc_id)
        return self.success(item, index, 200, "deleted", version, seq_no)

    def do_update(self, item, index):
        body = item.update
        if "script" in body:
            raise EsError(400, "illegal_argument_exception",
                          "scripted updates are not supported by this "
                          "stand-in")
        current = index.docs.get(item.doc_id)
        if current is None:
            if body.get("doc_as_upsert") and "doc" in body:
                source = body["doc"]
            elif "upsert" in body:
                source = body["upsert"]
            else:
                raise EsError(404, "document_missing_exception",
                              "[%s]: document missing" % item.doc_id,
                              index_uuid=index.uuid, shard="0",
                              index=index.write_index)
            version, seq_no, _ = self.write(item, index, source)
            return self.success(item, index, 201, "created", version,
                                seq_no)
        merged = merge_doc(current[0], body.get("doc", {}))
        if merged == current[0] and body.get("detect_noop", True):
            return self.success(item, index, 200, "noop", current[1],
                                current[2])
        version, seq_no, _ = self.write(item, index, merged)
        return self.success(item, index, 200, "updated", version, seq_no)


def merge_doc(base, patch):
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_doc(out[key], value)
        else:
            out[key] = value
    return out


def generate_id():
    """Return a 20-character id shaped like Elasticsearch's auto ids."""
    return base64.urlsafe_b64encode(os.urandom(15)).decode()
