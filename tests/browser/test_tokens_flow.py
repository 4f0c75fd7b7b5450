"""A member manages their API tokens in a real browser: creates one (the key shown once), uses it
against the company API, sees it used, revokes it, and the API refuses the key from then on."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import PASSWORD, CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import host_of
from tests.plugins.browser import log_in, watch

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_creates_a_token_uses_it_on_the_api_and_revokes_it(live_server, page):
    company = CompanyFactory(name="Token Works")
    give_subscription(company, status="active", lookup_key="basic_monthly")
    member = MembershipFactory(company=company, role="member").user
    port = live_server.url.rsplit(":", 1)[1]
    site = f"http://{host_of(company)}:{port}"
    problems = watch(page)

    def api_status(key: str) -> int:
        headers = {"Host": f"{host_of(company)}:{port}", "Authorization": f"Bearer {key}"}
        with httpx.Client(timeout=10, headers={"Connection": "close"}) as client:
            return client.get(f"{live_server.url}/api/posts/", headers=headers).status_code

    log_in(page, site, member.email, PASSWORD)
    page.click("nav >> text=API tokens")
    page.wait_for_url(site + "/tokens/")
    page.fill("#id_name", "CI")
    page.select_option("#id_expires_in_days", "30")
    page.click("#create-token")
    page.wait_for_selector("#new-key")
    key = page.text_content("#new-key").strip()
    prefix = page.get_attribute("#new-token", "data-prefix")
    assert key.startswith(prefix) and page.is_visible("button[data-copy]")

    assert api_status(key) == 200
    page.goto(site + "/tokens/")
    row = page.locator(f"#tokens [data-prefix='{prefix}']")
    assert "last used" in row.text_content() and key not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button").click()
    page.wait_for_selector(".message-success")
    assert page.locator(f"#tokens [data-prefix='{prefix}']").count() == 0
    assert api_status(key) == 401
    assert not problems, problems
