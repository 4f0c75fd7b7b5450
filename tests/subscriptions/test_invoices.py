"""Invoices in the app: stored from Stripe's invoice events (each re-read from Stripe), backfilled by
reconciliation, listed by the API without a Stripe call, and the next one previewed by Stripe."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from django.core.management import call_command

from subscriptions.models import Invoice
from tests.factories import CompanyFactory, MembershipFactory, WebhookEventFactory
from tests.helpers import company_client, stripe_event
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks, wait_until
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db(transaction=True)

# What a client of GET /api/billing/invoices/ reads from each invoice.
LISTED_FIELDS = set(
    "id number status billing_reason created period_start period_end currency subtotal discount tax total "
    "amount_paid amount_due amount_remaining hosted_invoice_url invoice_pdf".split()
)


def _deliver(event_type: str, payload: dict) -> str:
    """Process one event here, as the worker would."""
    return webhook_event_process(event_id=WebhookEventFactory(payload=stripe_event(event_type, payload)).pk)


def _stripe_invoices(emulator, company) -> list[dict]:
    listing = emulator.client().v1.invoices.list(params={"customer": company.stripe_customer_id, "limit": 100})
    return [invoice.to_dict() for invoice in listing.data]


def _one_off_invoice(emulator, company, amount: int, *, finalize: bool = True) -> dict:
    """An invoice for a one-off charge, made in Stripe with no webhook endpoint: nobody tells us."""
    client = emulator.client()
    client.v1.invoice_items.create(
        params={"customer": company.stripe_customer_id, "amount": amount, "currency": "usd", "description": "Setup"}
    )
    invoice = client.v1.invoices.create(
        params={"customer": company.stripe_customer_id, "pending_invoice_items_behavior": "include"}
    )
    if finalize:
        invoice = client.v1.invoices.finalize_invoice(invoice.id)
    return invoice.to_dict()


def test_invoice_events_store_stripes_copy_never_the_payload(onboarded_company, stripe_emulator):
    company, _ = onboarded_company()
    trial_invoice = _stripe_invoices(stripe_emulator, company)[0]  # the trial's, paid, 0.00
    forged = trial_invoice | {"status": "open", "total": 99_900, "amount_due": 99_900, "number": "FORGED-1"}
    assert _deliver("invoice.finalized", forged) == "processed"
    assert _deliver("invoice.created", forged | {"status": "draft"}) == "processed"  # older, arriving last
    record = Invoice.objects.get(stripe_invoice_id=trial_invoice["id"])
    assert (record.company, record.status, record.number, record.total, record.amount_due) == (
        company,
        "paid",
        trial_invoice["number"],
        0,
        0,
    )
    assert record.stripe_subscription_id == company.subscription.stripe_subscription_id
    assert record.hosted_invoice_url == trial_invoice["hosted_invoice_url"]


def test_invoice_list_is_served_without_calling_stripe(onboarded_company, stripe_emulator, settings):
    company, admin = onboarded_company()
    stripe_invoice = _one_off_invoice(stripe_emulator, company, 2500)
    _deliver("invoice.finalized", stripe_invoice)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable: any call would fail the request

    response = company_client(company, admin).get("/api/billing/invoices/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None and len(body["results"]) == 1
    listed = body["results"][0]
    assert set(listed) == LISTED_FIELDS
    assert (listed["id"], listed["number"], listed["status"]) == (
        stripe_invoice["id"],
        stripe_invoice["number"],
        "open",
    )
    assert (listed["subtotal"], listed["discount"], listed["tax"], listed["total"]) == (2500, 0, 0, 2500)
    assert (listed["amount_paid"], listed["amount_due"], listed["currency"]) == (0, 2500, "usd")
    assert listed["invoice_pdf"] == stripe_invoice["invoice_pdf"]


def test_invoices_and_the_upcoming_invoice_are_for_admins_only(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    member = MembershipFactory(company=company, role="member").user
    for path in ("/api/billing/invoices/", "/api/billing/upcoming-invoice/"):
        denied = company_client(company, member).get(path)
        assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied"), path
        assert company_client(company, admin).get(path).status_code == 200, path


def test_reconciliation_backfills_invoices_no_event_told_us_about(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    made = [_one_off_invoice(stripe_emulator, company, amount) for amount in (1000, 2000, 3000)]
    draft = _one_off_invoice(stripe_emulator, company, 4000, finalize=False)
    _deliver("invoice.created", draft)
    stripe_emulator.client().v1.invoices.delete(draft["id"])  # and its invoice.deleted never arrives
    assert Invoice.objects.filter(company=company).count() == 1

    call_command("resync_billing", "--company", company.slug)

    stored = set(Invoice.objects.filter(company=company).values_list("stripe_invoice_id", flat=True))
    assert stored == {invoice["id"] for invoice in _stripe_invoices(stripe_emulator, company)}
    assert {invoice["id"] for invoice in made} <= stored and draft["id"] not in stored
    # Newest first, page by page.
    client = company_client(company, admin)
    first = client.get("/api/billing/invoices/?page_size=2").json()
    second = client.get(first["next"]).json()
    listed = [invoice["total"] for invoice in first["results"] + second["results"]]
    assert listed == [3000, 2000, 1000, 0] and second["next"] is None


def test_a_deleted_draft_is_forgotten_and_a_forged_deletion_changes_nothing(onboarded_company, stripe_emulator):
    company, _ = onboarded_company()
    draft = _one_off_invoice(stripe_emulator, company, 700, finalize=False)
    kept = _one_off_invoice(stripe_emulator, company, 900)
    for invoice in (draft, kept):
        _deliver("invoice.created", invoice)
    stripe_emulator.client().v1.invoices.delete(draft["id"])

    assert _deliver("invoice.deleted", draft) == "processed"
    assert _deliver("invoice.deleted", kept) == "processed"  # Stripe still has it: synced, not deleted

    assert list(Invoice.objects.filter(company=company).values_list("stripe_invoice_id", "status")) == [
        (kept["id"], "open")
    ]


def test_upcoming_invoice_is_stripes_preview_of_the_next_one(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()  # trialing on basic_monthly
    preview = (
        stripe_emulator.client()
        .v1.invoices.create_preview(
            params={
                "customer": company.stripe_customer_id,
                "subscription": company.subscription.stripe_subscription_id,
            }
        )
        .to_dict()
    )

    response = company_client(company, admin).get("/api/billing/upcoming-invoice/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["amount_due"], body["total"], body["subtotal"], body["currency"]) == (
        preview["amount_due"],
        preview["total"],
        preview["subtotal"],
        preview["currency"],
    )
    assert body["amount_due"] == 1900  # basic, after the trial
    assert [(line["description"], line["amount"], line["proration"]) for line in body["lines"]] == [
        (line["description"], line["amount"], False) for line in preview["lines"]["data"]
    ]
    assert body["period_start"] is not None and body["period_end"] > body["period_start"]


def test_no_upcoming_invoice_is_a_clear_404(onboarded_company, stripe_emulator):
    from subscriptions.services import subscription_sync_company

    company, admin = onboarded_company()
    newcomer = CompanyFactory()  # onboarding has not made its Stripe customer yet
    newcomer_admin = MembershipFactory(company=newcomer, role="admin").user
    stripe_emulator.client().v1.subscriptions.cancel(company.subscription.stripe_subscription_id)
    subscription_sync_company(company_id=company.pk)

    response = company_client(company, admin).get("/api/billing/upcoming-invoice/")

    assert response.status_code == 404
    assert response.json() == {"code": "no_upcoming_invoice", "detail": "The company has no upcoming invoice."}
    # Before onboarding made the Stripe customer: the same answer, without asking Stripe.
    early = company_client(newcomer, newcomer_admin).get("/api/billing/upcoming-invoice/")
    assert (early.status_code, early.json()["code"]) == (404, "no_upcoming_invoice")


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    tool = shutil.which("pdftotext")
    assert tool, "poppler-utils' pdftotext is needed (make install)"
    return subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_two_renewals_are_two_paid_invoices_listed_with_their_pdfs(
    webhook_delivery, catalog, celery_worker_process, tmp_path
):
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_visa")
    advance_clocks(webhook_delivery, clock, 8)  # the trial ends: the first renewal
    wait_for_webhooks(webhook_delivery)
    advance_clocks(webhook_delivery, clock, 31)  # a month later: the second
    wait_for_webhooks(webhook_delivery)

    def renewals() -> list[dict]:
        listed = company_client(company, admin).get("/api/billing/invoices/").json()["results"]
        return [invoice for invoice in listed if invoice["billing_reason"] == "subscription_cycle"]

    paid = wait_until(
        lambda: [i for i in renewals() if i["status"] == "paid"] if len(renewals()) == 2 else None,
        timeout=30,
        message="two renewal invoices listed",
    )
    assert len(paid) == 2
    assert [(i["total"], i["amount_paid"], i["amount_due"]) for i in paid] == [(1900, 1900, 1900)] * 2
    assert paid[0]["period_start"] == paid[1]["period_end"]  # newest first, back to back
    for invoice in paid:
        document = httpx.get(invoice["invoice_pdf"], timeout=10)
        assert document.status_code == 200
        assert document.content.startswith(b"%PDF")
        assert invoice["number"] in _pdf_text(document.content, tmp_path)
