"""mypy plugin: Stripe's enums, closed.

The ``stripe`` library types every enum parameter as ``Literal[...] | str`` so that a
value Stripe adds later does not break old clients' type checks - which also lets
``proration_behavior="sometimes"`` through. Inside ``stripe.params`` this plugin drops
that ``str``: a parameter typed ``Literal['always_invoice', 'create_prorations',
'none'] | str`` is checked as the literal alone, so a value the pinned API version
does not list is a type error (the emulator treats these enums the same way). A
union whose only literal is the ``''`` that unsets a field (``Literal[''] | str``)
is a free string and stays one. Everything outside ``stripe.params`` is untouched.

It also makes the ``params`` of the library's methods (``client.v1.customers.create(params=...)``)
non-optional at call sites: mypy checks a dict literal against an ``Optional[TypedDict]``
only as a whole ("incompatible type dict[str, str]"), but against the TypedDict itself key by
key, which names the culprit: ``Extra key "emial" for TypedDict "CustomerCreateParams"``,
``TypedDict item "proration_behavior" has type "Literal[...]"``. Leave ``params`` out rather
than passing ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.plugin import AnalyzeTypeContext, MethodSigContext, Plugin
from mypy.types import (
    CallableType,
    NoneType,
    RawExpressionType,
    Type,
    TypedDictType,
    UnboundType,
    UnionType,
    get_proper_type,
)

PARAMS_PACKAGE = "stripe.params"
HOOKED = {
    "typing.Union",
    "typing_extensions.Union",
    "typing.NotRequired",
    "typing_extensions.NotRequired",
    "typing.Required",
    "typing_extensions.Required",
}
VERSION = "1"  # bump when the narrowing changes, so mypy's cache is rebuilt


def _is_enum_literal(node: Type) -> bool:
    """``Literal['a', ...]`` with at least one non-empty string (not only the unset marker ``''``)."""
    if not (isinstance(node, UnboundType) and node.name.split(".")[-1] == "Literal"):
        return False
    return any(_string_value(arg) for arg in node.args)


def _string_value(arg: Type) -> str | None:
    """A string literal's value: quoted inside a string annotation it parses as a forward reference."""
    if isinstance(arg, RawExpressionType) and isinstance(arg.literal_value, str):
        return arg.literal_value
    if isinstance(arg, UnboundType) and arg.original_str_expr is not None:
        return arg.original_str_expr
    return None


def _is_bare_str(node: Type) -> bool:
    return isinstance(node, UnboundType) and node.name in ("str", "builtins.str") and not node.args


def _close(items: list[Type]) -> list[Type]:
    if any(_is_enum_literal(item) for item in items):
        return [item for item in items if not _is_bare_str(item)]
    return items


def _narrow(node: Type) -> Type:
    """The unanalyzed type ``node`` with every open enum closed, at any depth."""
    if isinstance(node, UnionType):
        return UnionType(
            _close([_narrow(item) for item in node.items]),
            node.line,
            node.column,
            uses_pep604_syntax=node.uses_pep604_syntax,
        )
    if isinstance(node, UnboundType) and node.args:
        args = [_narrow(arg) for arg in node.args]
        if node.name.split(".")[-1] == "Union":
            args = _close(args)
        return node.copy_modified(args=args)
    return node


class StripeClosedEnums(Plugin):
    def __init__(self, options):
        super().__init__(options)
        self._default = False  # while set, the hooked names get mypy's own analysis

    def report_config_data(self, ctx):
        return VERSION

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        if self._default or fullname not in HOOKED:
            return None
        return self._analyze

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], CallableType] | None:
        return _required_params if fullname.startswith("stripe.") else None

    def _analyze(self, ctx: AnalyzeTypeContext) -> Type:
        module = ctx.api.api.cur_mod_id  # type: ignore[attr-defined]
        node = ctx.type
        if module == PARAMS_PACKAGE or module.startswith(PARAMS_PACKAGE + "."):
            node = _narrow(node)
        self._default = True
        try:
            return ctx.api.analyze_type(node)
        finally:
            self._default = False


def _required_params(ctx: MethodSigContext) -> CallableType:
    """``params: Optional[SomeParams]`` becomes ``params: SomeParams``."""
    signature = ctx.default_signature
    arg_types = list(signature.arg_types)
    for index, name in enumerate(signature.arg_names):
        declared = get_proper_type(arg_types[index]) if name == "params" else None
        if isinstance(declared, UnionType):
            items = [get_proper_type(item) for item in declared.items]
            if any(isinstance(item, TypedDictType) for item in items):
                arg_types[index] = UnionType.make_union([i for i in items if not isinstance(i, NoneType)])
    return signature.copy_modified(arg_types=arg_types)


def plugin(version: str) -> type[Plugin]:
    return StripeClosedEnums
