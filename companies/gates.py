"""Feature gates: checks against the company's stored entitlement snapshot, at zero queries.

The snapshot (paid_access, features, limits on the company row) is written by subscriptions'
services whenever billing state changes; everything here only reads it. Every refusal is a `Denied`
service error: HTTP 402 with a stable code (`subscription_inactive`, `feature_not_in_plan`,
`plan_limit_reached`), a detail and, in the answer, an upgrade URL. A check that fails for any
reason denies. Call sites are one line: `feature_has(company, "exports")`, `require_free_slot(...)`
in a service, `RequiresFeature("exports")` / `@feature_required("exports")` on views
(companies/access.py), `{% if company|has_feature:"exports" %}` in templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from saas_platform.errors import ServiceError

from companies.features import require_feature, require_limit

SUBSCRIPTION_INACTIVE = "subscription_inactive"
FEATURE_NOT_IN_PLAN = "feature_not_in_plan"
PLAN_LIMIT_REACHED = "plan_limit_reached"


class Denied(ServiceError):
    """The company's plan or subscription status does not allow this."""

    status = 402
    code = SUBSCRIPTION_INACTIVE
    detail = "The company's subscription is not active."


def company_has_paid_access(company) -> bool:
    if not company.paid_access:
        return False
    until = company.paid_access_until
    return until is None or timezone.now() < until


def feature_denial(company, feature: str) -> Denied | None:
    """Why `company` may not use `feature` right now, or None when it may."""
    require_feature(feature)
    try:
        if not company_has_paid_access(company):
            return Denied()
        if feature not in company.features:
            return Denied(f"The company's plan does not include {feature!r}.", code=FEATURE_NOT_IN_PLAN)
    except Exception:  # a check that fails for any reason denies
        return Denied("The company's subscription could not be checked.")
    return None


def feature_has(company, feature: str) -> bool:
    return feature_denial(company, feature) is None


def limit_of(company, name: str) -> int | None:
    """The company's limit for `name`; None means unlimited."""
    require_limit(name)
    return (company.limits or {}).get(name)


def limit_denial(company, name: str, used: int) -> Denied | None:
    """Why one more of `name` would exceed the plan's limit with `used` taken, or None."""
    limit = limit_of(company, name)
    if limit is not None and used >= limit:
        return Denied(f"The plan allows {limit} ({name}); {used} in use.", code=PLAN_LIMIT_REACHED)
    return None


def require_free_slot(company, name: str, used: int) -> None:
    """Raise Denied (`plan_limit_reached`) unless one more of `name` fits the plan's limit. Services
    call it under the company's lock, so concurrent requests cannot both take the last slot."""
    denial = limit_denial(company, name, used)
    if denial is not None:
        raise denial


# --- Usage against the limits --------------------------------------------------------------------
# What each limit counts, registered at start-up by the app owning the counted thing (companies: the
# members plus pending invitations; posts: the posts in the company's schema), so billing can compare
# any plan's limits with the company's usage without importing those apps.

UsageCounter = Callable[[Any], int]
_USAGE: dict[str, UsageCounter] = {}


def usage_counter(name: str) -> Callable[[UsageCounter], UsageCounter]:
    """Register how to count what the limit `name` limits, for a company."""
    require_limit(name)

    def register(counter: UsageCounter) -> UsageCounter:
        _USAGE[name] = counter
        return counter

    return register


def usage_of(company, name: str) -> int:
    """How much of what the limit `name` limits the company uses now."""
    require_limit(name)
    return _USAGE[name](company)


def limits_exceeded(company, limits: dict[str, int | None]) -> list[dict]:
    """Every limit of `limits` the company's usage is above right now: [{limit, used, allowed}]. At
    the limit is not above it (nothing more fits, but nothing is over)."""
    exceeded = []
    for name, allowed in sorted(limits.items()):
        if allowed is None:
            continue
        used = usage_of(company, name)
        if used > allowed:
            exceeded.append({"limit": name, "used": used, "allowed": allowed})
    return exceeded
