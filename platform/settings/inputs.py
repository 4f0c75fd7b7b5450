"""The inputs every setting is derived from: environment variables, with the defaults (or fixed
values) an environment module chose for them.

`base.py` declares every setting, once, and reads its inputs only through `env`. An environment
module (`local.py`, `test.py`, `production.py`) only chooses inputs, then imports `base`:

    inputs.defaults(REDIS_URL="redis://127.0.0.1:6379/14")    # used when the variable is not set
    inputs.fixed(PLATFORM_SCHEME="https")                      # used whatever the environment says
    inputs.required("DJANGO_SECRET_KEY")                       # no default: start-up stops without it
    from saas_platform.settings.base import *

An environment variable wins over a default. The first module to choose an input wins, so a module
built on another (the fault tests' stack settings on `test.py`) chooses before importing it.
"""

from __future__ import annotations

from typing import Any

import environ

_defaults: dict[str, Any] = {}
_fixed: dict[str, Any] = {}
_required: set[str] = set()


def defaults(**values: Any) -> None:
    """Defaults for inputs whose environment variable is not set (a Python value, not a string)."""
    for name, value in values.items():
        _defaults.setdefault(name, value)


def fixed(**values: Any) -> None:
    """Values for inputs that this environment never takes from the environment."""
    for name, value in values.items():
        _fixed.setdefault(name, value)


def required(*names: str) -> None:
    """Inputs that have no default here: a missing one stops start-up (ImproperlyConfigured)."""
    _required.update(names)


class _Inputs(environ.Env):
    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        if var in _fixed:
            return _fixed[var]
        if var in _required:
            default = self.NOTSET
        elif var in _defaults:
            default, parse_default = _defaults[var], False
        return super().get_value(var, cast=cast, default=default, parse_default=parse_default)


env = _Inputs()
