"""What every benchmark works with: the stack, the sizes of this run, an HTTP client, the broker, the
company the tenant endpoints hit, and the few ways to drive them (wrk, the worker's consumers)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import redis
from saas_platform.processes import wait_until

from bench import data
from bench.cpu import CpuMeter
from bench.load import LoadResult, run_wrk
from bench.stack import PLATFORM_DOMAIN, Stack

T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    duration: float  # seconds of each measured wrk run
    warmup: float  # seconds of the unrecorded wrk run before the first measured one (0: none)
    connections: int
    rounds: int  # alternated baseline/subject pairs per throughput comparison
    processing_messages: int
    processing_companies: int
    scale_companies: int
    migrate_tenants: int
    onboarding_companies: int
    hit_posts: int = 20
    duplicate_share: float = 0.2


FULL = Sizes(
    duration=10,
    warmup=2,
    connections=16,
    rounds=2,
    processing_messages=10_000,
    processing_companies=1_000,
    scale_companies=10_000,
    migrate_tenants=1_000,
    onboarding_companies=50,
)
# The CI smoke: every code path of the full run, at the smallest sizes whose ratios still mean what
# the full run's do (same connections and endpoints; bench/guard.py compares them).
SMOKE = Sizes(
    duration=1,
    warmup=1,
    connections=16,
    rounds=2,
    processing_messages=1_000,
    processing_companies=100,
    scale_companies=10_000,
    migrate_tenants=4,
    onboarding_companies=5,
)


def alternated(rounds: int, first: Callable[[], T], second: Callable[[], T]) -> tuple[list[T], list[T]]:
    """`rounds` measurements of each, in the order first, second, second, first, ... so a drift in the
    machine's load during the comparison weighs on both sides alike."""
    firsts: list[T] = []
    seconds: list[T] = []
    for index in range(rounds):
        if index % 2 == 0:
            firsts.append(first())
            seconds.append(second())
        else:
            seconds.append(second())
            firsts.append(first())
    return firsts, seconds


class Bench:
    """One run against one stack: the benchmarks' shared handles and helpers."""

    def __init__(self, stack: Stack, sizes: Sizes, log: Callable[[str], None] = print):
        self.stack = stack
        self.sizes = sizes
        self.log = log
        self.config = stack.config
        self.http = httpx.Client(base_url=self.config.web_url, timeout=60)
        self.redis = redis.Redis.from_url(self.config.redis_url)
        self.hit: Any = None  # the Company, once made
        self.hit_key = ""
        self.memo: dict[str, object] = {}  # data a benchmark makes once and reuses on another attempt
        # What the CPU ratios count: the server for HTTP load, the worker and the emulator for tasks;
        # both with the database's backends.
        self.server_cpu = CpuMeter(stack, ["web"])
        self.tasks_cpu = CpuMeter(stack, ["worker", "emulator"])

    # --- load -------------------------------------------------------------------------------------
    def wrk(self, path: str, *, host: str, duration: float | None = None, **kwargs) -> LoadResult:
        """One wrk run against the server, with the CPU the server spent on it."""
        url, seconds, connections = (
            f"{self.config.web_url}{path}",
            duration or self.sizes.duration,
            self.sizes.connections,
        )
        result, cpu = self.server_cpu.measure(
            lambda: run_wrk(url, host=host, duration=seconds, connections=connections, **kwargs)
        )
        result = dataclasses.replace(result, cpu_seconds=cpu)
        self.log(f"    {path} @ {host}: {result.summary()}")
        return result

    def warm(self, path: str, *, host: str, **kwargs) -> None:
        if self.sizes.warmup:
            self.wrk(path, host=host, duration=self.sizes.warmup, **kwargs)

    def phase(self, name: str) -> None:
        self.stack.memory.phase = name
        self.log(f"== {name}")

    # --- the company the tenant endpoints hit ---------------------------------------------------------
    def make_hit_company(self) -> None:
        self.hit, self.hit_key = data.hit_company(posts=self.sizes.hit_posts)
        response = self.http.get("/api/posts/", headers={"Host": self.hit_host, **self.token_headers()})
        if response.status_code != 200 or len(response.json()["results"]) != min(20, self.sizes.hit_posts):
            raise RuntimeError(f"the tenant endpoint answers {response.status_code}: {response.text[:300]}")

    @property
    def hit_host(self) -> str:
        return f"{self.hit.slug}.{PLATFORM_DOMAIN}"

    def token_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.hit_key}"}

    # --- the worker and its queue -------------------------------------------------------------------
    def _control(self, command: str, queue: str) -> None:
        from saas_platform.celery import app

        replies = getattr(app.control, command)(queue, destination=[self.stack.worker_name], reply=True, timeout=10)
        if not replies:
            raise RuntimeError(f"the worker did not answer {command}({queue})")

    def pause_webhooks_queue(self) -> None:
        self._control("cancel_consumer", "webhooks")

    def resume_webhooks_queue(self) -> None:
        self._control("add_consumer", "webhooks")

    def _key(self, name: str) -> str:
        return f"{self.config.key_prefix}:{name}"

    def messages_left(self, queue: str = "webhooks") -> int:
        """Messages queued or taken but not yet acknowledged (acks_late keeps them in `unacked`)."""
        return self.redis.llen(self._key(queue)) + self.redis.hlen(self._key("unacked"))

    def drop_queue(self, queue: str = "webhooks") -> None:
        self.redis.delete(self._key(queue))

    def drain(self, publish: Callable[[], object]) -> tuple[float, float]:
        """(seconds, CPU seconds of the worker, the emulator and the database) for the worker to drain
        what `publish` queues while the worker is not consuming."""
        self.pause_webhooks_queue()
        try:
            publish()
        finally:
            started = time.monotonic()
            before = self.tasks_cpu.snapshot()
            self.resume_webhooks_queue()
        wait_until(lambda: self.messages_left() == 0, timeout=1800, interval=0.05, message="the queue to drain")
        seconds = time.monotonic() - started
        return seconds, self.tasks_cpu.since(before)
