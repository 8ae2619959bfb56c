"""Tests of the Elasticsearch stand-in itself (no logferry needed), so that
a failure of an agent test can be trusted to be the agent's."""

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import harness
from harness import check, check_eq, es_standin

DS = "logs-app-default"


def ndjson(*objs):
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def request(server, method, path, body=None, headers=None, conn=None):
    """Send one request; return (status, headers dict, parsed body)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                          timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    raw = resp.read()
    status = resp.status
    head = {k.lower(): v for k, v in resp.getheaders()}
    if own:
        conn.close()
    if head.get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    return status, head, (json.loads(raw) if raw else None)


def bulk(server, body, path="/_bulk", content_type="application/x-ndjson",
         compress=False, headers=None):
    head = {"Content-Type": content_type} if content_type else {}
    if compress:
        body = gzip.compress(body)
        head["Content-Encoding"] = "gzip"
    head.update(headers or {})
    return request(server, "POST", path, body, head)


def create(index, doc_id, doc):
    meta = {"_index": index}
    if doc_id is not None:
        meta["_id"] = doc_id
    return [{"create": meta}, doc]


def ts_doc(**fields):
    doc = {"@timestamp": "2026-03-01T10:00:00.000Z"}
    doc.update(fields)
    return doc


def es_error(status, etype, reason):
    cause = {"type": etype, "reason": reason}
    return {"error": {"root_cause": [dict(cause)], **cause},
            "status": status}


def test_cluster_info(scratch):
    server = scratch.standin()
    status, head, body = request(server, "GET", "/")
    check_eq(status, 200, "GET / status")
    check_eq(body["version"]["number"], "8.15.0", "version.number")
    check_eq(head.get("x-elastic-product"), "Elasticsearch",
             "X-elastic-product header")
    check_eq(head.get("content-type"), "application/json", "content-type")
    check_eq(body["tagline"], "You Know, for Search", "tagline")


def test_bulk_create_into_data_stream(scratch):
    server = scratch.standin()
    status, _, body = bulk(server, ndjson(
        *create(DS, "id-1", ts_doc(message="one")),
        *create(DS, "id-2", ts_doc(message="two"))))
    check_eq(status, 200, "status")
    check_eq(list(body), ["errors", "took", "items"], "reply keys")
    check_eq(body["errors"], False, "errors")
    check(isinstance(body["took"], int), "took is %r" % body["took"])
    first = body["items"][0]["create"]
    check_eq(first["_index"], ".ds-%s-%s-000001"
             % (DS, server.store.indices[DS].created), "_index")
    check_eq(first["_id"], "id-1", "_id")
    check_eq(first["status"], 201, "item status")
    check_eq(first["result"], "created", "result")
    check_eq(first["_version"], 1, "_version")
    check_eq(body["items"][1]["create"]["_seq_no"], 1, "second _seq_no")
    docs = sorted(d["_source"]["message"] for d in server.documents(DS))
    check_eq(docs, ["one", "two"], "stored messages")


def test_create_existing_id_conflicts(scratch):
    server = scratch.standin()
    bulk(server, ndjson(*create(DS, "dup", ts_doc(message="first"))))
    _, _, body = bulk(server, ndjson(
        *create(DS, "dup", ts_doc(message="second")),
        *create(DS, "new", ts_doc(message="third"))))
    check_eq(body["errors"], True, "errors")
    item = body["items"][0]["create"]
    check_eq(item["status"], 409, "status of the duplicate")
    check_eq(item["error"]["type"], "version_conflict_engine_exception",
             "error type")
    check_eq(item["error"]["reason"],
             "[dup]: version conflict, document already exists "
             "(current version [1])", "reason")
    check_eq(body["items"][1]["create"]["status"], 201, "next item")
    stored = {d["_id"]: d["_source"]["message"]
              for d in server.documents(DS)}
    check_eq(stored, {"dup": "first", "new": "third"}, "stored documents")


def test_index_overwrites_plain_index(scratch):
    server = scratch.standin()
    body = ndjson({"index": {"_index": "plain", "_id": "k"}}, {"v": 1},
                  {"index": {"_index": "plain", "_id": "k"}}, {"v": 2})
    _, _, reply = bulk(server, body)
    check_eq([i["index"]["status"] for i in reply["items"]], [201, 200],
             "statuses")
    check_eq([i["index"]["result"] for i in reply["items"]],
             ["created", "updated"], "results")
    check_eq(reply["items"][1]["index"]["_version"], 2, "_version")
    check_eq(harness.documents(server, "plain"), [{"v": 2}], "document")


def test_missing_id_is_generated(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson(*create(DS, None, ts_doc()),
                                      *create(DS, None, ts_doc())))
    ids = [i["create"]["_id"] for i in reply["items"]]
    check_eq([len(i) for i in ids], [20, 20], "generated id lengths")
    check(ids[0] != ids[1], "generated ids are equal: %r" % ids)
    check_eq(len(server.documents(DS)), 2, "documents")


def test_data_stream_rejects_index_action(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson({"index": {"_index": DS}}, ts_doc()))
    item = reply["items"][0]["index"]
    check_eq(item["status"], 400, "status")
    check_eq(item["error"]["type"], "illegal_argument_exception", "type")
    check_eq(item["error"]["reason"], "only write ops with an op_type of "
             "create are allowed in data streams", "reason")
    check_eq(reply["errors"], True, "errors")


def test_data_stream_requires_timestamp(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson(
        *create(DS, "a", {"message": "no time"}),
        *create(DS, "b", {"@timestamp": "yesterday"}),
        *create(DS, "c", {"@timestamp": "2026-02-30T00:00:00Z"}),
        *create(DS, "d", {"@timestamp": 1767225600000}),
        *create(DS, "e", {"@timestamp": "2026-03-01T10:00:00+01:00"})))
    statuses = [i["create"]["status"] for i in reply["items"]]
    check_eq(statuses, [400, 400, 400, 201, 201], "statuses")
    err = reply["items"][0]["create"]["error"]
    check_eq(err["type"], "document_parsing_exception", "type")
    check_eq(err["caused_by"]["reason"], "data stream timestamp field "
             "[@timestamp] is missing", "caused_by reason")
    check_eq(reply["items"][1]["create"]["error"]["caused_by"]["reason"],
             "failed to parse date field [yesterday] with format "
             "[strict_date_optional_time||epoch_millis]", "bad date reason")


def test_content_type_is_enforced(scratch):
    server = scratch.standin()
    body = ndjson(*create(DS, "x", ts_doc()))
    status, _, reply = bulk(server, body, content_type="text/plain")
    check_eq(status, 406, "text/plain status")
    check_eq(reply, {"error": "Content-Type header [text/plain] is not "
                     "supported", "status": 406}, "text/plain reply")
    status, _, reply = bulk(server, body, content_type=None)
    check_eq(status, 406, "missing Content-Type status")
    check_eq(reply["error"], "Content-Type header is missing", "message")
    status, _, _ = bulk(server, body, content_type="application/yaml")
    check_eq(status, 406, "yaml status")
    status, _, _ = bulk(server, body,
                        content_type="application/json; charset=UTF-8")
    check_eq(status, 200, "application/json status")
    check_eq(len(server.documents(DS)), 1, "documents")


def test_gzip_bodies(scratch):
    server = scratch.standin()
    status, _, reply = bulk(server, ndjson(*create(DS, "g", ts_doc())),
                            compress=True)
    check_eq(status, 200, "gzip status")
    check_eq(reply["items"][0]["create"]["status"], 201, "item")
    status, _, reply = bulk(server, b"\x1f\x8b\x08\x00garbage",
                            headers={"Content-Encoding": "gzip"})
    check_eq(status, 400, "corrupt gzip status")
    check_eq(reply["error"]["type"], "illegal_argument_exception", "type")
    truncated = gzip.compress(ndjson(*create(DS, "t", ts_doc())))[:-6]
    status, _, _ = bulk(server, truncated,
                        headers={"Content-Encoding": "gzip"})
    check_eq(status, 400, "truncated gzip status")
    log = server.request_log()
    check_eq([r["gzip"] for r in log], [True, False, False], "gzip flags")
    check_eq([r["status"] for r in log], [200, 400, 400], "logged status")


def test_body_must_end_with_newline(scratch):
    server = scratch.standin()
    body = ndjson(*create(DS, "n", ts_doc()))[:-1]
    status, _, reply = bulk(server, body)
    check_eq(status, 400, "status")
    check_eq(reply, es_error(400, "illegal_argument_exception",
                             "The bulk request must be terminated by a "
                             "newline [\\n]"), "reply")
    check_eq(server.documents(DS), [], "documents")


def test_malformed_action_lines(scratch):
    server = scratch.standin()
    cases = [
        (b'{"insert":{"_index":"x"}}\n{}\n',
         "illegal_argument_exception",
         "Malformed action/metadata line [1], expected one of [create, "
         "delete, index, update] but found [insert]"),
        (b'{"create":{"_index":"x","colour":"red"}}\n{}\n',
         "illegal_argument_exception",
         "Action/metadata line [1] contains an unknown parameter [colour]"),
        (b'["create"]\n{}\n', "illegal_argument_exception",
         "Malformed action/metadata line [1], expected START_OBJECT or "
         "END_OBJECT but found [START_ARRAY]"),
        (b'{"create":{"_index":"x"}}\n{}\n{"create":"x"}\n{}\n',
         "illegal_argument_exception",
         "Malformed action/metadata line [3], expected START_OBJECT but "
         "found [VALUE_STRING]"),
        (b'{"create":{"_index":"x"}\n{}\n', "x_content_parse_exception",
         None),
        (b'{"create":{}}\n{}\n', "action_request_validation_exception",
         "Validation Failed: 1: index is missing;"),
        (b'{"create":{"_index":"x","_id":"%s"}}\n{}\n' % (b"i" * 513),
         "action_request_validation_exception",
         "Validation Failed: 1: id [%s] is too long, must be no longer "
         "than 512 bytes but was: 513;" % ("i" * 513)),
        (b"\n", "action_request_validation_exception",
         "Validation Failed: 1: no requests added;"),
        (b"", "parse_exception", "request body is required"),
    ]
    for body, etype, reason in cases:
        status, _, reply = bulk(server, body)
        check_eq(status, 400, "status for %r" % body[:60])
        check_eq(reply["error"]["type"], etype, "type for %r" % body[:60])
        if reason is not None:
            check_eq(reply["error"]["reason"], reason,
                     "reason for %r" % body[:60])
    check_eq(server.store.indices, {}, "indices created")


def test_invalid_source_is_item_error(scratch):
    server = scratch.standin()
    body = (b'{"create":{"_index":"logs-app-default","_id":"a"}}\n'
            b'{"@timestamp":"2026-03-01T10:00:00Z","m":\n'
            b'{"create":{"_index":"logs-app-default","_id":"b"}}\n'
            b'{"@timestamp":"2026-03-01T10:00:00Z","m":"\xff"}\n'
            b'{"create":{"_index":"logs-app-default","_id":"c"}}\n'
            b'{"@timestamp":"2026-03-01T10:00:00Z","m":1,"m":2}\n'
            b'{"create":{"_index":"logs-app-default","_id":"d"}}\n'
            b'{"@timestamp":"2026-03-01T10:00:00Z","m":"ok"}\n')
    status, _, reply = bulk(server, body)
    check_eq(status, 200, "status")
    got = [(i["create"]["status"], i["create"].get("error", {}).get("type"))
           for i in reply["items"]]
    check_eq(got, [(400, "document_parsing_exception")] * 3 + [(201, None)],
             "items")
    check_eq([d["_id"] for d in server.documents(DS)], ["d"], "stored ids")


def test_invalid_index_name(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson({"create": {"_index": "Logs"}}, {}))
    err = reply["items"][0]["create"]["error"]
    check_eq(err["type"], "invalid_index_name_exception", "type")
    check_eq(err["reason"], "Invalid index name [Logs], must be lowercase",
             "reason")


def test_mapping_conflicts(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson(
        *create(DS, "a", ts_doc(log={"level": "info"})),
        *create(DS, "b", ts_doc(log="flat")),
        *create(DS, "c", ts_doc(**{"log.level": "warn"})),
        *create(DS, "d", ts_doc(http={"response": {"status_code": 200}})),
        {"index": {"_index": "plain", "_id": "p1"}}, {"n": 5},
        {"index": {"_index": "plain", "_id": "p2"}}, {"n": "five"},
        {"index": {"_index": "plain", "_id": "p3"}}, {"n": "6"},
        {"index": {"_index": "plain", "_id": "p4"}}, {"a": 1, "a.b": 2},
        *create(DS, "e", ts_doc(http={"response": "flat"})),
        {"index": {"_index": "plain", "_id": "p5"}},
        {"n": {"x": 1, "y": [True, "z"]}}))
    statuses = [next(iter(i.values()))["status"] for i in reply["items"]]
    check_eq(statuses, [201, 400, 201, 201, 201, 400, 201, 400, 400, 400],
             "statuses")
    check_eq(reply["items"][1]["create"]["error"]["reason"],
             "[1:1] object mapping for [log] tried to parse field [log] as "
             "object, but found a concrete value", "object conflict reason")
    check_eq(reply["items"][5]["index"]["error"],
             {"type": "document_parsing_exception",
              "reason": "[1:1] failed to parse field [n] of type [long] in "
                        "document with id 'p2'. Preview of field's value: "
                        "'five'",
              "caused_by": {"type": "illegal_argument_exception",
                            "reason": "For input string: \"five\""}},
             "malformed number error")
    check_eq(reply["items"][8]["create"]["error"]["reason"],
             "[1:1] object mapping for [http.response] tried to parse field "
             "[response] as object, but found a concrete value",
             "nested object conflict reason")
    check_eq(reply["items"][9]["index"]["error"],
             {"type": "document_parsing_exception",
              "reason": "[1:1] failed to parse field [n] of type [long] in "
                        "document with id 'p5'. Preview of field's value: "
                        "'{x=1, y=[true, z]}'",
              "caused_by": {"type": "illegal_state_exception",
                            "reason": "Can't get text on a START_OBJECT at "
                                      "1:1"}},
             "object given for a value error")


def test_metadata_field_in_source(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson(
        {"index": {"_index": "plain", "_id": "m1"}}, {"_id": "x", "n": 1},
        {"index": {"_index": "plain", "_id": "m2"}}, {"a": {"_id": "x"}}))
    check_eq(reply["items"][0]["index"]["error"],
             {"type": "document_parsing_exception",
              "reason": "[1:2] failed to parse: Field [_id] is a metadata "
                        "field and cannot be added inside a document. Use "
                        "the index API request parameters.",
              "caused_by": {"type": "document_parsing_exception",
                            "reason": "[1:2] Field [_id] is a metadata "
                                      "field and cannot be added inside a "
                                      "document. Use the index API request "
                                      "parameters."}},
             "top-level _id error")
    check_eq(reply["items"][1]["index"]["status"], 201,
             "_id inside an object")


def test_delete_and_update(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson(
        {"index": {"_index": "plain", "_id": "1"}}, {"a": 1, "b": {"c": 1}},
        {"update": {"_index": "plain", "_id": "1"}}, {"doc": {"b": {"d": 2}}},
        {"update": {"_index": "plain", "_id": "1"}}, {"doc": {"a": 1}},
        {"update": {"_index": "plain", "_id": "2"}}, {"doc": {"a": 1}},
        {"update": {"_index": "plain", "_id": "3"}},
        {"doc": {"z": 1}, "doc_as_upsert": True},
        {"delete": {"_index": "plain", "_id": "3"}},
        {"delete": {"_index": "plain", "_id": "4"}}))
    got = [(next(iter(i)), next(iter(i.values()))["status"],
            next(iter(i.values())).get("result")) for i in reply["items"]]
    check_eq(got, [("index", 201, "created"), ("update", 200, "updated"),
                   ("update", 200, "noop"), ("update", 404, None),
                   ("update", 201, "created"), ("delete", 200, "deleted"),
                   ("delete", 404, "not_found")], "items")
    check_eq(reply["items"][3]["update"]["error"]["type"],
             "document_missing_exception", "missing update type")
    check_eq(harness.documents(server, "plain"),
             [{"a": 1, "b": {"c": 1, "d": 2}}], "documents")


def test_unknown_pipeline_fails_items(scratch):
    server = scratch.standin()
    _, _, reply = bulk(server, ndjson(*create(DS, "a", ts_doc())),
                       "/_bulk?pipeline=enrich")
    err = reply["items"][0]["create"]["error"]
    check_eq((err["type"], err["reason"]),
             ("illegal_argument_exception",
              "pipeline with id [enrich] does not exist"), "URL pipeline")
    _, _, reply = bulk(server, ndjson(*create(DS, "b", ts_doc())),
                       "/_bulk?pipeline=_none")
    check_eq(reply["items"][0]["create"]["status"], 201, "_none pipeline")


def test_filter_path(scratch):
    server = scratch.standin()
    path = "/_bulk?filter_path=errors,items.*.error,items.*.status"
    _, _, reply = bulk(server, ndjson(*create(DS, "a", ts_doc()),
                                      *create(DS, "b", ts_doc())), path)
    check_eq(reply, {"errors": False, "items": [
        {"create": {"status": 201}}, {"create": {"status": 201}}]},
        "all created")
    _, _, reply = bulk(server, ndjson(*create(DS, "a", ts_doc()),
                                      *create(DS, "c", ts_doc())), path)
    check_eq(reply["errors"], True, "errors")
    check_eq(reply["items"][1], {"create": {"status": 201}}, "second item")
    check_eq(sorted(reply["items"][0]["create"]), ["error", "status"],
             "first item keys")
    _, _, reply = bulk(server, ndjson(*create(DS, "d", ts_doc())),
                       "/_bulk?filter_path=items.*.error")
    check_eq(reply, {}, "items.*.error without errors")
    _, _, reply = bulk(server, ndjson(*create(DS, "e", ts_doc()),
                                      *create(DS, "a", ts_doc()),
                                      *create(DS, "f", ts_doc())),
                       "/_bulk?filter_path=items.*.error")
    check_eq(len(reply["items"]), 1, "only the failed item is listed")
    check_eq(reply["items"][0]["create"]["error"]["type"],
             "version_conflict_engine_exception", "listed error")
    _, _, reply = bulk(server, ndjson(*create(DS, "g", ts_doc())),
                       "/_bulk?filter_path=-items,-took")
    check_eq(reply, {"errors": False}, "exclusion filter")
    _, _, reply = bulk(server, ndjson(*create(DS, "h", ts_doc())),
                       "/_bulk?filter_path=**.status")
    check_eq(reply, {"items": [{"create": {"status": 201}}]}, "** filter")


def test_filter_path_not_applied_to_errors(scratch):
    server = scratch.standin()
    status, _, reply = bulk(server, b"{}",
                            "/_bulk?filter_path=items.*.status")
    check_eq(status, 400, "status")
    check_eq(reply["error"]["type"], "illegal_argument_exception", "type")


def test_unknown_parameter_and_method(scratch):
    server = scratch.standin()
    status, _, reply = bulk(server, ndjson(*create(DS, "a", ts_doc())),
                            "/_bulk?colour=red")
    check_eq(status, 400, "unknown parameter status")
    check_eq(reply["error"]["reason"], "request [/_bulk] contains "
             "unrecognized parameter: [colour]", "reason")
    status, _, reply = request(server, "GET", "/_bulk")
    check_eq(status, 405, "GET /_bulk status")
    check_eq(reply, {"error": "Incorrect HTTP method for uri [/_bulk] and "
                     "method [GET], allowed: [POST, PUT]", "status": 405},
             "405 reply")
    status, _, _ = request(server, "GET", "/nothing/here/at/all")
    check_eq(status, 400, "unknown path status")


def test_max_content_length(scratch):
    server = scratch.standin(max_content_length=1024)
    small = ndjson(*create(DS, "s", ts_doc()))
    large = ndjson(*create(DS, "l", ts_doc(message="x" * 2000)))
    status, head, reply = bulk(server, large)
    check_eq(status, 413, "plain oversized status")
    check_eq(reply, None, "413 body")
    check_eq(head.get("content-length"), "0", "413 Content-Length")
    # The limit applies to the decompressed body, as with Netty's
    # decompressor in front of the aggregator.
    status, _, _ = bulk(server, large, compress=True)
    check_eq(status, 413, "gzip oversized status")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    status, _, _ = request(server, "POST", "/_bulk", large,
                           {"Content-Type": "application/x-ndjson",
                            "Expect": "100-continue"}, conn)
    check_eq(status, 413, "Expect: 100-continue status")
    conn.close()
    status, _, _ = bulk(server, small)
    check_eq(status, 200, "small body status")
    check_eq([d["_id"] for d in server.documents(DS)], ["s"], "stored")


def test_keep_alive_and_content_length(scratch):
    server = scratch.standin()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for n in range(3):
        status, head, _ = request(server, "POST", "/_bulk",
                                  ndjson(*create(DS, str(n), ts_doc())),
                                  {"Content-Type": "application/x-ndjson"},
                                  conn)
        check_eq(status, 200, "status %d" % n)
        check("content-length" in head, "no Content-Length on reply %d" % n)
    status, head, _ = request(server, "GET", "/_bulk", conn=conn)
    check_eq(status, 405, "error on the same connection")
    check("content-length" in head, "no Content-Length on the 405")
    conn.close()
    check_eq(server.stats()["connections"], 1, "connections opened")


def test_chunked_request_body(scratch):
    server = scratch.standin()
    body = ndjson(*create(DS, "c1", ts_doc()), *create(DS, "c2", ts_doc()))
    with socket.create_connection(("127.0.0.1", server.port), 10) as sock:
        head = ("POST /_bulk HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-ndjson\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                          for part in (body[:10], body[10:]))
        sock.sendall(head + chunks + b"0\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(65536)
    check(reply.startswith(b"HTTP/1.1 200"), "reply %r" % reply[:80])
    check_eq(sorted(d["_id"] for d in server.documents(DS)), ["c1", "c2"],
             "stored ids")


def test_response_gzip_when_accepted(scratch):
    server = scratch.standin()
    status, head, body = request(server, "GET", "/",
                                 headers={"Accept-Encoding": "gzip"})
    check_eq(status, 200, "status")
    check_eq(head.get("content-encoding"), "gzip", "Content-Encoding")
    check_eq(body["version"]["number"], "8.15.0", "decoded body")


def test_fault_whole_request_status(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [
        {"on": 1, "status": 429}, {"on": 2, "status": 503},
        {"on": 3, "status": 401}, {"on": 4, "status": 413}]})
    body = ndjson(*create(DS, "w", ts_doc()))
    got = []
    for _ in range(5):
        status, head, reply = bulk(server, body)
        got.append((status, reply["error"]["type"] if reply and
                    "error" in reply else None))
        if status == 401:
            check_eq(head.get("www-authenticate"),
                     'Basic realm="security" charset="UTF-8"',
                     "WWW-Authenticate")
    check_eq(got, [(429, "es_rejected_execution_exception"),
                   (503, "cluster_block_exception"),
                   (401, "security_exception"), (413, None), (200, None)],
             "statuses")
    check_eq([d["_id"] for d in server.documents(DS)], ["w"], "stored")
    check_eq([r["status"] for r in server.request_log()],
             [429, 503, 401, 413, 200], "logged statuses")


def test_fault_counts_from_when_set(scratch):
    server = scratch.standin()
    bulk(server, ndjson(*create(DS, "a", ts_doc())))
    status, reply = harness.http_json(
        server.url + "/_standin/faults", "POST",
        {"requests": [{"on": 2, "count": 2, "status": 503}]})
    check_eq(status, 200, "control status")
    check_eq(reply["bulk_requests"], 1, "bulk requests so far")
    got = [bulk(server, ndjson(*create(DS, str(n), ts_doc())))[0]
           for n in range(4)]
    check_eq(got, [200, 503, 503, 200], "statuses")


def test_fault_duration(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 2, "duration": 1.0,
                                     "status": 429}]})
    body = ndjson(*create(DS, "s", ts_doc()))
    got = [bulk(server, body)[0] for _ in range(3)]
    time.sleep(1.1)
    got.append(bulk(server, body)[0])
    check_eq(got, [200, 429, 429, 200], "statuses")
    status, reply = harness.http_json(
        server.url + "/_standin/faults", "POST",
        {"requests": [{"on": 1, "duration": 1, "count": 2, "status": 429}]})
    check_eq(status, 400, "duration with count")
    check_eq(reply["error"]["type"], "illegal_argument_exception",
             "error type")


def test_fault_delayed_status(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1, "status": 429,
                                     "delay": 0.3}]})
    started = time.monotonic()
    status, _, _ = bulk(server, ndjson(*create(DS, "d", ts_doc())))
    took = time.monotonic() - started
    check_eq(status, 429, "status")
    check(took >= 0.3, "the 429 came after %.2f s, before the delay" % took)


def test_fault_cut_reply(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1, "action": "cut_reply",
                                     "bytes": 40}]})
    body = ndjson(*create(DS, "k0", ts_doc()), *create(DS, "k1", ts_doc()))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/_bulk?filter_path=errors,items.*.status", body,
                 {"Content-Type": "application/x-ndjson"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    check_eq(resp.status, 200, "status")
    check_eq(resp.getheader("Content-Length"), "40", "Content-Length")
    check_eq(raw, b'{"errors":false,"items":[{"create":{"sta', "body")
    check_eq(sorted(d["_id"] for d in server.documents(DS)), ["k0", "k1"],
             "stored")
    check_eq(server.request_log()[0]["outcome"], "cut", "logged outcome")
    status, reply = harness.http_json(
        server.url + "/_standin/faults", "POST",
        {"requests": [{"on": 1, "action": "cut_reply"}]})
    check_eq(status, 400, "cut_reply without bytes")
    check_eq(reply["error"]["type"], "illegal_argument_exception",
             "error type")


def test_concurrency_recorded(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1, "count": 3, "delay": 0.5}]})
    results = []

    def send(n):
        results.append(bulk(server, ndjson(*create(DS, "c%d" % n,
                                                   ts_doc())))[0])

    threads = []
    for n in range(3):
        threads.append(threading.Thread(target=send, args=(n,)))
        threads[-1].start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    bulk(server, ndjson(*create(DS, "c3", ts_doc())))
    check_eq(sorted(results), [200, 200, 200], "statuses")
    log = server.request_log()
    check_eq([e["concurrent"] for e in log], [1, 2, 3, 1], "concurrency")
    check(all(b["received"] > a["received"] for a, b in zip(log, log[1:])),
          "arrival times not increasing: %s"
          % [e["received"] for e in log])
    check_eq(server.stats()["max_concurrent"], 3, "max_concurrent")


def test_fault_item_statuses(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1, "items": {
        "0": 429,
        "2": {"status": 400, "type": "mapper_parsing_exception",
              "reason": "failed to parse field [x]"}}}]})
    body = ndjson(*create(DS, "0", ts_doc()), *create(DS, "1", ts_doc()),
                  *create(DS, "2", ts_doc()))
    _, _, reply = bulk(server, body,
                       "/_bulk?filter_path=errors,items.*.error,"
                       "items.*.status")
    statuses = [i["create"]["status"] for i in reply["items"]]
    check_eq(statuses, [429, 201, 400], "statuses")
    check_eq(reply["items"][0]["create"]["error"]["type"],
             "es_rejected_execution_exception", "429 type")
    check_eq(reply["items"][2]["create"]["error"]["reason"],
             "failed to parse field [x]", "400 reason")
    check_eq([d["_id"] for d in server.documents(DS)], ["1"], "stored")
    _, _, reply = bulk(server, body)
    check_eq([i["create"]["status"] for i in reply["items"]],
             [201, 409, 201], "resend statuses")


def test_fault_document_rule(scratch):
    server = scratch.standin()
    server.set_faults({"documents": [
        {"field": "message", "contains": "poison", "status": 400,
         "type": "mapper_parsing_exception", "reason": "bad [message]"},
        {"field": "log.level", "equals": "warn", "status": 429,
         "times": 1}]})
    body = ndjson(*create(DS, "p", ts_doc(message="a poison line")),
                  *create(DS, "w", ts_doc(**{"log.level": "warn"})),
                  *create(DS, "o", ts_doc(message="fine")))
    for expected in ([400, 429, 201], [400, 201, 409]):
        _, _, reply = bulk(server, body)
        check_eq([i["create"]["status"] for i in reply["items"]], expected,
                 "statuses")
    check_eq(sorted(d["_id"] for d in server.documents(DS)), ["o", "w"],
             "stored")


def test_fault_hang(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1, "action": "hang"}]})
    body = ndjson(*create(DS, "h", ts_doc()))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1)
    started = time.monotonic()
    try:
        request(server, "POST", "/_bulk", body,
                {"Content-Type": "application/x-ndjson"}, conn)
        raise harness.TestFailure("the hung request was answered")
    except socket.timeout:
        pass
    conn.close()
    check(time.monotonic() - started >= 0.9, "timed out too early")
    check_eq(server.documents(DS), [], "nothing stored by the hung request")
    status, _, _ = bulk(server, body)
    check_eq(status, 200, "next request")
    harness.wait_until(lambda: server.request_log()[0]["outcome"] == "hang",
                       5, "the hang to be logged")


def test_fault_close_after_index(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1,
                                     "action": "close_after_index"}]})
    body = ndjson(*create(DS, "c", ts_doc()))
    try:
        bulk(server, body)
        raise harness.TestFailure("the request was answered")
    except (http.client.RemoteDisconnected, ConnectionResetError):
        pass
    check_eq([d["_id"] for d in server.documents(DS)], ["c"],
             "stored before the close")
    _, _, reply = bulk(server, body)
    check_eq(reply["items"][0]["create"]["status"], 409, "resend status")
    log = server.request_log()
    check_eq([r["outcome"] for r in log], ["closed", "answered"], "outcomes")
    check_eq(log[0]["items"][0]["status"], 201, "logged item status")


def test_fault_refuse(scratch):
    server = scratch.standin()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    request(server, "GET", "/", conn=conn)
    server.set_faults({"refuse_seconds": 1.5})
    try:
        socket.create_connection(("127.0.0.1", server.port), 1).close()
        raise harness.TestFailure("connection accepted while refusing")
    except ConnectionRefusedError:
        pass
    try:
        request(server, "GET", "/", conn=conn)
        raise harness.TestFailure("kept-alive connection still served")
    except (http.client.RemoteDisconnected, ConnectionError,
            BrokenPipeError):
        pass
    conn.close()
    harness.wait_until(lambda: probe(server.port), 5, "listening again")
    status, _, _ = request(server, "GET", "/")
    check_eq(status, 200, "status after the refusal")


def probe(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def test_fault_refuse_on_request(scratch):
    server = scratch.standin()
    server.set_faults({"requests": [{"on": 1, "action": "refuse",
                                     "seconds": 1}]})
    try:
        bulk(server, ndjson(*create(DS, "r", ts_doc())))
        raise harness.TestFailure("the request was answered")
    except (http.client.RemoteDisconnected, ConnectionError):
        pass
    check_eq(server.documents(DS), [], "stored")
    check(not probe(server.port), "still listening")
    harness.wait_until(lambda: probe(server.port), 5, "listening again")


def test_search_and_count(scratch):
    server = scratch.standin()
    bulk(server, ndjson(
        *create(DS, "1", ts_doc(log={"level": "error"}, message="Disk full",
                                http={"response": {"status_code": 500}})),
        *create(DS, "2", ts_doc(**{"log.level": "error",
                                   "http.response.status_code": 503},
                                message="upstream timed out")),
        *create(DS, "3", ts_doc(log={"level": "info"}, message="ok",
                                http={"response": {"status_code": 200}}))))
    url = server.url

    status, reply = harness.http_json(
        url + "/%s/_search" % DS, "POST",
        {"query": {"term": {"log.level": "error"}}, "size": 100})
    check_eq(status, 200, "search status")
    check_eq(reply["hits"]["total"], {"value": 2, "relation": "eq"},
             "total")
    check_eq(sorted(h["_id"] for h in reply["hits"]["hits"]), ["1", "2"],
             "term hits on nested and dotted keys")
    status, reply = harness.http_json(
        url + "/%s/_count" % DS, "POST",
        {"query": {"term": {"http.response.status_code": "500"}}})
    check_eq(reply["count"], 1, "count of numeric term given as string")
    _, reply = harness.http_json(url + "/logs-*/_count", "POST",
                                 {"query": {"match": {"message": "TIMED"}}})
    check_eq(reply["count"], 1, "match count through a wildcard")

    _, reply = harness.http_json(
        url + "/%s/_search" % DS, "POST",
        {"query": {"bool": {"must_not": [{"term": {"log.level": "info"}}]}},
         "sort": [{"http.response.status_code": "desc"}], "size": 1})
    check_eq([h["_id"] for h in reply["hits"]["hits"]], ["2"], "sorted")
    _, reply = harness.http_json(url + "/%s/_count" % DS)
    check_eq(reply["count"], 3, "count all")

    status, reply = harness.http_json(url + "/missing/_search")
    check_eq(status, 404, "missing index status")
    check_eq(reply["error"]["type"], "index_not_found_exception", "type")
    status, reply = harness.http_json(url + "/%s/_search" % DS, "POST",
                                      {"size": 10001})
    check_eq(status, 400, "result window status")
    status, reply = harness.http_json(url + "/%s/_search" % DS, "POST",
                                      {"query": {"fuzzy": {"a": "b"}}})
    check_eq(reply["error"]["reason"], "unknown query [fuzzy]",
             "unknown query")


def test_request_log_and_stats(scratch):
    server = scratch.standin()
    bulk(server, ndjson(*create(DS, "a", ts_doc()),
                        *create(DS, "a", ts_doc())), compress=True)
    status, reply = harness.http_json(server.url + "/_standin/requests")
    check_eq(status, 200, "status")
    entry = reply["requests"][0]
    check_eq((entry["n"], entry["path"], entry["gzip"], entry["status"]),
             (1, "/_bulk", True, 200), "entry")
    check_eq([(i["action"], i["index"], i["id"], i["status"])
              for i in entry["items"]],
             [("create", DS, "a", 201), ("create", DS, "a", 409)], "items")
    _, stats = harness.http_json(server.url + "/_standin/stats")
    check_eq((stats["bulk_requests"], stats["bulk_items"],
              stats["items_201"], stats["items_409"],
              stats["gzip_requests"], stats["docs"]),
             (1, 2, 1, 1, 1, {DS: 1}), "stats")
    _, docs = harness.http_json(server.url + "/_standin/docs?index=%s"
                                "&fields=@timestamp" % DS)
    check_eq(docs["docs"][0]["fields"], {"@timestamp":
                                         ["2026-03-01T10:00:00.000Z"]},
             "docs endpoint fields")


def test_persistence_across_restart(scratch):
    data = scratch.join("es-data")
    first = es_standin.StandIn(data_dir=data).start()
    bulk(first, ndjson(*create(DS, "keep", ts_doc(message="kept"))))
    first.stop()
    second = scratch.standin(data_dir=data)
    _, _, reply = bulk(second, ndjson(*create(DS, "keep", ts_doc()),
                                      *create(DS, "new", ts_doc())))
    check_eq([i["create"]["status"] for i in reply["items"]], [409, 201],
             "statuses after restart")
    check_eq(second.store.indices[DS].docs["keep"][0]["message"], "kept",
             "kept document")


def test_command_line(scratch):
    port_file = scratch.join("port")
    faults = scratch.write("faults.json",
                           json.dumps({"requests": [{"on": 1,
                                                     "status": 503}]}))
    proc = subprocess.Popen(
        [sys.executable, harness.STANDIN_SCRIPT, "--port", "0",
         "--port-file", port_file, "--data-dir", scratch.join("d"),
         "--faults", "@" + faults, "--max-content-length", "1kb"])
    scratch.defer(lambda: proc.poll() is None and proc.kill())
    harness.wait_until(lambda: os.path.exists(port_file), 10, "port file")
    with open(port_file) as fp:
        port = int(fp.read())

    class Remote:
        pass
    remote = Remote()
    remote.port = port
    body = ndjson(*create(DS, "cli", ts_doc()))
    check_eq(bulk(remote, body)[0], 503, "scripted 503")
    check_eq(bulk(remote, body)[0], 200, "then 200")
    check_eq(bulk(remote, body + b" " * 1024)[0], 413, "1kb limit")
    proc.send_signal(signal.SIGTERM)
    check_eq(proc.wait(10), 0, "exit status after SIGTERM")
    with open(os.path.join(scratch.join("d"), DS + ".jsonl")) as fp:
        check_eq(len(fp.read().splitlines()), 2, "journal records")


def test_command_line_refuse_seconds(scratch):
    port_file = scratch.join("port")
    proc = subprocess.Popen(
        [sys.executable, harness.STANDIN_SCRIPT, "--port", "0",
         "--port-file", port_file, "--refuse-seconds", "1.5"])
    scratch.defer(lambda: proc.poll() is None and proc.kill())
    harness.wait_until(lambda: os.path.exists(port_file), 10, "port file")
    with open(port_file) as fp:
        port = int(fp.read())
    check(not probe(port), "connection accepted during --refuse-seconds")
    harness.wait_until(lambda: probe(port), 10, "listening after 1.5 s")
    proc.send_signal(signal.SIGTERM)
    check_eq(proc.wait(10), 0, "exit status after SIGTERM")


TESTS = [
    test_cluster_info,
    test_bulk_create_into_data_stream,
    test_create_existing_id_conflicts,
    test_index_overwrites_plain_index,
    test_missing_id_is_generated,
    test_data_stream_rejects_index_action,
    test_data_stream_requires_timestamp,
    test_content_type_is_enforced,
    test_gzip_bodies,
    test_body_must_end_with_newline,
    test_malformed_action_lines,
    test_invalid_source_is_item_error,
    test_invalid_index_name,
    test_mapping_conflicts,
    test_metadata_field_in_source,
    test_delete_and_update,
    test_unknown_pipeline_fails_items,
    test_filter_path,
    test_filter_path_not_applied_to_errors,
    test_unknown_parameter_and_method,
    test_max_content_length,
    test_keep_alive_and_content_length,
    test_chunked_request_body,
    test_response_gzip_when_accepted,
    test_fault_whole_request_status,
    test_fault_counts_from_when_set,
    test_fault_duration,
    test_fault_delayed_status,
    test_fault_cut_reply,
    test_concurrency_recorded,
    test_fault_item_statuses,
    test_fault_document_rule,
    test_fault_hang,
    test_fault_close_after_index,
    test_fault_refuse,
    test_fault_refuse_on_request,
    test_search_and_count,
    test_request_log_and_stats,
    test_persistence_across_restart,
    test_command_line,
    test_command_line_refuse_seconds,
]

if __name__ == "__main__":
    harness.main(TESTS)
