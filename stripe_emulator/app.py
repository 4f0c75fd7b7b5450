"""The emulator application object: state, runtime config, delivery and
background ticking of wall-clock subscriptions.  Importing it imports the whole
billing lifecycle (``time_passing`` is its top), so every hook has its handler
(``hooks.py``)."""

import logging
import threading
import time

from . import entitlements, hooks, payments, time_passing
from .delivery import DeliveryManager
from .limits import Limiter
from .resources import build_webhook_endpoint
from .schedules import LIVE
from .spec import Spec
from .store import State

log = logging.getLogger("stripe_emulator")

DEFAULT_RETRY_DELAYS = [1.0, 5.0, 30.0, 120.0, 600.0]

CONFIG_TYPES = {
    "chaos_duplicate": bool,
    "chaos_shuffle": bool,
    "chaos_delay": float,
    "chaos_fail_rate": float,
    "chaos_slow_rate": float,
    "chaos_slow_seconds": float,
    "retry_delays": list,
    "delivery_paused": bool,
    "rate_limit": float,
    "endpoint_rate_limit": float,
    "quantity_update_limit": int,
    "latency_ms": float,
    "latency_jitter_ms": float,
}

# Stripe's documented defaults; they apply once ``rate_limit`` is set.
DEFAULT_ENDPOINT_RATE_LIMIT = 25.0
DEFAULT_QUANTITY_UPDATE_LIMIT = 200


class Emulator:
    def __init__(
        self,
        host="127.0.0.1",
        port=12111,
        state_file=None,
        reset=False,
        webhook_url=None,
        webhook_secret=None,
        retry_delays=None,
        chaos_duplicate=False,
        chaos_shuffle=False,
        chaos_delay=0.0,
        chaos_fail_rate=0.0,
        chaos_slow_rate=0.0,
        chaos_slow_seconds=2.0,
        rate_limit=0.0,
        endpoint_rate_limit=DEFAULT_ENDPOINT_RATE_LIMIT,
        quantity_update_limit=DEFAULT_QUANTITY_UPDATE_LIMIT,
        latency_ms=0.0,
        latency_jitter_ms=0.0,
        tick_interval=1.0,
    ):
        if hooks.missing_handlers():
            raise RuntimeError("hooks without a handler: %s" % ", ".join(hooks.missing_handlers()))
        self.host = host
        self.port = port
        self.spec = Spec.load()
        self.state = State(state_file)
        if reset:
            self.state.discard_file()
        else:
            self.state.load()
        self._cfg_lock = threading.Lock()
        self.config = {
            "chaos_duplicate": bool(chaos_duplicate),
            "chaos_shuffle": bool(chaos_shuffle),
            "chaos_delay": float(chaos_delay or 0),
            "chaos_fail_rate": float(chaos_fail_rate or 0),
            "chaos_slow_rate": float(chaos_slow_rate or 0),
            "chaos_slow_seconds": float(chaos_slow_seconds or 0),
            "retry_delays": list(DEFAULT_RETRY_DELAYS if retry_delays is None else retry_delays),
            "delivery_paused": False,
            "rate_limit": float(rate_limit or 0),
            "endpoint_rate_limit": float(endpoint_rate_limit or 0),
            "quantity_update_limit": int(quantity_update_limit or 0),
            "latency_ms": float(latency_ms or 0),
            "latency_jitter_ms": float(latency_jitter_ms or 0),
        }
        self.limiter = Limiter()
        self._initial_config = self.config_snapshot_unlocked()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.delivery = DeliveryManager(self)
        self._ctx = threading.local()
        self.tick_interval = tick_interval
        self._stop = threading.Event()
        self._last_save = 0.0
        self._ticker = None
        self._register_cli_endpoint()

    # --- config -----------------------------------------------------------
    def config_snapshot_unlocked(self):
        out = dict(self.config)
        out["retry_delays"] = list(out["retry_delays"])
        return out

    def config_snapshot(self):
        with self._cfg_lock:
            out = dict(self.config)
            out["retry_delays"] = list(out["retry_delays"])
            return out

    def update_config(self, changes):
        clean = {}
        for k, v in changes.items():
            if k not in CONFIG_TYPES:
                raise ValueError("unknown config key: %s" % k)
            typ = CONFIG_TYPES[k]
            if typ is bool:
                if not isinstance(v, bool):
                    raise ValueError("%s must be a boolean" % k)
                clean[k] = v
            elif typ is int:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError("%s must be a non-negative integer" % k)
                clean[k] = v
            elif typ is float:
                v = float(v)
                if v < 0 or (k.endswith("_rate") and v > 1):
                    raise ValueError("%s out of range" % k)
                clean[k] = v
            else:
                if isinstance(v, str):
                    v = [x for x in v.split(",") if x.strip()]
                clean[k] = [float(x) for x in v]
        with self._cfg_lock:
            self.config.update(clean)
        with self.delivery.cond:
            self.delivery.cond.notify_all()
        return self.config_snapshot()

    # --- request context (for event.request) ------------------------------
    def set_context(self, request_id=None, idempotency_key=None):
        self._ctx.value = {"request_id": request_id, "idempotency_key": idempotency_key}

    def request_context(self):
        return getattr(self._ctx, "value", None) or {}

    def public_base(self):
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return "http://%s:%d" % (host, self.port)

    # --- lifecycle ----------------------------------------------------------
    def _register_cli_endpoint(self):
        if not self.webhook_url:
            return
        with self.state.lock:
            for ep in self.state.all("webhook_endpoints"):
                if ep.get("_cli"):
                    ep["url"] = self.webhook_url
                    if self.webhook_secret:
                        ep["secret"] = self.webhook_secret
                    return
            ep = build_webhook_endpoint(
                {"url": self.webhook_url, "enabled_events": ["*"], "description": "registered by --webhook-url"},
                int(time.time()),
                secret=self.webhook_secret,
            )
            ep["_cli"] = True
            self.state.put("webhook_endpoints", ep)
            log.info("webhook endpoint %s -> %s (secret %s)", ep["id"], ep["url"], ep["secret"])

    def upsert_endpoint(self, url, secret=None, enabled_events=None, description=None):
        """Control-endpoint helper: register ``url`` with a known secret, or
        update the endpoint already pointing at ``url`` (no duplicates)."""
        with self.state.lock:
            for ep in self.state.all("webhook_endpoints"):
                if ep["url"] == url:
                    if secret:
                        ep["secret"] = secret
                    if enabled_events:
                        ep["enabled_events"] = list(enabled_events)
                    ep["status"] = "enabled"
                    self.state.dirty = True
                    return ep
            ep = build_webhook_endpoint(
                {"url": url, "enabled_events": list(enabled_events or ["*"]), "description": description},
                int(time.time()),
                secret=secret,
            )
            self.state.put("webhook_endpoints", ep)
            return ep

    def reset(self):
        with self.state.lock:
            self.state.clear()
            with self._cfg_lock:
                self.config = dict(self._initial_config)
                self.config["retry_delays"] = list(self._initial_config["retry_delays"])
            self.delivery.reset()
            self.limiter.reset()
            self._register_cli_endpoint()
            self.state.save(force=True)

    def start(self):
        self.delivery.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="clock-ticker", daemon=True)
        self._ticker.start()

    def stop(self):
        self._stop.set()
        self.delivery.stop()
        try:
            self.state.save(force=True)
        except OSError:
            log.exception("could not save state")

    def after_mutation(self):
        """Called (lock held) after every mutating request."""
        payments.settle_due(self, time.time())
        entitlements.sync_entitlements(self)
        now = time.time()
        if self.state.path and now - self._last_save >= 0.5:
            self._last_save = now
            self.state.save()

    def tick(self):
        """Advance wall-clock (non test clock) subscriptions and schedules to now; settle due bank debits."""
        with self.state.lock:
            self.set_context()
            st = self.state
            subs = [
                s
                for s in st.all("subscriptions")[::-1]
                if not s.get("test_clock") and s["status"] not in ("canceled", "incomplete_expired", "paused")
            ]
            live_schedules = [
                s for s in st.all("subscription_schedules")[::-1] if not s.get("test_clock") and s["status"] in LIVE
            ]
            before = len(st.col["events"])
            payments.settle_due(self, time.time())
            if subs or live_schedules:
                time_passing.advance(self, subs, int(time.time()), live_schedules)
            if len(st.col["events"]) != before:
                self.after_mutation()

    def _tick_loop(self):
        while not self._stop.wait(self.tick_interval):
            try:
                self.tick()
                self.state.save()
            except Exception:  # pragma: no cover - keep ticking
                log.exception("tick failed")
