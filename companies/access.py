"""Who may do what on a company host: members see the company, admins handle billing, and the
plan's features gate the rest (companies/gates.py), as DRF permissions and HTML view decorators.

Anyone who is not a member of the host's company gets 404, as if the company did not exist.
"""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.permissions import BasePermission

from companies.features import require_feature
from companies.gates import feature_denial
from companies.models import Membership
from companies.selectors import membership_for


def request_membership(request) -> Membership | None:
    if not hasattr(request, "_membership"):
        request._membership = membership_for(company=getattr(request, "tenant", None), user=request.user)
    return request._membership


class IsCompanyMember(BasePermission):
    message = "Not found."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        if request_membership(request) is None:
            raise NotFound()
        return True


class IsCompanyAdmin(IsCompanyMember):
    def has_permission(self, request, view) -> bool:
        super().has_permission(request, view)
        if request_membership(request).role != Membership.Role.ADMIN:
            raise PermissionDenied("Only company admins can do this.")
        return True


def member_required(view=None, *, admin: bool = False):
    """HTML views: anonymous users go to login, non-members get 404, members (or admins) pass."""

    def decorator(view_func):
        @functools.wraps(view_func)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = request_membership(request)
            if membership is None:
                raise Http404()
            if admin and membership.role != Membership.Role.ADMIN:
                from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

                raise DjangoPermissionDenied("Only company admins can do this.")
            return view_func(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view else decorator


def RequiresFeature(feature: str) -> type[BasePermission]:  # noqa: N802 - reads like a class
    """DRF permission: `permission_classes = [IsCompanyMember, RequiresFeature("exports")]`."""
    require_feature(feature)

    class _RequiresFeature(BasePermission):
        required_feature = feature

        def has_permission(self, request, view) -> bool:
            denial = feature_denial(request.tenant, feature)
            if denial is not None:
                raise denial
            return True

    _RequiresFeature.__name__ = f"RequiresFeature_{feature}"
    return _RequiresFeature


def feature_required(feature: str):
    """HTML views: a company without `feature` gets the denial page (errors/denied.html, 402)."""
    require_feature(feature)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            denial = feature_denial(request.tenant, feature)
            if denial is not None:
                raise denial
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
