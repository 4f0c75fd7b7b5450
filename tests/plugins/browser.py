"""Headless Chromium (Debian's package) driven by Playwright."""

import os
import shutil

import pytest

# Playwright's sync API keeps an event loop on the test thread; the ORM calls the tests make
# around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}: ${event.sample}`);
});
"""


def watch(page) -> list[str]:
    """Every Content-Security-Policy violation and script error the page reports from now on, as they
    happen (a test asserts the list is empty at its end)."""
    problems: list[str] = []
    page.expose_binding("__cspViolation", lambda source, text: problems.append(f"{source['frame'].url}: {text}"))
    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return problems


PHONE = {"width": 390, "height": 844}


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than its viewport (0 on a page that fits a phone)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def log_in(page, origin: str, email: str, password: str) -> None:
    page.goto(f"{origin}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("#login")
    page.wait_for_url(f"{origin}/")
