"""Benchmark 4, tenant scale: a company's real endpoint with one company in the database and with
thousands (alternated: the extra companies are added and removed between rounds), and how long
`migrate_schemas` takes over many company schemas with nothing to apply."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import data
from bench.context import Bench, Sizes, alternated
from bench.load import LOAD_HEADER, Comparison, LoadResult, load_row
from bench.result import Check, Ratio, Result

NUMBER, TITLE = 4, "Tenant scale"
SCALE_PREFIX = "bench-scale"
DEPLOYS = """\
**What keeps deploys fast.** A deploy migrates once, in the one-shot `migrate` service
(`manage.py migrate_platform`: the public schema, then the template schema `tenant_template`, then
every company schema, `--executor=multiprocessing` available), before web and workers start; no web
or worker process migrates on start. New companies never run migrations: their schema is cloned
from the migrated template (benchmark 5), so sign-ups do not grow with the number of migrations and
a deploy does not race them (a company whose schema is cloned from an outdated template is caught
by the tenant pass of the same deploy). The cost that does grow with the number of companies is
the tenant pass of `migrate_schemas`, which checks every schema even with nothing to apply, as
measured above: keep tenant migrations rare (most tables are in the public schema: only posts are
per company), and run that pass with the multiprocessing executor."""


def target(sizes: Sizes) -> str:
    return (
        f"with {sizes.scale_companies:,} companies ≥ 90 % of the 1-company requests/s; "
        f"report `migrate_schemas` for {sizes.migrate_tenants:,} tenants"
    )


@dataclass(frozen=True)
class ScaleMeasurement:
    load: Comparison  # one company, many
    companies: int
    domains: int


@dataclass(frozen=True)
class MigrateTimes:
    tenants: int
    seconds: dict[str, float]  # per executor


def _with_companies(count: int) -> int:
    """Make the table hold `count` companies (the hit company plus bare rows); returns the count."""
    from companies.models import Company

    present = Company.objects.count()
    if present < count:
        data.bulk_company_rows(count - present, SCALE_PREFIX)
        data.vacuum_companies()
    elif present > count:
        data.delete_company_rows(SCALE_PREFIX)
    return Company.objects.count()


def measure(bench: Bench) -> ScaleMeasurement:
    from companies.models import Company, Domain

    if Company.objects.exclude(slug__startswith=f"{SCALE_PREFIX}-").count() != 1:
        raise RuntimeError("the 1-company rounds need the hit company alone in the database")
    headers = bench.token_headers()
    many_count = max(bench.sizes.scale_companies, 2)
    sizes_seen = {}

    def at(count: int) -> LoadResult:
        sizes_seen[count] = (_with_companies(count), Domain.objects.count())
        return bench.wrk("/api/posts/", host=bench.hit_host, headers=headers)

    bench.warm("/api/posts/", host=bench.hit_host, headers=headers)
    try:
        load = Comparison(*alternated(bench.sizes.rounds, lambda: at(1), lambda: at(many_count)))
    finally:
        _with_companies(1)
    companies, domains = sizes_seen[many_count]
    return ScaleMeasurement(load, companies, domains)


def judge(m: ScaleMeasurement) -> list[Check]:
    return [
        Check(m.load.throughput >= 0.9, f"throughput with {m.companies:,} companies {m.load.throughput:.0%} < 90 %"),
        Check(m.load.failures == 0, f"{m.load.failures} non-2xx or failed requests", correctness=True),
    ]


def describe(m: ScaleMeasurement, sizes: Sizes) -> Result:
    rows = [["companies in the database"] + LOAD_HEADER]
    for index, (one, many) in enumerate(m.load.rounds(), 1):
        rows.append(["1"] + load_row(f"GET /api/posts/, round {index}", one))
        rows.append([f"{m.companies:,}"] + load_row(f"GET /api/posts/, round {index}", many))
    return Result(
        NUMBER,
        TITLE,
        target(sizes),
        headline=(
            f"{m.load.throughput:.0%} of the 1-company throughput with {m.companies:,} companies "
            f"(server CPU per request {m.load.cpu:.2f}× the 1-company one's)"
        ),
        checks=judge(m),
        ratios=[
            Ratio(
                "scale.cpu",
                m.load.cpu,
                higher_is_better=False,
                label=f"server CPU per request, {m.companies:,} companies ÷ 1",
            )
        ],
        tables=[rows],
        notes=[
            "The endpoint is the real `GET /api/posts/` (API token, 20 posts, cursor pagination) of one company. "
            f"{sizes.rounds} rounds of {sizes.duration:.0f} s each, alternated (1, {m.companies:,}, {m.companies:,}, "
            f"1, ...): before a {m.companies:,}-company round {m.companies - 1:,} companies and their domains are "
            f"added ({m.domains:,} domains in all), after it they are deleted, and both tables vacuumed and "
            "analyzed each time. They are rows with a domain and no schema (the request path reads one domain "
            "row by its unique index, whatever the table's size).",
        ],
    )


def time_migrate_schemas(bench: Bench) -> MigrateTimes:
    """`migrate_schemas --tenant` with nothing to apply over `migrate_tenants` company schemas."""
    from companies.models import Company

    bench.phase("4. migrate_schemas")
    missing = bench.sizes.migrate_tenants - Company.objects.count()
    if missing > 0:
        names = [f"c_bench_schema_{i}" for i in range(missing)]
        started = time.monotonic()
        data.clone_schemas_by_sql(names, bench.config.database_url, bench.config.log_dir)
        data.bulk_company_rows(missing, "bench-schema", schema_names=names)
        bench.log(f"    {missing} schemas cloned by SQL in {time.monotonic() - started:.1f}s")
    seconds = {}
    for executor in ("standard", "multiprocessing"):
        started = time.monotonic()
        bench.stack.manage("migrate_schemas", "--tenant", "--noinput", f"--executor={executor}", "-v0", timeout=1800)
        seconds[executor] = time.monotonic() - started
        bench.log(f"    migrate_schemas --tenant --executor={executor}: {seconds[executor]:.1f}s")
    return MigrateTimes(Company.objects.count(), seconds)


def add_migrate_times(result: Result, times: MigrateTimes) -> None:
    """Benchmark 4's second half, measured later in the run (after onboarding made its schemas)."""
    standard, multi = times.seconds.get("standard", 0), times.seconds.get("multiprocessing", 0)
    result.headline += (
        f"; migrate_schemas over {times.tenants:,} tenants with nothing to apply: "
        f"{standard:.0f} s (standard), {multi:.0f} s (multiprocessing)"
    )
    result.tables.append(
        [["`migrate_schemas --tenant`, nothing to apply", "tenants", "seconds", "ms per tenant"]]
        + [
            [f"--executor={name}", f"{times.tenants:,}", f"{value:.1f}", f"{value * 1000 / max(1, times.tenants):.0f}"]
            for name, value in (("standard", standard), ("multiprocessing", multi))
        ]
    )
    result.notes.append(
        f"`migrate_schemas` ran over {times.tenants:,} real company schemas (copies of the template schema, "
        "and the companies the onboarding benchmark signed up), later in the run."
    )
    result.epilogue = DEPLOYS


def run(bench: Bench) -> Result:
    bench.phase(f"4. tenant scale (1 and {bench.sizes.scale_companies:,} companies)")
    return describe(measure(bench), bench.sizes)
