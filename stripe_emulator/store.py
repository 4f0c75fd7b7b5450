"""In-memory state of the emulator (one re-entrant lock), id generation and
optional JSON persistence."""

import copy
import json
import logging
import os
import secrets
import string
import threading
import time

log = logging.getLogger("stripe_emulator.store")

COLLECTIONS = (
    "customers",
    "products",
    "prices",
    "plans",
    "payment_methods",
    "subscriptions",
    "invoices",
    "invoiceitems",
    "events",
    "webhook_endpoints",
    "test_clocks",
    "portal_configurations",
    "portal_sessions",
    "checkout_sessions",
    "features",
    "product_features",
    "coupons",
    "promotion_codes",
    "discounts",
    "customer_balance_transactions",
    "tax_rates",
    "tax_ids",
    "billing_meters",
    "billing_meter_events",
    "payment_intents",
    "setup_intents",
    "charges",
    "refunds",
    "disputes",
    "invoice_payments",
    "credit_notes",
    "subscription_schedules",
)

_ALNUM = string.ascii_letters + string.digits


def rand(n):
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def new_id(prefix, n=14):
    """Stripe-looking ids: ``cus_`` + 14 chars for short ids (n=0), else
    prefix + "1" + 23 chars (``sub_1Pgc6r...``)."""
    if n == 0:
        return prefix + rand(14)
    return prefix + "1" + rand(23)


class State:
    """All emulator state.  Every access must hold ``self.lock``."""

    def __init__(self, path=None):
        self.lock = threading.RLock()
        self.path = path
        self.clear()

    def clear(self):
        with self.lock:
            self.col = {name: {} for name in COLLECTIONS}
            # (api_key, idempotency key) -> record
            self.idem = {}
            # customer id -> sorted list of feature ids last announced
            self.ent_summary = {}
            self.dirty = True

    # --- generic access -------------------------------------------------
    def get(self, collection, oid):
        return self.col[collection].get(oid)

    def put(self, collection, obj):
        self.col[collection][obj["id"]] = obj
        self.dirty = True
        return obj

    def delete(self, collection, oid):
        self.dirty = True
        return self.col[collection].pop(oid, None)

    def all(self, collection):
        """Newest first."""
        return list(reversed(list(self.col[collection].values())))

    def collection_for(self, oid):
        if not isinstance(oid, str):
            return None
        for name in COLLECTIONS:
            if oid in self.col[name]:
                return name
        return None

    # --- persistence ----------------------------------------------------
    def load(self):
        if not self.path or not os.path.exists(self.path):
            return False
        with open(self.path, encoding="utf-8") as fh:
            data = json.load(fh)
        with self.lock:
            for name in COLLECTIONS:
                self.col[name] = dict(data.get("collections", {}).get(name, {}))
            self.ent_summary = data.get("ent_summary", {})
            self.dirty = False
        log.info("loaded state from %s", self.path)
        return True

    def save(self, force=False):
        if not self.path:
            return
        with self.lock:
            if not (self.dirty or force):
                return
            data = {
                "version": 1,
                "saved_at": int(time.time()),
                "collections": copy.deepcopy(self.col),
                "ent_summary": copy.deepcopy(self.ent_summary),
            }
            self.dirty = False
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)

    def discard_file(self):
        if self.path and os.path.exists(self.path):
            os.remove(self.path)
