"""Background webhook delivery with Stripe-style signatures, retries and
chaos (duplicates, shuffling, random delays)."""

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request

log = logging.getLogger("stripe_emulator.delivery")

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(payload, secret, timestamp=None):
    """Return a ``Stripe-Signature`` header value for ``payload`` (str)."""
    t = int(timestamp if timestamp is not None else time.time())
    mac = hmac.new(secret.encode("utf-8"), ("%d.%s" % (t, payload)).encode("utf-8"), hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


class DeliveryManager:
    def __init__(self, app):
        self.app = app
        self.cond = threading.Condition()
        self.queue = []  # pending items
        self.records = []  # delivery log (dicts), oldest first
        self.inflight = 0
        self.seq = 0
        self.generation = 0  # bumped on reset; stale in-flight results are dropped
        self.stopped = False
        self.thread = None

    # --- lifecycle --------------------------------------------------------
    def start(self):
        self.thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
        self.thread.start()

    def stop(self):
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def reset(self):
        with self.cond:
            self.queue = []
            self.records = []
            self.generation += 1
            self.cond.notify_all()

    # --- producer ---------------------------------------------------------
    def enqueue(self, event, endpoints):
        cfg = self.app.config_snapshot()
        payload = json.dumps(event, indent=2)
        now = time.time()
        with self.cond:
            for ep in endpoints:
                copies = 2 if cfg["chaos_duplicate"] else 1
                for _ in range(copies):
                    self.seq += 1
                    delay = random.uniform(0, cfg["chaos_delay"]) if cfg["chaos_delay"] else 0
                    rec = {
                        "id": "whdel_%06d" % self.seq,
                        "event_id": event["id"],
                        "event_type": event["type"],
                        "endpoint_id": ep["id"],
                        "url": ep["url"],
                        "attempts": 0,
                        "last_status": None,
                        "last_error": None,
                        "status": "pending",
                        "created": int(now),
                        "delivered_at": None,
                        "next_attempt_at": now + delay,
                    }
                    self.records.append(rec)
                    self.queue.append(
                        {
                            "seq": self.seq,
                            "due": now + delay,
                            "payload": payload,
                            "secret": ep["secret"],
                            "url": ep["url"],
                            "record": rec,
                            "generation": self.generation,
                        }
                    )
            self.cond.notify_all()

    # --- introspection ----------------------------------------------------
    def log(self):
        with self.cond:
            return [dict(r) for r in self.records]

    def wait(self, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                if not self.queue and not self.inflight:
                    return True
                now = time.time()
                if now >= deadline:
                    return False
                if not self.inflight and self.queue and min(i["due"] for i in self.queue) > deadline:
                    return False
                self.cond.wait(min(0.2, deadline - now))

    # --- worker -----------------------------------------------------------
    def _pick(self, now, cfg):
        due = [i for i in self.queue if i["due"] <= now]
        if not due or cfg["delivery_paused"]:
            return None
        if cfg["chaos_shuffle"]:
            return random.choice(due)
        return min(due, key=lambda i: (i["due"], i["seq"]))

    def _run(self):
        while True:
            with self.cond:
                if self.stopped:
                    return
                cfg = self.app.config_snapshot()
                now = time.time()
                item = self._pick(now, cfg)
                if item is None:
                    wait = 0.5
                    if self.queue and not cfg["delivery_paused"]:
                        wait = max(0.0, min(wait, min(i["due"] for i in self.queue) - now))
                    self.cond.wait(wait if wait > 0 else 0.01)
                    continue
                self.queue.remove(item)
                self.inflight += 1
            status, error = self._send(item)
            settle = None
            with self.cond:
                if item["generation"] == self.generation:
                    settle = self._record(item, status, error)
            # never take the state lock while holding self.cond (enqueue is
            # called with the state lock held)
            if settle:
                self._settle(settle)
            with self.cond:
                self.inflight -= 1
                self.cond.notify_all()

    def _record(self, item, status, error):
        rec = item["record"]
        rec["attempts"] += 1
        rec["last_status"] = status
        rec["last_error"] = error
        if status is not None and 200 <= status < 300:
            rec["status"] = "succeeded"
            rec["delivered_at"] = int(time.time())
            rec["next_attempt_at"] = None
            return rec["event_id"]
        delays = self.app.config_snapshot()["retry_delays"]
        if rec["attempts"] <= len(delays):
            due = time.time() + delays[rec["attempts"] - 1]
            rec["status"] = "retrying"
            rec["next_attempt_at"] = due
            item["due"] = due
            self.queue.append(item)
        else:
            rec["status"] = "failed"
            rec["next_attempt_at"] = None
            return rec["event_id"]
        return None

    def _settle(self, event_id):
        app = self.app
        with app.state.lock:
            ev = app.state.get("events", event_id)
            if ev and ev.get("pending_webhooks", 0) > 0:
                ev["pending_webhooks"] -= 1

    def _send(self, item):
        payload = item["payload"]
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/json",
            "Cache-Control": "no-cache",
            "Stripe-Signature": sign(payload, item["secret"]),
        }
        req = urllib.request.Request(item["url"], data=payload.encode("utf-8"), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
                status = resp.status
            log.info("delivered %s -> %s: %s", item["record"]["event_type"], item["url"], status)
            return status, None
        except urllib.error.HTTPError as exc:
            log.info("delivery %s -> %s: HTTP %s", item["record"]["event_type"], item["url"], exc.code)
            return exc.code, "HTTP %s" % exc.code
        except Exception as exc:  # connection refused, timeout, ...
            log.info("delivery %s -> %s failed: %s", item["record"]["event_type"], item["url"], exc)
            return None, "%s: %s" % (type(exc).__name__, exc)
