"""HTTP layer: request parsing, auth, idempotency, chaos, routing,
expansion, control endpoints and the hosted pages."""

import base64
import hashlib
import json
import logging
import random
import re
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import (
    API_VERSION,
    endpoints,  # noqa: F401  (importing it registers every API handler)
    expansion,
    limits,
    page_routes,
    routing,
    versions,
)
from .errors import StripeError
from .store import rand

log = logging.getLogger("stripe_emulator.server")

LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1", "localhost")
_TOKEN_RX = re.compile(r"\[([^\]]*)\]")


# ---------------------------------------------------------------------------
# form parsing


def parse_form(text):
    """Parse Stripe-style form encoding (``a[b][0][c]=v``, ``expand[]=x``) into
    nested dicts; ``expand[]`` and ``[0]`` become digit keys, which the request
    spec turns into lists where a parameter is declared as one."""
    root = {}
    for key, value in urllib.parse.parse_qsl(text or "", keep_blank_values=True):
        head = key.split("[", 1)[0]
        tokens = [head] + _TOKEN_RX.findall(key[len(head) :])
        node = root
        for index, token in enumerate(tokens):
            if token == "":
                token = "%d" % len(node)
            if index == len(tokens) - 1:
                node[token] = value
            else:
                child = node.get(token)
                if not isinstance(child, dict):
                    child = node[token] = {}
                node = child
    return root


# ---------------------------------------------------------------------------
# HTTP handler


class Request:
    """What a handler may need to know about the HTTP request besides its parameters."""

    def __init__(self, method, path, params, api_key, base_url, request_id, idempotency_key, stripe_version):
        self.method = method
        self.path = path
        self.params = params
        self.api_key = api_key
        self.base_url = base_url
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.stripe_version = stripe_version
        self.response_headers = {}  # sent with the answer, e.g. a 429's Stripe-Rate-Limited-Reason


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-emulator/1.0"
    disable_nagle_algorithm = True  # avoid 40 ms delayed-ACK stalls on keep-alive

    def log_message(self, fmt, *args):  # route through logging
        log.debug("%s - %s", self.client_address[0], fmt % args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_OPTIONS(self):
        self._send(204, b"", "text/plain")

    # --- plumbing ---------------------------------------------------------
    def _send(self, status, body, ctype="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None):
        self._send(status, (json.dumps(obj, indent=2) + "\n").encode("utf-8"), "application/json", headers)

    def send_html(self, status, html, headers=None):
        self._send(status, html.encode("utf-8"), "text/html; charset=utf-8", headers)

    def redirect(self, location):
        self._send(303, b"", "text/plain", {"Location": location})

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def base_url(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "http://" + host

    def _dispatch(self, method):
        app = self.server.app
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            body = self._body()
        except Exception:
            body = ""
        try:
            if path.startswith("/_emulator/") or path == "/_emulator":
                return self._control(app, method, path, url.query, body)
            if path.startswith("/p/"):
                return page_routes.handle(app, self, method, path, url.query, body)
            if path in ("/", ""):
                return self.send_html(200, page_routes.index_page(app))
            return self._api(app, method, path, url.query, body)
        except BrokenPipeError:
            pass
        except Exception as exc:  # pragma: no cover - last resort
            log.exception("unhandled error")
            try:
                self.send_json(500, {"error": {"type": "api_error", "message": "Emulator internal error: %s" % exc}})
            except Exception:
                pass

    # --- control endpoints -------------------------------------------------
    def _control(self, app, method, path, query, body):
        if self.client_address[0] not in LOOPBACK:
            return self.send_json(403, {"error": "control endpoints are loopback-only"})
        q = dict(urllib.parse.parse_qsl(query))
        if path == "/_emulator/health" and method == "GET":
            return self.send_json(200, {"status": "ok", "api_version": API_VERSION, "port": app.port})
        if path == "/_emulator/reset" and method == "POST":
            app.reset()
            return self.send_json(200, {"reset": True})
        if path == "/_emulator/config":
            if method == "POST":
                try:
                    changes = json.loads(body or "{}")
                    if not isinstance(changes, dict):
                        raise ValueError("body must be a JSON object")
                    cfg = app.update_config(changes)
                except (ValueError, TypeError) as exc:
                    return self.send_json(400, {"error": str(exc)})
                return self.send_json(200, cfg)
            if method == "GET":
                return self.send_json(200, app.config_snapshot())
        if path == "/_emulator/webhook_endpoints" and method == "POST":
            try:
                spec = json.loads(body or "{}")
                if not isinstance(spec, dict) or not spec.get("url"):
                    raise ValueError("url is required")
            except ValueError as exc:
                return self.send_json(400, {"error": str(exc)})
            ep = app.upsert_endpoint(
                spec["url"], spec.get("secret"), spec.get("enabled_events"), spec.get("description")
            )
            return self.send_json(200, dict((k, v) for k, v in ep.items() if not k.startswith("_")))
        if path == "/_emulator/deliveries" and method == "GET":
            return self.send_json(200, {"deliveries": app.delivery.log()})
        if path == "/_emulator/deliveries/wait" and method == "POST":
            try:
                timeout = float(q.get("timeout", "10"))
            except ValueError:
                timeout = 10.0
            drained = app.delivery.wait(max(0.0, min(timeout, 600.0)))
            return self.send_json(200, {"drained": drained})
        if path == "/_emulator/tick" and method == "POST":
            app.tick()
            return self.send_json(200, {"ticked": True})
        return self.send_json(404, {"error": "unknown control endpoint %s %s" % (method, path)})

    # --- Stripe API ---------------------------------------------------------
    def _auth(self):
        header = self.headers.get("Authorization") or ""
        key = None
        if header.startswith("Bearer "):
            key = header[7:].strip()
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:].strip()).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = None
        if not key:
            raise StripeError(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                "details, or we can help at https://support.stripe.com/.",
            )
        if not re.match(r"^(sk|rk)_test_[A-Za-z0-9_]+$", key):
            shown = key[:8] + "*" * 4 + key[-4:] if len(key) > 12 else key
            raise StripeError(401, "invalid_request_error", "Invalid API Key provided: %s" % shown)
        return key

    def _api(self, app, method, path, query, body):
        config = app.config_snapshot()
        delay = limits.latency_seconds(config)
        if delay:
            time.sleep(delay)
        request_id = "req_" + rand(14)
        stripe_version = self.headers.get("Stripe-Version") or API_VERSION
        headers = {"Request-Id": request_id, "Stripe-Version": stripe_version}
        try:
            api_key = self._auth()
            app.limiter.admit(config, api_key, _operation_key(app, method, path) if config["rate_limit"] else None)
        except StripeError as e:
            if e.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="Stripe"'
            headers.update(getattr(e, "headers", {}))
            log.info("%s %s -> %d (%s)", method, path, e.status, e.message)
            return self.send_json(e.status, e.body(request_id), headers)
        failure = _chaos(config)
        if failure is not None:
            headers["Stripe-Should-Retry"] = "true"
            return self.send_json(500, failure, headers)
        params = self._request_params(method, query, body)
        idempotency_key = self.headers.get("Idempotency-Key") if method == "POST" else None
        request = Request(method, path, params, api_key, self.base_url(), request_id, idempotency_key, stripe_version)
        if idempotency_key:
            return self._idempotent(app, request, headers)
        status, out = self._execute(app, request)
        headers.update(request.response_headers)
        return self.send_json(status, out, headers)

    def _request_params(self, method, query, body):
        params = parse_form(query)
        if method == "POST":
            content_type = self.headers.get("Content-Type") or ""
            if "json" in content_type and body.strip().startswith("{"):
                try:
                    extra = json.loads(body)
                except ValueError:
                    extra = {}
            else:
                extra = parse_form(body)
            if isinstance(extra, dict):
                params.update(extra)
        return params

    def _idempotent(self, app, request, headers):
        """Stripe's idempotency: the first 200/402 (or card error) answer is
        replayed for the same key and parameters; validation errors are not kept."""
        key = request.idempotency_key
        fingerprint = hashlib.sha256(
            json.dumps([request.method, request.path, request.params], sort_keys=True).encode("utf-8")
        ).hexdigest()
        slot = (request.api_key, key)
        with app.state.lock:
            record = app.state.idem.get(slot)
            if record is None:
                claimed = {"fingerprint": fingerprint, "in_progress": True, "created": time.time()}
                app.state.idem[slot] = claimed
        if record is not None:
            return self._replay(record, fingerprint, key, headers)
        status, out = self._execute(app, request)
        with app.state.lock:
            if status in (200, 402) or (status == 400 and out.get("error", {}).get("type") == "card_error"):
                claimed.update({"in_progress": False, "status": status, "body": out, "request_id": request.request_id})
            else:
                app.state.idem.pop(slot, None)
        headers["Idempotency-Key"] = key
        headers.update(request.response_headers)
        return self.send_json(status, out, headers)

    def _replay(self, record, fingerprint, key, headers):
        if record["in_progress"]:
            headers["Stripe-Should-Retry"] = "true"
            message = (
                "There is currently another in-progress request using this Idempotent Key (that probably means "
                "you submitted twice, and the other request is still going through): %s. Please try again later." % key
            )
            return self.send_json(409, {"error": {"type": "idempotency_error", "message": message}}, headers)
        if record["fingerprint"] != fingerprint:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                "with. Try using a key other than '%s' if you meant to execute a different request." % key
            )
            return self.send_json(400, {"error": {"type": "idempotency_error", "message": message}}, headers)
        headers.update(
            {"Idempotent-Replayed": "true", "Original-Request": record["request_id"], "Idempotency-Key": key}
        )
        return self.send_json(record["status"], record["body"], headers)

    def _execute(self, app, request):
        """Route, validate against Stripe's request spec, then run the handler under the state lock."""
        route = None
        try:
            route = routing.resolve(app.spec, request.method, request.path)
            extra = versions.older_parameters(route.operation.key, request.stripe_version)
            params = app.spec.validate_parameters(route.operation, request.params, extra)
            expand_paths = params.get("expand") or []
            app.spec.check_expand(route.operation, expand_paths)
        except StripeError as e:
            if route is not None:
                e = versions.removed_parameter_error(route.operation.key, e)
            log.info("%s %s -> %d (%s)", request.method, request.path, e.status, e.message)
            return e.status, e.body(request.request_id)
        arguments = [urllib.parse.unquote(a) for a in route.path_arguments]
        with app.state.lock:
            app.set_context(request.request_id, request.idempotency_key)
            try:
                _count_quantity_update(app, route, params, arguments)
                result = expansion.expand(app, route.handler(app, request, params, *arguments), expand_paths)
                status = 200
            except StripeError as e:
                status, result = e.status, e.body(request.request_id)
                request.response_headers.update(getattr(e, "headers", {}))
            finally:
                if request.method != "GET":
                    app.after_mutation()
                app.set_context()
        log.info("%s %s -> %d", request.method, request.path, status)
        log.debug("params=%s", json.dumps(request.params))
        return status, result


def _operation_key(app, method, path):
    """The Stripe operation ``method path`` names (its own rate limit), or None."""
    for operation, _arguments in app.spec.operations_for(path):
        if operation.method == method:
            return operation.key
    return None


def _count_quantity_update(app, route, params, arguments):
    """Stripe's limit on quantity updates per subscription (state lock held)."""
    config = app.config_snapshot()
    if not config["rate_limit"]:
        return
    subscription_id = limits.quantity_update_target(app.state, route.operation.key, params, arguments)
    if subscription_id:
        app.limiter.admit_quantity_update(config, subscription_id)


def _chaos(config):
    """Maybe sleep (``chaos_slow_rate``); the 500 body when the call should fail (``chaos_fail_rate``)."""
    if config["chaos_slow_rate"] and random.random() < config["chaos_slow_rate"]:
        time.sleep(config["chaos_slow_seconds"])
    if config["chaos_fail_rate"] and random.random() < config["chaos_fail_rate"]:
        message = "An unknown error occurred (emulator chaos: fail rate %.2f)." % config["chaos_fail_rate"]
        return {"error": {"type": "api_error", "message": message}}
    return None


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app):
        self.app = app
        super().__init__((app.host, app.port), Handler)
        app.port = self.server_address[1]


def serve(app):
    srv = EmulatorServer(app)
    app.start()
    return srv
