"""Who may do what on a company host: members see the company, admins handle billing.

Anyone who is not a member of the host's company gets 404, as if the company did not exist.
"""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.permissions import BasePermission

from companies.models import Membership
from companies.services import membership_for


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
