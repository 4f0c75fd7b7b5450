"""Every page of the web app in a state worth seeing, for the phone-size walk (test_csp.py) and the
screenshots (test_screenshots.py, `make screenshots`): a company on a trial that ends soon with a
team, pending and expired invitations and a token; a company being set up; a visitor's pages.

Each scene is (name, how to reach it): a URL, or a function that drives the page there. Names are
the screenshot file names under docs/images/."""

from __future__ import annotations

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


def build_world(port: str) -> World:
    """The companies, people and states the scenes show (the test's transaction holds them)."""
    now = timezone.now()
    company = CompanyFactory(name="Acme Robotics", slug=f"acme-robotics-{now:%H%M%S%f}")
    give_subscription(
        company,
        status="trialing",
        lookup_key="pro_monthly",
        trial_end=now + timedelta(days=2, hours=3),
        current_period_end=now + timedelta(days=2, hours=3),
    )
    admin = MembershipFactory(company=company, role="admin", user=UserFactory(email="ada@acme-robotics.example"))
    member = MembershipFactory(company=company, role="member", user=UserFactory(email="grace@acme-robotics.example"))
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
        # No Stripe here: the preview page shows the refusal where the amounts would be.
        Scene(
            "plan-change-refused",
            site + "/billing/plan-change/?plan=basic&interval=monthly",
            "#plan-change-error",
            user=world.admin,
        ),
        Scene("members", site + "/members/", "#members", user=world.admin),
        Scene("members-last-admin", site + "/members/", "#members", user=world.admin, act=_demote_self(admin.pk)),
        Scene("tokens", site + "/tokens/", "#tokens", user=world.admin, act=_create_token),
        Scene("invitation-accept", site + invitation_accept_path(pending), "#accept-form"),
        Scene("not-found-company", site + "/no-such-page/", "#not-found", user=world.admin),
        Scene("password-reset-sent", platform + "/password-reset/", "#password-reset-form", act=_ask_reset),
        Scene("company-preparing", f"http://{host_of(preparing)}:{port}/", "#company-unavailable"),
        # Last: it pauses the member's sign-in.
        Scene("locked-out", site + "/login/", "#login-form", act=_fail_to_log_in(member.user.email)),
    ]
    return world


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
