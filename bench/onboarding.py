"""Benchmark 5, onboarding: sign-up → active through the real API and worker, with company schemas
cloned from the template and, on a worker restarted with cloning off, made by migrations; the
sign-up POST against a bare view's latency."""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from saas_platform.processes import wait_until

from bench.context import Bench, Sizes
from bench.cpu import CpuMeter
from bench.load import ms
from bench.result import Check, Ratio, Result
from bench.stack import PLATFORM_DOMAIN

NUMBER, TITLE = 5, "Onboarding"
TARGET = (
    "cloning ≥ 5× faster than migration-based creation (sign-up → active, p50); the POST ≤ 3× a bare view's latency"
)
PASSWORD = "a-long-Passphrase-for-bench-2026"
_runs = itertools.count(1)  # slugs stay unique over every attempt of a run


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def p_ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) * 1000


@dataclass(frozen=True)
class Onboardings:
    """One variant's companies, one after another (seconds)."""

    posts: list[float]  # the POST's latency
    totals: list[float]  # sign-up → active
    methods: list[str]  # how the worker made each schema
    steps: list[float]  # the schema step, as the worker recorded it
    cpu_seconds: float  # of web, worker, emulator and database, for all of them
    post_cpu_seconds: float  # of gunicorn alone, during the POSTs

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds per onboarding."""
        return self.cpu_seconds * 1000 / len(self.totals) if self.totals else float("inf")


@dataclass(frozen=True)
class OnboardingMeasurement:
    cloned: Onboardings
    migrated: Onboardings
    bare: list[float]
    hash_ms: float
    hash_cpu_ms: float

    @property
    def speedup(self) -> float:
        return p_ms(self.migrated.totals, 50) / p_ms(self.cloned.totals, 50) if self.cloned.totals else 0.0

    @property
    def post_ms(self) -> float:
        return p_ms(self.cloned.posts + self.migrated.posts, 50)

    @property
    def post_ratio(self) -> float:
        bare = p_ms(self.bare, 50)
        return self.post_ms / bare if bare else float("inf")

    @property
    def post_cpu(self) -> float:
        """Server CPU per sign-up POST ÷ the CPU of its password hash alone."""
        posts = len(self.cloned.posts) + len(self.migrated.posts)
        post_cpu_ms = (self.cloned.post_cpu_seconds + self.migrated.post_cpu_seconds) * 1000 / posts
        return post_cpu_ms / self.hash_cpu_ms

    @property
    def clone_cpu(self) -> float:
        """CPU per onboarding, cloning ÷ migrations."""
        return self.cloned.cpu_ms / self.migrated.cpu_ms

    @property
    def methods_right(self) -> bool:
        return set(self.cloned.methods) == {"cloned"} and set(self.migrated.methods) == {"migrated"}


@dataclass(frozen=True)
class SignUp:
    company_id: int
    post_seconds: float
    total_seconds: float  # sign-up → active
    post_cpu_seconds: float  # gunicorn's, during the POST


def _sign_up_until_active(bench: Bench, slug: str, server: CpuMeter) -> SignUp:
    from companies.models import Company

    body = {"name": slug, "slug": slug, "admin_email": f"admin@{slug}.example", "admin_password": PASSWORD}
    started = time.monotonic()
    response, cpu = server.measure(
        lambda: bench.http.post("/api/companies/", json=body, headers={"Host": PLATFORM_DOMAIN})
    )
    posted = time.monotonic()
    if response.status_code != 202:
        raise RuntimeError(f"sign-up answered {response.status_code}: {response.text[:300]}")
    company_id = response.json()["id"]

    def active() -> bool:
        status = Company.objects.filter(pk=company_id).values_list("status", flat=True).first()
        if status == Company.Status.FAILED:
            reason = Company.objects.get(pk=company_id).failure_reason
            raise RuntimeError(f"onboarding of {slug} failed: {reason}")
        return status == Company.Status.ACTIVE

    wait_until(active, timeout=120, interval=0.01, message=f"{slug} to be active")
    return SignUp(company_id, posted - started, time.monotonic() - started, cpu)


def onboard(bench: Bench, variant: str, count: int) -> Onboardings:
    """Sign up `count` companies one after another, each followed until the worker made it active."""
    from companies.models import OnboardingStep

    run = next(_runs)
    everything = CpuMeter(bench.stack, ["web", "worker", "emulator"])
    server = CpuMeter(bench.stack, ["web"], database=False)  # the worker's queries may overlap the POST
    before = everything.snapshot()
    sign_ups = [_sign_up_until_active(bench, f"onb-{variant}-{run}-{index}", server) for index in range(count)]
    cpu = everything.since(before)
    steps = [OnboardingStep.objects.get(company_id=s.company_id, step="schema") for s in sign_ups]
    return Onboardings(
        posts=[s.post_seconds for s in sign_ups],
        totals=[s.total_seconds for s in sign_ups],
        methods=[step.method for step in steps],
        steps=[(step.finished_at - step.started_at).total_seconds() for step in steps],
        cpu_seconds=cpu,
        post_cpu_seconds=sum(s.post_cpu_seconds for s in sign_ups),
    )


def bare_latencies(bench: Bench, count: int) -> list[float]:
    """The same client posting a sign-up-sized JSON body to a view that does nothing."""
    payload = {"name": "Bare", "slug": "bare", "admin_email": "bare@example.com", "admin_password": "x" * 30}
    latencies = []
    for _ in range(count):
        started = time.monotonic()
        bench.http.post("/_bench/bare/", json=payload, headers={"Host": PLATFORM_DOMAIN})
        latencies.append(time.monotonic() - started)
    return latencies


def hashing_ms() -> tuple[float, float]:
    """The median (wall, CPU) milliseconds of the PBKDF2 hash the sign-up computes for the password."""
    timings, cpu = [], []
    for _ in range(5):
        started, started_cpu = time.monotonic(), time.thread_time()
        make_password(PASSWORD)
        timings.append(time.monotonic() - started)
        cpu.append(time.thread_time() - started_cpu)
    return statistics.median(timings) * 1000, statistics.median(cpu) * 1000


def measure(bench: Bench) -> OnboardingMeasurement:
    count = bench.sizes.onboarding_companies
    bench.phase("5. onboarding (cloning)")
    bare = bare_latencies(bench, max(count, 20))
    cloned = onboard(bench, "clone", count)
    bench.phase("5. onboarding (migrations)")
    bench.stack.start_worker(BENCH_CLONE_SCHEMAS="0")
    try:
        migrated = onboard(bench, "migrate", count)
    finally:
        bench.stack.start_worker()
    return OnboardingMeasurement(cloned, migrated, bare, *hashing_ms())


def judge(m: OnboardingMeasurement) -> list[Check]:
    return [
        Check(m.speedup >= 5, f"sign-up → active only {m.speedup:.1f}× faster with cloning"),
        Check(m.post_ratio <= 3, f"POST p50 {m.post_ratio:.0f}× the bare view's"),
        Check(m.methods_right, "the schema steps did not use the intended method", correctness=True),
    ]


def _row(label: str, variant: Onboardings) -> list[str]:
    return [
        label,
        str(len(variant.totals)),
        ms(p_ms(variant.totals, 50)),
        ms(p_ms(variant.totals, 95)),
        ms(p_ms(variant.posts, 50)),
        ms(p_ms(variant.posts, 95)),
        f"{ms(p_ms(variant.steps, 50))} / {ms(p_ms(variant.steps, 95))}",
        ", ".join(sorted(set(variant.methods))),
    ]


def _table(m: OnboardingMeasurement) -> list[list[str]]:
    header = ["schema creation", "companies", "sign-up → active p50", "p95", "POST p50", "POST p95"]
    return [
        header + ["schema step p50 / p95", "step method"],
        _row("cloned from tenant_template", m.cloned),
        _row("django-tenants migrations", m.migrated),
        ["bare view (same client, same JSON body)", str(len(m.bare)), "", ""]
        + [ms(p_ms(m.bare, 50)), ms(p_ms(m.bare, 95)), "", ""],
    ]


def describe(m: OnboardingMeasurement, sizes: Sizes) -> Result:
    bare_p50 = p_ms(m.bare, 50)
    speedup95 = p_ms(m.migrated.totals, 95) / p_ms(m.cloned.totals, 95) if m.cloned.totals else 0.0
    step_speedup = p_ms(m.migrated.steps, 50) / p_ms(m.cloned.steps, 50) if m.cloned.steps else 0.0
    unhashed = max(m.post_ms - m.hash_ms, 0)
    return Result(
        NUMBER,
        TITLE,
        TARGET,
        headline=(
            f"sign-up → active {m.speedup:.1f}× faster with cloning at p50 ({speedup95:.1f}× at p95; "
            f"the schema step alone {step_speedup:.1f}×); "
            f"POST p50 {m.post_ms:.0f} ms = {m.post_ratio:.0f}× the bare view's {bare_p50:.1f} ms"
        ),
        checks=judge(m),
        ratios=[
            Ratio("onboarding.post_cpu", m.post_cpu, False, "server CPU per sign-up POST ÷ its password hash alone"),
            Ratio("onboarding.clone_cpu", m.clone_cpu, False, "CPU per onboarding, cloning ÷ migrations"),
        ],
        tables=[_table(m)],
        notes=[
            "Each company is signed up through the real `POST /api/companies/` and followed until the worker "
            "has made it `active` (schema, Stripe customer, trial subscription in the emulator), one company "
            "at a time so every number is one onboarding's own latency. The second variant restarts the "
            "worker with cloning switched off (`TENANT_CLONE_SCHEMAS`, bench/settings.py), so the schema is "
            "created by `migrate_schemas` as plain django-tenants does.",
            f"The POST hashes the admin's password with Django's PBKDF2 (hashing alone: {m.hash_ms:.0f} ms here); "
            f"without it the POST p50 would be ≈{unhashed:.0f} ms (≈{unhashed / bare_p50 if bare_p50 else 0:.1f}× "
            "the bare view). The hash is the point of a password store and must happen before the password is "
            "let go of, so it stays in the request.",
            f"CPU per onboarding (gunicorn, the worker, the emulator and the database's backends, bench/cpu.py): "
            f"{m.cloned.cpu_ms:.0f} ms cloning, {m.migrated.cpu_ms:.0f} ms with migrations; gunicorn's CPU per "
            f"sign-up POST is {m.post_cpu:.2f}× the CPU of its password hash alone ({m.hash_cpu_ms:.0f} ms).",
        ],
    )


def run(bench: Bench) -> Result:
    return describe(measure(bench), bench.sizes)
