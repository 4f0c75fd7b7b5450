"""A private copy of the whole platform for fault tests: its own PostgreSQL (initdb into a temporary
folder), its own Redis on another loopback port, a Stripe emulator, gunicorn and a Celery worker.

Only these processes are ever stopped or killed; the machine's shared PostgreSQL and Redis are not
touched. Everything the tests count comes from the outside: HTTP status codes the senders saw,
gunicorn's access log, the worker's log lines, the private database and the emulator's state.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from saas_platform.processes import ChildProcess, free_port, stop_process, wait_until

from tests.plugins.services import celery_worker_command

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "reliability"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
WEBHOOK_SECRET = "whsec_reliability_private_stack"
PASSWORD = "a-long-enough-secret"
# The scenarios that play beat themselves (Stack.sweep) use short leases so each recovers in seconds.
FAST_RECOVERY = {"WEBHOOK_LEASE_SECONDS": "3", "ONBOARDING_LEASE_SECONDS": "3", "NOTIFICATION_LEASE_SECONDS": "3"}
# The crash-recovery scenario measures production: production leases and sweep intervals (the
# settings' defaults) and production retry back-offs instead of the test settings' fast ones.
PRODUCTION_RECOVERY = {"TASK_RETRY_BACKOFF_SECONDS": "2"}


class PrivatePostgres:
    """PostgreSQL 15 in a temporary data directory on a free port. initdb and pg_ctl refuse to run
    as root, so under root they run as the `postgres` system user."""

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="rel-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as = {"user": "postgres"} if os.geteuid() == 0 else {}
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/billing"

    def _run(self, *args: str) -> None:
        result = subprocess.run(args, capture_output=True, text=True, timeout=120, **self._as)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE billing")

    def start(self) -> None:
        # Durability is not what these tests measure; fsync off keeps the private instance quick.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self) -> None:
        """Fast shutdown: open sessions are cut, as when the database host restarts."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.is_running():
            try:
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)


class PrivateRedis:
    """redis-server on a free loopback port, without persistence: stopping it loses every queued
    message, the harshest broker outage (the inbox and the onboarding sweep must recover)."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url(), socket_connect_timeout=0.5)

        def up():
            try:
                return client.ping()
            except redis.RedisError:
                assert self.process.poll() is None, "private redis-server exited"
                return False

        wait_until(up, 10, message="the private redis-server", interval=0.05)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


class Stack:
    """The platform's processes on the private PostgreSQL, Redis and emulator."""

    def __init__(self, name: str):
        self.name = name
        VAR.mkdir(parents=True, exist_ok=True)
        self.pg = PrivatePostgres()
        self.redis = PrivateRedis()
        self.emulator = None
        self.web: ChildProcess | None = None
        self.worker: ChildProcess | None = None
        self.beat: ChildProcess | None = None
        self.web_port = free_port()
        self.web_log = VAR / f"{name}-web.log"
        self.worker_log = VAR / f"{name}-worker.log"
        self.beat_log = VAR / f"{name}-beat.log"
        self._sender = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Stack:
        from stripe_emulator.testing import EmulatorProcess

        for log in (self.web_log, self.worker_log):
            log.write_bytes(b"")
        self.pg.init()
        self.redis.start()
        # Stripe's own retry schedule, compressed: a delivery that failed is tried again for ~30 s.
        self.emulator = EmulatorProcess(extra_args=["--retry-delays", "0.5,1,2,4,8,15"])
        self.emulator.start()
        self.manage("migrate_platform")
        self.manage("sync_plans")
        self.start_web()
        self.start_worker()
        self.emulator.register_webhook(f"{self.base_url}/stripe/webhooks/", WEBHOOK_SECRET)
        return self

    def close(self) -> None:
        self.stop_beat()
        self.kill_worker(signal.SIGTERM)
        if self.web:
            self.web.stop()
        if self.emulator:
            self.emulator.stop()
        self.redis.stop()
        self.pg.destroy()
        if self._sender is not None:
            self._sender.close()

    @property
    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if k.upper() != "PROMETHEUS_MULTIPROC_DIR"}
        return dict(
            inherited,
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            DJANGO_SETTINGS_MODULE="tests.reliability.stack_settings",
            PYTHONPATH=str(ROOT),
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url(0),
            REDIS_CACHE_URL=self.redis.url(1),
            CELERY_BROKER_URL=self.redis.url(0),
            STRIPE_API_BASE=self.emulator.api_base,
            STRIPE_SECRET_KEY="sk_test_emulator",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            LOG_LEVEL="INFO",
        )

    def process_env(self, production: bool = False) -> dict[str, str]:
        """The environment of a worker or beat: fast recovery for the scenarios that play beat,
        or the production leases, sweeps and back-offs."""
        return self.env | (PRODUCTION_RECOVERY if production else FAST_RECOVERY)

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
        return result.stdout

    @property
    def base_url(self) -> str:
        # `localhost`, not 127.0.0.1: the host is what selects the platform's URLs.
        return f"http://localhost:{self.web_port}"

    def start_web(self) -> None:
        env = self.env | {"WEB_BIND": f"127.0.0.1:{self.web_port}", "WEB_CONCURRENCY": "2", "WEB_THREADS": "4"}
        self.web = ChildProcess([str(ROOT / "docker" / "start" / "web")], cwd=ROOT, env=env, log_path=self.web_log)
        self.web.wait_for_http(f"http://127.0.0.1:{self.web_port}/healthz", host="localhost", timeout=60)

    def start_worker(self, production: bool = False, wait: bool = True) -> None:
        self.worker = ChildProcess(
            celery_worker_command(f"rel-{uuid.uuid4().hex[:6]}@%h"),
            cwd=ROOT,
            env=self.process_env(production),
            log_path=self.worker_log,
        )
        if wait:
            self.worker.wait_for_log(b"ready.", timeout=60)

    def start_beat(self, production: bool = True) -> None:
        """A real `celery beat` (docker/start/beat's command) with the production schedule."""
        self.beat_dir = Path(tempfile.mkdtemp(prefix="rel-beat-"))
        self.beat = ChildProcess(
            [sys.executable, "-m", "celery", "-A", "saas_platform", "beat", "-l", "info"]
            + ["--schedule", str(self.beat_dir / "schedule"), "--pidfile", str(self.beat_dir / "beat.pid")],
            cwd=ROOT,
            env=self.process_env(production),
            log_path=self.beat_log,
        )

    def stop_beat(self) -> None:
        if self.beat:
            self.beat.stop()
        self.beat = None
        if getattr(self, "beat_dir", None):
            shutil.rmtree(self.beat_dir, ignore_errors=True)

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        """The whole worker (main process and pool children), as when its container is OOM-killed."""
        if self.worker is not None:
            self.worker.stop(30, sig=sig, whole_group=True)

    # --- traffic --------------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.web_port}", headers={"Host": "localhost"}, timeout=30)

    def post_event(self, client: httpx.Client, event: dict) -> int:
        """POST one signed event as Stripe would; the status code, or 599 if the connection failed."""
        from tests.helpers import stripe_signature

        payload = json.dumps(event)
        try:
            return client.post(
                "/stripe/webhooks/",
                content=payload,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": stripe_signature(payload, WEBHOOK_SECRET),
                },
            ).status_code
        except httpx.HTTPError:
            return 599

    def signup(self, client: httpx.Client, slug: str) -> int:
        try:
            return client.post(
                "/api/companies/",
                headers={"Idempotency-Key": f"signup-{slug}"},
                json={
                    "name": f"{slug} Inc",
                    "slug": slug,
                    "admin_email": f"admin@{slug}.example",
                    "admin_password": PASSWORD,
                },
            ).status_code
        except httpx.HTTPError:
            return 599

    def sweep(self) -> None:
        """What beat does every few seconds: publish again the inbox events and onboardings whose
        lease ran out (3 s on this stack's usual worker). Sent through the private broker."""
        from celery import Celery

        if self._sender is None:
            # Not the current app: the test process's own tasks must keep publishing to the test broker.
            self._sender = Celery("reliability-beat", broker=self.redis.url(0), set_as_current=False)
            self._sender.conf.broker_connection_timeout = 2
        try:
            self._sender.send_task("webhooks.requeue_pending", queue="default", retry=False)
            self._sender.send_task("companies.resume_provisioning", queue="onboarding", retry=False)
        except Exception:  # the broker is down: beat would fail the same way and try next time
            pass

    # --- what happened ----------------------------------------------------------------------------
    def query(self, sql: str, params=()) -> list[tuple]:
        with self.pg.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def log_size(self, path: Path) -> int:
        return path.stat().st_size if path.exists() else 0

    def web_statuses(self, since: int) -> collections.Counter:
        """Status codes gunicorn served since offset `since` of its access log."""
        with open(self.web_log, "rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", "replace")
        return collections.Counter(int(code) for code in re.findall(r'" (\d{3}) ', text))

    def applied_counts(self) -> collections.Counter:
        """How many times each event's processing committed: the worker logs one line per commit."""
        text = self.worker_log.read_text("utf-8", "replace")
        return collections.Counter(re.findall(r"event (\S+) \S+: (?:processed|ignored)", text))

    def wait_for_inbox(self, timeout: float, sweep_every: float = 4) -> None:
        """Until the emulator has delivered everything and no stored event is pending, sweeping as beat."""
        deadline = time.monotonic() + timeout
        last_sweep = time.monotonic()
        while True:
            drained = self.emulator.wait_for_deliveries(timeout=1)
            pending = self.query("SELECT count(*) FROM webhooks_webhookevent WHERE state IN ('pending', 'failed')")[0][
                0
            ]
            if drained and not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"inbox not drained after {timeout}s: {pending} events pending, emulator drained: {drained}"
                )
            if time.monotonic() - last_sweep > sweep_every:
                self.sweep()
                last_sweep = time.monotonic()
            time.sleep(0.3)

    def companies(self) -> dict[str, dict]:
        rows = self.query(
            "SELECT c.slug, c.status, c.stripe_customer_id, s.status, s.price_lookup_key FROM companies_company c "
            "LEFT JOIN subscriptions_companysubscription s ON s.company_id = c.id WHERE c.schema_name <> 'public'"
        )
        return {
            slug: {
                "status": status,
                "customer": customer,
                "sub_status": sub_status or "",
                "lookup_key": lookup_key or "",
            }
            for slug, status, customer, sub_status, lookup_key in rows
        }

    def stripe_customers_by_slug(self) -> dict[str, list[dict]]:
        client = self.emulator.client()
        found = collections.defaultdict(list)
        for customer in client.v1.customers.list(params={"limit": 100}).auto_paging_iter():
            customer = customer.to_dict()
            slug = (customer.get("metadata") or {}).get("company_slug")
            if slug:
                found[slug].append(customer)
        return found

    def stripe_state(self, customer_id: str) -> tuple[str, str, int]:
        """(status, lookup key) of the customer's current subscription as Stripe has it, and how many
        subscriptions the customer has."""
        from subscriptions.services import current_subscription
        from subscriptions.stripe_objects import subscription_read

        listing = self.emulator.client().v1.subscriptions.list(
            params={"customer": customer_id, "status": "all", "limit": 20}
        )
        subscriptions = [s.to_dict() for s in listing.data]
        current = current_subscription(subscriptions)
        if not current:
            return "", "", 0
        return current["status"], subscription_read(current).base_item.lookup_key, len(subscriptions)

    def mismatched_companies(self, slugs) -> list[str]:
        """Companies whose stored subscription differs from Stripe's."""
        ours = self.companies()
        wrong = []
        for slug in slugs:
            company = ours[slug]
            status, lookup_key, _ = self.stripe_state(company["customer"])
            if (company["sub_status"], company["lookup_key"]) != (status, lookup_key):
                wrong.append(
                    f"{slug}: ours {company['sub_status']}/{company['lookup_key']}, Stripe's {status}/{lookup_key}"
                )
        return wrong
