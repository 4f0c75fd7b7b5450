"""Fixtures for the Stripe emulator's own tests: one emulator process per
session (reset before every test), a Stripe client and a tiny webhook
receiver.  No database, no Django."""

import functools
import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from saas_platform.processes import wait_until

from stripe_emulator.testing import EmulatorProcess

API_KEY = "sk_test_emulator_tests"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _public_schema():
    """Overrides the repository-wide autouse fixture: these tests touch no database."""
    yield


@pytest.fixture(scope="session")
def emulator():
    proc = EmulatorProcess(extra_args=["--retry-delays", "0.2,0.4,0.8", "--log-level", "INFO"])
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(autouse=True)
def fresh(emulator):
    emulator.reset()
    yield emulator


@pytest.fixture
def client(emulator):
    return emulator.client(API_KEY, max_network_retries=0)


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    """The suite's wait_until (saas_platform.processes), quicker to give up: the emulator answers in ms."""
    return functools.partial(wait_until, timeout=15.0, interval=0.05)


class Receiver:
    """A webhook receiver on a free port: records every request; can be told
    to answer the next N requests with an error status."""

    def __init__(self):
        self.requests = []
        self.fail_next = 0
        self.fail_status = 500
        self.lock = threading.Lock()
        receiver = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    receiver.requests.append(
                        {
                            "headers": dict(self.headers),
                            "body": body,
                            "status": receiver.fail_status if failing else 200,
                        }
                    )
                status = receiver.fail_status if failing else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/webhooks" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, status=200):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests if r["status"] == status]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="session")
def chromium(browser):
    """The suite's one headless Chromium (tests/plugins/browser.py); `page` comes from there too."""
    return browser


@pytest.fixture(scope="session")
def stripe_cli():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", ".bin", "stripe")
    path = os.path.abspath(path)
    if not os.path.exists(path):
        pytest.fail("Stripe CLI not found at %s (npm install)" % path)
    return path


@pytest.fixture
def tmp_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    yield str(home)
    shutil.rmtree(home, ignore_errors=True)


class Maker:
    """Small factory for common objects, all created through the stripe library."""

    def __init__(self, client, emulator):
        self.client = client
        self.emulator = emulator

    def price(self, lookup_key=None, amount=2000, interval="month", product=None, name="Pro"):
        params = {"unit_amount": amount, "currency": "usd", "recurring": {"interval": interval}}
        if product:
            params["product"] = product
        else:
            params["product_data"] = {"name": name}
        if lookup_key:
            params["lookup_key"] = lookup_key
        return self.client.v1.prices.create(params=params)

    def customer(self, card=None, clock=None, **params):
        if card:
            params["payment_method"] = card
            params["invoice_settings"] = {"default_payment_method": card}
        if clock:
            params["test_clock"] = clock
        params.setdefault("email", "person@example.com")
        return self.client.v1.customers.create(params=params)

    def trial(self, customer, price, days, missing_payment_method="cancel", **params):
        """A subscription in a trial of `days` days that ends per `missing_payment_method`."""
        params.update(
            customer=customer.id,
            items=[{"price": price.id}],
            trial_period_days=days,
            trial_settings={"end_behavior": {"missing_payment_method": missing_payment_method}},
        )
        return self.client.v1.subscriptions.create(params=params)

    def coupon(self, **params):
        params.setdefault("duration", "forever")
        return self.client.v1.coupons.create(params=params)

    def promotion_code(self, coupon, **params):
        params["promotion"] = {"type": "coupon", "coupon": coupon.id}
        return self.client.v1.promotion_codes.create(params=params)

    def subscribe(self, customer, *prices, quantity=1, **params):
        """A subscription to ``prices`` (``quantity`` each); its latest invoice expanded."""
        params.update(customer=customer.id, items=[{"price": p.id, "quantity": quantity} for p in prices])
        params.setdefault("expand", ["latest_invoice"])
        return self.client.v1.subscriptions.create(params=params)

    def clock(self, frozen_time=None):
        return self.client.v1.test_helpers.test_clocks.create(params={"frozen_time": int(frozen_time or time.time())})

    def advance(self, clock, to):
        return self.client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": int(to)})

    def events(self, type_=None, **params):
        if type_:
            params["type"] = type_
        params.setdefault("limit", 100)
        return self.client.v1.events.list(params=params).data


@pytest.fixture
def make(client, emulator):
    return Maker(client, emulator)
