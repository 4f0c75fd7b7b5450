"""A company admin in a real browser cancels on the Billing page with a reason, then resumes."""

import pytest

from subscriptions.cancel_resume import FEEDBACK_LABELS
from tests.helpers import host_of
from tests.plugins.browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_cancels_with_a_reason_and_resumes_on_the_billing_page(live_server, onboarded_company, page):
    company, admin = onboarded_company()
    origin = f"http://{host_of(company)}:{live_server.url.rsplit(':', 1)[1]}"
    log_in(page, origin, admin.email, "correct-horse-battery")
    page.goto(origin + "/billing/")
    page.select_option("#cancel-feedback", "switched_service")
    page.fill("#cancel-comment", "Moving to an in-house tool")
    page.click("#cancel-subscription")
    page.wait_for_selector("#resume-subscription")
    assert page.text_content("#cancellation-feedback") == FEEDBACK_LABELS["switched_service"]
    assert page.text_content("#cancellation-comment") == "Moving to an in-house tool"
    assert page.is_visible("#banner-cancelling")
    company.subscription.refresh_from_db()
    assert (company.subscription.cancel_at_period_end, company.subscription.cancellation_feedback) == (
        True,
        "switched_service",
    )

    page.click("#resume-subscription")
    page.wait_for_selector("#cancel-subscription")
    assert "resumed" in page.text_content(".messages")
    assert not page.is_visible("#banner-cancelling")
    company.subscription.refresh_from_db()
    assert (company.subscription.cancel_at_period_end, company.subscription.cancellation_feedback) == (False, "")
