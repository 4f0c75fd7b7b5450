"""Invoices as documents and the customer balance (issue 14 item 8): a real
PDF (opened with poppler's pdftotext/pdftoppm), the hosted invoice page (in
Chromium), sending, list filters and balance transactions, through the real
stripe library."""

import re
import shutil
import subprocess
import urllib.request

import pytest
import stripe


def rejected(call):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    return exc.value


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail("%s not found: make system-packages installs poppler-utils" % name)
    return path


def test_invoice_pdf_is_a_real_pdf_with_number_lines_discount_and_totals(client, make, tmp_path):
    customer = make.customer(card="pm_card_visa", name="Ada Lovelace")
    price = make.price(amount=2500, name="Analytical Engine")
    coupon = make.coupon(percent_off=20, name="Launch")
    invoice = make.subscribe(customer, price, quantity=2, discounts=[{"coupon": coupon.id}]).latest_invoice
    assert invoice.invoice_pdf.endswith("/p/invoice/%s/pdf" % invoice.id)
    with urllib.request.urlopen(invoice.invoice_pdf, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        document = response.read()
    assert document.startswith(b"%PDF-1.4") and document.rstrip().endswith(b"%%EOF")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(document)
    text = subprocess.run([_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    for expected in (
        invoice.number,
        "Ada Lovelace",
        "2 × Analytical Engine",
        "Discount: Launch",
        "-USD 10.00",
        "Total",
        "USD 40.00",
        "Amount due",
    ):
        assert expected in text.stdout, (expected, text.stdout)
    subprocess.run([_tool("pdftoppm"), "-png", "-r", "30", str(path), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 1000


def test_long_invoices_continue_on_further_pdf_pages(client, make, tmp_path):
    customer = make.customer(card="pm_card_visa")
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    for number in range(40):
        client.v1.invoice_items.create(
            params={"customer": customer.id, "invoice": invoice.id, "amount": 100, "description": "Item %02d" % number}
        )
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    path = tmp_path / "long.pdf"
    path.write_bytes(urllib.request.urlopen(finalized.invoice_pdf, timeout=10).read())
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+2$", info, re.MULTILINE), info
    text = subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Item 00" in text and "Item 39" in text and "USD 40.00" in text


def test_draft_invoices_have_no_document_links_until_finalized(client, make):
    customer = make.customer()
    draft = client.v1.invoices.create(params={"customer": customer.id})
    assert draft.invoice_pdf is None and draft.hosted_invoice_url is None


def test_hosted_invoice_page_shows_the_invoice_and_takes_payment_in_chromium(client, make, page):
    customer = make.customer(card="pm_card_chargeCustomerFail", name="Grace Hopper")
    price = make.price(amount=1500, name="Compiler")
    sub = make.subscribe(customer, price)
    invoice = sub.latest_invoice
    assert sub.status == "incomplete" and invoice.status == "open"
    page.goto(invoice.hosted_invoice_url)
    assert page.inner_text("#invoice-number") == invoice.number
    assert page.inner_text("#invoice-status") == "open"
    assert page.get_attribute("#amount-due", "data-amount") == "1500"
    assert page.get_attribute("#download-pdf", "href") == invoice.invoice_pdf
    assert "1 × Compiler" in page.inner_text("#lines")
    page.select_option("select[name=payment_method]", "pm_card_visa")
    page.click("#pay")
    page.wait_for_selector("#message")
    assert page.inner_text("#invoice-status") == "paid"
    assert not page.is_visible("#pay")
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_send_finalizes_a_draft_and_emits_invoice_sent(client, make):
    customer = make.customer(email="billing@example.com")
    draft = client.v1.invoices.create(
        params={"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30}
    )
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id, "amount": 900})
    sent = client.v1.invoices.send_invoice(draft.id)
    assert sent.status == "open" and sent.number and sent.hosted_invoice_url
    assert [e.data.object.id for e in make.events("invoice.sent")] == [draft.id]
    client.v1.invoices.void_invoice(draft.id)
    error = rejected(lambda: client.v1.invoices.send_invoice(draft.id))
    assert error.code == "invoice_not_editable"


def test_invoice_list_filters_by_customer_subscription_and_status(client, make):
    first, second = make.customer(card="pm_card_visa"), make.customer()
    price = make.price()
    paid_sub = make.subscribe(first, price)
    open_sub = make.subscribe(second, price)
    draft = client.v1.invoices.create(params={"customer": first.id})

    def ids(**filters):
        return {i.id for i in client.v1.invoices.list(params=filters).data}

    assert ids(customer=first.id) == {paid_sub.latest_invoice.id, draft.id}
    assert ids(subscription=open_sub.id) == {open_sub.latest_invoice.id}
    assert ids(status="paid") == {paid_sub.latest_invoice.id}
    assert ids(status="open") == {open_sub.latest_invoice.id}
    assert ids(customer=first.id, status="draft") == {draft.id}
    bad = rejected(lambda: client.v1.invoices.list(params={"status": "pending"}))
    assert bad.param == "status"


def test_customer_credit_is_applied_to_the_next_invoice_and_recorded(client, make):
    customer = make.customer(card="pm_card_visa")
    credit = client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -500, "currency": "usd", "description": "Goodwill", "metadata": {"ticket": "42"}}
    )
    assert (credit.type, credit.ending_balance, credit.invoice) == ("adjustment", -500, None)
    assert client.v1.customers.retrieve(customer.id).balance == -500
    invoice = make.subscribe(customer, make.price(amount=2000)).latest_invoice
    assert (invoice.total, invoice.starting_balance, invoice.ending_balance) == (2000, -500, 0)
    assert (invoice.amount_due, invoice.amount_paid) == (1500, 1500)
    transactions = client.v1.customers.balance_transactions.list(customer.id).data
    assert [(t.type, t.amount, t.invoice) for t in transactions] == [
        ("applied_to_invoice", 500, invoice.id),
        ("adjustment", -500, None),
    ]
    assert client.v1.customers.retrieve(customer.id).balance == 0
    only = client.v1.customers.balance_transactions.list(customer.id, params={"invoice": invoice.id}).data
    assert [t.id for t in only] == [transactions[0].id]
    updated = client.v1.customers.balance_transactions.update(customer.id, credit.id, params={"description": "Sorry"})
    assert updated.description == "Sorry" and updated.amount == -500
    fetched = client.v1.customers.balance_transactions.retrieve(customer.id, credit.id)
    assert fetched.metadata.to_dict() == {"ticket": "42"}


def test_balance_transaction_in_another_currency_is_refused(client, make):
    customer = make.customer()
    client.v1.customers.balance_transactions.create(customer.id, params={"amount": 100, "currency": "usd"})
    error = rejected(
        lambda: client.v1.customers.balance_transactions.create(customer.id, params={"amount": 100, "currency": "eur"})
    )
    assert error.param == "currency"


def test_voiding_an_invoice_gives_back_the_credit_it_used(client, make):
    customer = make.customer(card="pm_card_chargeCustomerFail")
    client.v1.customers.balance_transactions.create(customer.id, params={"amount": -300, "currency": "usd"})
    invoice = make.subscribe(customer, make.price(amount=1000)).latest_invoice
    assert invoice.status == "open" and invoice.amount_due == 700
    client.v1.invoices.void_invoice(invoice.id)
    assert client.v1.customers.retrieve(customer.id).balance == -300
    kinds = [t.type for t in client.v1.customers.balance_transactions.list(customer.id).data]
    assert kinds == ["unapplied_from_invoice", "applied_to_invoice", "adjustment"]
