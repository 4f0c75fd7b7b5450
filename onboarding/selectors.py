"""Reads of onboarding: which companies an operator's restart applies to, and a member's company."""

from __future__ import annotations

from django.db.models import QuerySet

from companies.models import Company, OnboardingStep


def companies_to_restart(*, company_ids: list[int] | None = None, slugs: list[str] | None = None) -> QuerySet[Company]:
    """The one selection rule of restarting onboarding: companies that are not active (failed, or
    stuck provisioning), narrowed to those an operator named."""
    companies = Company.objects.exclude(status=Company.Status.ACTIVE).exclude(schema_name="public").order_by("pk")
    if company_ids is not None:
        companies = companies.filter(pk__in=company_ids)
    if slugs is not None:
        companies = companies.filter(slug__in=slugs)
    return companies


def companies_failed() -> QuerySet[Company]:
    return companies_to_restart().filter(status=Company.Status.FAILED)


def company_of_member(*, company_id: int, user) -> Company | None:
    """The company, with its subscription, if `user` is one of its members; to anyone else it does
    not exist."""
    return Company.objects.select_related("subscription").filter(pk=company_id, memberships__user=user).first()


def onboarding_steps_done(*, company: Company) -> set[str]:
    """The onboarding steps (`schema`, `customer`, `trial`) the company has finished."""
    return set(OnboardingStep.objects.filter(company=company).values_list("step", flat=True))
