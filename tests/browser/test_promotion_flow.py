"""Promotion codes in a real browser: a visitor signs up from the pricing page with a code (a wrong one
first, refused next to the field), follows the progress page to the login page and finds the discount
on the Billing page; an admin applies a code with the Billing page's form."""

from __future__ import annotations

import re

import pytest

from companies.models import Company
from tests.helpers import host_of
from tests.plugins.browser import log_in, watch

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-secret"


def test_a_visitor_signs_up_with_a_promotion_code_and_billing_shows_the_discount(
    live_server, catalog, celery_worker_process, page
):
    problems = watch(page)
    port = live_server.url.rsplit(":", 1)[1]
    platform, company_site = f"http://localhost:{port}", f"http://gusto.localhost:{port}"

    page.goto(platform + "/")
    page.click("#start-basic_monthly")
    page.wait_for_url(platform + "/signup/?price=basic_monthly")
    page.fill("#id_name", "Gusto")
    page.fill("#id_slug", "gusto")
    page.fill("#id_admin_email", "founder@gusto.example")
    page.fill("#id_admin_password", PASSWORD)
    page.fill("#id_promotion_code", "NOT-A-CODE")
    page.click("#signup")
    page.wait_for_selector("#id_promotion_code_error li:text('This promotion code does not exist.')")
    assert not Company.objects.filter(slug="gusto").exists()
    page.fill("#id_admin_password", PASSWORD)  # a refused form never sends the password back
    page.fill("#id_promotion_code", "welcome20")
    page.click("#signup")

    page.wait_for_url(re.compile(r"/signup/progress/[^/]+/$"))
    page.wait_for_url(company_site + "/login/", timeout=60_000)
    log_in(page, company_site, "founder@gusto.example", PASSWORD)
    page.click("nav >> text=Billing")
    page.wait_for_url(company_site + "/billing/")
    assert page.text_content("#discount-code") == "WELCOME20"
    assert page.text_content("#discount-off") == "20 % off"
    assert page.text_content("#discount-name") == "Welcome: 20 % off for 3 months"
    assert page.is_visible("#discount-end")
    assert not problems, problems


def test_an_admin_applies_a_code_with_the_billing_pages_form(live_server, onboarded_company, page):
    problems = watch(page)
    company, admin = onboarded_company()
    port = live_server.url.rsplit(":", 1)[1]
    site = f"http://{host_of(company)}:{port}"
    log_in(page, site, admin.email, "correct-horse-battery")
    page.goto(site + "/billing/")
    assert page.text_content("#discount") == "No discount."

    page.fill("#id_code", "SPRING")
    page.click("#apply-promotion-code")
    page.wait_for_selector("#id_code_error li:text('This promotion code does not exist.')")
    assert page.get_attribute("#id_code", "aria-invalid") == "true"
    page.fill("#id_code", "welcome20")
    page.click("#apply-promotion-code")
    page.wait_for_url(site + "/billing/")
    page.wait_for_selector("#discount-code:text('WELCOME20')")
    assert page.text_content("#discount-off") == "20 % off"
    assert "Promotion code WELCOME20 applied." in page.text_content("body")
    assert not problems, problems
