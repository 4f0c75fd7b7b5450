"""The production-like stack a run measures: its own PostgreSQL database, the Stripe emulator,
gunicorn (docker/start/web), a Celery worker (docker/start/worker), and a memory sampler.

Every process is started here as a child in its own session (saas_platform.processes.ChildProcess)
and stopped with everything it forked when the run ends, however it ends. The shared PostgreSQL and
Redis servers are only used, never touched: the run creates and drops its own database, and its
broker and cache keys carry the run's own prefix.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from saas_platform.processes import ChildProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WEBHOOK_SECRET = "whsec_bench_signing_secret"
PLATFORM_DOMAIN = "localhost"


@dataclass
class StackConfig:
    database_url: str
    redis_url: str
    key_prefix: str
    log_dir: Path
    web_port: int = field(default_factory=free_port)
    emulator_port: int = field(default_factory=free_port)
    web_concurrency: int = 2
    web_threads: int = 4
    worker_concurrency: int = 2

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    @property
    def maintenance_url(self) -> str:
        parts = urlsplit(self.database_url)
        return urlunsplit(parts._replace(path="/postgres"))

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def environ(self, **overrides: str) -> dict[str, str]:
        """The environment of every process of the stack (and of the harness's own Django)."""
        env = {
            key: value
            for key, value in os.environ.items()
            # Whatever the calling shell points at (another database, broker or cache) must not leak in.
            if key not in {"CELERY_BROKER_URL", "REDIS_CACHE_URL", "DJANGO_SETTINGS_MODULE", "STRIPE_API_BASE"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            BENCH_KEY_PREFIX=self.key_prefix,
            STRIPE_SECRET_KEY="sk_test_emulator",
            STRIPE_API_BASE=self.emulator_url,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            PLATFORM_DOMAIN=PLATFORM_DOMAIN,
            PLATFORM_PORT=str(self.web_port),
            DEBUG="false",
            CONN_MAX_AGE="60",
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            PROMETHEUS_MULTIPROC_DIR=str(self.log_dir / "prometheus"),
            WEB_BIND=f"127.0.0.1:{self.web_port}",
            WEB_CONCURRENCY=str(self.web_concurrency),
            WEB_THREADS=str(self.web_threads),
            CELERY_CONCURRENCY=str(self.worker_concurrency),
            PYTHONPATH=str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        env.update(overrides)
        return env


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    """Samples the resident memory of each watched process tree (every process summed) and keeps
    the peak per group and per benchmark phase. /proc only; no extra package needed."""

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.groups: dict[str, ChildProcess] = {}
        self.phase = "setup"
        self.peaks: dict[tuple[str, str], int] = {}  # (group, phase) -> KiB, whole tree
        self.largest_process: dict[str, int] = {}  # group -> KiB, one process
        self.process_count: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def watch(self, group: str, service: ChildProcess) -> None:
        self.groups[group] = service

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def sample(self) -> None:
        for group, service in list(self.groups.items()):
            if not service.alive():
                continue
            pids = process_tree(service.pid)
            sizes = [rss_kib(pid) for pid in pids]
            total = sum(sizes)
            key = (group, self.phase)
            self.peaks[key] = max(self.peaks.get(key, 0), total)
            self.largest_process[group] = max(self.largest_process.get(group, 0), max(sizes, default=0))
            self.process_count[group] = max(self.process_count.get(group, 0), len(pids))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def peak(self, group: str) -> tuple[int, str]:
        """(KiB, phase) of the group's highest sample."""
        candidates = [(kib, phase) for (g, phase), kib in self.peaks.items() if g == group]
        return max(candidates, default=(0, "-"))


def describe(config: StackConfig) -> list[str]:
    """The stack under test, for the report."""
    redis_database = config.redis_url.rsplit("/", 1)[-1]
    return [
        f"A fresh PostgreSQL database (`{config.database_name}`, dropped afterwards), migrated by `manage.py "
        f"migrate_platform`; Redis database {redis_database} as the broker (the cache in the next one), every key "
        "prefixed with the run's id.",
        f"web: `docker/start/web` (gunicorn, {config.web_concurrency} workers × {config.web_threads} threads), "
        "`DEBUG=false`, `CONN_MAX_AGE=60`, JSON logs, access log on, Prometheus multiprocess metrics on — the "
        "container settings, run as `bench.settings` (the local settings plus bench-only endpoints and switches, "
        "see bench/settings.py).",
        f"worker: `docker/start/worker` (Celery prefork, concurrency {config.worker_concurrency}, queues "
        "onboarding, webhooks, default; acks late, prefetch 1).",
        "Stripe: the emulator (`python -m stripe_emulator`), with the plan catalog synced by `manage.py sync_plans`; "
        "no webhook endpoint is registered, so nothing but the benchmarks' own requests reaches the server.",
        "Load: wrk (a separate process, 1 thread, bench/wrk.lua) for throughput; the harness itself (httpx, one "
        "request at a time) for the onboarding latencies. Everything runs on the one machine, so the load "
        "generator, PostgreSQL, Redis and the emulator share its cores with the server.",
    ]


class Stack:
    def __init__(self, config: StackConfig, log=print):
        self.config = config
        self.log = log
        self.services: dict[str, ChildProcess] = {}
        self.memory = MemorySampler()
        self.worker_name = f"worker@{socket.gethostname()}"
        self._database_created = False

    # --- the database ------------------------------------------------------------------------
    def _maintenance(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.config.maintenance_url, autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> None:
        name = self.config.database_name
        if not name.startswith("bench"):
            raise SystemExit(f"refusing to (re)create database {name!r}: benchmark databases are named bench*")
        self._maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._maintenance(f'CREATE DATABASE "{name}"')
        self._database_created = True

    def drop_database(self) -> None:
        if self._database_created:
            self._maintenance(f'DROP DATABASE IF EXISTS "{self.config.database_name}" WITH (FORCE)')
            self._database_created = False

    def manage(self, *args: str, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
        """`manage.py <args>` in a child process with the stack's environment."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.config.environ(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    # --- services ----------------------------------------------------------------------------
    def _start(self, name: str, argv: list[str], **env: str) -> ChildProcess:
        service = ChildProcess(
            argv, name=name, cwd=ROOT, env=self.config.environ(**env), log_path=self.config.log_dir / f"{name}.log"
        )
        self.services[name] = service
        return service

    def start_emulator(self) -> None:
        address = ["--host", "127.0.0.1", "--port", str(self.config.emulator_port)]
        service = self._start("emulator", [sys.executable, "-m", "stripe_emulator", *address, "--log-level", "WARNING"])
        service.wait_for_http(f"{self.config.emulator_url}/_emulator/health", timeout=30)

    def start_web(self) -> None:
        service = self._start("web", ["sh", "docker/start/web"])
        self.memory.watch("web", service)
        service.wait_for_http(f"{self.config.web_url}/healthz", host=PLATFORM_DOMAIN, timeout=60)

    def start_worker(self, **env: str) -> None:
        self.stop_service("worker")
        service = self._start("worker", ["sh", "docker/start/worker"], **env)
        self.memory.watch("worker", service)
        service.wait_for_log(b" ready.", timeout=90)

    def stop_service(self, name: str) -> None:
        service = self.services.pop(name, None)
        if service is not None:
            self.memory.sample()
            service.stop(timeout=30)

    def _forget_redis_keys(self) -> None:
        """The run's broker keys (all under its prefix) and cache keys (`<schema>:<prefix>:...`)."""
        import redis
        from saas_platform.settings.base import _next_database

        patterns = [
            (self.config.redis_url, f"{self.config.key_prefix}:*"),
            (_next_database(self.config.redis_url), f"*:{self.config.key_prefix}:*"),
        ]
        for url, pattern in patterns:
            try:
                client = redis.Redis.from_url(url)
                keys = list(client.scan_iter(match=pattern, count=1000))
                if keys:
                    client.delete(*keys)
            except redis.RedisError as exc:
                self.log(f"cleaning Redis keys {pattern}: {exc}")

    # --- the whole stack ---------------------------------------------------------------------
    def up(self) -> None:
        """A fresh database, migrated; the emulator with the plan catalog; web and worker."""
        config = self.config
        if config.log_dir.exists():
            shutil.rmtree(config.log_dir)
        (config.log_dir / "prometheus").mkdir(parents=True)
        self.memory.start()
        self.log(f"database {config.database_name}: creating and migrating")
        self.create_database()
        self.manage("migrate_platform", "-v", "0")
        self.log(f"emulator on :{config.emulator_port}, gunicorn on :{config.web_port}, worker {self.worker_name}")
        self.start_emulator()
        self.manage("sync_plans")
        self.start_web()
        self.start_worker()

    def down(self) -> None:
        for name in list(self.services):
            try:
                self.stop_service(name)
            except Exception as exc:  # keep stopping the others
                self.log(f"stopping {name}: {exc}")
        self.memory.stop()
        self._forget_redis_keys()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        self.drop_database()
