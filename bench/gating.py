"""Benchmark 3, gating cost: the same list of posts with and without `RequiresFeature("posts")`,
alternated, and the SQL queries each view runs as the server counts them."""

from __future__ import annotations

from dataclasses import dataclass

from bench.context import Bench, Sizes, alternated
from bench.load import LOAD_HEADER, Comparison, load_row, mean_rps
from bench.result import Check, Ratio, Result

NUMBER, TITLE = 3, "Gating cost"
TARGET = "gated endpoint ≥ 95 % of the ungated one's requests/s, zero extra queries"
PATHS = {"ungated": "/_bench/posts/ungated/", "gated": "/_bench/posts/gated/"}


@dataclass(frozen=True)
class GatingMeasurement:
    load: Comparison  # ungated, gated
    queries: dict[str, int]  # per view

    @property
    def extra_queries(self) -> int:
        return self.queries["gated"] - self.queries["ungated"]


def count_queries(bench: Bench) -> dict[str, int]:
    """SQL queries each view runs, as the server counts them (`X-Bench-Queries`, bench/views.py)."""
    queries = {}
    for name, path in PATHS.items():
        response = bench.http.get(path, headers={"Host": bench.hit_host, **bench.token_headers()})
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
        queries[name] = int(response.headers["X-Bench-Queries"])
    return queries


def measure(bench: Bench) -> GatingMeasurement:
    queries = count_queries(bench)
    headers = bench.token_headers()
    for path in PATHS.values():
        bench.warm(path, host=bench.hit_host, headers=headers)
    load = alternated(
        bench.sizes.rounds,
        lambda: bench.wrk(PATHS["ungated"], host=bench.hit_host, headers=headers),
        lambda: bench.wrk(PATHS["gated"], host=bench.hit_host, headers=headers),
    )
    return GatingMeasurement(Comparison(*load), queries)


def judge(m: GatingMeasurement) -> list[Check]:
    return [
        Check(m.load.throughput >= 0.95, f"gated throughput {m.load.throughput:.1%} < 95 %"),
        Check(m.extra_queries == 0, f"{m.extra_queries} extra queries", correctness=True),
        Check(m.load.failures == 0, f"{m.load.failures} non-2xx or failed requests", correctness=True),
    ]


def describe(m: GatingMeasurement, sizes: Sizes) -> Result:
    rows = [LOAD_HEADER + ["SQL queries in the view"]]
    for name, results in (("ungated", m.load.baseline), ("gated", m.load.subject)):
        for index, result in enumerate(results, 1):
            rows.append(load_row(f"{name} (round {index})", result) + [str(m.queries[name])])
    return Result(
        NUMBER,
        TITLE,
        TARGET,
        headline=(
            f"gated {mean_rps(m.load.subject):,.0f} req/s = {m.load.throughput:.1%} of ungated "
            f"{mean_rps(m.load.baseline):,.0f} req/s; queries {m.queries['gated']} vs {m.queries['ungated']}; "
            f"server CPU per request {m.load.cpu:.2f}× ungated's"
        ),
        checks=judge(m),
        ratios=[
            Ratio("gating.cpu", m.load.cpu, higher_is_better=False, label="server CPU per request, gated ÷ ungated")
        ],
        tables=[rows],
        notes=[
            f"{sizes.rounds} rounds of {sizes.duration:.0f} s per view, alternated (ungated, gated, gated, ungated, "
            "...). Both views list the newest 20 posts of one company through the same serializer, as the "
            'company\'s admin with an API token; the gated one adds `RequiresFeature("posts")`. Queries are counted '
            "by the server itself (a `connection.execute_wrapper` around the view, `X-Bench-Queries`): "
            "authentication, membership, the list. The gate reads the entitlement snapshot on the company row "
            "the tenant middleware already loaded."
        ],
    )


def run(bench: Bench) -> Result:
    bench.phase("3. gating cost")
    return describe(measure(bench), bench.sizes)
