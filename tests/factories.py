"""factory-boy factories for every model the tests create: companies, domains, people, memberships,
subscription state, posts, stored webhook events, owed e-mails and the lockout's failure log.

Each builds its rows the way the platform does where that matters: a company's schema is cloned
like onboarding clones it, a subscription's entitlements are computed by the real
`company_refresh_entitlements`, a webhook event is inserted by the intake's own `store`.
"""

from __future__ import annotations

import factory
from axes.models import AccessFailureLog
from django.utils import timezone

from companies.models import Company, Domain, Membership, User
from companies.provisioning import schema_provision
from companies.services import company_domain, schema_name_for
from notifications.models import Notification
from posts.models import Post
from subscriptions.models import CompanySubscription
from subscriptions.services import company_refresh_entitlements
from tests.helpers import stripe_event
from webhooks.intake import store
from webhooks.models import WebhookEvent

PASSWORD = "correct-horse-battery"


class CompanyFactory(factory.django.DjangoModelFactory):
    """An active company with its schema (cloned from the template) and its domain.
    `CompanyFactory(provisioned=False)`: the row alone, as sign-up leaves it before onboarding."""

    class Meta:
        model = Company
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"co{n}-{timezone.now().strftime('%H%M%S%f')}")
    schema_name = factory.LazyAttribute(lambda o: schema_name_for(o.slug))
    status = Company.Status.ACTIVE

    @factory.post_generation
    def provisioned(company, create, extracted, **kwargs):
        if create and extracted is not False:
            schema_provision(company.schema_name)
            DomainFactory(tenant=company)


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    tenant = factory.SubFactory(CompanyFactory, provisioned=False)
    domain = factory.LazyAttribute(lambda o: company_domain(o.tenant.slug))
    is_primary = True


class UserFactory(factory.django.DjangoModelFactory):
    """A person with the password PASSWORD; `UserFactory(operator=True)`: a superuser of the admin."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        operator = factory.Trait(is_staff=True, is_superuser=True)

    email = factory.Sequence(lambda n: f"person{n}-{timezone.now().strftime('%f')}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

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


class CompanySubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscription state as a sync from Stripe stores it, with the company's entitlements
    recomputed by the real `company_refresh_entitlements`."""

    class Meta:
        model = CompanySubscription
        skip_postgeneration_save = True

    company = factory.SubFactory(CompanyFactory)
    status = "active"
    price_lookup_key = "basic_monthly"
    plan = factory.LazyAttribute(lambda o: o.price_lookup_key.split("_")[0])
    stripe_subscription_id = factory.LazyAttribute(lambda o: f"sub_{o.company.slug}")
    quantity = 1
    synced_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def entitlements(record, create, extracted, **kwargs):
        if create:
            company_refresh_entitlements(company=record.company, subscription=record)


def give_subscription(company: Company, *, status: str = "active", lookup_key: str = "basic_monthly", **fields):
    """Store a subscription state for `company` (replacing any) and recompute its entitlements, as a
    sync would; the company object is refreshed."""
    CompanySubscription.objects.filter(company=company).delete()
    record = CompanySubscriptionFactory(company=company, status=status, price_lookup_key=lookup_key, **fields)
    company.refresh_from_db()
    return record


class PostFactory(factory.django.DjangoModelFactory):
    """A post in the schema the connection is on (the caller enters the company's schema)."""

    class Meta:
        model = Post

    title = factory.Sequence(lambda n: f"Post {n}")
    body = "body"
    author = factory.SubFactory(UserFactory)


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """A verified Stripe event stored exactly as the intake stores it (`webhooks.intake.store`), then
    given any other fields (state, attempts, leased_at...)."""

    class Meta:
        model = WebhookEvent

    payload = factory.LazyFunction(lambda: stripe_event("charge.succeeded", {"id": "ch_test", "object": "charge"}))

    @classmethod
    def _create(cls, model_class, payload, **fields):
        event_id = store(payload)
        if fields:
            model_class.objects.filter(pk=event_id).update(**fields)
        return model_class.objects.get(pk=event_id)


class NotificationFactory(factory.django.DjangoModelFactory):
    """An owed e-mail of a registered kind."""

    class Meta:
        model = Notification

    subject = factory.Sequence(lambda n: f"test:{n}")
    kind = "trial_will_end"


class AccessFailureLogFactory(factory.django.DjangoModelFactory):
    """One failed login as django-axes records it."""

    class Meta:
        model = AccessFailureLog

    username = factory.Sequence(lambda n: f"person{n}@example.com")
    ip_address = "198.18.0.1"
    user_agent = "test"
    path_info = "/login/"
