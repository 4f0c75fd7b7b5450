"""Rate limits that keep the platform answering when their cache (Redis) is unavailable."""

from __future__ import annotations

import logging

from rest_framework.throttling import ScopedRateThrottle

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
