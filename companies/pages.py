"""The company host's pages about people: Members (roles, removal, invitations) and API tokens.

Each action is a small form posting to its own URL and calling the service the API calls
(companies/members.py, companies/tokens.py); a refusal of the service is shown on the page, next to
what it refuses, with the status the API would answer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from saas_platform.api.throttling import require_rate
from saas_platform.errors import ServiceError

from companies.access import member_required, request_membership
from companies.forms import ApiTokenForm, InvitationForm, RoleForm
from companies.gates import PLAN_LIMIT_REACHED, limit_of
from companies.members import (
    invitation_create,
    invitation_resend,
    invitation_revoke,
    member_remove,
    member_set_role,
)
from companies.models import Membership
from companies.selectors import invitations_open, member_of, members_of, seats_taken, tokens_of
from companies.tokens import api_token_create, api_token_revoke

NO_FREE_SEAT = (
    "Every seat of your plan is taken (members and pending invitations count). "
    "Remove someone, revoke an invitation, or upgrade under Billing."
)


def _members_page(request, *, invite_form=None, errors: dict | None = None, status: int = 200):
    """The page, with a refusal shown on the member or invitation row it is about."""
    company = request.tenant
    membership = request_membership(request)
    is_admin = membership.role == Membership.Role.ADMIN
    errors, now = errors or {}, timezone.now()
    context = {
        "company": company,
        "is_admin": is_admin,
        "me": membership.pk,
        "members": [{"membership": m, "error": errors.get(("member", m.pk))} for m in members_of(company=company)],
        "invitations": [
            {"invitation": i, "expired": i.expires_at <= now, "error": errors.get(("invitation", i.pk))}
            for i in (invitations_open(company=company).order_by("-created_at") if is_admin else [])
        ],
        "seats_used": seats_taken(company=company),
        "seats_allowed": limit_of(company, "max_members"),
        "roles": Membership.Role.choices,
        "invite_form": invite_form or InvitationForm(),
    }
    return render(request, "companies/members.html", context, status=status)


def _refusal_text(refusal: ServiceError) -> str:
    return NO_FREE_SEAT if refusal.code == PLAN_LIMIT_REACHED else refusal.detail


@require_safe
@member_required
def members_page(request):
    return _members_page(request)


@require_POST
@member_required(admin=True)
def member_invite(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, invite_form=form, status=400)
    require_rate(request, "invitations")
    try:
        invitation = invitation_create(company_id=request.tenant.pk, invited_by=request.user, **form.cleaned_data)
    except ServiceError as refusal:
        form.add_error("email", _refusal_text(refusal))
        return _members_page(request, invite_form=form, status=refusal.status)
    messages.success(request, f"Invitation e-mailed to {invitation.email}.")
    return redirect("members-page")


def _existing_member(request, member_id: int) -> Membership:
    membership = member_of(company=request.tenant, membership_id=member_id)
    if membership is None:
        raise Http404()
    return membership


def _on_row(request, row: tuple[str, int], service, **arguments):
    """Call a members-page action's service for this company: (its result, None), or (None, the page
    with the refusal shown on `row`); 404 when the service found nothing to act on."""
    try:
        result = service(company_id=request.tenant.pk, **arguments)
    except ServiceError as refusal:
        return None, _members_page(request, errors={row: _refusal_text(refusal)}, status=refusal.status)
    if not result:
        raise Http404()
    return result, None


@require_POST
@member_required(admin=True)
def member_change_role(request, member_id: int):
    membership = _existing_member(request, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _members_page(request, errors={("member", member_id): "Choose a role."}, status=400)
    changed, refused = _on_row(
        request, ("member", member_id), member_set_role, membership_id=member_id, **form.cleaned_data
    )
    if refused:
        return refused
    messages.success(request, f"{membership.user.email} is now {changed.get_role_display().lower()}.")
    return redirect("members-page")


@require_POST
@member_required(admin=True)
def member_remove_page(request, member_id: int):
    membership = _existing_member(request, member_id)
    _, refused = _on_row(request, ("member", member_id), member_remove, membership_id=member_id)
    if refused:
        return refused
    if membership.user_id == request.user.pk:  # they left: nothing here is theirs any more
        logout(request)
        messages.success(request, f"You left {request.tenant.name}.")
        return redirect("login")
    messages.success(request, f"{membership.user.email} was removed from {request.tenant.name}.")
    return redirect("members-page")


@require_POST
@member_required(admin=True)
def invitation_resend_page(request, invitation_id: int):
    require_rate(request, "invitations")
    invitation, refused = _on_row(
        request, ("invitation", invitation_id), invitation_resend, invitation_id=invitation_id
    )
    if refused:
        return refused
    messages.success(request, f"A new invitation link was e-mailed to {invitation.email}.")
    return redirect("members-page")


@require_POST
@member_required(admin=True)
def invitation_revoke_page(request, invitation_id: int):
    _, refused = _on_row(request, ("invitation", invitation_id), invitation_revoke, invitation_id=invitation_id)
    if refused:
        return refused
    messages.success(request, "The invitation was revoked: its link no longer works.")
    return redirect("members-page")


# --- API tokens ----------------------------------------------------------------------------------


@never_cache  # the page that shows a new key must not stay in a cache or the back-forward history
@require_http_methods(["GET", "POST"])
@member_required
def tokens_page(request):
    """The signed-in person's tokens; a new token's key is shown in the answer to its form, once."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    created, status = None, 200
    if form.is_bound and form.is_valid():
        created = api_token_create(user=request.user, **form.cleaned_data)
        form, status = ApiTokenForm(), 201
    elif form.is_bound:
        status = 400
    context = {"company": request.tenant, "form": form, "tokens": tokens_of(user=request.user)}
    if created:
        context |= {"new_token": created[0], "new_key": created[1]}
    return render(request, "companies/tokens.html", context, status=status)


@require_POST
@member_required
def token_revoke_page(request, token_id: int):
    if not api_token_revoke(user=request.user, token_id=token_id):
        raise Http404()
    messages.success(request, "The token was revoked: requests with its key are refused from now on.")
    return redirect("tokens-page")
