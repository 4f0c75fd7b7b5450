"""Stripe's official CLI (``stripe trigger``) as a client of the emulator: every trigger of the billing
families must exit 0 and leave an event of its type, except the few in ``cli_triggers.EXCEPTIONS``."""

import subprocess

from tests.emulator import cli_triggers

PASS_RATE = 0.9
# The default suite runs one or two triggers of each family, ~4 s (all 74: 12-20 s, make stripe-triggers)


def _trigger(stripe_cli, emulator, home, event, *extra):
    command = [stripe_cli, "trigger", event, "--api-base", emulator.api_base, "--api-key", "sk_test_cli_emulator"]
    env = cli_triggers.cli_environment(home)
    return subprocess.run(
        command + list(extra), env=env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
    )


def test_every_billing_trigger_of_the_stripe_cli_leaves_its_event(stripe_cli, tmp_home, capsys):
    events = cli_triggers.available_triggers(stripe_cli, cli_triggers.cli_environment(tmp_home))
    assert all(any(event.startswith(family) for event in events) for family in cli_triggers.FAMILIES), events
    results = cli_triggers.run_all(stripe_cli, events)
    summary = cli_triggers.report(results)
    with capsys.disabled():
        print("\n" + summary)
    unexpected = [r for r in results if not r.passed and r.event not in cli_triggers.EXCEPTIONS]
    assert not unexpected, "\n\n".join(
        "%s (exit %d):\n%s" % (r.event, r.returncode, r.output[-1500:]) for r in unexpected
    )
    stale = [r.event for r in results if r.passed and r.event in cli_triggers.EXCEPTIONS]
    assert not stale, "these pass now; take them off cli_triggers.EXCEPTIONS: %s" % stale
    gone = sorted((set(cli_triggers.EXCEPTIONS) | set(cli_triggers.NEEDS_OLDER_VERSION)) - set(events))
    assert not gone, "no longer offered by the installed CLI: %s" % gone
    assert sum(r.passed for r in results) >= PASS_RATE * len(results), summary


def test_trigger_pinned_to_an_older_api_version_still_passes_validation(emulator, client, stripe_cli, tmp_home):
    """``--api-version`` sends a Stripe-Version header; the fixture's parameters exist in both versions."""
    proc = _trigger(stripe_cli, emulator, tmp_home, "customer.subscription.updated", "--api-version", "2024-06-20")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "customer.subscription.updated" in [e.type for e in client.v1.events.list(params={"limit": 100}).data]


def test_fixture_sending_a_removed_parameter_fails_without_the_older_api_version(emulator, stripe_cli, tmp_home):
    """Why NEEDS_OLDER_VERSION exists: without --api-version, the fixture gets the pinned version's 400."""
    proc = _trigger(stripe_cli, emulator, tmp_home, "payment_intent.created")
    assert proc.returncode != 0
    assert "payment_method_types_no_longer_supported" in proc.stdout + proc.stderr
