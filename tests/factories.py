"""factory-boy factories for companies, people and subscription state."""

from __future__ import annotations

import factory
from django.utils import timezone

from companies.models import Company, Domain, Membership, User
from companies.provisioning import schema_provision
from companies.services import company_domain, schema_name_for
from subscriptions.models import CompanySubscription
from subscriptions.services import company_refresh_entitlements


class CompanyFactory(factory.django.DjangoModelFactory):
    """An active company with its schema (cloned from the template) and its domain."""

    class Meta:
        model = Company
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"co{n}-{timezone.now().strftime('%H%M%S%f')}")
    schema_name = factory.LazyAttribute(lambda o: schema_name_for(o.slug))
    status = Company.Status.ACTIVE

    @factory.post_generation
    def provisioned(company, create, extracted, **kwargs):
        if create:
            schema_provision(company.schema_name)
            Domain.objects.create(domain=company_domain(company.slug), tenant=company, is_primary=True)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}-{timezone.now().strftime('%f')}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def saved(user, create, extracted, **kwargs):
        if create:
            user.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


def give_subscription(company: Company, *, status: str = "active", lookup_key: str = "basic_monthly", **fields):
    """Store a subscription state and recompute the company's entitlements, as a sync would."""
    record, _ = CompanySubscription.objects.update_or_create(
        company=company,
        defaults={
            "status": status,
            "price_lookup_key": lookup_key,
            "plan": lookup_key.split("_")[0],
            "stripe_subscription_id": f"sub_{company.slug}",
            "synced_at": timezone.now(),
            **fields,
        },
    )
    company_refresh_entitlements(company=company, subscription=record)
    company.refresh_from_db()
    return record
