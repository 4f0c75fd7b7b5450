"""Development tool: turn the installed ``stripe`` library's generated request
types into the emulator's request specification (``stripe_spec.json``).

    python -m stripe_emulator.specgen            # rewrite stripe_emulator/stripe_spec.json
    python -m stripe_emulator.specgen --check    # exit 1 when the committed file is stale

The library is generated from Stripe's OpenAPI description: every service
method (``CustomerService.create``) names its HTTP method and path in a
``self._request("post", "/v1/customers", ...)`` call, its parameters as a
``TypedDict`` in ``stripe.params`` (``CustomerCreateParams``: names, nesting,
lists, ``Literal`` enums, ``NotRequired`` keys) and its result type
(``Customer``, ``ListObject[Customer]``).  The result classes mark fields that
``expand[]`` can replace with objects (``ExpandableField[...]``).

This module imports ``stripe`` and is never imported by the emulator itself,
which only reads the JSON file (see ``spec.py``).
"""

import argparse
import ast
import decimal
import functools
import importlib
import json
import pathlib
import sys
import types
import typing

import stripe
import typing_extensions
from stripe._list_object import ListObject
from stripe._request_options import RequestOptions
from stripe._stripe_object import StripeObject, UntypedStripeObject

SPEC_PATH = pathlib.Path(__file__).with_name("stripe_spec.json")
STRIPE_ROOT = pathlib.Path(stripe.__file__).parent
REQUEST_OPTION_KEYS = frozenset(RequestOptions.__annotations__)
# Top-level params inherit RequestOptions, whose annotations name types only imported for type checkers.
REQUEST_OPTIONS_NAMES = dict(vars(sys.modules[RequestOptions.__module__]), StripeContext=object)
# Fields Stripe leaves out unless ``expand[]`` names them ("includable"): the library's types do not
# mark them, Stripe's API reference does ("This field is not included by default").
INCLUDABLE = {"coupon": ("applies_to",), "customer": ("tax",), "invoice": ("confirmation_secret",)}
SCALARS = {
    str: "string",
    int: "integer",
    bool: "boolean",
    float: "number",
    decimal.Decimal: "number",
    typing.Any: "any",
}


# ---------------------------------------------------------------------------
# service methods -> operations


def _service_files():
    for path in sorted(STRIPE_ROOT.rglob("_*_service.py")):
        relative = path.relative_to(STRIPE_ROOT)
        if relative.parts[0] != "v2":
            yield path, "stripe." + ".".join(relative.with_suffix("").parts)


def _import_map(tree):
    """Names imported anywhere in a module (TYPE_CHECKING blocks included) -> module."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


def _string_annotation(node):
    """``Optional["X"]`` / ``"X"`` -> ``"X"`` (None when absent)."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Subscript):
        return _string_annotation(node.slice)
    return None


def _request_call(function):
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_request":
            method, path = node.args[0].value, node.args[1]
            if isinstance(path, ast.Call):  # "/v1/customers/{customer}".format(...)
                path = path.func.value
            return method.upper(), path.value
    return None


def _service_operations(path, module_name):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = _import_map(tree)
    for cls in tree.body:
        if not (isinstance(cls, ast.ClassDef) and cls.name.endswith("Service")):
            continue
        for function in cls.body:
            if not isinstance(function, ast.FunctionDef):
                continue
            call = _request_call(function)
            params_arg = next((a for a in function.args.args if a.arg == "params"), None)
            if call is None or params_arg is None:
                continue
            params_name = _string_annotation(params_arg.annotation)
            yield {
                "key": "%s %s" % call,
                "params_class": _resolve(imports, module_name, params_name),
                "returns": _string_annotation(function.returns),
                "imports": imports,
                "module": module_name,
                "source": "%s.%s.%s" % (module_name, cls.name, function.name),
            }


def _resolve(imports, module_name, name):
    module = importlib.import_module(imports.get(name, module_name))
    return getattr(module, name)


# ---------------------------------------------------------------------------
# request parameter types -> spec nodes


class ParamShapes:
    """Request shapes, deduplicated by structure: ``shapes["S12"] =
    {"fields": {name: node}, "required": [...]}``."""

    def __init__(self):
        self.shapes = {}
        self._ids_by_canonical = {}
        self._ids_by_class = {}

    def shape_of(self, typed_dict, exclude=frozenset()):
        if typed_dict in self._ids_by_class and not exclude:
            return self._ids_by_class[typed_dict]
        # RequestOptions (inherited by top-level params) names a type only imported for type checkers
        hints = typing.get_type_hints(typed_dict, localns=REQUEST_OPTIONS_NAMES, include_extras=True)
        fields = {name: self.node(hint) for name, hint in sorted(hints.items()) if name not in exclude}
        required = sorted(k for k in typed_dict.__required_keys__ if k not in exclude)
        shape = {"fields": fields, "required": required}
        canonical = json.dumps(shape, sort_keys=True)
        shape_id = self._ids_by_canonical.get(canonical)
        if shape_id is None:
            shape_id = "S%d" % len(self.shapes)
            self._ids_by_canonical[canonical] = shape_id
            self.shapes[shape_id] = shape
        if not exclude:
            self._ids_by_class[typed_dict] = shape_id
        return shape_id

    def node(self, hint):
        """A spec node: a scalar name, ``{"enum"}``, ``{"array"}``, ``{"map"}``,
        ``{"object"}``, or a list of alternatives (``"empty"`` = the empty
        string that unsets a value)."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing_extensions.NotRequired, typing_extensions.Required):
            return self.node(args[0])
        if origin in (typing.Union, types.UnionType):
            return self._union(args)
        if origin is typing.Literal:
            return self._literal(args)
        if hint in SCALARS:
            return SCALARS[hint]
        if origin is list:
            return {"array": self.node(args[0])}
        if origin is dict or origin is UntypedStripeObject:
            return {"map": self.node(args[-1])}
        if typing_extensions.is_typeddict(hint):
            return {"object": self.shape_of(hint)}
        raise TypeError("unsupported parameter type %r" % (hint,))

    @staticmethod
    def _literal(values):
        if all(isinstance(v, bool) for v in values):
            return "boolean"
        alternatives = ["empty"] if "" in values else []
        enum = [v for v in values if v != ""]
        if enum:
            alternatives.append({"enum": enum})
        return alternatives[0] if len(alternatives) == 1 else alternatives

    def _union(self, args):
        members = [a for a in args if a is not type(None)]
        literal_strings = [
            v for a in members if typing.get_origin(a) is typing.Literal for v in typing.get_args(a) if v != ""
        ]
        if literal_strings and str in members:
            # ``Literal["a", "b"] | str``: the library keeps enums open for
            # forward compatibility; the API itself accepts only the listed values.
            members = [a for a in members if a is not str]
        literals = [v for a in members if typing.get_origin(a) is typing.Literal for v in typing.get_args(a)]
        others = [a for a in members if typing.get_origin(a) is not typing.Literal]
        alternatives = []
        if literals:
            literal = self._literal(tuple(dict.fromkeys(literals)))
            alternatives.extend(literal if isinstance(literal, list) else [literal])
        for member in others:
            node = self.node(member)
            for alternative in node if isinstance(node, list) else [node]:
                if alternative not in alternatives:
                    alternatives.append(alternative)
        return alternatives[0] if len(alternatives) == 1 else alternatives


# ---------------------------------------------------------------------------
# result types -> expandable fields


class ResultShapes:
    """For ``expand[]`` validation: per object, the fields that lead to
    something expandable.  ``objects[id][field]`` is ``{"expand": [ids]}``
    (an id or an object), ``{"list": id}`` (a list object, paths continue
    with ``data``) or ``{"object": id}`` (a nested object)."""

    def __init__(self):
        self.objects = {}
        self.top_level = set()
        self._ids = {}

    def object_id(self, cls):
        if cls in self._ids:
            return self._ids[cls]
        top_level = getattr(cls, "OBJECT_NAME", None)
        owner = cls.__qualname__.split(".")[0]
        object_id = top_level or "%s.%s" % (_object_name_of(cls.__module__, owner), cls.__qualname__.split(".", 1)[1])
        self._ids[cls] = object_id
        self.objects[object_id] = {}
        if top_level:
            self.top_level.add(object_id)
        fields = {}
        for name, hint in _annotations(cls).items():
            descriptor = self._descriptor(cls, hint)
            if descriptor is not None:
                fields[name] = descriptor
        self.objects[object_id] = fields
        return object_id

    def _descriptor(self, owner, hint):
        hint = _strip_optional(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is list:
            return self._descriptor(owner, args[0])
        if origin is ListObject:
            ids = self._object_ids(owner, _members(args[0]))
            return {"list": ids} if ids else None
        if origin in (typing.Union, types.UnionType) and str in args:
            ids = self._object_ids(owner, [a for a in args if a is not str])
            return {"expand": ids} if ids else None
        embedded = _resolve_hint(owner, hint)
        if embedded is None:
            return None
        object_id = self.object_id(embedded)
        if object_id in self.top_level or self.objects[object_id]:
            return {"object": object_id}
        return None

    def _object_ids(self, owner, members):
        classes = [_resolve_hint(owner, member) for member in members]
        return sorted({self.object_id(cls) for cls in classes if cls is not None})

    def prune(self):
        """Nested objects without a field leading to an expansion are never referenced."""
        for object_id, fields in INCLUDABLE.items():
            self.objects[object_id].update({field: {"expand": []} for field in fields})
        return {k: v for k, v in sorted(self.objects.items()) if v or k in self.top_level}


def _annotations(cls):
    merged = {}
    for klass in reversed(cls.__mro__):
        if klass in (StripeObject, object) or not issubclass(klass, StripeObject):
            continue
        merged.update(getattr(klass, "__annotations__", {}))
    return {k: v for k, v in merged.items() if not k.startswith("_") and k.islower()}


def _members(hint):
    """The alternatives of a union (``None`` left out), or ``[hint]``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(hint) if a is not type(None)]
    return [hint]


def _strip_optional(hint):
    members = _members(hint)
    return _strip_optional(members[0]) if len(members) == 1 and members[0] is not hint else hint


def _resolve_hint(owner, hint):
    """A class for ``hint`` (a class, or a forward reference by name)."""
    hint = _strip_optional(hint)
    if isinstance(hint, typing.ForwardRef):
        hint = hint.__forward_arg__
    if isinstance(hint, str):
        hint = _module_class(owner.__module__, hint)
    if isinstance(hint, type) and issubclass(hint, StripeObject):
        return hint
    return None


@functools.cache
def _module_imports(module_name):
    module = importlib.import_module(module_name)
    return _import_map(ast.parse(pathlib.Path(module.__file__).read_text(encoding="utf-8")))


def _module_class(module_name, name):
    module = importlib.import_module(module_name)
    if hasattr(module, name):
        return getattr(module, name)
    source = _module_imports(module_name).get(name)
    return getattr(importlib.import_module(source), name, None) if source else None


def _object_name_of(module_name, class_name):
    cls = _module_class(module_name, class_name)
    return getattr(cls, "OBJECT_NAME", class_name)


def _result_descriptor(results, operation):
    """``"Customer"`` -> {"object": "customer"}; ``ListObject[X]`` -> {"list": x};
    ``SearchResultObject[X]`` -> {"search": x}; unions -> several objects."""
    text = operation["returns"] or ""
    wrapper = None
    for name in ("ListObject", "SearchResultObject"):
        if text.startswith(name + "["):
            wrapper, text = name, text[len(name) + 1 : -1]
    if text.startswith("Union["):
        text = text[len("Union[") : -1]
    ids = []
    for name in (n.strip() for n in text.split(",")):
        cls = _resolve(operation["imports"], operation["module"], name) if name else None
        if isinstance(cls, type) and issubclass(cls, StripeObject) and getattr(cls, "OBJECT_NAME", None):
            ids.append(results.object_id(cls))
    if wrapper == "ListObject":
        return {"list": ids[0]} if ids else None
    if wrapper == "SearchResultObject":
        return {"search": ids[0]} if ids else None
    return {"object": ids} if ids else None


# ---------------------------------------------------------------------------


def build_spec():
    params = ParamShapes()
    results = ResultShapes()
    operations = {}
    for path, module_name in _service_files():
        for operation in _service_operations(path, module_name):
            if operation["key"] in operations:
                continue
            operations[operation["key"]] = {
                "params": params.shape_of(operation["params_class"], exclude=REQUEST_OPTION_KEYS),
                "returns": _result_descriptor(results, operation),
            }
    return {
        "generated_by": "python -m stripe_emulator.specgen",
        "stripe_library": stripe.VERSION,
        "api_version": stripe.api_version,
        "operations": dict(sorted(operations.items())),
        "shapes": params.shapes,
        "objects": results.prune(),
    }


def render(spec):
    return json.dumps(spec, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator.specgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed spec differs")
    args = parser.parse_args(argv)
    text = render(build_spec())
    if args.check:
        current = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else ""
        if current != text:
            print("%s is stale: run python -m stripe_emulator.specgen" % SPEC_PATH, file=sys.stderr)
            return 1
        return 0
    SPEC_PATH.write_text(text, encoding="utf-8")
    print("wrote %s (%d bytes)" % (SPEC_PATH, len(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
