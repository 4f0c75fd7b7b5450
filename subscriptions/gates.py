"""Feature gates: one-line checks against the company's stored entitlement snapshot (no queries).

Every denial has the same shape: HTTP 402 with a stable code, a detail and an upgrade URL.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.shortcuts import render
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from saas_platform import metrics

from subscriptions.features import require_feature, require_limit

SUBSCRIPTION_INACTIVE = "subscription_inactive"
FEATURE_NOT_IN_PLAN = "feature_not_in_plan"
PLAN_LIMIT_REACHED = "plan_limit_reached"


@dataclass(frozen=True)
class Denial:
    code: str
    detail: str


def company_has_paid_access(company) -> bool:
    if not company.paid_access:
        return False
    until = company.paid_access_until
    return until is None or timezone.now() < until


def feature_denial(company, feature: str) -> Denial | None:
    require_feature(feature)
    try:
        if not company_has_paid_access(company):
            return Denial(SUBSCRIPTION_INACTIVE, "The company's subscription is not active.")
        if feature not in company.features:
            return Denial(FEATURE_NOT_IN_PLAN, f"The company's plan does not include {feature!r}.")
    except Exception:  # a check that fails for any reason denies
        return Denial(SUBSCRIPTION_INACTIVE, "The company's subscription could not be checked.")
    return None


def feature_has(company, feature: str) -> bool:
    return feature_denial(company, feature) is None


def limit_of(company, name: str) -> int | None:
    """The company's limit for `name`; None means unlimited."""
    require_limit(name)
    return (company.limits or {}).get(name)


def limit_denial(company, name: str, used: int) -> Denial | None:
    limit = limit_of(company, name)
    if limit is not None and used >= limit:
        return Denial(PLAN_LIMIT_REACHED, f"The plan allows {limit} ({name}); {used} in use.")
    return None


def upgrade_url(request) -> str:
    return request.build_absolute_uri("/#billing")


class PaymentRequired(APIException):
    status_code = 402
    default_code = SUBSCRIPTION_INACTIVE

    def __init__(self, denial: Denial, request):
        metrics.GATE_DENIALS.labels(code=denial.code).inc()
        super().__init__(detail=denial.detail, code=denial.code)
        self.upgrade_url = upgrade_url(request)


def raise_if_denied(denial: Denial | None, request) -> None:
    if denial is not None:
        raise PaymentRequired(denial, request)


def RequiresFeature(feature: str) -> type[BasePermission]:  # noqa: N802 - reads like a class
    """DRF permission: `permission_classes = [IsCompanyMember, RequiresFeature("exports")]`."""
    require_feature(feature)

    class _RequiresFeature(BasePermission):
        required_feature = feature

        def has_permission(self, request, view) -> bool:
            raise_if_denied(feature_denial(request.tenant, feature), request)
            return True

    _RequiresFeature.__name__ = f"RequiresFeature_{feature}"
    return _RequiresFeature


def feature_required(feature: str):
    """View decorator for HTML views: renders the reason and a link to billing with status 402."""
    require_feature(feature)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            denial = feature_denial(request.tenant, feature)
            if denial is not None:
                metrics.GATE_DENIALS.labels(code=denial.code).inc()
                context = {"denial": denial, "upgrade_url": upgrade_url(request), "company": request.tenant}
                return render(request, "subscriptions/denied.html", context, status=402)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
