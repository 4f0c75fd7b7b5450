"""The HTML pages: the company dashboard (login, logout, the overview, Manage billing), the
invitation accept page, the lockout answer of every password form, and password reset on the
platform host."""

from __future__ import annotations

import math
from collections.abc import Mapping

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from companies import lockout
from companies.access import member_required, request_membership
from companies.forms import ExistingAccountForm, OutboxPasswordResetForm
from companies.members import (
    InvitationUnusable,
    MembershipRefused,
    invitation_accept_as_new_person,
    invitation_accept_as_user,
    invitation_by_token,
)
from companies.models import Membership, User
from companies.selectors import invitations_pending, user_by_email
from companies.services import membership_for
from posts.models import Post
from subscriptions.api import dashboard_url
from subscriptions.billing import NoStripeCustomer, billing_portal_session_create
from subscriptions.models import CompanySubscription


class CompanyLoginForm(AuthenticationForm):
    """Only the host's members can log in there; others see the usual wrong-credentials error."""

    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if membership_for(company=self.request.tenant, user=user) is None:
            raise self.get_invalid_login_error()


def platform_url(request: HttpRequest, path: str) -> str:
    """`path` on the platform host, reached the way this request reached its host (scheme, port)."""
    host = request.get_host()
    port = host.rsplit(":", 1)[1] if ":" in host else ""
    return f"{request.scheme}://{settings.PLATFORM_DOMAIN}{':' + port if port else ''}{path}"


def password_reset_url(request: HttpRequest) -> str:
    """Every login page links here: users are global, so their password is reset on the platform host."""
    return platform_url(request, reverse("password_reset", urlconf=settings.PUBLIC_SCHEMA_URLCONF))


class LoginView(auth_views.LoginView):
    form_class = CompanyLoginForm
    template_name = "companies/login.html"
    redirect_authenticated_user = False

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"password_reset_url": password_reset_url(self.request)}


class LogoutView(auth_views.LogoutView):
    pass


@member_required
def dashboard(request):
    company = request.tenant
    context = {
        "company": company,
        "membership": request_membership(request),
        "is_admin": request_membership(request).role == Membership.Role.ADMIN,
        "subscription": CompanySubscription.objects.filter(company=company).first(),
        "posts": list(Post.objects.select_related("author").order_by("-created_at")[:5]),
        "post_count": Post.objects.count(),
        "member_count": Membership.objects.filter(company=company).count(),
        "invited_count": invitations_pending(company=company).count(),
    }
    return render(request, "companies/dashboard.html", context)


@require_POST
@member_required(admin=True)
def billing_portal(request):
    """Manage billing: a portal session for the company's customer, then 303 to Stripe."""
    try:
        url = billing_portal_session_create(company=request.tenant, return_url=dashboard_url(request))
    except NoStripeCustomer:
        return render(request, "companies/billing_unavailable.html", status=409)
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _unusable(request, refusal: InvitationUnusable):
    return render(
        request,
        "companies/invitation_unusable.html",
        {"company": request.tenant, "refusal": refusal},
        status=refusal.status,
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """The accept link: a new person chooses a password, an existing user enters theirs; only then
    is there a membership (and, for a new person, a user). Someone logged in as another user is
    asked to log out first, so nobody joins a company under the wrong account by accident."""
    try:
        invitation = invitation_by_token(company=request.tenant, token=token)
    except InvitationUnusable as refusal:
        return _unusable(request, refusal)
    context = {"company": request.tenant, "invitation": invitation}
    if request.user.is_authenticated and request.user.email.lower() != invitation.email:
        return render(request, "companies/invitation_accept.html", context | {"signed_in_as_other": True})

    data = request.POST if request.method == "POST" else None
    existing = user_by_email(email=invitation.email) is not None
    form = ExistingAccountForm(request, invitation.email, data) if existing else _new_person_form(invitation, data)
    status = 200
    if form.is_valid():
        try:
            if existing:
                user = form.user
                invitation_accept_as_user(invitation=invitation, user=user)
            else:
                password = form.cleaned_data["new_password1"]
                user = invitation_accept_as_new_person(invitation=invitation, password=password)
        except InvitationUnusable as refusal:
            return _unusable(request, refusal)
        except MembershipRefused as refusal:
            if refusal.code == "account_exists":  # an account with this address appeared meanwhile
                existing, form = True, ExistingAccountForm(request, invitation.email)
                context["notice"] = refusal.detail
            else:  # the company is full (a plan downgraded since the invitation was sent)
                context["refusal"] = refusal
                status = 402
        else:
            login(request, user, backend=MODEL_BACKEND)
            return redirect("dashboard")
    elif getattr(request, "axes_locked_out", False):
        status = 429  # the lockout refused the password check; the form says to wait
        context["notice"] = "Too many wrong passwords: this account is locked for a while. Try again later."
    return render(
        request, "companies/invitation_accept.html", context | {"form": form, "existing": existing}, status=status
    )


def _new_person_form(invitation, data) -> SetPasswordForm:
    # Django's own form: two fields, the password validators, checked against the invited address.
    return SetPasswordForm(User(email=invitation.email), data)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Mapping | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to an attempt refused by the lockout, on every password form.
    429 with Retry-After; the API's error body on /api/ paths, a page saying what to do elsewhere."""
    remaining = lockout.lockout_remaining(request, credentials)
    seconds = math.ceil(remaining.total_seconds()) or int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = math.ceil(seconds / 60)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    if request.path.startswith("/api/"):
        detail = f"Too many failed sign-in attempts. Try again in {wait}."
        response = JsonResponse({"code": "too_many_attempts", "detail": detail}, status=429)
    else:
        context = {"wait": wait, "password_reset_url": password_reset_url(request)}
        response = render(request, "companies/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


# --- Password reset (platform host): Django's views, our templates --------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Always the same answer ("if an account exists, we sent a link"), whether the e-mail is known."""

    form_class = OutboxPasswordResetForm
    template_name = "companies/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "companies/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Sets the new password; the link then stops working (it signs the old password's hash).
    Proving the mailbox also lifts the lockout on the account."""

    template_name = "companies/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        lockout.login_unlock(emails=[form.user.email])
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "companies/password_reset_complete.html"
