"""Stripe Tax (STRIPE_AUTOMATIC_TAX): the billing address and tax IDs set through the API, automatic
tax switched on once Stripe places the customer, taxed invoices; Checkout collecting the address. The
emulator's automatic tax stands in for Stripe Tax (one standard rate per country)."""

import pytest

from subscriptions.banners import banners_for
from subscriptions.models import Invoice
from tests.factories import MembershipFactory
from tests.helpers import company_client
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks

pytestmark = pytest.mark.django_db(transaction=True)

BERLIN = {"line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "de"}


def patch(client, body):
    return client.patch("/api/billing/details/", body, content_type="application/json")


def stripe_subscription(emulator, company):
    return emulator.client().v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]


def banner_codes(company):
    company.refresh_from_db()
    return [b.code for b in banners_for(company=company, subscription=company.subscription)]


def test_a_taxable_address_gives_the_subscription_automatic_tax_and_the_next_invoice_tax(
    webhook_delivery, catalog, celery_worker_process, settings
):
    settings.STRIPE_AUTOMATIC_TAX = True
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_visa")
    assert "tax-address" in banner_codes(company)  # the trial started at sign-up has no address
    client = company_client(company, admin)

    updated = patch(client, {"address": BERLIN, "tax_ids": [{"type": "eu_vat", "value": "DE 123456789"}]})
    assert updated.status_code == 200, updated.content
    details = updated.json()
    assert (details["tax_location"], details["automatic_tax"]) == ("supported", True)
    assert details["address"]["country"] == "DE" and details["address"]["city"] == "Berlin"
    assert [(t["type"], t["value"], t["country"]) for t in details["tax_ids"]] == [("eu_vat", "DE123456789", "DE")]
    assert stripe_subscription(webhook_delivery, company).automatic_tax.enabled is True
    assert "tax-address" not in banner_codes(company)
    assert client.get("/api/billing/subscription/").json()["automatic_tax"] is True

    advance_clocks(webhook_delivery, clock, 8)  # the trial ends: the first paid invoice
    wait_for_webhooks(webhook_delivery)
    invoice = Invoice.objects.get(company=company, billing_reason="subscription_cycle")
    assert invoice.tax > 0 and invoice.tax == round(invoice.subtotal * 0.19)
    assert invoice.total == invoice.subtotal - invoice.discount + invoice.tax
    listed = client.get("/api/billing/invoices/").json()["results"]
    shown = next(i for i in listed if i["id"] == invoice.stripe_invoice_id)
    assert (shown["tax"], shown["total"]) == (invoice.tax, invoice.total)


def test_tax_ids_follow_the_list_and_stripes_refusals_are_400s_with_its_code(onboarded_company, settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    company, admin = onboarded_company()
    client = company_client(company, admin)
    two = [{"type": "eu_vat", "value": "DE123456789"}, {"type": "gb_vat", "value": "GB123456789"}]
    assert len(patch(client, {"tax_ids": two}).json()["tax_ids"]) == 2
    kept = patch(client, {"tax_ids": two[1:]}).json()["tax_ids"]
    assert [t["value"] for t in kept] == ["GB123456789"]
    assert patch(client, {"tax_ids": two[1:]}).json()["tax_ids"][0]["id"] == kept[0]["id"]  # nothing re-created

    refused = patch(client, {"tax_ids": [{"type": "eu_vat", "value": "DE12"}]})
    assert (refused.status_code, refused.json()["error_codes"]) == (400, {"tax_ids": ["tax_id_invalid"]})
    assert "eu_vat" in refused.json()["errors"]["tax_ids"][0]
    no_country = patch(client, {"address": {"city": "Berlin"}})
    assert (no_country.status_code, no_country.json()["error_codes"]) == (400, {"address.country": ["required"]})
    bad_type = patch(client, {"tax_ids": [{"type": "xx_vat", "value": "1"}]})
    assert (bad_type.status_code, bad_type.json()["error_codes"]) == (
        400,
        {"tax_ids.0.type": ["invalid_choice"]},
    )
    details = client.get("/api/billing/details/").json()
    assert (details["address"], details["tax_location"], details["automatic_tax"]) == (
        None,
        "unrecognized_location",
        False,
    )


def test_a_place_without_stripe_registration_still_switches_automatic_tax_on(onboarded_company, settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    company, admin = onboarded_company()
    client = company_client(company, admin)
    no_zip = patch(client, {"address": {"country": "US", "city": "New York"}}).json()
    assert (no_zip["tax_location"], no_zip["automatic_tax"]) == ("unrecognized_location", False)
    placed = patch(client, {"address": {"country": "US", "city": "New York", "postal_code": "10001"}}).json()
    assert (placed["tax_location"], placed["automatic_tax"]) == ("not_collecting", True)


def test_without_the_setting_the_address_is_saved_but_automatic_tax_stays_off(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    details = patch(company_client(company, admin), {"address": BERLIN}).json()
    assert (details["address"]["country"], details["automatic_tax"]) == ("DE", False)
    assert stripe_subscription(stripe_emulator, company).automatic_tax.enabled is False
    assert "tax-address" not in banner_codes(company)


def test_members_may_neither_read_nor_change_billing_details(onboarded_company):
    company, _ = onboarded_company()
    member = MembershipFactory(company=company, role="member").user
    client = company_client(company, member)
    assert client.get("/api/billing/details/").status_code == 403
    assert patch(client, {"address": BERLIN}).status_code == 403
    assert client.post("/billing/tax-details/", {"country": "DE"}).status_code == 403


def test_checkout_collects_the_address_and_tax_ids_with_the_setting(onboarded_company, stripe_emulator, settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    company, admin = onboarded_company()
    stripe = stripe_emulator.client()
    stripe.v1.subscriptions.cancel(stripe_subscription(stripe_emulator, company).id)
    from subscriptions.services import subscription_sync_company

    subscription_sync_company(company_id=company.pk)
    created = company_client(company, admin).post(
        "/api/billing/checkout-session/", {"price_lookup_key": "pro_monthly"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    session = stripe.v1.checkout.sessions.list(params={"customer": company.stripe_customer_id}).data[0]
    assert session.automatic_tax.enabled is True and session.tax_id_collection.enabled is True
    assert session.billing_address_collection == "required"


def test_the_billing_page_sets_the_address_and_tax_ids(onboarded_company, settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    company, admin = onboarded_company()
    client = company_client(company, admin)
    page = client.get("/billing/").content.decode()
    assert 'id="tax-form"' in page and 'data-automatic-tax="off"' in page and 'id="banner-tax-address"' in page
    form = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
    saved = client.post("/billing/tax-details/", form | {"tax_id_type": "eu_vat", "tax_id_value": "FR12345678901"})
    assert (saved.status_code, saved["Location"]) == (302, "/billing/")
    page = client.get("/billing/").content.decode()
    assert 'data-automatic-tax="on"' in page and "FR12345678901" in page and 'value="Paris"' in page
    assert 'id="banner-tax-address"' not in page

    refused = client.post("/billing/tax-details/", form | {"tax_id_type": "eu_vat", "tax_id_value": "FR1"})
    assert refused.status_code == 400 and 'id="tax-error"' in refused.content.decode()
    tax_id = client.get("/api/billing/details/").json()["tax_ids"][0]["id"]
    assert client.post("/billing/tax-details/", form | {"remove_tax_id": tax_id}).status_code == 302
    assert client.get("/api/billing/details/").json()["tax_ids"] == []


def test_without_the_setting_the_billing_page_has_no_tax_section(onboarded_company):
    company, admin = onboarded_company()
    assert 'id="tax-form"' not in company_client(company, admin).get("/billing/").content.decode()
