"""Benchmark 2, event processing: the worker drains stored webhook events (with redeliveries) and the
same number of no-op tasks; then every company's final state is checked against the emulator."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from django.db.models import Count

from bench import data
from bench.context import Bench, Sizes
from bench.result import Check, Ratio, Result

NUMBER, TITLE = 2, "Event processing"
TARGET = "≥ 40 % of the same worker's no-op task rate; every company's final state correct"
_runs = itertools.count(1)  # event ids stay unique over every attempt of a run


@dataclass(frozen=True)
class FinalState:
    processed: int
    wrong: list[str]  # "slug: got != want"
    mix: dict[str, int]  # "status/lookup_key" -> companies, as Stripe has them


@dataclass(frozen=True)
class ProcessingMeasurement:
    companies: int
    events: int
    per_company: int
    messages: int
    noop_seconds: float
    real_seconds: float
    noop_cpu: float  # CPU seconds of the worker, the emulator and the database
    real_cpu: float
    state: FinalState

    @property
    def noop_rate(self) -> float:
        return self.messages / self.noop_seconds

    @property
    def real_rate(self) -> float:
        return self.messages / self.real_seconds

    @property
    def ratio(self) -> float:
        return self.real_rate / self.noop_rate

    @property
    def cpu(self) -> float:
        """CPU per message, process_event ÷ no-op."""
        return self.real_cpu / self.noop_cpu


def billing_companies(bench: Bench) -> list:
    """The companies with a Stripe customer and subscription, made once per run."""
    companies = bench.memo.get("billing_companies")
    if not isinstance(companies, list):
        started = time.monotonic()
        companies = bench.memo["billing_companies"] = data.billing_companies(
            bench.sizes.processing_companies, "bench-billing"
        )
        bench.log(f"    {len(companies):,} companies in Stripe ({time.monotonic() - started:.0f}s)")
    return companies


def final_state(companies: list, event_ids: list[int]) -> FinalState:
    """Every event processed? Every company's stored subscription = Stripe's current one?"""
    from subscriptions.models import CompanySubscription
    from subscriptions.services import current_subscription
    from subscriptions.stripe_api import stripe_client
    from subscriptions.stripe_objects import subscription_read
    from webhooks.models import WebhookEvent

    states = dict(WebhookEvent.objects.filter(pk__in=event_ids).values_list("state").annotate(n=Count("id")).order_by())
    by_customer: dict[str, list] = {}
    listing = stripe_client().v1.subscriptions.list(params={"status": "all", "limit": 100})
    for subscription in listing.auto_paging_iter():
        sub = subscription.to_dict()
        by_customer.setdefault(sub["customer"], []).append(sub)
    stored = CompanySubscription.objects.filter(company__in=companies).select_related("company")
    records = {record.company_id: record for record in stored}
    wrong: list[str] = []
    mix: dict[str, int] = {}
    for company in companies:
        expected = current_subscription(by_customer.get(company.stripe_customer_id, []))
        if expected is None:
            wrong.append(f"{company.slug}: no subscription in Stripe")
            continue
        want = (expected["id"], expected["status"], subscription_read(expected).base_item.lookup_key)
        mix[f"{want[1]}/{want[2]}"] = mix.get(f"{want[1]}/{want[2]}", 0) + 1
        record = records.get(company.pk)
        got = (record.stripe_subscription_id, record.status, record.price_lookup_key) if record else None
        if record is None or got != want or record.company.access_reason != expected["status"]:
            wrong.append(f"{company.slug}: {got} != {want}")
    return FinalState(states.get(WebhookEvent.State.PROCESSED, 0), wrong, mix)


def drain(bench: Bench, task, messages: list[int]) -> tuple[float, float]:
    """(seconds, CPU seconds) for the worker to run `task` once per message, all queued up front."""
    seconds, cpu = bench.drain(lambda: [task.apply_async((i,), queue="webhooks") for i in messages])
    count = len(messages)
    bench.log(f"    {task.name}: {count / seconds:,.0f} tasks/s, CPU {cpu * 1000 / count:.2f} ms each")
    return seconds, cpu


def measure(bench: Bench) -> ProcessingMeasurement:
    from bench.tasks import noop
    from webhooks.tasks import process_event

    sizes = bench.sizes
    companies = billing_companies(bench)
    unique = round(sizes.processing_messages * (1 - sizes.duplicate_share))
    per_company = max(1, unique // len(companies))
    event_ids = data.store_events(companies, per_company, f"bench_proc{next(_runs)}")
    messages = data.shuffled_with_duplicates(event_ids, sizes.processing_messages)
    bench.log(f"    {len(event_ids):,} events stored; {len(messages):,} messages")
    noop_seconds, noop_cpu = drain(bench, noop, messages)
    real_seconds, real_cpu = drain(bench, process_event, messages)
    return ProcessingMeasurement(
        companies=len(companies),
        events=len(event_ids),
        per_company=per_company,
        messages=len(messages),
        noop_seconds=noop_seconds,
        real_seconds=real_seconds,
        noop_cpu=noop_cpu,
        real_cpu=real_cpu,
        state=final_state(companies, event_ids),
    )


def judge(m: ProcessingMeasurement) -> list[Check]:
    wrong, unprocessed = len(m.state.wrong), m.events - m.state.processed
    return [
        Check(m.ratio >= 0.4, f"{m.ratio:.0%} of the no-op rate < 40 %"),
        Check(not wrong, f"{wrong} companies with a wrong final state", correctness=True),
        Check(not unprocessed, f"{unprocessed} events not processed", correctness=True),
    ]


def describe(m: ProcessingMeasurement, sizes: Sizes, worker_concurrency: int) -> Result:
    duplicates = m.messages - m.events
    notes = [
        f"{m.events:,} stored `customer.subscription.updated` events ({m.per_company} per company) for "
        f"{m.companies:,} companies, enqueued as {m.messages:,} messages: {duplicates:,} "
        f"({sizes.duplicate_share:.0%}) are duplicates of an event already queued (a redelivery), all shuffled. "
        f"One worker, `docker/start/worker` (prefork, concurrency {worker_concurrency}, acks late, prefetch 1); "
        "everything is queued before the worker starts consuming, and the clock runs until the queue and the "
        "unacknowledged set are empty. The no-op baseline is the same number of messages of a task that does "
        "nothing, same worker, same queue. CPU: the worker's processes, the emulator and the database's "
        "backends (bench/cpu.py).",
        "Each event: lock the event row, find the company by Stripe customer, lock the company row, list "
        "the customer's subscriptions from the emulator (the Stripe API is part of the measured system), "
        "store the subscription and the entitlement snapshot, mark the event processed.",
        "Final state checked against the emulator for every company: "
        + ", ".join(f"{count} {key}" for key, count in sorted(m.state.mix.items()))
        + f"; events processed: {m.state.processed:,}/{m.events:,}.",
    ]
    if m.state.wrong:
        notes.append("Wrong companies (first 5): " + "; ".join(m.state.wrong[:5]))
    return Result(
        NUMBER,
        TITLE,
        TARGET,
        headline=(
            f"{m.real_rate:,.0f} events/s = {m.ratio:.0%} of the no-op rate ({m.noop_rate:,.0f}/s); "
            f"{m.companies - len(m.state.wrong):,}/{m.companies:,} companies correct; CPU per message {m.cpu:.1f}× "
            "the no-op's"
        ),
        checks=judge(m),
        ratios=[Ratio("processing.cpu", m.cpu, higher_is_better=False, label="CPU per message, process_event ÷ no-op")],
        tables=[
            [
                ["tasks", "messages", "seconds", "messages/s", "distinct events/s", "CPU/message"],
                [
                    "no-op task (bench.noop)",
                    f"{m.messages:,}",
                    f"{m.noop_seconds:.1f}",
                    f"{m.noop_rate:,.0f}",
                    "",
                    f"{m.noop_cpu * 1000 / m.messages:.2f} ms",
                ],
                [
                    "webhooks.process_event",
                    f"{m.messages:,}",
                    f"{m.real_seconds:.1f}",
                    f"{m.real_rate:,.0f}",
                    f"{m.events / m.real_seconds:,.0f}",
                    f"{m.real_cpu * 1000 / m.messages:.2f} ms",
                ],
            ]
        ],
        notes=notes,
    )


def run(bench: Bench) -> Result:
    bench.phase("2. event processing")
    return describe(measure(bench), bench.sizes, bench.config.worker_concurrency)
