"""Faults in the platform's own processes and in Stripe, on a private stack: a killed worker, a worker
killed mid-onboarding (how long recovery takes, with the production leases and a real beat), a Redis
outage, a PostgreSQL outage, a failing and slow Stripe, and duplicated, reordered deliveries.

Each scenario runs at CI size in the default suite and at full size under `make reliability`
(marked slow); both record their figures for docs/reliability.md.
"""

from __future__ import annotations

import itertools
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from subscriptions.stripe_objects import subscription_read
from tests.helpers import stripe_event
from tests.reliability import report
from tests.reliability.stack import PASSWORD, WEBHOOK_SECRET, wait_until

# Module-level: every test here uses the stack, which a plain (no DB) test cannot share with
# pytest-django's test database; none of them touch that database.
SIZES = {
    "ci": {
        "companies": 4,
        "events_per_company": 8,
        "signups": 4,
        "outage_seconds": 3,
        "fault_signups": 5,
        "fail_rate": 0.25,
        "slow_rate": 0.1,
        "slow_seconds": 0.5,
        "chaos_rounds": 3,
        "chaos_delay": 0.3,
        "crash_signups": 6,
    },
    "full": {
        "companies": 20,
        "events_per_company": 25,
        "signups": 30,
        "outage_seconds": 10,
        "fault_signups": 40,
        "fail_rate": 0.3,
        "slow_rate": 0.1,
        "slow_seconds": 1.5,
        "chaos_rounds": 5,
        "chaos_delay": 1.0,
        "crash_signups": 16,
    },
}
SIZE_PARAMS = [pytest.param("ci", id="ci"), pytest.param("full", id="full", marks=pytest.mark.slow)]
DONE = ("processed", "ignored")


# --- traffic ---------------------------------------------------------------------------------------


def _subscriptions(stack, customer: str) -> list[dict]:
    listing = stack.emulator.client().v1.subscriptions.list(params={"customer": customer, "status": "all"})
    return [s.to_dict() for s in listing.data]


def burst_events(stack, slugs: list[str], per_company: int) -> list[dict]:
    """Signed-event bodies shaped like Stripe's, about the companies' real Stripe objects: subscription
    updates and paid invoices (handled: re-read the subscription) and charges (no handler: ignored)."""
    companies = stack.companies()
    events = []
    for slug in slugs:
        customer = companies[slug]["customer"]
        subscription = _subscriptions(stack, customer)[0]
        kinds = itertools.cycle(
            [
                ("customer.subscription.updated", subscription),
                (
                    "invoice.paid",
                    {
                        "id": f"in_rel_{uuid.uuid4().hex[:12]}",
                        "object": "invoice",
                        "customer": customer,
                        "subscription": subscription["id"],
                        "status": "paid",
                    },
                ),
                (
                    "charge.succeeded",
                    {"id": f"ch_rel_{uuid.uuid4().hex[:12]}", "object": "charge", "customer": customer},
                ),
            ]
        )
        events += [stripe_event(event_type, obj) for event_type, obj in itertools.islice(kinds, per_company)]
    # Interleave companies, as a real burst would.
    return sorted(events, key=lambda e: hash(e["id"]))


def send_events(stack, events: list[dict], statuses: dict[str, list[int]], threads: int = 4) -> None:
    def send(event):
        with stack.client() as client:
            statuses.setdefault(event["id"], []).append(stack.post_event(client, event))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, events))


def send_signups(stack, slugs: list[str], statuses: dict[str, list[int]], threads: int = 4) -> None:
    def send(slug):
        with stack.client() as client:
            statuses.setdefault(slug, []).append(stack.signup(client, slug))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, slugs))


def _price_ids(stack) -> dict[str, str]:
    prices = stack.emulator.client().v1.prices.list(params={"lookup_keys": ["basic_monthly", "pro_monthly"]}).data
    return {p.lookup_key: p.id for p in prices}


def change_in_stripe(stack, slugs: list[str], round_: int, recreate: bool = False, companies=None) -> None:
    """Change each company's subscription in Stripe: switch plan, toggle cancel at period end, and
    (recreate) cancel it and start a new one. Stripe then sends the events."""
    client = stack.emulator.client()
    prices = _price_ids(stack)
    companies = companies or stack.companies()
    for index, slug in enumerate(slugs):
        customer = companies[slug]["customer"]
        live = [s for s in _subscriptions(stack, customer) if s["status"] not in ("canceled", "incomplete_expired")]
        if recreate and live and (index + round_) % 3 == 0:
            client.v1.subscriptions.cancel(live[0]["id"])
            client.v1.subscriptions.create(
                params={
                    "customer": customer,
                    "items": [{"price": prices["basic_monthly"]}],
                    "trial_period_days": 7,
                }
            )
            continue
        if not live:
            continue
        subscription = live[0]
        item = subscription_read(subscription).base_item
        other = "pro_monthly" if item.lookup_key == "basic_monthly" else "basic_monthly"
        client.v1.subscriptions.update(
            subscription["id"],
            params={
                "items": [{"id": item.id, "price": prices[other]}],
                "cancel_at_period_end": bool((index + round_) % 2),
            },
        )


# --- accounting ------------------------------------------------------------------------------------


def done_ids(stack) -> set[str]:
    rows = stack.query("SELECT stripe_id FROM webhooks_webhookevent WHERE state IN ('processed', 'ignored')")
    return {r[0] for r in rows}


def delivered_ids(stack) -> set[str]:
    """Events the emulator delivered with a 2xx answer."""
    return {d["event_id"] for d in stack.emulator.deliveries() if d["status"] == "succeeded"}


def acked(statuses: dict[str, list[int]]) -> set[str]:
    return {key for key, codes in statuses.items() if any(200 <= c < 300 for c in codes)}


def duplicates(stack) -> int:
    return sum(count - 1 for count in stack.applied_counts().values() if count > 1)


def stripe_duplicates(stack, slugs) -> list[str]:
    """Companies with more than one Stripe customer, or a customer with more than one subscription."""
    customers = stack.stripe_customers_by_slug()
    wrong = []
    for slug in slugs:
        found = customers.get(slug, [])
        if len(found) != 1:
            wrong.append(f"{slug}: {len(found)} customers")
            continue
        count = len(_subscriptions(stack, found[0]["id"]))
        if count != 1:
            wrong.append(f"{slug}: {count} subscriptions")
    return wrong


def wait_active(stack, slugs, timeout: float, sweep: bool = True) -> None:
    last = [time.monotonic()]

    def all_active():
        companies = stack.companies()
        if sweep and time.monotonic() - last[0] > 4:
            stack.sweep()
            last[0] = time.monotonic()
        return all(companies.get(s, {}).get("status") == "active" for s in slugs)

    try:
        wait_until(all_active, timeout, message="every signed-up company to be active", interval=0.5)
    except AssertionError:
        companies = stack.companies()
        stuck = [(s, companies.get(s)) for s in slugs if companies.get(s, {}).get("status") != "active"]
        raise AssertionError(f"not active: {stuck}") from None


# --- scenarios -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_killed_worker_loses_and_repeats_nothing(stack, base_companies, size):
    s = SIZES[size]
    slugs = base_companies(s["companies"])
    started, log_mark = time.monotonic(), stack.log_size(stack.web_log)
    events = burst_events(stack, slugs, s["events_per_company"])
    statuses: dict[str, list[int]] = {}
    stack.emulator.configure(delivery_paused=True)
    try:
        change_in_stripe(stack, slugs, round_=1)  # Stripe's own events wait until the worker is dead
        first, rest = events[: len(events) // 3], events[len(events) // 3 :]
        send_events(stack, first, statuses)
        processed_before = wait_until(
            lambda: len(done_ids(stack) & {e["id"] for e in events}),
            30,
            message="the worker to start on the burst",
            interval=0.02,
        )
        stack.kill_worker()  # SIGKILL to the worker's whole process group
        unfinished_at_kill = len(events) - processed_before
        send_events(stack, rest, statuses)
    finally:
        stack.emulator.configure(delivery_paused=False)
    assert stack.emulator.wait_for_deliveries(timeout=30)  # stored in the inbox while no worker runs
    stack.start_worker()
    stack.wait_for_inbox(180)

    sent_ids = {e["id"] for e in events}
    lost = (acked(statuses) & sent_ids | delivered_ids(stack)) - done_ids(stack)
    dupes = duplicates(stack)
    wrong = stack.mismatched_companies(slugs)
    web = stack.web_statuses(log_mark)
    fivexx = sum(n for code, n in web.items() if code >= 500)
    report.record(
        "worker_killed",
        size,
        seconds=time.monotonic() - started,
        load=f"{len(slugs)} companies, {len(events)} posted events + Stripe's own",
        faults=f"SIGKILL of the worker's process group after {processed_before} processed, "
        f"{unfinished_at_kill} unfinished",
        sent=sum(web.values()),
        lost=len(lost),
        duplicated=dupes,
        **{"5xx": fivexx},
        checks=f"{len(slugs) - len(wrong)}/{len(slugs)} companies equal to Stripe",
    )
    assert unfinished_at_kill > 0, "the worker finished the burst before it was killed; nothing was tested"
    assert acked(statuses) == sent_ids, {k: v for k, v in statuses.items() if k not in acked(statuses)}
    assert not lost, sorted(lost)[:10]
    assert dupes == 0
    assert fivexx == 0, web
    assert not wrong, wrong


# The numbers: Stripe fails 30 % of calls and delivers every event twice, shuffled; the worker
# is SIGKILLed 1.5 s into the sign-ups; a new worker and beat start 2 s later; 90 s to recover.
CRASH_FAIL_RATE = 0.3
CRASH_KILL_AFTER = 1.5
CRASH_REPLACE_AFTER = 2.0
RECOVERY_BUDGET = 90


def _recovered(stack, signups) -> bool:
    """Every sign-up active, Stripe has delivered everything, and no stored event is unfinished."""
    companies = stack.companies()
    if not all(companies.get(slug, {}).get("status") == "active" for slug in signups):
        return False
    if not stack.emulator.wait_for_deliveries(timeout=0.2):
        return False
    return not stack.query("SELECT 1 FROM webhooks_webhookevent WHERE state IN ('pending', 'failed') LIMIT 1")


@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_worker_killed_mid_onboarding_recovers_within_90_seconds(stack, size):
    """Production leases, sweep intervals and back-offs, a real `celery beat`, no help from the test."""
    s = SIZES[size]
    started, log_mark = time.monotonic(), stack.log_size(stack.web_log)
    signups = [f"cr{size}{i}-{uuid.uuid4().hex[:4]}" for i in range(s["crash_signups"])]
    statuses: dict[str, list[int]] = {}
    stack.kill_worker(signal.SIGTERM)
    stack.start_worker(production=True)  # the worker that dies runs production settings too
    stack.emulator.configure(chaos_fail_rate=CRASH_FAIL_RATE, chaos_duplicate=True, chaos_shuffle=True)
    try:
        with ThreadPoolExecutor(1) as pool:
            began = time.monotonic()
            sending = pool.submit(send_signups, stack, signups, statuses, len(signups))
            time.sleep(max(0.0, began + CRASH_KILL_AFTER - time.monotonic()))  # schedules the fault
            stack.kill_worker()  # SIGKILL to the whole process group, mid-onboarding
            companies = stack.companies()
            active_at_kill = sum(companies.get(slug, {}).get("status") == "active" for slug in signups)
            time.sleep(max(0.0, began + CRASH_KILL_AFTER + CRASH_REPLACE_AFTER - time.monotonic()))
            replaced = time.monotonic()
            stack.start_worker(production=True, wait=False)
            stack.start_beat(production=True)
            sending.result()
        try:
            wait_until(lambda: _recovered(stack, signups), 3 * RECOVERY_BUDGET, message="recovery", interval=0.5)
        except AssertionError:
            companies = stack.companies()
            stuck = {slug: companies.get(slug) for slug in signups if companies.get(slug, {}).get("status") != "active"}
            unfinished = stack.query(
                "SELECT stripe_id, type, state, last_error FROM webhooks_webhookevent "
                "WHERE state IN ('pending', 'failed')"
            )
            raise AssertionError(f"not recovered: companies {stuck}, events {unfinished[:10]}") from None
        recovery = time.monotonic() - replaced
    finally:
        stack.emulator.configure(chaos_fail_rate=0, chaos_duplicate=False, chaos_shuffle=False)
        stack.stop_beat()
        stack.kill_worker(signal.SIGTERM)
        stack.start_worker()  # the other scenarios' worker

    companies = stack.companies()
    lost = [slug for slug in acked(statuses) if companies.get(slug, {}).get("status") != "active"]
    stripe_dupes = stripe_duplicates(stack, signups)
    dupes = duplicates(stack)
    web = stack.web_statuses(log_mark)
    fivexx = sum(n for code, n in web.items() if code >= 500)
    wrong = stack.mismatched_companies(signups)
    events = stack.query(
        "SELECT count(*) FROM webhooks_webhookevent e JOIN companies_company c ON c.id = e.company_id "
        "WHERE c.slug = ANY(%s)",
        (signups,),
    )[0][0]
    report.record(
        "crash_recovery",
        size,
        seconds=time.monotonic() - started,
        recovery_seconds=round(recovery, 1),
        load=f"{len(signups)} concurrent sign-ups, {events} of their events applied",
        faults=f"{CRASH_FAIL_RATE:.0%} of Stripe calls fail, every delivery twice and shuffled; worker "
        f"SIGKILLed {CRASH_KILL_AFTER} s in ({active_at_kill}/{len(signups)} active), new worker and beat "
        f"{CRASH_REPLACE_AFTER} s later",
        sent=sum(web.values()),
        lost=len(lost),
        duplicated=dupes + len(stripe_dupes),
        **{"5xx": fivexx},
        checks=f"recovered {recovery:.0f} s after the new worker started (budget {RECOVERY_BUDGET} s): "
        f"{len(signups)} active, every stored event applied, {len(signups) - len(stripe_dupes)}/{len(signups)} "
        f"with one customer and one subscription, {len(signups) - len(wrong)}/{len(signups)} equal to Stripe",
    )
    assert active_at_kill < len(signups), "every company was active before the kill; nothing was tested"
    assert acked(statuses) == set(signups), statuses
    assert recovery <= RECOVERY_BUDGET, f"recovery took {recovery:.0f} s"
    assert not lost and not stripe_dupes, (lost, stripe_dupes)
    assert dupes == 0 and fivexx == 0, web
    assert not wrong, wrong


@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_broker_outage_keeps_every_webhook_and_every_signup(stack, base_companies, size):
    s = SIZES[size]
    slugs = base_companies(s["companies"])
    started, log_mark = time.monotonic(), stack.log_size(stack.web_log)
    events = burst_events(stack, slugs, max(2, s["events_per_company"] * 3 // 4))
    signups = [f"bo{size}{i}-{uuid.uuid4().hex[:4]}" for i in range(s["signups"])]
    thirds = [(events[i::3], signups[i::3]) for i in range(3)]
    event_statuses: dict[str, list[int]] = {}
    signup_statuses: dict[str, list[int]] = {}

    def send(part):
        with ThreadPoolExecutor(2) as pool:
            pool.submit(send_events, stack, part[0], event_statuses, 3)
            pool.submit(send_signups, stack, part[1], signup_statuses, 2)

    send(thirds[0])
    stack.redis.stop()
    try:
        outage_started = time.monotonic()
        send(thirds[1])
        # The outage lasts its planned length however fast the middle third went.
        time.sleep(max(0.0, s["outage_seconds"] - (time.monotonic() - outage_started)))
    finally:
        stack.redis.start()
    send(thirds[2])
    wait_active(stack, signups, timeout=240)
    stack.wait_for_inbox(240)

    sent_ids = {e["id"] for e in events}
    companies = stack.companies()
    lost_events = (acked(event_statuses) | delivered_ids(stack)) - done_ids(stack)
    lost_signups = [s_ for s_ in acked(signup_statuses) if companies.get(s_, {}).get("status") != "active"]
    dupes = duplicates(stack)
    stripe_dupes = stripe_duplicates(stack, signups)
    web = stack.web_statuses(log_mark)
    fivexx = sum(n for code, n in web.items() if code >= 500)
    wrong = stack.mismatched_companies(slugs + signups)
    report.record(
        "broker_outage",
        size,
        seconds=time.monotonic() - started,
        load=f"{len(events)} events, {len(signups)} sign-ups",
        faults=f"Redis stopped {s['outage_seconds']} s mid-burst, restarted empty",
        sent=sum(web.values()),
        lost=len(lost_events) + len(lost_signups),
        duplicated=dupes + len(stripe_dupes),
        **{"5xx": fivexx},
        checks=f"all webhooks 2xx and stored; {len(signups)} sign-ups active once; "
        f"{len(slugs + signups) - len(wrong)}/{len(slugs + signups)} equal to Stripe",
    )
    assert fivexx == 0, web
    assert acked(event_statuses) == sent_ids
    assert {k for k, v in signup_statuses.items() if 202 in v} == set(signups), signup_statuses
    assert not lost_events and not lost_signups, (sorted(lost_events)[:10], lost_signups)
    assert dupes == 0 and not stripe_dupes, stripe_dupes
    assert not wrong, wrong


@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_database_outage_answers_5xx_for_what_it_could_not_store(stack, base_companies, size):
    s = SIZES[size]
    slugs = base_companies(s["companies"])
    started, log_mark = time.monotonic(), stack.log_size(stack.web_log)
    worker_pid = stack.worker.pid
    events = burst_events(stack, slugs, max(2, s["events_per_company"] * 3 // 4))
    statuses: dict[str, list[int]] = {}
    first, middle, last = events[0::3], events[1::3], events[2::3]
    companies = stack.companies()
    send_events(stack, first, statuses)
    stack.pg.stop()
    try:
        outage_started = time.monotonic()
        # Stripe delivers these into the outage, and retries.
        change_in_stripe(stack, slugs, round_=2, companies=companies)
        send_events(stack, middle, statuses)
        time.sleep(max(0.0, s["outage_seconds"] - (time.monotonic() - outage_started)))
    finally:
        stack.pg.start()
    during = {e["id"]: statuses[e["id"]][0] for e in middle}
    send_events(stack, last, statuses)
    # Stripe delivers again what did not get a 2xx.
    for _ in range(5):
        again = [e for e in events if e["id"] not in acked(statuses)]
        if not again:
            break
        send_events(stack, again, statuses)
        time.sleep(1)
    stack.wait_for_inbox(180)

    stored = {r[0] for r in stack.query("SELECT stripe_id FROM webhooks_webhookevent")}
    acked_but_unstored_during = [k for k, code in during.items() if 200 <= code < 300 and k not in stored]
    lost = (acked(statuses) | delivered_ids(stack)) - done_ids(stack)
    dupes = duplicates(stack)
    web = stack.web_statuses(log_mark)
    fivexx = sum(n for code, n in web.items() if code >= 500)
    wrong = stack.mismatched_companies(slugs)
    refused = sum(1 for code in during.values() if code >= 500)
    report.record(
        "database_outage",
        size,
        seconds=time.monotonic() - started,
        load=f"{len(events)} posted events + Stripe's own",
        faults=f"PostgreSQL stopped {s['outage_seconds']} s (pg_ctl stop -m fast)",
        sent=sum(web.values()),
        lost=len(lost),
        duplicated=dupes,
        **{"5xx": f"{fivexx} (all while down; 0 2xx for unstored events)"},
        checks=f"{refused}/{len(middle)} posted during the outage got 5xx and were re-sent; same worker "
        f"recovered; {len(slugs) - len(wrong)}/{len(slugs)} equal to Stripe",
    )
    assert not acked_but_unstored_during, acked_but_unstored_during
    assert refused == len(middle), during  # nothing could be stored, so nothing was acknowledged
    assert acked(statuses) == {e["id"] for e in events}
    assert not lost, sorted(lost)[:10]
    assert dupes == 0
    assert stack.worker.pid == worker_pid and stack.worker.poll() is None, "the worker had to be restarted"
    assert not wrong, wrong


@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_stripe_failures_and_slowness_still_give_one_customer_and_one_subscription(stack, size):
    s = SIZES[size]
    started, log_mark = time.monotonic(), stack.log_size(stack.web_log)
    signups = [f"sf{size}{i}-{uuid.uuid4().hex[:4]}" for i in range(s["fault_signups"])]
    statuses: dict[str, list[int]] = {}
    stack.emulator.configure(
        chaos_fail_rate=s["fail_rate"], chaos_slow_rate=s["slow_rate"], chaos_slow_seconds=s["slow_seconds"]
    )
    try:
        send_signups(stack, signups, statuses)
        # No sweeps: the task retries alone must get every company through.
        wait_active(stack, signups, timeout=300, sweep=False)
        assert stack.emulator.wait_for_deliveries(timeout=60)
        wait_until(
            lambda: not stack.query("SELECT 1 FROM webhooks_webhookevent WHERE state = 'pending' LIMIT 1"),
            120,
            message="every stored event to be processed",
        )
    finally:
        stack.emulator.configure(chaos_fail_rate=0, chaos_slow_rate=0)

    companies = stack.companies()
    failed_events = stack.query("SELECT stripe_id, last_error FROM webhooks_webhookevent WHERE state = 'failed'")
    lost = [x for x in acked(statuses) if companies.get(x, {}).get("status") != "active"]
    stripe_dupes = stripe_duplicates(stack, signups)
    dupes = duplicates(stack)
    web = stack.web_statuses(log_mark)
    fivexx = sum(n for code, n in web.items() if code >= 500)
    wrong = stack.mismatched_companies(signups)
    report.record(
        "stripe_faults",
        size,
        seconds=time.monotonic() - started,
        load=f"{len(signups)} sign-ups onboarded concurrently",
        faults=f"{s['fail_rate']:.0%} of Stripe calls fail with 500, {s['slow_rate']:.0%} delayed "
        f"{s['slow_seconds']} s",
        sent=sum(web.values()),
        lost=len(lost) + len(failed_events),
        duplicated=dupes + len(stripe_dupes),
        **{"5xx": fivexx},
        checks=f"{len(signups) - len(stripe_dupes)}/{len(signups)} with exactly one customer "
        f"and one subscription; {len(signups) - len(wrong)}/{len(signups)} equal to Stripe",
    )
    assert acked(statuses) == set(signups), statuses
    assert not lost, lost
    assert not failed_events, failed_events[:5]
    assert not stripe_dupes, stripe_dupes
    assert dupes == 0 and fivexx == 0, web
    assert not wrong, wrong


@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_duplicated_and_reordered_deliveries_end_in_stripes_state(stack, base_companies, size):
    s = SIZES[size]
    slugs = base_companies(s["companies"])
    started, log_mark = time.monotonic(), stack.log_size(stack.web_log)
    deliveries_before = len(stack.emulator.deliveries())
    stack.emulator.configure(chaos_duplicate=True, chaos_shuffle=True, chaos_delay=s["chaos_delay"])
    try:
        for round_ in range(s["chaos_rounds"]):
            change_in_stripe(stack, slugs, round_=round_, recreate=True)
        stack.wait_for_inbox(240, sweep_every=30)
    finally:
        stack.emulator.configure(chaos_duplicate=False, chaos_shuffle=False, chaos_delay=0)

    deliveries = stack.emulator.deliveries()[deliveries_before:]
    types = {d["event_type"] for d in deliveries}
    lost = delivered_ids(stack) - done_ids(stack)
    dupes = duplicates(stack)
    web = stack.web_statuses(log_mark)
    fivexx = sum(n for code, n in web.items() if code >= 500)
    wrong = stack.mismatched_companies(slugs)
    wrong_features = _entitlement_mismatches(stack, slugs)
    report.record(
        "chaos_deliveries",
        size,
        seconds=time.monotonic() - started,
        load=f"{len(slugs)} companies × {s['chaos_rounds']} rounds of changes, "
        f"{len({d['event_id'] for d in deliveries})} events of {len(types)} types",
        faults=f"every delivery twice, shuffled, delayed up to {s['chaos_delay']} s",
        sent=sum(web.values()),
        lost=len(lost),
        duplicated=dupes,
        **{"5xx": fivexx},
        checks=f"{len(slugs) - len(wrong)}/{len(slugs)} subscriptions and "
        f"{len(slugs) - len(wrong_features)}/{len(slugs)} entitlements equal to Stripe",
    )
    assert len(deliveries) >= 2 * len({d["event_id"] for d in deliveries}), "chaos mode did not duplicate"
    assert not lost, sorted(lost)[:10]
    assert dupes == 0 and fivexx == 0, web
    assert not wrong, wrong
    assert not wrong_features, wrong_features


def _entitlement_mismatches(stack, slugs) -> list[str]:
    """Companies whose stored features differ from the customer's active entitlements in Stripe."""
    client = stack.emulator.client()
    rows = dict(
        stack.query("SELECT c.slug, c.features FROM companies_company c WHERE c.slug = ANY(%s)", (list(slugs),))
    )
    customers = {slug: c["customer"] for slug, c in stack.companies().items()}
    wrong = []
    for slug in slugs:
        listing = client.v1.entitlements.active_entitlements.list(params={"customer": customers[slug], "limit": 100})
        theirs = sorted(e.lookup_key for e in listing.auto_paging_iter())
        if sorted(rows[slug]) != theirs:
            wrong.append(f"{slug}: ours {sorted(rows[slug])}, Stripe's {theirs}")
    return wrong


def test_private_stack_logs_hold_no_secrets(stack, base_companies):
    """gunicorn's and the worker's logs after the scenarios: no password, Stripe key or signing secret."""
    base_companies(1)
    text = stack.web_log.read_text("utf-8", "replace") + stack.worker_log.read_text("utf-8", "replace")
    assert text, "the stack wrote no logs"
    for secret in (PASSWORD, WEBHOOK_SECRET, "sk_test_emulator"):
        assert secret not in text, secret
