"""The company dashboard (HTML): login, logout, the overview and the Manage billing button."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST

from companies.access import member_required, request_membership
from companies.models import Membership
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


class LoginView(auth_views.LoginView):
    form_class = CompanyLoginForm
    template_name = "companies/login.html"
    redirect_authenticated_user = False


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
