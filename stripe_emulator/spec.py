"""Stripe's request description, as the pinned ``stripe`` library generates it
(``stripe_spec.json``, written by ``python -m stripe_emulator.specgen``).

It answers three questions for the HTTP layer: which operation a method and
path name (``operation_for``), whether the parameters are ones Stripe would
accept - turning form strings into the declared types on the way
(``validate_parameters``) - and whether each ``expand[]`` path names an
expandable field of the result (``check_expand``)."""

import json
import math
import os
import re

from .errors import StripeError, invalid_parameter, missing, parameter_unknown, passed_empty_string
from .versions import NOT_REQUIRED

SPEC_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stripe_spec.json")
# Operations Stripe serves but leaves out of its published description: Checkout's own page API, which
# Stripe.js calls and the Stripe CLI's checkout.session.* fixtures call too.
UNDOCUMENTED_OPERATIONS = {
    "GET /v1/payment_pages/{session}": {"fields": {"expand": {"array": "string"}}, "required": []},
    "POST /v1/payment_pages/{session}/confirm": {
        "fields": {"expand": {"array": "string"}, "expected_amount": "integer", "payment_method": "string"},
        "required": ["payment_method"],
    },
}
MAX_EXPAND_DEPTH = 4
_INTEGER = re.compile(r"^-?\d+$")


class Operation:
    """One Stripe API operation, e.g. ``POST /v1/customers/{customer}``."""

    def __init__(self, key, description):
        self.key = key
        self.method, self.template = key.split(" ", 1)
        self.shape = description["params"]
        self.returns = description["returns"] or {}
        self.segments = self.template.strip("/").split("/")
        self.literal_segments = sum(1 for s in self.segments if not s.startswith("{"))

    def path_arguments(self, segments):
        """The values of the ``{placeholders}`` in ``segments``, or None when the path does not match."""
        if len(segments) != len(self.segments):
            return None
        values = []
        for pattern, segment in zip(self.segments, segments, strict=True):
            if pattern.startswith("{"):
                values.append(segment)
            elif pattern != segment:
                return None
        return values


class Spec:
    def __init__(self, data):
        self.api_version = data["api_version"]
        self.stripe_library = data["stripe_library"]
        self.shapes = data["shapes"]
        self.objects = data["objects"]
        self.operations = {key: Operation(key, value) for key, value in data["operations"].items()}
        for key, shape in UNDOCUMENTED_OPERATIONS.items():
            self.shapes["undocumented " + key] = shape
            self.operations[key] = Operation(key, {"params": "undocumented " + key, "returns": {}})
        # Index by (number of segments, resource name: the segment after /v1/) - routing is a dict lookup
        self._by_shape = {}
        for operation in self.operations.values():
            self._by_shape.setdefault(_route_key(operation.segments), []).append(operation)

    @classmethod
    def load(cls, path=SPEC_FILE):
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def operations_for(self, path):
        """Every (operation, path arguments) whose template matches ``path``,
        literal segments first (``/v1/customers/search`` before ``/v1/customers/{customer}``)."""
        segments = path.strip("/").split("/")
        candidates = self._by_shape.get(_route_key(segments), []) + self._by_shape.get((len(segments), None), [])
        found = []
        for operation in candidates:
            arguments = operation.path_arguments(segments)
            if arguments is not None:
                found.append((operation, arguments))
        found.sort(key=lambda pair: -pair[0].literal_segments)
        return found

    # --- parameters ---------------------------------------------------------
    def validate_parameters(self, operation, params, extra_fields=None):
        """Check ``params`` against the operation's declared parameters and return
        them typed (integers, booleans, lists).  ``extra_fields`` adds top-level
        parameters (e.g. ones an older ``Stripe-Version`` still accepts)."""
        shape = self.shapes[operation.shape]
        if extra_fields:
            shape = self._with_fields(shape, extra_fields)
        return self._object(shape, params, "")

    def _with_fields(self, shape, extra_fields):
        """``shape`` with the parameters an older version still accepts: top-level names, or bracketed
        paths into nested objects (``phases[][iterations]``: ``[]`` steps into an array's items)."""
        fields, required = dict(shape["fields"]), list(shape["required"])
        for path, node in extra_fields.items():
            head, bracket, rest = path.partition("[")
            if bracket:
                fields[head] = self._with_nested(fields[head], bracket + rest, node)
            elif node == NOT_REQUIRED:
                required = [key for key in required if key != head]
            else:
                fields[head] = node
        return {"fields": fields, "required": required}

    def _with_nested(self, node, path, added):
        if isinstance(node, list):
            return [self._with_nested(n, path, added) if isinstance(n, dict) else n for n in node]
        token, rest = path[1:].split("]", 1)
        if token == "":
            return {"array": self._with_nested(node["array"], rest, added)}
        return {"object": self._with_fields(self._shape(node["object"]), {token + rest: added})}

    def _shape(self, reference):
        """A shape by name, or given inline (``_with_fields``)."""
        return reference if isinstance(reference, dict) else self.shapes[reference]

    def _object(self, shape, value, name):
        if not isinstance(value, dict):
            raise invalid_parameter(name, "Invalid hash")
        fields = shape["fields"]
        for key in value:
            if key not in fields:
                raise parameter_unknown(_child(name, key))
        for key in shape["required"]:
            if value.get(key) is None:
                raise missing(_child(name, key))
        return {
            key: self._value(fields[key], item, _child(name, key)) for key, item in value.items() if item is not None
        }

    def _value(self, node, value, name):
        alternatives = node if isinstance(node, list) else [node]
        if value == "":
            if "empty" in alternatives:
                return ""
            raise passed_empty_string(name)
        candidates = [a for a in alternatives if a != "empty"]
        errors = []
        for alternative in candidates:
            try:
                return self._single(alternative, value, name)
            except StripeError as error:
                errors.append((alternative, error))
        raise _most_relevant(errors, value)

    def _single(self, node, value, name):
        if isinstance(node, str):
            return _scalar(node, value, name)
        if "enum" in node:
            if isinstance(value, str) and value in node["enum"]:
                return value
            raise invalid_parameter(name, "Invalid %s: must be one of %s" % (name, _one_of(node["enum"])))
        if "object" in node:
            return self._object(self._shape(node["object"]), value, name)
        if "array" in node:
            return [self._value(node["array"], item, _child(name, key)) for key, item in _array_items(value, name)]
        return self._map(node["map"], value, name)

    def _map(self, node, value, name):
        if not isinstance(value, dict):
            raise invalid_parameter(name, "Invalid hash")
        # "" unsets one key (metadata[key]=): allowed whatever the value type
        return {k: ("" if v == "" else self._value(node, v, _child(name, k))) for k, v in value.items()}

    # --- expansion ----------------------------------------------------------
    def check_expand(self, operation, paths):
        """Raise Stripe's 400 for an ``expand[]`` path the result cannot expand."""
        for path in paths:
            parts = path.split(".")
            if len(parts) > MAX_EXPAND_DEPTH:
                raise StripeError(400, "invalid_request_error", "You cannot expand more than 4 levels of a property.")
            failed_at = self._expand_failure(self._result_types(operation), parts)
            if failed_at is None:
                continue
            message = "This property cannot be expanded (%s)." % ".".join(parts[: failed_at + 1])
            is_list = "list" in operation.returns or "search" in operation.returns
            if is_list and self._expand_failure(self._result_types(operation), ["data"] + parts) is None:
                message += " You may want to try expanding 'data.%s' instead." % path
            raise StripeError(400, "invalid_request_error", message)

    def _result_types(self, operation):
        returns = operation.returns
        if "list" in returns:
            return {"list:" + returns["list"]}
        if "search" in returns:
            return {"search:" + returns["search"]}
        return set(returns.get("object", ()))

    def _fields(self, type_id):
        if type_id.startswith("list:"):
            return {"data": {"object": type_id[5:].split(",")}}
        if type_id.startswith("search:"):
            return {"data": {"object": type_id[7:].split(",")}, "total_count": {"expand": []}}
        return self.objects.get(type_id, {})

    def _expand_failure(self, types, parts):
        """Index of the first part that cannot be followed or expanded, else None."""
        for index, part in enumerate(parts):
            descriptors = [self._fields(t)[part] for t in types if part in self._fields(t)]
            last = index == len(parts) - 1
            if not descriptors or (last and not any("expand" in d or "list" in d for d in descriptors)):
                return index
            types = set()
            for descriptor in descriptors:
                if "list" in descriptor:
                    types.add("list:" + ",".join(descriptor["list"]))
                else:
                    target = descriptor.get("expand", descriptor.get("object"))
                    types.update(target if isinstance(target, list) else [target])
        return None


def _route_key(segments):
    resource = segments[1] if len(segments) > 1 else None
    return len(segments), None if resource is None or resource.startswith("{") else resource


def _child(name, key):
    return key if not name else "%s[%s]" % (name, key)


def _array_items(value, name):
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict) and value and all(str(k).isdigit() for k in value):
        return sorted(value.items(), key=lambda item: int(item[0]))
    raise invalid_parameter(name, "Invalid array")


def _scalar(kind, value, name):
    if kind == "any":
        return value
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise invalid_parameter(name, "Invalid string: %s" % json.dumps(value))
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.match(value):
            return int(value)
        raise invalid_parameter(name, "Invalid integer: %s" % _shown(value), code="parameter_invalid_integer")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise invalid_parameter(name, "Invalid boolean: %s" % _shown(value))
    return _number(value, name)


def _number(value, name):
    try:
        number = float(value) if not isinstance(value, (bool, dict, list)) else math.nan
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        return number
    raise invalid_parameter(name, "Invalid decimal: %s" % _shown(value))


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value)


def _one_of(values):
    values = list(values)
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return "%s or %s" % tuple(values)
    return "%s, or %s" % (", ".join(values[:-1]), values[-1])


def _most_relevant(errors, value):
    """Of the errors each alternative of a union raised, the one about the
    alternative shaped like ``value`` (a hash for objects, a list for arrays,
    a type error before an enum error for strings)."""

    def rank(pair):
        node, _ = pair
        if isinstance(value, dict):
            return 0 if isinstance(node, dict) and ("object" in node or "map" in node or "array" in node) else 1
        if isinstance(value, list):
            return 0 if isinstance(node, dict) and "array" in node else 1
        return 0 if isinstance(node, str) else 1

    return sorted(errors, key=rank)[0][1]
