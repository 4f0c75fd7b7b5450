"""An admin changes plan on the Billing page in a real browser: picks Pro, reads the preview, confirms,
and is back on Billing with the new plan and the invoice the change made (charged as previewed)."""

import pytest

from subscriptions.models import Invoice
from subscriptions.plans import amount_display
from tests.factories import PASSWORD
from tests.helpers import host_of
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_previews_and_confirms_an_upgrade_then_sees_the_new_plan_and_its_invoice(
    live_server, webhook_delivery, catalog, celery_worker_process, page, settings
):
    settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY = "basic_monthly"
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_visa")
    admin.set_password(PASSWORD)
    admin.save()
    advance_clocks(webhook_delivery, clock, 8)  # the trial ended, the first month is paid
    advance_clocks(webhook_delivery, clock, 12)
    wait_for_webhooks(webhook_delivery)
    site = f"http://{host_of(company)}:{live_server.url.rsplit(':', 1)[1]}"

    page.goto(site + "/login/")
    page.fill("#id_username", admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("#login")
    page.wait_for_url(site + "/")
    page.goto(site + "/billing/")
    assert page.text_content("#plan") == "Basic"
    page.select_option("#plan-change-plan", "pro")
    page.select_option("#plan-change-interval", "monthly")
    page.click("#plan-change-preview")

    page.wait_for_selector("#plan-change-confirm")
    due_now = page.text_content("#amount-due-now")
    assert due_now != "$0"
    assert page.text_content("#next-invoice-total") == "$49"
    assert "Export posts as CSV" in page.text_content("#features-gained")
    assert page.query_selector("#limit-conflicts") is None
    page.click("#plan-change-confirm")

    page.wait_for_url(site + "/billing/")
    assert page.text_content("#plan") == "Pro"
    invoice = Invoice.objects.get(company=company, billing_reason="subscription_update")
    assert invoice.status == "paid"
    assert amount_display(invoice.amount_paid, invoice.currency) == due_now  # charged as previewed
    message = page.text_content(".message-success")
    assert invoice.number in message and due_now in message
