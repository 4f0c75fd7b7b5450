"""Seats: a per-seat plan bills one seat per member, synced to Stripe by one debounced task per
company, writing only when Stripe differs, spaced to stay under Stripe's hourly quantity limit, and
repaired by the drift sweep and reconciliation whichever side drifted."""

from __future__ import annotations

import uuid

import pytest

from companies.members import MEMBERS_CHANGED, invitation_accept_as_new_person, invitation_create, member_remove
from companies.models import Membership
from subscriptions.models import CompanySubscription
from subscriptions.seats import seats_drift_request, seats_sync_due, subscription_seats_sync
from subscriptions.selectors import subscriptions_with_seat_drift
from subscriptions.services import subscription_sync_company
from subscriptions.stripe_objects import subscription_read
from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import company_client
from tests.plugins.services import wait_until

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-secret"


@pytest.fixture
def team_company(onboarded_company, settings):
    """A company trialing the per-seat `team` plan, its admin its one member (and seat)."""
    settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY = "team_monthly"
    settings.SEAT_SYNC_DEBOUNCE_SECONDS = 0.3
    settings.SEAT_SYNC_MIN_INTERVAL_SECONDS = 0  # the spacing has its own test
    company, admin = onboarded_company()
    assert (company.subscription.plan, company.subscription.quantity) == ("team", 1)
    return company, admin


def join(company, *, count: int) -> list[Membership]:
    """`count` people accept invitations (the services the accept page calls)."""
    joined = []
    for _ in range(count):
        email = f"seat-{uuid.uuid4().hex[:12]}@example.com"
        invitation = invitation_create(company_id=company.pk, email=email, role="member", invited_by=None)
        user = invitation_accept_as_new_person(invitation=invitation, password=PASSWORD)
        joined.append(Membership.objects.get(company=company, user=user))
    return joined


def in_stripe(emulator, company):
    subscription_id = CompanySubscription.objects.get(company=company).stripe_subscription_id
    return subscription_read(emulator.client().v1.subscriptions.retrieve(subscription_id))


def quantity_updates(emulator, company) -> int:
    """How many times Stripe changed the quantity of the company's subscription (from its events)."""
    subscription_id = CompanySubscription.objects.get(company=company).stripe_subscription_id
    events = emulator.client().v1.events.list(params={"type": "customer.subscription.updated", "limit": 100})

    def quantities(items) -> dict:
        return {item["id"]: item.get("quantity") for item in (items or {}).get("data", [])}

    changed = 0
    for event in events.auto_paging_iter():
        data = event.to_dict()["data"]
        before = (data.get("previous_attributes") or {}).get("items")
        if data["object"]["id"] == subscription_id and before is not None:
            changed += quantities(before) != quantities(data["object"]["items"])
    return changed


def test_twenty_membership_changes_in_a_burst_publish_one_seat_sync(
    team_company, catalog, published, django_capture_on_commit_callbacks
):
    company, _ = team_company
    with django_capture_on_commit_callbacks(execute=True):
        joined = join(company, count=12)
        for membership in joined[:8]:
            member_remove(company_id=company.pk, membership_id=membership.pk)
    published.clear()  # the invitation e-mails

    wait_until(lambda: seats_sync_due() or published, timeout=10, interval=0.05, message="the burst's window")

    assert published == [("subscriptions.sync_seats", (company.pk,))]
    assert subscription_seats_sync(company_id=company.pk) == "updated"
    assert in_stripe(catalog, company).quantity == 5  # the admin and 4 who stayed
    assert quantity_updates(catalog, company) == 1
    assert seats_sync_due() == 0


def test_pending_invitations_are_not_billed_and_a_second_sync_writes_nothing(team_company, catalog):
    company, _ = team_company
    join(company, count=2)
    for n in range(2):
        invitation_create(company_id=company.pk, email=f"pending-{n}@example.com", role="member", invited_by=None)

    assert subscription_seats_sync(company_id=company.pk) == "updated"
    assert subscription_seats_sync(company_id=company.pk) == "unchanged"

    assert in_stripe(catalog, company).quantity == 3
    assert quantity_updates(catalog, company) == 1
    record = CompanySubscription.objects.get(company=company)
    assert (record.quantity, record.unit_amount, record.seats_version) == (3, 1200, 1)


def test_the_api_shows_the_seats_billed_and_the_price_per_seat(team_company, catalog):
    company, admin = team_company
    join(company, count=3)
    subscription_seats_sync(company_id=company.pk)

    body = company_client(company, admin).get("/api/billing/subscription/").json()

    assert (body["plan"], body["pricing_model"], body["quantity"], body["unit_amount"], body["currency"]) == (
        "team",
        "per_seat",
        4,
        1200,
        "usd",
    )


def test_writes_are_spaced_to_stay_under_stripes_hourly_quantity_limit(team_company, catalog, settings):
    company, _ = team_company
    settings.SEAT_SYNC_MIN_INTERVAL_SECONDS = 1.0
    join(company, count=1)
    assert subscription_seats_sync(company_id=company.pk) == "updated"
    written_at = CompanySubscription.objects.get(company=company).seats_synced_at.timestamp()

    join(company, count=1)
    assert subscription_seats_sync(company_id=company.pk) == "deferred"
    assert MEMBERS_CHANGED.due_at(company.pk) >= written_at + 1.0
    assert in_stripe(catalog, company).quantity == 2

    assert wait_until(MEMBERS_CHANGED.take_due, timeout=5, interval=0.05) == [company.pk]
    assert subscription_seats_sync(company_id=company.pk) == "updated"
    assert in_stripe(catalog, company).quantity == 3


def test_stripes_quantity_limit_defers_the_sync_instead_of_failing_it(team_company, catalog):
    company, _ = team_company
    catalog.configure(rate_limit=1000, quantity_update_limit=1)  # Stripe's 200 an hour, scaled down
    join(company, count=1)
    assert subscription_seats_sync(company_id=company.pk) == "updated"
    join(company, count=1)

    assert subscription_seats_sync(company_id=company.pk) == "deferred"  # Stripe answered 429

    assert in_stripe(catalog, company).quantity == 2
    assert MEMBERS_CHANGED.due_at(company.pk) is not None


def test_switching_between_flat_and_per_seat_plans_sets_the_quantity(
    team_company, catalog, published, django_capture_on_commit_callbacks
):
    company, _ = team_company
    join(company, count=2)
    subscription_seats_sync(company_id=company.pk)
    stripe = catalog.client()

    def switch_to(lookup_key: str) -> None:
        """As the portal does: the same item, another price, the quantity left as it was."""
        current = in_stripe(catalog, company)
        price = stripe.v1.prices.list(params={"lookup_keys": [lookup_key]}).data[0]
        stripe.v1.subscriptions.update(current.id, params={"items": [{"id": current.base_item.id, "price": price.id}]})
        with django_capture_on_commit_callbacks(execute=True):
            subscription_sync_company(company_id=company.pk)  # what the webhook's handler runs
        assert MEMBERS_CHANGED.due_at(company.pk) is not None  # the switch asked for a seat sync
        assert subscription_seats_sync(company_id=company.pk) == "updated"

    switch_to("basic_monthly")
    assert (in_stripe(catalog, company).plan.key, in_stripe(catalog, company).quantity) == ("basic", 1)
    switch_to("team_yearly")
    assert (in_stripe(catalog, company).plan.key, in_stripe(catalog, company).quantity) == ("team", 3)


def test_reconciliation_repairs_a_quantity_changed_behind_our_back(
    team_company, catalog, published, django_capture_on_commit_callbacks
):
    company, _ = team_company
    join(company, count=2)
    subscription_seats_sync(company_id=company.pk)
    current = in_stripe(catalog, company)
    catalog.client().v1.subscriptions.update(
        current.id, params={"items": [{"id": current.base_item.id, "quantity": 9}]}
    )  # no webhook reaches us

    with django_capture_on_commit_callbacks(execute=True):
        subscription_sync_company(company_id=company.pk, entitlements=True)  # the reconciliation task's call

    assert CompanySubscription.objects.get(company=company).quantity == 9  # Stripe's, as read
    assert wait_until(MEMBERS_CHANGED.take_due, timeout=5, interval=0.05) == [company.pk]
    assert subscription_seats_sync(company_id=company.pk) == "updated"
    assert in_stripe(catalog, company).quantity == 3


def test_the_drift_sweep_finds_members_nobody_asked_a_sync_for(
    team_company, catalog, published, django_capture_on_commit_callbacks
):
    company, _ = team_company
    MembershipFactory.create_batch(2, company=company)  # an operator's edit: no seat sync asked

    with django_capture_on_commit_callbacks(execute=True):
        assert seats_drift_request() == 1

    assert wait_until(MEMBERS_CHANGED.take_due, timeout=5, interval=0.05) == [company.pk]
    assert subscription_seats_sync(company_id=company.pk) == "updated"
    assert in_stripe(catalog, company).quantity == 3
    assert seats_drift_request() == 0


def test_drift_is_a_live_catalog_subscription_billing_other_seats_than_its_plan_asks():
    def company_with(members: int, **subscription) -> int:
        company = CompanyFactory(provisioned=False)
        MembershipFactory.create_batch(members, company=company)
        give_subscription(company, **subscription)
        return company.pk

    drifting = {
        company_with(3, lookup_key="team_monthly", quantity=2),
        company_with(0, lookup_key="team_yearly", quantity=2),  # at least one seat is billed
        company_with(2, lookup_key="basic_monthly", quantity=2),  # flat plans bill one
        company_with(1, lookup_key="pro_monthly", quantity=None, status="past_due"),  # never read
    }
    in_step = {
        company_with(3, lookup_key="team_monthly", quantity=3),
        company_with(0, lookup_key="team_monthly", quantity=1),
        company_with(4, lookup_key="basic_monthly", quantity=1),
        company_with(3, lookup_key="team_monthly", quantity=1, status="canceled"),  # not billed any more
        company_with(3, lookup_key="legacy_price", quantity=1),  # not a catalog plan: left alone
    }

    found = set(subscriptions_with_seat_drift().values_list("company_id", flat=True))

    assert found & (drifting | in_step) == drifting


def test_checkout_for_a_per_seat_plan_bills_every_member(team_company, catalog):
    company, admin = team_company
    join(company, count=2)
    stripe = catalog.client()
    stripe.v1.subscriptions.cancel(in_stripe(catalog, company).id)
    subscription_sync_company(company_id=company.pk)

    response = company_client(company, admin).post(
        "/api/billing/checkout-session/", {"price_lookup_key": "team_monthly"}, content_type="application/json"
    )

    assert response.status_code == 201
    session_id = response.json()["url"].rstrip("/").rsplit("/", 1)[1]
    assert [line.quantity for line in stripe.v1.checkout.sessions.line_items.list(session_id).data] == [3]


def test_a_company_without_a_live_subscription_is_not_synced(team_company, catalog):
    company, _ = team_company
    catalog.client().v1.subscriptions.cancel(in_stripe(catalog, company).id)
    subscription_sync_company(company_id=company.pk)
    join(company, count=1)

    assert subscription_seats_sync(company_id=company.pk) == "no_subscription"
    assert quantity_updates(catalog, company) == 0


def test_a_subscription_stripe_no_longer_has_is_resynced_not_synced_forever(
    team_company, catalog, published, django_capture_on_commit_callbacks
):
    company, _ = team_company
    real = CompanySubscription.objects.get(company=company).stripe_subscription_id
    CompanySubscription.objects.filter(company=company).update(stripe_subscription_id="sub_gone", quantity=7)
    assert seats_drift_request() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert subscription_seats_sync(company_id=company.pk) == "resynced"

    record = CompanySubscription.objects.get(company=company)
    assert (record.stripe_subscription_id, record.quantity) == (real, 1)
    assert seats_drift_request() == 0 and quantity_updates(catalog, company) == 0
