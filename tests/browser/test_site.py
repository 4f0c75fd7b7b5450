"""The site's frame in a real browser: with DEBUG off both hosts answer an unknown address with the
site's own 404 page (never Django's list of URL patterns), and the pages work from the keyboard."""

from __future__ import annotations

import pytest

from tests.factories import CompanyFactory
from tests.helpers import host_of
from tests.plugins.browser import watch

pytestmark = pytest.mark.django_db(transaction=True)


def test_both_hosts_show_the_friendly_404_with_debug_off(live_server, page, settings):
    settings.DEBUG = False  # as `make run` serves (saas_platform.settings.local)
    company = CompanyFactory(name="Lost & Found")
    port = live_server.url.rsplit(":", 1)[1]
    problems = watch(page)
    platform = f"http://localhost:{port}"
    for origin in (platform, f"http://{host_of(company)}:{port}", f"http://nobody.localhost:{port}"):
        response = page.goto(f"{origin}/no/such/page/")
        assert response.status == 404
        assert page.is_visible("#not-found") and page.is_visible("nav[aria-label=Main]")
        text = page.content()
        assert "URLconf" not in text and "api/companies/" not in text and "Page not found (404)" not in text
    page.click("#brand")  # from a host nobody has, back to the platform
    page.wait_for_url(platform + "/")
    assert not problems, problems


def test_the_pricing_page_works_from_the_keyboard(live_server, page):
    port = live_server.url.rsplit(":", 1)[1]
    page.goto(f"http://localhost:{port}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.focus("#interval-month")
    page.keyboard.press("ArrowRight")  # the interval is a radio group
    assert page.is_checked("#interval-year") and page.is_visible("#price-basic_yearly")
    assert not page.is_visible("#price-basic_monthly")
    page.focus("#start-basic_yearly")
    page.keyboard.press("Enter")
    page.wait_for_url(f"http://localhost:{port}/signup/?price=basic_yearly")
