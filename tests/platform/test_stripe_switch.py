"""Real Stripe keys switch the platform to api.stripe.com with no code change; the emulator is a
development tool that the platform's runtime code never imports."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = ["platform", "companies", "subscriptions", "webhooks", "posts"]


def _api_base_with(env: dict) -> str:
    code = (
        "import django; django.setup(); from subscriptions.stripe_api import stripe_client; "
        "print(stripe_client()._requestor.base_addresses['api'])"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "saas_platform.settings.local", **env},
        cwd=ROOT,
    )
    return result.stdout.strip().splitlines()[-1]


def test_a_real_test_key_talks_to_stripe():
    assert _api_base_with({"STRIPE_SECRET_KEY": "sk_test_51Realkey"}) == "https://api.stripe.com"


def test_the_default_key_talks_to_the_emulator():
    assert _api_base_with({}) == "http://127.0.0.1:12111"


def test_runtime_code_never_imports_the_emulator():
    offenders = []
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "stripe_emulator"]
    assert offenders == []
