"""``python -m stripe_emulator`` — run the Stripe emulator."""

import argparse
import logging
import signal
import sys
import threading

from . import API_VERSION, DEFAULT_HOST, DEFAULT_PORT


def _fraction(v):
    f = float(v)
    if not 0 <= f <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return f


def _non_negative(v):
    f = float(v)
    if f < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return f


def _count(v):
    n = int(v)
    if n < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return n


def _delays(v):
    try:
        return [float(x) for x in v.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("comma separated seconds, e.g. 1,5,30") from None


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="Stateful local emulator of the Stripe API subset used by the billing "
        "platform (API version %s). Control endpoints live under /_emulator/." % API_VERSION,
    )
    _server_options(p.add_argument_group("server"))
    _webhook_options(p.add_argument_group("webhooks"))
    _chaos_options(p.add_argument_group("chaos"))
    _limit_options(p.add_argument_group("Stripe's limits and latency"))
    return p


def _server_options(p):
    p.add_argument("--host", default=DEFAULT_HOST, help="interface to bind (default: %(default)s)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to listen on, 0 picks a free one (default: %(default)s)"
    )
    p.add_argument(
        "--state-file",
        metavar="PATH",
        help="JSON file to load state from at start and save it to on changes and shutdown",
    )
    p.add_argument("--reset", action="store_true", help="discard the --state-file at start")
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"],
        help="logging level (default: %(default)s)",
    )


def _webhook_options(p):
    p.add_argument("--webhook-url", metavar="URL", help="pre-register a webhook endpoint receiving every event ('*')")
    p.add_argument(
        "--webhook-secret",
        metavar="whsec_...",
        help="signing secret for --webhook-url (random if omitted; printed at start)",
    )
    p.add_argument(
        "--retry-delays",
        type=_delays,
        default=None,
        metavar="S1,S2,...",
        help="seconds to wait before each webhook retry after a failed delivery (default: 1,5,30,120,600)",
    )


def _chaos_options(p):
    p.add_argument("--chaos-duplicate", action="store_true", help="deliver every event twice")
    p.add_argument("--chaos-shuffle", action="store_true", help="deliver queued events in random order")
    p.add_argument(
        "--chaos-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay each delivery by a random time up to SECONDS",
    )
    p.add_argument(
        "--chaos-fail-rate",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="fraction of API calls failing with 500 api_error",
    )
    p.add_argument(
        "--chaos-slow-rate",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="fraction of API calls delayed by --chaos-slow-seconds",
    )
    p.add_argument(
        "--chaos-slow-seconds",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="delay for slow API calls (default: %(default)s)",
    )


def _limit_options(p):
    p.add_argument(
        "--rate-limit",
        type=_non_negative,
        default=0.0,
        metavar="N",
        help="API requests per second per secret key (Stripe: 100 live, 25 sandbox); enables Stripe's "
        "per-endpoint and quantity-update limits too; 429 rate_limit beyond them (default: off)",
    )
    p.add_argument(
        "--endpoint-rate-limit",
        type=_non_negative,
        default=25.0,
        metavar="N",
        help="with --rate-limit: requests per second per operation and key, search at most 20; 0 = none "
        "(default: %(default)s, Stripe's)",
    )
    p.add_argument(
        "--quantity-update-limit",
        type=_count,
        default=200,
        metavar="N",
        help="with --rate-limit: quantity updates per subscription per hour; 0 = none (default: %(default)s, Stripe's)",
    )
    p.add_argument(
        "--latency",
        type=_non_negative,
        default=0.0,
        metavar="MS",
        help="milliseconds added to every API call (default: 0)",
    )
    p.add_argument(
        "--latency-jitter",
        type=_non_negative,
        default=0.0,
        metavar="MS",
        help="plus a random 0..MS milliseconds per call (default: 0)",
    )


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.webhook_secret and not args.webhook_url:
        print("--webhook-secret needs --webhook-url", file=sys.stderr)
        return 2
    from .app import Emulator
    from .server import serve

    app = Emulator(
        host=args.host,
        port=args.port,
        state_file=args.state_file,
        reset=args.reset,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        retry_delays=args.retry_delays,
        chaos_duplicate=args.chaos_duplicate,
        chaos_shuffle=args.chaos_shuffle,
        chaos_delay=args.chaos_delay,
        chaos_fail_rate=args.chaos_fail_rate,
        chaos_slow_rate=args.chaos_slow_rate,
        chaos_slow_seconds=args.chaos_slow_seconds,
        rate_limit=args.rate_limit,
        endpoint_rate_limit=args.endpoint_rate_limit,
        quantity_update_limit=args.quantity_update_limit,
        latency_ms=args.latency,
        latency_jitter_ms=args.latency_jitter,
    )
    srv = serve(app)
    log = logging.getLogger("stripe_emulator")
    log.info("Stripe emulator (API %s) listening on http://%s:%d", API_VERSION, args.host, app.port)
    print("stripe-emulator listening on http://%s:%d" % (args.host, app.port), flush=True)

    def shutdown(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        app.stop()
        srv.server_close()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
