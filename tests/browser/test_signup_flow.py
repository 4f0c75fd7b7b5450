"""A visitor signs up in a real browser, as a person would: the pricing page, a plan's "Start your
trial", the sign-up form suggesting and checking an address as they type, the progress page
following the real worker's onboarding, the company's login page, the dashboard on the chosen plan."""

from __future__ import annotations

import re

import pytest

from companies.models import Company
from tests.factories import CompanyFactory
from tests.plugins.browser import log_in, watch

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-secret"


def test_a_visitor_signs_up_from_the_pricing_page_and_lands_on_the_dashboard_of_the_chosen_plan(
    live_server, catalog, celery_worker_process, page
):
    problems = watch(page)
    CompanyFactory(slug="zephyr", provisioned=False)  # an address someone has already
    port = live_server.url.rsplit(":", 1)[1]
    platform, company_site = f"http://localhost:{port}", f"http://zephyr-labs.localhost:{port}"

    page.goto(platform + "/")
    assert page.is_visible("#price-pro_monthly") and not page.is_visible("#price-pro_yearly")
    page.click("label[for=interval-year]")  # the toggle, no script needed
    assert page.is_visible("#price-pro_yearly") and not page.is_visible("#price-pro_monthly")
    page.click("#start-pro_yearly")
    page.wait_for_url(platform + "/signup/?price=pro_yearly")
    assert page.input_value("#id_price_lookup_key") == "pro_yearly"

    page.fill("#id_name", "Zephyr")
    page.wait_for_selector("#slug-status.ok")  # the suggestion: "zephyr" is taken, so zephyr-2
    assert page.input_value("#id_slug") == "zephyr-2"
    page.fill("#id_slug", "zephyr")  # typing an address someone has
    page.wait_for_selector("#slug-status.taken:text('This name is taken.')")
    page.fill("#id_slug", "zephyr-labs")
    page.wait_for_selector("#slug-status.ok:text('zephyr-labs.localhost is available.')")
    assert page.text_content("#slug-preview") == "zephyr-labs"
    page.fill("#id_admin_email", "founder@zephyr.example")
    page.fill("#id_admin_password", "short")
    page.click("#signup")
    page.wait_for_selector("#id_admin_password_error")  # the API's validators, next to the field
    assert page.get_attribute("#id_admin_password", "aria-invalid") == "true"
    page.fill("#id_admin_password", PASSWORD)
    page.click("#signup")

    page.wait_for_url(re.compile(r"/signup/progress/[^/]+/$"))
    assert page.text_content("#company-address") == company_site + "/"
    page.wait_for_url(company_site + "/login/", timeout=60_000)  # forwarded once onboarding finished
    company = Company.objects.get(slug="zephyr-labs")
    assert company.status == Company.Status.ACTIVE
    assert [step for step in company.onboarding_steps.order_by("pk").values_list("step", flat=True)] == [
        "schema",
        "customer",
        "trial",
    ]

    log_in(page, company_site, "founder@zephyr.example", PASSWORD)
    assert page.text_content("#plan") == "Pro" and page.text_content("#subscription-status") == "trialing"
    page.click("nav >> text=Billing")
    page.wait_for_url(company_site + "/billing/")
    assert page.text_content("#plan-interval") == "yearly"
    assert not problems, problems
