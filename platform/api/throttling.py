"""Rate limits that keep the platform answering when their cache (Redis) is unavailable."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

from rest_framework.throttling import ScopedRateThrottle
from saas_platform.errors import ServiceError

logger = logging.getLogger(__name__)


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that lets the request through when the cache cannot be reached.

    For sign-up: during a Redis outage the company is still stored and its onboarding is resumed
    by the sweep afterwards, so refusing (or 500-ing) the request would only lose a customer.
    """

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("rate-limit cache unavailable; %s request allowed", self.scope, exc_info=True)
            return True


class PageThrottled(ServiceError):
    """An HTML form was sent more often than its API twin allows (the same scope and counter)."""

    status = 429
    code = "throttled"
    detail = "Too many requests; please wait a little and try again."


def require_rate(request, scope: str) -> None:
    """HTML views: count this request against `scope`'s rate, the counter the API's throttle for the
    same scope uses (per user, or per address for visitors); PageThrottled past the rate."""
    throttle = FailOpenScopedRateThrottle()
    if not throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):
        wait = throttle.wait()
        minutes = max(1, math.ceil((wait or 60) / 60))
        raise PageThrottled(f"Too many requests; please try again in {minutes} minute{'s' if minutes > 1 else ''}.")
