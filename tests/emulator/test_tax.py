"""Tax (issue 14 item 6), through the real stripe library: tax rates on
subscriptions, items and invoices (tax after discount, inclusive and
exclusive), automatic tax from the emulator's country table, customer tax IDs
with Stripe's format check, previews, invoice documents and Checkout's address
and tax ID collection (in Chromium).  Expected amounts are worked out here."""

import shutil
import subprocess
import urllib.request

import pytest
import stripe

T0 = 1_900_000_000
DAY = 86400


def rejected(call):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    return exc.value


def tax_rate(client, percentage, inclusive=False, display_name="VAT", **params):
    params.update(display_name=display_name, percentage=percentage, inclusive=inclusive)
    return client.v1.tax_rates.create(params=params)


def taxes(line_or_invoice, field="taxes"):
    return [
        (t.amount, t.tax_behavior, t.tax_rate_details.tax_rate, t.taxability_reason, t.taxable_amount)
        for t in line_or_invoice[field]
    ]


def test_exclusive_twenty_percent_rate_on_a_discounted_subscription_taxes_what_the_discount_leaves(client, make):
    vat = tax_rate(client, 20, jurisdiction="GB", country="GB")
    coupon = make.coupon(percent_off=20)
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=2500)
    sub = make.subscribe(customer, price, quantity=2, default_tax_rates=[vat.id], discounts=[{"coupon": coupon.id}])
    invoice = sub.latest_invoice
    # 2 × 25.00 = 50.00, less 20 % = 40.00, plus 20 % VAT on 40.00 = 8.00
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (5000, 4000, 4800)
    assert (invoice.subtotal_excluding_tax, invoice.amount_due, invoice.amount_paid) == (5000, 4800, 4800)
    assert taxes(invoice, "total_taxes") == [(800, "exclusive", vat.id, "not_available", 4000)]
    assert taxes(invoice.lines.data[0]) == [(800, "exclusive", vat.id, "not_available", 4000)]
    assert [rate.id for rate in invoice.default_tax_rates] == [vat.id]
    assert invoice.default_tax_rates[0].percentage == 20
    assert [rate.id for rate in sub.default_tax_rates] == [vat.id]


def test_inclusive_rate_is_carved_out_of_the_price_and_not_added(client, make):
    vat = tax_rate(client, 20, inclusive=True)
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=1200)
    invoice = make.subscribe(customer, price, default_tax_rates=[vat.id]).latest_invoice
    assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (1200, 1200, 1200)
    assert (invoice.subtotal_excluding_tax, invoice.total_excluding_tax) == (1000, 1000)
    assert taxes(invoice, "total_taxes") == [(200, "inclusive", vat.id, "not_available", 1000)]


def test_item_and_invoice_item_tax_rates_replace_the_default_rates(client, make):
    standard, reduced = tax_rate(client, 20), tax_rate(client, 5, display_name="Reduced VAT")
    customer = make.customer(card="pm_card_visa")
    books, software = make.price(amount=1000, name="Books"), make.price(amount=3000, name="Software")
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "default_tax_rates": [standard.id],
            "items": [{"price": books.id, "tax_rates": [reduced.id]}, {"price": software.id}],
            "expand": ["latest_invoice"],
        }
    )
    assert [[r.id for r in item.tax_rates] for item in sub["items"].data] == [[reduced.id], []]
    by_price = {line.pricing.price_details.price: line for line in sub.latest_invoice.lines.data}
    assert taxes(by_price[books.id])[0][:3] == (50, "exclusive", reduced.id)
    assert taxes(by_price[software.id])[0][:3] == (600, "exclusive", standard.id)
    assert sub.latest_invoice.total == 4650

    draft = client.v1.invoices.create(params={"customer": customer.id, "default_tax_rates": [standard.id]})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id, "amount": 1000})
    client.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": draft.id, "amount": 2000, "tax_rates": [reduced.id]}
    )
    draft = client.v1.invoices.retrieve(draft.id)
    assert sorted(t.amount for t in draft.total_taxes) == [100, 200] and draft.total == 3300


def test_tax_rates_are_objects_with_events_filters_and_stripe_refusals(client, make):
    vat = tax_rate(client, 19, description="VAT Germany", jurisdiction="DE", country="DE", tax_type="vat")
    sales = tax_rate(client, 8.875, inclusive=True, display_name="Sales tax", state="NY", tax_type="sales_tax")
    assert vat.id.startswith("txr_") and vat.percentage == 19 and sales.percentage == 8.875
    renamed = client.v1.tax_rates.update(vat.id, params={"display_name": "MwSt", "active": False})
    assert renamed.display_name == "MwSt" and renamed.active is False and renamed.percentage == 19
    [updated] = make.events("tax_rate.updated")
    assert updated.data.previous_attributes.to_dict() == {"active": True, "display_name": "VAT"}
    assert {e.data.object.id for e in make.events("tax_rate.created")} == {vat.id, sales.id}
    assert [r.id for r in client.v1.tax_rates.list(params={"active": True}).data] == [sales.id]
    assert [r.id for r in client.v1.tax_rates.list(params={"inclusive": False}).data] == [vat.id]
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    archived = rejected(lambda: make.subscribe(customer, price, default_tax_rates=[vat.id]))
    assert archived.param == "default_tax_rates[0]"
    items = [{"price": price.id, "tax_rates": ["txr_x"]}]
    unknown = rejected(lambda: client.v1.subscriptions.create(params={"customer": customer.id, "items": items}))
    assert (unknown.code, unknown.param) == ("resource_missing", "items[0][tax_rates][0]")
    out_of_range = rejected(lambda: tax_rate(client, 120))
    assert out_of_range.param == "percentage"
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []


def test_prorations_carry_the_item_tax_rates_into_the_next_invoice(client, make):
    vat = tax_rate(client, 20)
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price(amount=1000)
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id, "quantity": 1, "tax_rates": [vat.id]}]}
    )
    item = sub["items"].data[0]
    make.advance(clock, T0 + 10 * DAY)
    client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "quantity": 2}], "proration_behavior": "create_prorations"}
    )
    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert pending and all([r.id for r in ii.tax_rates] == [vat.id] for ii in pending)
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    for line in preview.lines.data:
        assert [t.amount for t in line.taxes] == [round(line.amount * 0.2)]
    assert preview.total == round(sum(line.amount for line in preview.lines.data) * 1.2)


def test_automatic_tax_for_a_customer_in_a_listed_country(client, make):
    customer = make.customer(card="pm_card_visa", address={"country": "DE", "postal_code": "10115"})
    gross = client.v1.prices.create(
        params={
            "unit_amount": 1190,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "product_data": {"name": "Inclusive"},
            "tax_behavior": "inclusive",
        }
    )
    net = make.price(amount=1000)
    sub = make.subscribe(customer, net, automatic_tax={"enabled": True})
    invoice = sub.latest_invoice
    assert sub.automatic_tax.enabled is True and invoice.automatic_tax.status == "complete"
    [(amount, behavior, rate_id, reason, taxable)] = taxes(invoice, "total_taxes")
    assert (amount, behavior, reason, taxable, invoice.total) == (190, "exclusive", "standard_rated", 1000, 1190)
    rate = client.v1.tax_rates.retrieve(rate_id)
    assert (rate.percentage, rate.country, rate.active, rate.effective_percentage) == (19, "DE", False, 19)
    inclusive = make.subscribe(customer, gross, automatic_tax={"enabled": True}).latest_invoice
    assert taxes(inclusive, "total_taxes")[0][:2] == (190, "inclusive") and inclusive.total == 1190

    elsewhere = make.customer(card="pm_card_visa", shipping={"name": "Depot", "address": {"country": "US"}})
    untaxed = make.subscribe(elsewhere, net, automatic_tax={"enabled": True}).latest_invoice
    assert taxes(untaxed, "total_taxes")[0][0] == 0 and untaxed.total_taxes[0].taxability_reason == "not_collecting"
    exempt = make.customer(card="pm_card_visa", address={"country": "FR"}, tax_exempt="reverse")
    reverse = make.subscribe(exempt, net, automatic_tax={"enabled": True}).latest_invoice
    assert (reverse.total, reverse.total_taxes[0].taxability_reason) == (1000, "reverse_charge")
    mixed = rejected(
        lambda: make.subscribe(
            customer, net, automatic_tax={"enabled": True}, default_tax_rates=[tax_rate(client, 5).id]
        )
    )
    assert mixed.param == "default_tax_rates"


def test_automatic_tax_without_a_location_finalizes_without_tax_and_switches_off(client, make):
    customer = make.customer(card="pm_card_visa")
    sub = make.subscribe(customer, make.price(amount=1000), automatic_tax={"enabled": True})
    invoice = sub.latest_invoice
    assert invoice.total == 1000 and invoice.total_taxes == []
    assert invoice.automatic_tax.enabled is False
    assert invoice.automatic_tax.disabled_reason == "finalization_requires_location_inputs"
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert (sub.automatic_tax.enabled, sub.automatic_tax.disabled_reason) == (False, "requires_location_inputs")


def test_customer_tax_says_whether_automatic_tax_can_place_the_customer(client, make):
    def tax_of(customer):
        return client.v1.customers.retrieve(customer.id, params={"expand": ["tax"]}).tax

    nowhere = make.customer()
    assert (tax_of(nowhere).automatic_tax, tax_of(nowhere).location) == ("unrecognized_location", None)
    assert "tax" not in client.v1.customers.retrieve(nowhere.id).to_dict()  # includable: only when expanded
    updated = client.v1.customers.update(
        nowhere.id, params={"address": {"country": "DE", "postal_code": "10115"}, "expand": ["tax"]}
    )
    assert updated.tax.automatic_tax == "supported"
    assert updated.tax.location.to_dict() == {"country": "DE", "source": "billing_address", "state": None}
    abroad = make.customer(address={"country": "BR"}, shipping={"name": "Depot", "address": {"country": "FR"}})
    assert (tax_of(abroad).automatic_tax, tax_of(abroad).location.source) == ("supported", "shipping_destination")
    assert tax_of(make.customer(address={"country": "BR"})).automatic_tax == "not_collecting"
    assert tax_of(make.customer(address={"country": "US"})).automatic_tax == "unrecognized_location"  # needs a ZIP
    assert tax_of(make.customer(address={"country": "US", "postal_code": "10001"})).automatic_tax == "not_collecting"


def test_tax_id_with_a_bad_format_is_refused_with_stripes_error(client, make):
    customer = make.customer()
    for type_, value in (("eu_vat", "DE12345"), ("eu_vat", "XX123456789"), ("gb_vat", "123456789"), ("us_ein", "1-2")):
        error = rejected(
            lambda t=type_, v=value: client.v1.customers.tax_ids.create(customer.id, params={"type": t, "value": v})
        )
        assert (error.http_status, error.code, error.param) == (400, "tax_id_invalid", "value")
        assert error.user_message == "Invalid value for %s." % type_
    assert client.v1.customers.tax_ids.list(customer.id).data == []
    assert make.events("customer.tax_id.created") == []
    error = rejected(
        lambda: client.v1.customers.create(
            params={"email": "x@example.com", "tax_id_data": [{"type": "eu_vat", "value": "FR1"}]}
        )
    )
    assert (error.code, error.param) == ("tax_id_invalid", "tax_id_data[0][value]")
    assert client.v1.customers.list(params={"email": "x@example.com"}).data == []


def test_customer_tax_ids_are_created_listed_included_and_deleted_with_events(client, make):
    customer = client.v1.customers.create(
        params={"email": "b2b@example.com", "tax_id_data": [{"type": "gb_vat", "value": "GB123456789"}]}
    )
    vat = client.v1.customers.tax_ids.create(customer.id, params={"type": "eu_vat", "value": "DE123456789"})
    ein = client.v1.tax_ids.create(
        params={"type": "us_ein", "value": "12-3456789", "owner": {"type": "customer", "customer": customer.id}}
    )
    assert (vat.country, vat.customer, vat.owner.type, vat.verification.status) == (
        "DE",
        customer.id,
        "customer",
        "pending",
    )
    assert ein.country == "US" and ein.verification is None
    listed = client.v1.customers.tax_ids.list(customer.id).data
    assert [t.value for t in listed] == ["12-3456789", "DE123456789", "GB123456789"]
    included = client.v1.customers.retrieve(customer.id, params={"expand": ["tax_ids"]}).tax_ids.data
    assert [t.id for t in included] == [t.id for t in listed]
    owned = client.v1.tax_ids.list(params={"owner": {"type": "customer", "customer": customer.id}}).data
    assert len(owned) == 3
    own = client.v1.tax_ids.create(params={"type": "eu_vat", "value": "IE1234567AB"})
    assert own.owner.type == "self" and [t.id for t in client.v1.tax_ids.list().data] == [own.id]
    deleted = client.v1.customers.tax_ids.delete(customer.id, vat.id)
    assert deleted.deleted is True and deleted.id == vat.id
    assert len(make.events("customer.tax_id.created")) == 3
    assert [e.data.object.id for e in make.events("customer.tax_id.deleted")] == [vat.id]
    missing = rejected(lambda: client.v1.customers.tax_ids.retrieve(customer.id, vat.id))
    assert missing.http_status == 404 and missing.code == "resource_missing"
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    assert [(t.type, t.value) for t in invoice.customer_tax_ids] == [
        ("gb_vat", "GB123456789"),
        ("us_ein", "12-3456789"),
    ]


def test_create_preview_shows_tax(client, make):
    vat = tax_rate(client, 20)
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=1000)
    sub = make.subscribe(customer, price, default_tax_rates=[vat.id])
    renewal = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert (renewal.total, taxes(renewal, "total_taxes")[0][:2]) == (1200, (200, "exclusive"))
    new = client.v1.invoices.create_preview(
        params={
            "customer": customer.id,
            "automatic_tax": {"enabled": True},
            "customer_details": {"address": {"country": "FR"}},
            "subscription_details": {"items": [{"price": price.id, "quantity": 3}]},
        }
    )
    assert (new.subtotal, new.total, new.automatic_tax.status) == (3000, 3600, "complete")
    assert new.total_taxes[0].taxability_reason == "standard_rated"
    changed = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": {"default_tax_rates": [tax_rate(client, 10).id]}}
    )
    assert changed.total == 1100
    assert client.v1.customers.retrieve(customer.id).address is None  # the preview's location is not saved


def _pdf_text(url, tmp_path):
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail("pdftotext not found: make system-packages installs poppler-utils")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(urllib.request.urlopen(url, timeout=10).read())
    return subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_invoice_pdf_and_hosted_page_show_the_tax_and_the_customer_tax_id(client, make, page, tmp_path):
    vat = tax_rate(client, 20)
    customer = make.customer(card="pm_card_visa", name="Ada Ltd")
    client.v1.customers.tax_ids.create(customer.id, params={"type": "eu_vat", "value": "DE123456789"})
    invoice = make.subscribe(customer, make.price(amount=2500), default_tax_rates=[vat.id]).latest_invoice
    text = _pdf_text(invoice.invoice_pdf, tmp_path)
    for expected in ("EU VAT DE123456789", "Total excluding tax", "VAT (20%)", "USD 5.00", "USD 30.00"):
        assert expected in text, (expected, text)
    page.goto(invoice.hosted_invoice_url)
    assert page.get_attribute("#tax", "data-amount") == "500"
    assert page.inner_text("#tax-0").startswith("VAT (20%)")
    assert page.get_attribute("#total", "data-amount") == "3000"
    assert page.inner_text(".customer-tax-id") == "EU VAT DE123456789"


def test_checkout_collects_address_and_tax_id_then_taxes_the_subscription_in_chromium(client, make, page):
    price = make.price(amount=5000, name="Team")
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer_email": "buyer@example.de",
            "success_url": "http://127.0.0.1:9/s",
            "automatic_tax": {"enabled": True},
            "tax_id_collection": {"enabled": True},
        }
    )
    assert sess.automatic_tax.enabled is True and sess.tax_id_collection.enabled is True
    page.goto(sess.url)
    assert "calculated from your address" in page.inner_text("#tax")
    page.fill("#address-country", "DE")
    page.fill("#address-postal-code", "10115")
    page.fill("#business-name", "Beispiel GmbH")
    page.fill("#tax-id-value", "DE12")
    page.click("#calculate-tax")
    page.wait_for_selector("#error")
    assert page.inner_text("#error") == "Invalid value for eu_vat."
    page.fill("#tax-id-value", "DE123456789")
    page.click("#calculate-tax")
    page.wait_for_selector("#tax[data-amount='950']")
    assert page.inner_text("#total") == "Total: USD 59.50"
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, body="landed"))
    page.select_option("select[name=payment_method]", "pm_card_visa")
    page.click("#pay")
    page.wait_for_url("http://127.0.0.1:9/s**")
    done = client.v1.checkout.sessions.retrieve(sess.id, params={"expand": ["subscription.latest_invoice"]})
    assert (done.amount_total, done.total_details.amount_tax) == (5950, 950)
    assert [(t.type, t.value) for t in done.customer_details.tax_ids] == [("eu_vat", "DE123456789")]
    assert done.customer_details.address.country == "DE" and done.customer_details.business_name == "Beispiel GmbH"
    invoice = done.subscription.latest_invoice
    assert invoice.total == 5950 and invoice.automatic_tax.status == "complete"
    assert [(t.type, t.value) for t in invoice.customer_tax_ids] == [("eu_vat", "DE123456789")]
    customer = client.v1.customers.retrieve(done.customer, params={"expand": ["tax_ids"]})
    assert customer.address.country == "DE" and customer.name == "Beispiel GmbH"
    assert [t.value for t in customer.tax_ids.data] == ["DE123456789"]


def test_checkout_automatic_tax_for_an_existing_customer_needs_an_address_or_customer_update(client, make, page):
    price = make.price(amount=1000)
    customer = make.customer(name="Old name")
    base = {
        "mode": "subscription",
        "line_items": [{"price": price.id, "quantity": 1}],
        "customer": customer.id,
        "success_url": "http://127.0.0.1:9/s",
        "automatic_tax": {"enabled": True},
    }
    error = rejected(lambda: client.v1.checkout.sessions.create(params=base))
    assert error.user_message.startswith("Automatic tax calculation in Checkout requires a valid address")
    anonymous = {key: value for key, value in base.items() if key not in ("customer", "automatic_tax")}
    stray = rejected(
        lambda: client.v1.checkout.sessions.create(params={**anonymous, "customer_update": {"address": "auto"}})
    )
    assert stray.param == "customer_update"
    sess = client.v1.checkout.sessions.create(params={**base, "customer_update": {"address": "auto", "name": "auto"}})
    page.goto(sess.url)
    page.fill("#address-country", "NL")
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, body="landed"))
    page.click("#pay")
    page.wait_for_url("http://127.0.0.1:9/s**")
    updated = client.v1.customers.retrieve(customer.id)
    assert updated.address.country == "NL" and updated.name == "Old name"
    done = client.v1.checkout.sessions.retrieve(sess.id)
    assert (done.amount_total, done.total_details.amount_tax) == (1210, 210)
    moved = [e for e in make.events("customer.updated") if "address" in e.data.previous_attributes]
    assert [e.data.object.address.country for e in moved] == ["NL"]
