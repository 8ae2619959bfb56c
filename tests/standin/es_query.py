"""filter_path and the query DSL subset of the Elasticsearch stand-in."""

import fnmatch
import re

from es_model import EsError, field_values, values_equal


# --- filter_path ----------------------------------------------------------

def compile_filter_path(spec):
    includes = []
    excludes = []
    for expr in spec.split(","):
        expr = expr.strip()
        if not expr:
            continue
        target = includes
        if expr.startswith("-"):
            target = excludes
            expr = expr[1:]
        target.append(expr.split("."))
    return includes, excludes


def segment_matches(pattern, name):
    if pattern == "*":
        return True
    if "*" in pattern:
        return fnmatch.fnmatchcase(name, pattern)
    return pattern == name


def advance(filters, name):
    """Return (filters left for the children of `name`, fully matched)."""
    rest = []
    matched = False
    for segs in filters:
        if not segs:
            continue
        head = segs[0]
        if head == "**":
            rest.append(segs)               # ** keeps matching deeper
            tail = segs[1:]
            if tail:
                sub, full = advance([tail], name)
                rest.extend(sub)
                matched = matched or full
            else:
                matched = True
            continue
        if segment_matches(head, name):
            if len(segs) == 1:
                matched = True
            else:
                rest.append(segs[1:])
    return rest, matched


_DROP = object()


def filter_include(value, filters):
    """Keep only what the inclusion filters reach; empty containers that
    were only partly matched disappear, as in Elasticsearch."""
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            rest, full = advance(filters, key)
            if full:
                out[key] = child
            elif rest:
                kept = filter_include(child, rest)
                if kept is not _DROP:
                    out[key] = kept
        return out if out else _DROP
    if isinstance(value, list):
        out = [filter_include(element, filters) for element in value]
        out = [element for element in out if element is not _DROP]
        return out if out else _DROP
    return _DROP


def filter_exclude(value, filters):
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            rest, full = advance(filters, key)
            if full:
                continue
            out[key] = filter_exclude(child, rest) if rest else child
        return out
    if isinstance(value, list):
        return [filter_exclude(element, filters) for element in value]
    return value


def apply_filter_path(body, spec):
    includes, excludes = compile_filter_path(spec)
    if includes:
        body = filter_include(body, includes)
        if body is _DROP:
            body = {}
    if excludes:
        body = filter_exclude(body, excludes)
    return body


# --- search ---------------------------------------------------------------

def tokens(text):
    return re.findall(r"\w+", str(text).lower())


def compile_query(query):
    """Turn a query DSL object into a predicate over a source document."""
    if not isinstance(query, dict) or len(query) != 1:
        raise EsError(400, "parsing_exception",
                      "[_na] query malformed, must start with start_object")
    kind, body = next(iter(query.items()))
    builder = QUERY_BUILDERS.get(kind)
    if builder is None:
        raise EsError(400, "parsing_exception", "unknown query [%s]" % kind,
                      line=1, col=len(kind) + 3)
    return builder(body)


def single_field(kind, body, value_key):
    if not isinstance(body, dict) or len(body) != 1:
        raise EsError(400, "parsing_exception",
                      "[%s] query doesn't support multiple fields, found "
                      "[%s]" % (kind, ", ".join(body)
                                if isinstance(body, dict) else body))
    field, spec = next(iter(body.items()))
    if isinstance(spec, dict):
        if value_key not in spec:
            raise EsError(400, "parsing_exception",
                          "[%s] query does not support [%s]"
                          % (kind, ", ".join(spec)))
        return field, spec[value_key], spec
    return field, spec, {}


def build_term(body):
    field, wanted, _ = single_field("term", body, "value")
    return lambda src: any(values_equal(v, wanted)
                           for v in field_values(src, field))


def build_terms(body):
    (field, wanted), = body.items()
    return lambda src: any(values_equal(v, w) for v in
                           field_values(src, field) for w in wanted)


def build_match(body):
    field, text, spec = single_field("match", body, "query")
    wanted = tokens(text)
    require_all = str(spec.get("operator", "or")).lower() == "and"

    def pred(src):
        have = set()
        for value in field_values(src, field):
            if isinstance(value, (int, float)) and not isinstance(value,
                                                                  bool):
                if values_equal(value, text):
                    return True
            have.update(tokens(value))
        hits = [t in have for t in wanted]
        return all(hits) if require_all else any(hits)
    return pred


def build_exists(body):
    field = body["field"]
    return lambda src: any(v is not None for v in field_values(src, field))


def build_range(body):
    (field, bounds), = body.items()
    ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
           "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}

    def comparable(value):
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)

    def pred(src):
        for value in field_values(src, field):
            ok = True
            for op, bound in bounds.items():
                if op not in ops:
                    continue
                try:
                    ok = ok and ops[op](comparable(value), comparable(bound))
                except TypeError:
                    ok = False
            if ok:
                return True
        return False
    return pred


def build_bool(body):
    def many(key):
        clauses = body.get(key, [])
        if isinstance(clauses, dict):
            clauses = [clauses]
        return [compile_query(c) for c in clauses]
    must = many("must") + many("filter")
    should = many("should")
    must_not = many("must_not")
    minimum = int(body.get("minimum_should_match",
                           0 if must or not should else 1))

    def pred(src):
        if not all(p(src) for p in must):
            return False
        if any(p(src) for p in must_not):
            return False
        return sum(1 for p in should if p(src)) >= minimum
    return pred


QUERY_BUILDERS = {
    "match_all": lambda body: (lambda src: True),
    "term": build_term,
    "terms": build_terms,
    "match": build_match,
    "match_phrase": build_match,
    "exists": build_exists,
    "range": build_range,
    "bool": build_bool,
}


def sort_key_fn(sort_spec):
    if sort_spec is None:
        return None
    if not isinstance(sort_spec, list):
        sort_spec = [sort_spec]
    keys = []
    for entry in sort_spec:
        if isinstance(entry, str):
            keys.append((entry, "asc"))
        else:
            (field, order), = entry.items()
            if isinstance(order, dict):
                order = order.get("order", "asc")
            keys.append((field, order))
    return keys


def sort_hits(hits, keys):
    for field, order in reversed(keys):
        def key(hit, field=field):
            if field == "_id":
                return (0, hit[1])
            values = field_values(hit[2], field)
            if not values:
                return (1, 0)
            value = values[0]
            if isinstance(value, (int, float)):
                return (0, value)
            return (0, str(value))
        present = [h for h in hits if key(h)[0] == 0]
        missing = [h for h in hits if key(h)[0] == 1]
        try:
            present.sort(key=key, reverse=(order == "desc"))
        except TypeError:
            present.sort(key=lambda h: str(key(h)[1]),
                         reverse=(order == "desc"))
        hits = present + missing
    return hits
