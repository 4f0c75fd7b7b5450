"""A new person accepts an invitation in a real browser: sees the company and role, chooses a
password, lands on the dashboard logged in."""

from pathlib import Path

import pytest

from companies.members import invitation_accept_path, invitation_create
from companies.models import Membership, User
from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import host_of

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_new_person_accepts_an_invitation_in_the_browser(live_server, page):
    company = CompanyFactory(name="Acme Widgets")
    give_subscription(company, status="active", lookup_key="basic_monthly")
    admin = MembershipFactory(company=company, role="admin").user
    invitation = invitation_create(company_id=company.pk, email="newcomer@example.com", role="admin", invited_by=admin)
    origin = f"http://{host_of(company)}:{live_server.url.rsplit(':', 1)[1]}"

    page.goto(origin + invitation_accept_path(invitation))
    assert page.text_content("#company-name") == "Acme Widgets"
    assert page.text_content("#invitation-role") == "admin"
    assert page.text_content("#invitation-email") == "newcomer@example.com"

    page.fill("#id_new_password1", "a-long-enough-secret")
    page.fill("#id_new_password2", "not-the-same-secret")
    page.click("#accept")
    page.wait_for_selector("text=The two password fields didn’t match.")
    assert not User.objects.filter(email="newcomer@example.com").exists()

    page.fill("#id_new_password1", "a-long-enough-secret")
    page.fill("#id_new_password2", "a-long-enough-secret")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "invitation-accept.png"), full_page=True)
    page.click("#accept")
    page.wait_for_url(origin + "/")
    assert page.text_content("#company-name") == "Acme Widgets"
    assert page.is_visible("#manage-billing")  # joined as an admin
    page.screenshot(path=str(SCREENSHOTS / "invitation-accepted-dashboard.png"), full_page=True)

    user = User.objects.get(email="newcomer@example.com")
    assert user.check_password("a-long-enough-secret")
    assert Membership.objects.get(company=company, user=user).role == "admin"

    # The link was single use.
    page.goto(origin + invitation_accept_path(invitation))
    assert page.get_attribute("#invitation-unusable", "data-code") == "invitation_used"
