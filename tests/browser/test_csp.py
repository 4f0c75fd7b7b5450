"""Every page both hosts serve works in a real browser under the Content-Security-Policy: the company
login, lockout and dashboard, password reset, the Django admin, Swagger UI and ReDoc render, and the
browser reports not one CSP violation. Screenshots land in var/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail

from tests.factories import CompanyFactory, MembershipFactory, UserFactory, give_subscription
from tests.helpers import host_of, send_owed_emails

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
RIGHT = "correct-horse-battery"

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}: ${event.sample}`);
});
"""


class Browser:
    """One page, every CSP violation (events and console) and script error it reports, and screenshots."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        self.shots: list[Path] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.page.url}: script error: {error}"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(f"{self.page.url}: console {message.type}: {message.text}")

    def visit(self, url: str, *, ready: str, name: str):
        response = self.page.goto(url)
        self.settle(ready, name)
        return response

    def settle(self, ready: str, name: str) -> None:
        self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("networkidle")
        for violation in self.page.evaluate("window.__cspViolations"):
            self.problems.append(f"{self.page.url}: {violation}")
        path = SCREENSHOTS / f"csp-{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        self.shots.append(path)

    def csp_of(self, response) -> str:
        return response.headers.get("content-security-policy", "")


def test_every_page_works_in_a_real_browser_under_the_csp_with_no_violations(live_server, page, settings, published):
    # `published`: the reset e-mail is sent below, in this process, never by a worker an earlier test started.
    port = live_server.url.rsplit(":", 1)[1]
    settings.PLATFORM_PORT = port  # the reset e-mail's link points at this server
    company = CompanyFactory(name="Acme CSP")
    give_subscription(company, status="active", lookup_key="pro_monthly")
    admin = MembershipFactory(company=company, role="admin").user
    locked = MembershipFactory(company=company, role="member").user
    UserFactory(operator=True, email="operator-csp@example.com")
    site = f"http://{host_of(company)}:{port}"
    platform = f"http://localhost:{port}"
    browser = Browser(page)

    # Company host: a lockout, the login, the dashboard.
    response = browser.visit(f"{site}/login/", ready="#login-form", name="company-login")
    assert "'unsafe-inline'" not in browser.csp_of(response) and "script-src 'self'" in browser.csp_of(response)
    for _ in range(5):
        page.fill("#id_username", locked.email)
        page.fill("#id_password", "not-the-password")
        page.click("#login")
        page.wait_for_load_state()
        if page.query_selector("#locked-out"):
            break
        browser.settle("#login-form", "company-login-error")
    browser.settle("#locked-out", "company-locked-out")
    assert "Try again in" in page.text_content("#locked-out")

    browser.visit(f"{site}/login/", ready="#login-form", name="company-login-again")
    page.fill("#id_username", admin.email)
    page.fill("#id_password", RIGHT)
    page.click("#login")
    page.wait_for_url(f"{site}/")
    browser.settle("#billing", "company-dashboard")
    # The stylesheet applied (it is a file now, not an inline <style>).
    assert page.eval_on_selector("#billing", "el => getComputedStyle(el).borderRadius") == "8px"

    # The Django admin, where the lockout shows.
    browser.visit(f"{platform}/admin/login/", ready="#login-form", name="admin-login")
    assert page.query_selector(".password-reset-link a"), "the admin login links to password reset"
    page.fill("#id_username", "operator-csp@example.com")
    page.fill("#id_password", RIGHT)
    page.click("input[type=submit]")
    page.wait_for_url(f"{platform}/admin/")
    browser.settle("#content-main", "admin-index")
    browser.visit(f"{platform}/admin/axes/accessattempt/", ready="#result_list", name="admin-access-attempts")
    page.click("#result_list tbody tr th a")
    browser.settle("#content-main form", "admin-access-attempt")
    browser.visit(f"{platform}/admin/companies/company/", ready="#result_list", name="admin-companies")
    browser.visit(
        f"{platform}/admin/companies/company/{company.pk}/change/", ready="#company_form", name="admin-company"
    )
    browser.visit(f"{platform}/admin/companies/user/{admin.pk}/change/", ready="#user_form", name="admin-user-change")

    # Platform host: password reset, start to finish (it also lifts the member's lockout).
    page.goto(f"{site}/login/")
    page.click("#forgot-password")
    page.wait_for_url(f"{platform}/password-reset/")
    browser.settle("#password-reset-form", "password-reset-form")
    page.fill("#id_email", locked.email)
    page.click("#send-reset-link")
    browser.settle("#password-reset-sent", "password-reset-sent")
    send_owed_emails()
    link = re.search(r"http://\S+/password-reset/\S+/", mail.outbox[-1].body).group(0)
    browser.visit(link, ready="#set-password-form", name="password-reset-confirm")
    page.fill("#id_new_password1", "a-brand-new-passphrase-7")
    page.fill("#id_new_password2", "a-brand-new-passphrase-7")
    page.click("#set-password")
    browser.settle("#password-reset-complete", "password-reset-complete")

    # The API docs.
    browser.visit(f"{platform}/api/docs/", ready=".opblock", name="swagger-ui")
    assert len(page.query_selector_all(".opblock")) > 10
    response = browser.visit(f"{platform}/api/redoc/", ready="ul[role=menu] li", name="redoc")
    assert "'sha256-" in browser.csp_of(response) and "'unsafe-inline'" not in browser.csp_of(response)
    heading = page.query_selector("h1")
    assert heading and "SaaS billing platform API" in heading.text_content()
    # ReDoc's generated styles applied: styled-components filled its (hash-allowed, empty) <style>.
    rules = page.evaluate("[...document.querySelectorAll('style')].reduce((n, s) => n + s.sheet.cssRules.length, 0)")
    assert rules > 100

    assert not browser.problems, "\n".join(browser.problems)
    assert all(shot.stat().st_size > 5000 for shot in browser.shots)


def test_every_page_of_the_web_app_fits_a_phone_under_the_csp(live_server, browser, published):
    """The pages of both hosts at a phone's width: no CSP violation or script error, nothing wider
    than the screen (each page in the state worth seeing: errors shown, a key just created...)."""
    from tests.browser.scenes import build_world, visit
    from tests.plugins.browser import PHONE, horizontal_overflow, watch

    world = build_world(live_server.url.rsplit(":", 1)[1])
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems = watch(page)
    page.on("dialog", lambda dialog: dialog.accept())
    signed_in: dict = {}
    too_wide = {}
    for scene in world.scenes:
        visit(page, scene, world, signed_in)
        if overflow := horizontal_overflow(page):
            too_wide[scene.name] = overflow
    context.close()
    assert not too_wide, f"pages wider than a phone (pixels): {too_wide}"
    assert not problems, "\n".join(problems)
