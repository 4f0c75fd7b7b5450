"""The subset of Stripe's search query language the emulator understands
(https://docs.stripe.com/search#search-query-language):

    email:'jenny@example.com'        exact match (case-insensitive for string fields)
    name~'jen'                       substring, at least 3 characters (string fields)
    metadata['plan']:'pro'           metadata value (``metadata['plan']:null``: key absent)
    created>1700000000               numeric comparison: : > < >= <=
    -status:'canceled'               negation
    a:'x' AND b:'y' / a:'x' OR b:'y' (a space means AND; AND and OR cannot be mixed)

Results are newest first; ``next_page`` is an opaque cursor for ``page``."""

import base64
import binascii
import json
import re

from .errors import invalid_parameter

MAX_CLAUSES = 10
MIN_SUBSTRING = 3
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<connective>AND|OR)(?=\s|$)
      | (?P<clause>(?P<negated>-)?
            (?P<field>metadata\[(?P<key>'[^']*'|"[^"]*")\]|[a-z_]+(?:\.[a-z_]+)*)
            (?P<operator>>=|<=|:|~|>|<)
            (?P<value>'[^']*'|"[^"]*"|[^\s'"]+))
    )""",
    re.VERBOSE | re.IGNORECASE,
)


class Field:
    """A searchable field: ``kind`` is string, token, numeric or boolean;
    ``read`` returns the field's value from a stored object."""

    def __init__(self, kind, read):
        self.kind = kind
        self.read = read


class Clause:
    def __init__(self, negated, field, metadata_key, operator, value):
        self.negated = negated
        self.field = field
        self.metadata_key = metadata_key
        self.operator = operator
        self.value = value


def query_error(message):
    return invalid_parameter("query", message)


def parse(query, resource, fields):
    """Clauses and the connective ("AND"/"OR") of ``query``; raises 400 for
    anything outside the supported subset."""
    clauses, connectives, position = [], set(), 0
    text = query.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise query_error("Invalid query: could not parse '%s'." % text[position:].strip())
        position = match.end()
        if match.group("connective"):
            connectives.add(match.group("connective").upper())
            continue
        clauses.append(_clause(match, resource, fields))
    if not clauses:
        raise query_error("Invalid query: the query is empty.")
    if len(connectives) > 1:
        raise query_error("Invalid query: AND and OR cannot be combined in one query.")
    if len(clauses) > MAX_CLAUSES:
        raise query_error("Invalid query: a query can have at most %d clauses." % MAX_CLAUSES)
    return clauses, (connectives.pop() if connectives else "AND")


def _clause(match, resource, fields):
    key = match.group("key")
    name = "metadata" if key else match.group("field")
    if name not in fields and not key:
        raise query_error(
            "Field `%s` is an unsupported search field for resource `%s`. See "
            "https://stripe.com/docs/search#query-fields-for-%s for a list of supported fields."
            % (name, resource, resource)
        )
    operator, value = match.group("operator"), _unquote(match.group("value"))
    kind = "metadata" if key else fields[name].kind
    if operator == "~" and (kind != "string" or value is None or len(value) < MIN_SUBSTRING):
        raise query_error(
            "Invalid query: `~` needs a string field and at least %d characters (%s)." % (MIN_SUBSTRING, name)
        )
    if operator in (">", "<", ">=", "<=") and kind != "numeric":
        raise query_error("Invalid query: `%s` only applies to numeric fields (%s)." % (operator, name))
    if kind == "numeric" and value is not None and not re.match(r"^-?\d+$", value):
        raise query_error("Invalid query: `%s` needs a number." % name)
    return Clause(bool(match.group("negated")), name, _unquote(key) if key else None, operator, value)


def _unquote(token):
    if token[:1] in ("'", '"'):
        return token[1:-1]
    return None if token.lower() == "null" else token


def matches(obj, clauses, connective, fields):
    results = (_clause_matches(obj, clause, fields) != clause.negated for clause in clauses)
    return all(results) if connective == "AND" else any(results)


def _clause_matches(obj, clause, fields):
    if clause.metadata_key is not None:
        actual = (obj.get("metadata") or {}).get(clause.metadata_key)
        return actual is None if clause.value is None else actual == clause.value
    field = fields[clause.field]
    actual = field.read(obj)
    if clause.value is None:
        return actual in (None, "")
    if field.kind == "numeric":
        return actual is not None and _compare(int(actual), clause.operator, int(clause.value))
    if field.kind == "boolean":
        return actual is (clause.value.lower() == "true")
    if field.kind == "token":
        return actual == clause.value
    text = (actual or "").lower()
    return clause.value.lower() in text if clause.operator == "~" else text == clause.value.lower()


def _compare(actual, operator, expected):
    return {
        ":": actual == expected,
        ">": actual > expected,
        "<": actual < expected,
        ">=": actual >= expected,
        "<=": actual <= expected,
    }[operator]


def search_result(objects, params, url, render):
    """Stripe's ``search_result`` page of ``objects`` (stored, newest first)."""
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise invalid_parameter("limit", "Invalid limit: must be between 1 and 100", code="parameter_invalid_integer")
    start = _page_start(objects, params.get("page"))
    page = objects[start : start + limit]
    has_more = start + limit < len(objects)
    result = {
        "object": "search_result",
        "data": [render(o) for o in page],
        "has_more": has_more,
        "next_page": _cursor(page[-1]["id"]) if has_more else None,
        "url": url,
    }
    if "total_count" in (params.get("expand") or []):
        result["total_count"] = len(objects)
    return result


def _cursor(last_id):
    return base64.urlsafe_b64encode(json.dumps(["after", last_id]).encode()).decode().rstrip("=")


def _page_start(objects, page):
    if not page:
        return 0
    try:
        marker, last_id = json.loads(base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)))
    except (ValueError, binascii.Error, TypeError):
        raise invalid_parameter("page", "Invalid page: %s" % page) from None
    ids = [o["id"] for o in objects]
    if marker != "after" or last_id not in ids:
        raise invalid_parameter("page", "Invalid page: %s" % page)
    return ids.index(last_id) + 1


def search(objects, params, resource, fields, render):
    """``GET /v1/<resource>/search``: filter ``objects`` by ``params["query"]``."""
    clauses, connective = parse(params["query"], resource, fields)
    found = [o for o in objects if matches(o, clauses, connective, fields)]
    return search_result(found, params, "/v1/%s/search" % resource, render)
