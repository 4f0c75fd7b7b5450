"""The platform's Stripe calls type-check against the stripe library's own parameter types
(mypy, configured in pyproject.toml, with tools/mypy_stripe_plugin.py closing the library's
open enums), so the platform cannot send a parameter or enum value real Stripe would reject,
even where the emulator is lenient."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_PLATFORM = {".venv", "node_modules", "tests", "bench", "stripe_emulator", "tools", "migrations"}
CALLS_STRIPE = re.compile(r"\bstripe_client\(|^\s*(import stripe\b|from stripe\b)", re.MULTILINE)

WRONG_CALLS = """\
import stripe

client = stripe.StripeClient("sk_test_typecheck")
client.v1.customers.create(params={"emial": "ada@example.com"})
client.v1.subscriptions.update("sub_1", params={"proration_behavior": "sometimes"})
client.v1.subscriptions.update("sub_1", params={"items": [{"id": "si_1", "quantity": "7"}]})
client.v1.subscriptions.update("sub_1", params={"proration_behavior": "create_prorations", "description": ""})
client.v1.customers.create(params={"email": "ada@example.com", "description": "any text at all"})
client.v1.checkout.sessions.create(params={"mode": "subscription", "success_url": "https://example.com/ok"})
"""


def mypy(*args: str) -> subprocess.CompletedProcess:
    """mypy as CI runs it: the project's configuration and cache (.mypy_cache)."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_platform_stripe_calls_type_check_against_the_library_params():
    result = mypy()

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_a_wrong_parameter_name_or_enum_value_is_a_type_error(tmp_path):
    snippet = tmp_path / "wrong_stripe_calls.py"
    snippet.write_text(WRONG_CALLS)

    result = mypy(str(snippet))

    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert [int(line.split(":")[1]) for line in errors] == [4, 5, 6]  # lines 7-9 are valid calls
    assert 'Extra key "emial" for TypedDict "CustomerCreateParams"' in errors[0]
    assert "\"Literal['sometimes']\"" in errors[1]
    assert "\"Literal['always_invoice', 'create_prorations', 'none']\"" in errors[1]
    assert 'TypedDict item "quantity" has type "int"' in errors[2]


def test_every_module_that_calls_stripe_is_type_checked():
    checked = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    callers = [
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*.py")
        if not NOT_PLATFORM & set(path.relative_to(ROOT).parts) and CALLS_STRIPE.search(path.read_text())
    ]

    assert callers, "no module calls Stripe? the pattern is wrong"
    unchecked = [path for path in callers if not any(path == f or path.startswith(f + "/") for f in checked)]
    assert unchecked == [], "add these to [tool.mypy] files in pyproject.toml"
