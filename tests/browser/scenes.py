"""Every page of the web app in a state worth seeing, for the phone-size walk (test_csp.py) and the
screenshots (test_screenshots.py, `make screenshots`): a company on a trial that ends soon with a
team, pending and expired invitations and a token; a company being set up; a visitor's pages.

Each scene is (name, how to reach it): a URL, or a function that drives the page there. Names are
the screenshot file names under docs/images/."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from companies.members import invitation_accept_path, invitation_create
from companies.models import Company, Invitation, OnboardingStep
from companies.tokens import api_token_create
from onboarding.views import progress_path
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    DomainFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
    give_subscription,
)
from tests.helpers import host_of


@dataclass
class Scene:
    name: str
    url: str
    ready: str  # a selector present once the page is ready
    user: str = ""  # log in as this e-mail first (on the company host)
    act: Callable | None = None  # then do this on the page


@dataclass
class World:
    platform: str
    site: str
    admin: str
    member: str
    scenes: list[Scene] = field(default_factory=list)


def build_world(port: str, stripe=None) -> World:
    """The companies, people and states the scenes show (the test's transaction holds them). Without
    `stripe` (the emulator, its catalog synced) Acme's subscription is only stored: a trial ending in
    two days. With it, Acme is billed in Stripe (a card, WELCOME20, two paid renewals), and the scenes
    that need Stripe (a plan change's preview, cancelling) are added."""
    now = timezone.now()
    company = CompanyFactory(name="Acme Robotics", slug=f"acme-robotics-{now:%H%M%S%f}")
    admin = MembershipFactory(company=company, role="admin", user=UserFactory(email="ada@acme-robotics.example"))
    member = MembershipFactory(company=company, role="member", user=UserFactory(email="grace@acme-robotics.example"))
    if stripe is None:
        give_subscription(
            company,
            status="trialing",
            lookup_key="pro_monthly",
            trial_end=now + timedelta(days=2, hours=3),
            current_period_end=now + timedelta(days=2, hours=3),
        )
    else:
        _billed_in_stripe(company, admin.user.email, stripe)
    pending = invitation_create(
        company_id=company.pk, email="linus@acme-robotics.example", role="member", invited_by=admin.user
    )
    expired = invitation_create(
        company_id=company.pk, email="old.friend@example.com", role="admin", invited_by=admin.user
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(days=2))
    api_token_create(user=admin.user, name="CI pipeline", expires_in_days=90)
    with schema_context(company.schema_name):
        for title in ("Quarterly robot census", "Release notes 4.2", "Welcome to the team"):
            PostFactory(title=title, body="…", author=admin.user)
    connection.set_schema_to_public()

    preparing = CompanyFactory(
        name="Nimbus Analytics", slug="nimbus-analytics", status=Company.Status.PROVISIONING, provisioned=False
    )
    DomainFactory(tenant=preparing)
    OnboardingStep.objects.create(company=preparing, step="schema", started_at=now, finished_at=now)
    failed = CompanyFactory(
        name="Brokenwood",
        slug="brokenwood",
        status=Company.Status.FAILED,
        failure_reason="customer: timeout",
        provisioned=False,
    )

    platform = f"http://{settings.PLATFORM_DOMAIN}:{port}"
    site = f"http://{host_of(company)}:{port}"
    world = World(platform, site, admin.user.email, member.user.email)
    world.scenes = [
        Scene("pricing", platform + "/", "#pricing"),
        Scene("pricing-yearly", platform + "/#pricing", "#pricing", act=_yearly),
        Scene("signup", platform + "/signup/?price=pro_monthly", "#signup-form", act=_type_company_name),
        Scene("signup-errors", platform + "/signup/", "#signup-form", act=_send_bad_signup),
        Scene("signup-progress", platform + progress_path(preparing), "#steps"),
        Scene("signup-failed", platform + progress_path(failed), "#failed"),
        Scene("platform-login", platform + "/login/", "#company-finder"),
        Scene("password-reset", platform + "/password-reset/", "#password-reset-form"),
        Scene("not-found-platform", platform + "/no-such-page/", "#not-found"),
        Scene("company-login", site + "/login/", "#login-form"),
        Scene("dashboard", site + "/", "#billing", user=world.admin),
        Scene("billing", site + "/billing/", "#plan-summary", user=world.admin),
        Scene("billing-member", site + "/billing/", "#plan-summary", user=world.member),
        _previewed(site, world) if stripe is not None else _refused_preview(site, world),
        Scene("members", site + "/members/", "#members", user=world.admin),
        Scene("members-last-admin", site + "/members/", "#members", user=world.admin, act=_demote_self(admin.pk)),
        Scene("tokens", site + "/tokens/", "#tokens", user=world.admin, act=_create_token),
        Scene("invitation-accept", site + invitation_accept_path(pending), "#accept-form"),
        Scene("not-found-company", site + "/no-such-page/", "#not-found", user=world.admin),
        Scene("password-reset-sent", platform + "/password-reset/", "#password-reset-form", act=_ask_reset),
        Scene("company-preparing", f"http://{host_of(preparing)}:{port}/", "#company-unavailable"),
        *([_cancelling(site, world)] if stripe is not None else []),
        # Last: it pauses the member's sign-in.
        Scene("locked-out", site + "/login/", "#login-form", act=_fail_to_log_in(member.user.email)),
    ]
    return world


def _billed_in_stripe(company, admin_email: str, stripe) -> None:
    """Acme as Stripe bills it: a customer on a test clock with a card, a Pro trial started with
    WELCOME20 by the onboarding step, then two renewals paid; stored as reconciliation stores it."""
    from onboarding.services import company_start_trial
    from subscriptions.services import subscription_sync_company

    client = stripe.client()
    start = int(time.time())
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": start})
    customer = client.v1.customers.create(params={"email": admin_email, "name": company.name, "test_clock": clock.id})
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    card = client.v1.customers.payment_methods.list(customer.id).data[0]
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": card.id}})
    Company.objects.filter(pk=company.pk).update(
        stripe_customer_id=customer.id, trial_price_lookup_key="pro_monthly", signup_promotion_code="WELCOME20"
    )
    company_start_trial(company_id=company.pk)
    for days in (8, 40):  # the trial's end, then the first monthly renewal
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": start + days * 86400})
    subscription_sync_company(company_id=company.pk, entitlements=True)


def _previewed(site: str, world: World) -> Scene:
    """Pro to Team, previewed by Stripe: a seat per member, what is due now and next."""
    url = site + "/billing/plan-change/?plan=team&interval=monthly"
    return Scene("plan-change-preview", url, "#plan-change-preview", user=world.admin)


def _refused_preview(site: str, world: World) -> Scene:
    """No Stripe here: the preview page shows the refusal where the amounts would be."""
    url = site + "/billing/plan-change/?plan=basic&interval=monthly"
    return Scene("plan-change-refused", url, "#plan-change-error", user=world.admin)


def _cancelling(site: str, world: World) -> Scene:
    return Scene("billing-cancelled", site + "/billing/", "#cancel-form", user=world.admin, act=_cancel_with_a_reason)


def _cancel_with_a_reason(page) -> None:
    page.select_option("#cancel-feedback", "switched_service")
    page.fill("#cancel-comment", "Moving to our parent company's account.")
    page.click("#cancel-subscription")
    page.wait_for_selector("#resume-subscription")


def _yearly(page) -> None:
    page.click("label[for=interval-year]")


def _type_company_name(page) -> None:
    page.fill("#id_name", "Orbit Labs")
    page.wait_for_selector("#slug-status.ok")
    page.fill("#id_admin_email", "founder@orbit-labs.example")


def _send_bad_signup(page) -> None:
    page.fill("#id_name", "Acme")
    page.fill("#id_slug", "admin")
    page.fill("#id_admin_email", "not-an-address")
    page.fill("#id_admin_password", "1234")
    page.click("#signup")
    page.wait_for_selector("#id_slug_error")


def _demote_self(membership_id: int) -> Callable:
    def act(page) -> None:
        page.select_option(f"#role-{membership_id}", "member")
        page.click(f"#save-role-{membership_id}")
        page.wait_for_selector(f"#member-{membership_id}-error")

    return act


def _ask_reset(page) -> None:
    page.fill("#id_email", "ada@acme-robotics.example")
    page.click("#send-reset-link")
    page.wait_for_selector("#password-reset-sent")


def _fail_to_log_in(email: str) -> Callable:
    def act(page) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            if page.query_selector("#locked-out"):
                break
            page.fill("#id_username", email)
            page.fill("#id_password", "not-the-password")
            page.click("#login")
            page.wait_for_selector("#login-form, #locked-out")
        page.wait_for_selector("#locked-out")

    return act


def _create_token(page) -> None:
    page.fill("#id_name", "Laptop")
    page.click("#create-token")
    page.wait_for_selector("#new-key")


def visit(page, scene: Scene, world: World, signed_in: dict, settle: str = "load") -> None:
    """Open the scene in `page` (logging in as its user first, when not yet), ready to look at
    (`settle="networkidle"` for a screenshot)."""
    if scene.user and signed_in.get(page) != scene.user:
        page.context.clear_cookies()
        page.goto(world.site + "/login/")
        page.fill("#id_username", scene.user)
        page.fill("#id_password", PASSWORD)
        page.click("#login")
        page.wait_for_url(world.site + "/")
        signed_in[page] = scene.user
    elif not scene.user and signed_in.get(page):
        page.context.clear_cookies()
        signed_in[page] = ""
    page.goto(scene.url)
    page.wait_for_selector(scene.ready)
    if scene.act:
        scene.act(page)
    page.wait_for_load_state(settle)
