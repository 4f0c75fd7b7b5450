"""The Billing page's invoices for admins: the next invoice as Stripe previews it, and the stored
invoices with their PDF and hosted links (members see neither)."""

from __future__ import annotations

import re
import socket

import pytest

from subscriptions.invoices import invoices_backfill
from subscriptions.models import Invoice
from subscriptions.services import subscription_sync_company
from tests.factories import MembershipFactory
from tests.helpers import company_client
from tests.subscriptions.test_invoices import _one_off_invoice

pytestmark = pytest.mark.django_db(transaction=True)


def _section(page: str, element_id: str) -> str:
    match = re.search(rf'<section class="card" id="{element_id}".*?</section>', page, re.S)
    assert match, f"no section {element_id}"
    return match.group(0)


def test_admins_see_the_next_invoice_and_the_invoices_with_their_links(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()  # trialing on basic_monthly
    stripe_invoice = _one_off_invoice(stripe_emulator, company, 2500)
    invoices_backfill(company=company)
    stored = Invoice.objects.get(stripe_invoice_id=stripe_invoice["id"])
    assert stored.invoice_pdf and stored.hosted_invoice_url

    page = company_client(company, admin).get("/billing/").content.decode()

    upcoming = _section(page, "upcoming-invoice")
    assert re.search(r'id="upcoming-amount">\$19(\.00)?<', upcoming), upcoming  # basic, after the trial
    row = re.search(rf'<tr id="invoice-{stored.stripe_invoice_id}">.*?</tr>', page, re.S)
    assert row, page
    assert stored.number in row.group(0) and "$25" in row.group(0) and "open" in row.group(0)
    assert f'href="{stored.invoice_pdf}"' in row.group(0)
    assert f'href="{stored.hosted_invoice_url}"' in row.group(0)


def test_members_see_no_invoices_and_the_page_says_when_nothing_is_coming(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    _one_off_invoice(stripe_emulator, company, 2500)
    invoices_backfill(company=company)
    member = MembershipFactory(company=company, role="member").user

    member_page = company_client(company, member).get("/billing/").content.decode()
    assert 'id="invoices"' not in member_page and 'id="upcoming-invoice"' not in member_page

    stripe_emulator.client().v1.subscriptions.cancel(company.subscription.stripe_subscription_id)
    subscription_sync_company(company_id=company.pk)
    admin_page = company_client(company, admin).get("/billing/").content.decode()
    assert 'id="upcoming-none"' in _section(admin_page, "upcoming-invoice")
    assert 'id="invoice-list"' in admin_page


def test_the_page_renders_when_stripe_cannot_be_reached(onboarded_company, settings):
    company, admin = onboarded_company()
    settings.STRIPE_AUTOMATIC_TAX = True  # the billing details section reads Stripe too
    with socket.socket() as closed:  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed.getsockname()[1]}"
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        response = company_client(company, admin).get("/billing/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="upcoming-unavailable"' in _section(page, "upcoming-invoice")
    assert 'id="tax-unavailable"' in _section(page, "tax-details")
