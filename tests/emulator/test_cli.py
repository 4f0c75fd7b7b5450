"""Stripe's official CLI (``stripe trigger``) as a client of the emulator."""

import os
import subprocess

import pytest

TRIGGERS = [
    ("customer.created", ["customer.created"]),
    ("customer.updated", ["customer.updated"]),
    ("customer.subscription.created", ["customer.subscription.created"]),
    ("customer.subscription.updated", ["customer.subscription.updated"]),
    ("customer.subscription.deleted", ["customer.subscription.deleted"]),
    ("customer.subscription.trial_will_end", ["customer.subscription.trial_will_end"]),
    ("invoice.payment_failed", ["invoice.payment_failed"]),
    ("invoice.sent", ["invoice.sent"]),
    ("coupon.created", ["coupon.created"]),
    ("coupon.updated", ["coupon.updated"]),
    ("coupon.deleted", ["coupon.deleted"]),
]
# Their fixtures send parameters the pinned version removed (customer[coupon], promotion_code[coupon]):
# with an older --api-version they are accepted, as Stripe would (see stripe_emulator/versions.py).
OLDER_VERSION_TRIGGERS = [
    "promotion_code.created",
    "promotion_code.updated",
    "customer.discount.created",
    "customer.discount.updated",
    "customer.discount.deleted",
]


def run_trigger(stripe_cli, emulator, home, event, *extra):
    env = dict(os.environ, HOME=home, STRIPE_CLI_TELEMETRY_OPTOUT="1", XDG_CONFIG_HOME=os.path.join(home, ".config"))
    proc = subprocess.run(
        [stripe_cli, "trigger", event, "--api-base", emulator.api_base, "--api-key", "sk_test_cli_emulator", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Trigger succeeded" in out, out
    for bad in ("error", "Error", "failed"):
        lines = [
            l for l in out.splitlines() if bad in l and "Trigger succeeded" not in l and "new version" not in l.lower()
        ]
        assert not lines, out


@pytest.mark.parametrize("event,expected", TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_stripe_cli_trigger(emulator, client, stripe_cli, tmp_home, event, expected):
    run_trigger(stripe_cli, emulator, tmp_home, event)
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    for t in expected:
        assert t in types, (t, types)


def test_trigger_pinned_to_an_older_api_version_still_passes_validation(emulator, client, stripe_cli, tmp_home):
    """``--api-version`` sends a Stripe-Version header; the fixture's parameters exist in both versions."""
    run_trigger(stripe_cli, emulator, tmp_home, "customer.subscription.updated", "--api-version", "2024-06-20")
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert "customer.subscription.updated" in types


@pytest.mark.parametrize("event", OLDER_VERSION_TRIGGERS)
def test_discount_triggers_written_for_an_older_api_version(emulator, client, stripe_cli, tmp_home, event):
    run_trigger(stripe_cli, emulator, tmp_home, event, "--api-version", "2024-06-20")
    assert event in [e.type for e in client.v1.events.list(params={"limit": 100}).data]
