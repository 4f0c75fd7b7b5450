"""The HTML pages about people: login and logout on a company host, the invitation accept page, the
lockout answer of every password form, and password reset on the platform host. Refusals of the
services render their error page (saas_platform/error_pages.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods
from saas_platform.hosts import company_url_as_reached, platform_url_as_reached

from companies import lockout
from companies.forms import CompanyAddressForm, ExistingAccountForm, OutboxPasswordResetForm
from companies.members import (
    AccountExists,
    invitation_accept_as_new_person,
    invitation_accept_as_user,
    invitation_by_token,
)
from companies.models import User
from companies.selectors import company_by_slug, membership_for, user_by_email


class CompanyLoginForm(AuthenticationForm):
    """Only the host's members can log in there; others see the usual wrong-credentials error."""

    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if membership_for(company=self.request.tenant, user=user) is None:
            raise self.get_invalid_login_error()


def password_reset_url(request: HttpRequest) -> str:
    """Every login page links here: users are global, so their password is reset on the platform host."""
    return platform_url_as_reached(request, reverse("password_reset", urlconf=settings.PUBLIC_SCHEMA_URLCONF))


class LoginView(auth_views.LoginView):
    form_class = CompanyLoginForm
    template_name = "companies/login.html"
    redirect_authenticated_user = False

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"password_reset_url": password_reset_url(self.request)}


class LogoutView(auth_views.LogoutView):
    pass


@require_http_methods(["GET", "POST"])
def company_finder(request):
    """The platform host's "Log in": people log in on their company's own host, so this asks which
    company and forwards to its login page."""
    form = CompanyAddressForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        company = company_by_slug(slug=form.cleaned_data["slug"])
        if company is not None:
            login_path = reverse("login", urlconf=settings.ROOT_URLCONF)
            return redirect(company_url_as_reached(request, company.slug, login_path))
        form.add_error("slug", "No company has this address. Check the spelling, or sign up below.")
    context = {"form": form, "password_reset_url": reverse("password_reset"), "domain": settings.PLATFORM_DOMAIN}
    return render(request, "companies/company_finder.html", context, status=400 if form.is_bound else 200)


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """The accept link: a new person chooses a password, an existing user enters theirs; only then
    is there a membership (and, for a new person, a user). Someone logged in as another user is
    asked to log out first, so nobody joins a company under the wrong account by accident. A link
    that cannot be used (InvitationUnusable) or a company without a free seat (Denied) gets its
    error page."""
    invitation = invitation_by_token(company=request.tenant, token=token)
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
        except AccountExists as refusal:  # an account with this address appeared meanwhile: prove it
            existing, form = True, ExistingAccountForm(request, invitation.email)
            context["notice"] = refusal.detail
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
