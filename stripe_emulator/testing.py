"""Helpers for tests: run the emulator in a subprocess and talk to it.

    from stripe_emulator.testing import EmulatorProcess

    with EmulatorProcess(extra_args=["--retry-delays", "0.2,0.5"]) as emu:
        client = emu.client()
        client.v1.customers.create(params={"email": "a@example.com"})
        secret = emu.register_webhook("http://127.0.0.1:8000/stripe/webhook")  # or (url, "whsec_...")
        emu.wait_for_deliveries(10)

Only the standard library is needed; ``stripe`` is imported lazily by
``client()``.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEFAULT_API_KEY = "sk_test_emulator"


def free_port(host="127.0.0.1"):
    # The emulator is a standard-library-only package that is used on its own (stripe_emulator/README.md),
    # so it keeps this three-line copy rather than import the platform's saas_platform.processes.free_port,
    # which the platform's tests and benchmarks use.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmulatorError(RuntimeError):
    pass


class EmulatorProcess:
    """Spawn ``python -m stripe_emulator`` on a free port."""

    def __init__(
        self, extra_args=(), port=None, host="127.0.0.1", startup_timeout=20.0, python=None, env=None, log_file=None
    ):
        self.host = host
        self.port = port
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.python = python or sys.executable
        self.env = env
        self.proc = None
        self._log_file = log_file
        self._log_handle = None

    # --- lifecycle -------------------------------------------------------
    @property
    def api_base(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        if self.proc is not None:
            return self
        last_error = None
        for _attempt in range(3):
            port = self.port or free_port(self.host)
            cmd = [self.python, "-m", "stripe_emulator", "--host", self.host, "--port", str(port)]
            cmd += self.extra_args
            env = dict(os.environ)
            env.update(self.env or {})
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            if self._log_file:
                self._log_handle = open(self._log_file, "ab")
            else:
                self._log_handle = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(
                cmd, stdout=self._log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
            self.port = port
            try:
                self._wait_healthy()
                return self
            except EmulatorError as exc:
                last_error = exc
                self.stop()
                if self.port == port and _attempt < 2:
                    self.port = None  # port race: try another one
        raise last_error

    def _wait_healthy(self):
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise EmulatorError("emulator exited with %s:\n%s" % (self.proc.returncode, self.output()))
            try:
                if self.control("GET", "/_emulator/health", timeout=2).get("status") == "ok":
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise EmulatorError("emulator did not become healthy in %ss:\n%s" % (self.startup_timeout, self.output()))

    def output(self):
        """Everything the emulator process logged so far."""
        if self._log_handle is None:
            return ""
        try:
            self._log_handle.flush()
            self._log_handle.seek(0)
            data = self._log_handle.read()
            self._log_handle.seek(0, 2)
            return data.decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self._log_handle is not None:
            try:
                self._log_handle.close()
            except OSError:
                pass
            self._log_handle = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- control endpoints -----------------------------------------------
    def control(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode("utf-8") if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(
            self.api_base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            raise EmulatorError("%s %s -> %s: %s" % (method, path, exc.code, body)) from exc

    def health(self):
        return self.control("GET", "/_emulator/health")

    def reset(self):
        return self.control("POST", "/_emulator/reset")

    def configure(self, **knobs):
        """Set chaos knobs, retry delays, rate limits or latency, e.g. ``configure(chaos_duplicate=True,
        retry_delays=[0.1, 0.2])`` or ``configure(rate_limit=25, latency_ms=100)``.  Returns the full
        configuration; ``reset()`` restores the start-up one."""
        return self.control("POST", "/_emulator/config", knobs)

    def config(self):
        return self.control("GET", "/_emulator/config")

    def deliveries(self):
        return self.control("GET", "/_emulator/deliveries")["deliveries"]

    def wait_for_deliveries(self, timeout=10.0):
        """Block until every queued webhook (including retries due within
        ``timeout``) has been delivered or given up.  Returns True if drained."""
        return self.control("POST", "/_emulator/deliveries/wait?timeout=%s" % timeout, timeout=timeout + 30)["drained"]

    # --- Stripe API ----------------------------------------------------------
    def client(self, api_key=DEFAULT_API_KEY, **kwargs):
        import stripe

        kwargs.setdefault("max_network_retries", 0)
        return stripe.StripeClient(api_key, base_addresses={"api": self.api_base}, **kwargs)

    @property
    def webhook_target(self):
        """The ``--webhook-url`` given in ``extra_args`` (or None)."""
        args = self.extra_args
        for i, a in enumerate(args):
            if a == "--webhook-url" and i + 1 < len(args):
                return args[i + 1]
            if a.startswith("--webhook-url="):
                return a.split("=", 1)[1]
        return None

    def register_webhook(self, url, secret=None, enabled_events=("*",)):
        """Register a webhook endpoint for ``url`` (all events by default)
        with a known ``secret`` (random ``whsec_...`` if None) and return the
        secret.  Re-registering the same URL updates that endpoint instead of
        adding a second one, so nothing is delivered twice."""
        ep = self.control(
            "POST",
            "/_emulator/webhook_endpoints",
            {"url": url, "secret": secret, "enabled_events": list(enabled_events)},
        )
        return ep["secret"]

    def create_webhook_endpoint(self, url, enabled_events=("*",), api_key=DEFAULT_API_KEY, **params):
        """Create a webhook endpoint over plain HTTP; returns the endpoint
        object (a dict including ``secret``)."""
        import urllib.parse

        form = [("url", url)] + [("enabled_events[]", e) for e in enabled_events]
        for k, v in params.items():
            form.append((k, v))
        req = urllib.request.Request(
            self.api_base + "/v1/webhook_endpoints",
            data=urllib.parse.urlencode(form).encode("utf-8"),
            method="POST",
            headers={"Authorization": "Bearer " + api_key, "Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read().decode("utf-8"))
