"""A stateful, dependency-free emulator of the subset of Stripe's REST API a
SaaS billing platform uses.  Run with ``python -m stripe_emulator``."""

API_VERSION = "2026-10-28.endive"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12111

__all__ = ["API_VERSION", "DEFAULT_HOST", "DEFAULT_PORT"]
