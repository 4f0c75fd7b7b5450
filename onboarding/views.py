"""Sign-up in the browser, on the platform host: the form (the API's serializer validates it and the
API's service signs up), the slug check it asks as you type, and the progress page that follows
onboarding live and forwards to the new company's login page.

The visitor has no session yet, so the progress page lives at a signed URL: only its holder can
read it, and it stops working after a day."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from saas_platform.api.throttling import require_rate
from saas_platform.errors import FieldInvalid
from saas_platform.hosts import company_url_as_reached

from companies.models import Company
from companies.selectors import company_get
from companies.services import IdempotencyConflict, company_domain, company_signup, company_signup_replay
from onboarding.forms import SignupForm, default_price
from onboarding.selectors import onboarding_steps_done
from onboarding.serializers import slug_refusal, slug_suggestion
from onboarding.services import onboarding_restart

_PROGRESS_SALT = "onboarding.progress"
PROGRESS_LINK_LIFETIME = 24 * 3600
STEPS = (
    ("schema", "Preparing your workspace"),
    ("customer", "Creating your billing account"),
    ("trial", "Starting your free trial"),
)


@sensitive_post_parameters("admin_password")
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.method == "GET":
        form = SignupForm(initial={"price_lookup_key": default_price(request.GET.get("price"))})
        return _signup_page(request, form)
    require_rate(request, "signup")
    form = SignupForm(request.POST)
    key = request.POST.get("idempotency_key") or None
    try:
        valid = form.is_valid()
        if key:
            # A double submit or a retry of a sign-up that went through gets its progress page, not
            # "this name is taken" about the company it made itself. Looked up after validating, so
            # a twin request that committed meanwhile is found here (as the API does).
            identity = {field: request.POST.get(field, "") for field in ("name", "slug", "admin_email")}
            earlier = company_signup_replay(idempotency_key=key, **identity)
            if earlier is not None:
                return redirect(progress_path(earlier))
        if not valid:
            return _signup_page(request, form, status=400)
        company, _ = company_signup(idempotency_key=key, **form.validated_data)
    except FieldInvalid as taken:  # a concurrent sign-up took the name or the e-mail first
        form.add_error(taken.field, taken.detail)
        return _signup_page(request, form, status=400)
    except IdempotencyConflict:  # this form went through before with other details: a fresh key
        data = request.POST.copy()
        data["idempotency_key"] = secrets.token_urlsafe(24)
        form = SignupForm(data)
        form.is_valid()
        form.add_error(None, "This form was sent before with other details. Check them and send it again.")
        return _signup_page(request, form, status=409)
    return redirect(progress_path(company))


def _signup_page(request, form: SignupForm, status: int = 200):
    context = {"form": form, "trial_days": settings.STRIPE_TRIAL_DAYS, "domain": settings.PLATFORM_DOMAIN}
    return render(request, "onboarding/signup.html", context, status=status)


@require_safe
def slug_check(request):
    """As you type: `?slug=acme` says whether sign-up would take it; `?name=Acme Inc` suggests a free
    one. {"slug", "available", "detail"}."""
    slug = request.GET.get("slug", "").strip()
    if not slug:
        slug = slug_suggestion(request.GET.get("name", ""))
    refusal = slug_refusal(slug) if slug else "Choose an address."
    detail = refusal or f"{company_domain(slug)} is available."
    return JsonResponse({"slug": slug, "available": refusal is None, "detail": detail})


# --- Progress ----------------------------------------------------------------------------------


def progress_path(company: Company) -> str:
    token = signing.dumps(company.pk, salt=_PROGRESS_SALT)
    return reverse("signup-progress", kwargs={"token": token}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)


def _company_of(token: str) -> Company:
    try:
        company_id = signing.loads(token, salt=_PROGRESS_SALT, max_age=PROGRESS_LINK_LIFETIME)
    except signing.BadSignature:  # tampered, or expired (SignatureExpired is one)
        raise Http404() from None
    company = company_get(company_id=company_id) if isinstance(company_id, int) else None
    if company is None:
        raise Http404()
    return company


def _progress(request, company: Company) -> dict:
    done = onboarding_steps_done(company=company)
    failed_step = company.failure_reason.partition(":")[0] if company.status == Company.Status.FAILED else ""
    steps, current_found = [], False
    for key, label in STEPS:
        if company.status == Company.Status.ACTIVE or key in done:
            state = "done"
        elif current_found:
            state = "waiting"
        else:
            current_found = True
            state = "failed" if failed_step else "running"
        steps.append({"key": key, "label": label, "state": state})
    login = company_url_as_reached(request, company.slug, "/login/")
    return {"status": company.status, "steps": steps, "next": login if company.is_ready else None}


@require_safe
def signup_progress(request, token: str):
    company = _company_of(token)
    context = {"company": company, "token": token, "progress": _progress(request, company)}
    context["address"] = company_url_as_reached(request, company.slug, "/")
    return render(request, "onboarding/progress.html", context)


@require_safe
def signup_progress_status(request, token: str):
    return JsonResponse(_progress(request, _company_of(token)))


@require_POST
def signup_progress_retry(request, token: str):
    """A failed onboarding's "Try again": the chain starts over (its finished steps change nothing)."""
    company = _company_of(token)
    with transaction.atomic():
        onboarding_restart(company_ids=[company.pk])
    return redirect(progress_path(company))
