"""A company admin in a real browser: log in, Manage billing, change plan in the portal, come back."""

import re

import pytest

from tests.helpers import host_of
from tests.plugins.services import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _dashboard_url(live_server, company) -> str:
    port = live_server.url.rsplit(":", 1)[1]
    return f"http://{host_of(company)}:{port}/"


def test_admin_adds_a_card_and_switches_to_pro_in_the_portal(
    live_server, webhook_delivery, onboarded_company, celery_worker_process, page
):
    company, admin = onboarded_company()
    dashboard = _dashboard_url(live_server, company)

    page.goto(dashboard + "login/")
    page.fill("#id_username", admin.email)
    page.fill("#id_password", "correct-horse-battery")
    page.click("#login")
    page.wait_for_url(dashboard)
    assert page.text_content("#subscription-status") == "trialing"
    assert page.text_content("#plan") == "Basic"

    page.click("#manage-billing")
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/p/session/"))
    page.select_option("#payment_method", "pm_card_visa")
    page.click("#add-card")
    page.wait_for_selector("#default-card[data-last4='4242']")
    page.click("#switch-pro_monthly")
    page.wait_for_selector("#lookup-key:text('pro_monthly')")

    page.click("#return")
    page.wait_for_url(dashboard)

    def shows_pro():
        page.reload()
        return page.text_content("#plan") == "Pro"

    wait_until(shows_pro, timeout=30, interval=0.5, message="the dashboard to show the Pro plan")
    company.refresh_from_db()
    assert company.subscription.price_lookup_key == "pro_monthly"
    assert "exports" in company.features


def test_manage_billing_redirects_admins_to_the_portal(onboarded_company):
    from tests.helpers import company_client

    company, admin = onboarded_company()
    response = company_client(company, admin).post("/billing/portal/")
    assert response.status_code == 303
    assert "/p/session/" in response["Location"]

    api = company_client(company, admin).post("/api/billing/portal-session/")
    assert api.status_code == 201
    assert "/p/session/" in api.json()["url"]
