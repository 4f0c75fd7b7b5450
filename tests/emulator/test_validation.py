"""Strict requests: every parameter is checked against the request types the
pinned stripe library generates from Stripe's OpenAPI description, and
rejected the way Stripe rejects it - before anything is created."""

import pytest
import stripe

from tests.emulator.rawhttp import raw


def rejected(call):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    return exc.value


def test_misspelled_parameter_is_rejected_and_creates_nothing(client, make):
    error = rejected(lambda: client.v1.customers.create(params={"emial": "ada@example.com"}))
    assert error.http_status == 400
    assert error.code == "parameter_unknown" and error.param == "emial"
    assert error.user_message == "Received unknown parameter: emial"
    body = error.json_body["error"]
    assert body["type"] == "invalid_request_error"
    assert body["doc_url"] == "https://stripe.com/docs/error-codes/parameter-unknown"
    assert body["request_log_url"].startswith("https://dashboard.stripe.com/test/logs/req_")
    assert client.v1.customers.list().data == []
    assert make.events("customer.created") == []


def test_unknown_parameter_inside_a_list_names_its_full_bracketed_path(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    error = rejected(
        lambda: client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"pricee": price.id}]})
    )
    assert error.code == "parameter_unknown" and error.param == "items[0][pricee]"
    assert error.user_message == "Received unknown parameter: items[0][pricee]"
    assert client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"}).data == []


def test_unknown_parameter_inside_a_nested_object_is_rejected(client):
    error = rejected(
        lambda: client.v1.customers.create(params={"invoice_settings": {"default_payment_methd": "pm_card_visa"}})
    )
    assert error.param == "invoice_settings[default_payment_methd]"


def test_missing_required_parameter_names_it(client):
    product = client.v1.products.create(params={"name": "Pro"})
    error = rejected(lambda: client.v1.prices.create(params={"product": product.id, "unit_amount": 100}))
    assert error.code == "parameter_missing" and error.param == "currency"
    assert error.user_message == "Missing required param: currency."


def test_missing_required_parameter_in_a_list_item_names_its_path(client):
    error = rejected(
        lambda: client.v1.customers.create(params={"invoice_settings": {"custom_fields": [{"name": "VAT"}]}})
    )
    assert error.code == "parameter_missing" and error.param == "invoice_settings[custom_fields][0][value]"


def test_value_outside_the_enum_is_rejected_with_the_allowed_values(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    error = rejected(
        lambda: client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}], "payment_behavior": "whenever"}
        )
    )
    assert error.http_status == 400 and error.param == "payment_behavior"
    assert error.user_message == (
        "Invalid payment_behavior: must be one of allow_incomplete, default_incomplete, "
        "error_if_incomplete, or pending_if_incomplete"
    )
    assert client.v1.subscriptions.list(params={"status": "all"}).data == []


def test_values_of_the_wrong_type_are_rejected_with_stripes_message(emulator):
    status, _, body = raw(emulator, "GET", "/v1/customers", {"limit": "ten"})
    assert status == 400
    assert body["error"]["code"] == "parameter_invalid_integer" and body["error"]["param"] == "limit"
    assert body["error"]["message"] == "Invalid integer: ten"
    status, _, body = raw(emulator, "POST", "/v1/products", {"name": "Pro", "active": "yes"})
    assert status == 400 and body["error"]["param"] == "active"
    assert body["error"]["message"] == "Invalid boolean: yes"
    status, _, body = raw(emulator, "POST", "/v1/customers", {"metadata": "plan=pro"})
    assert status == 400 and (body["error"]["param"], body["error"]["message"]) == ("metadata", "Invalid hash")
    status, _, body = raw(emulator, "GET", "/v1/customers", {"expand": "data.test_clock"})
    assert status == 400 and (body["error"]["param"], body["error"]["message"]) == ("expand", "Invalid array")


def test_empty_string_for_a_parameter_that_cannot_be_unset_is_rejected(client):
    error = rejected(lambda: client.v1.customers.create(params={"email": ""}))
    assert error.code == "parameter_invalid_empty" and error.param == "email"
    assert error.user_message.startswith("You passed an empty string for 'email'.")


def test_empty_strings_still_unset_what_stripe_lets_you_unset(client, make):
    customer = make.customer(metadata={"plan": "pro", "seats": "3"}, address={"city": "Paris"})
    updated = client.v1.customers.update(customer.id, params={"metadata": {"seats": ""}, "address": ""})
    assert updated.metadata.to_dict() == {"plan": "pro"} and updated.address is None


def test_metadata_keys_that_look_like_indexes_stay_a_map(client):
    customer = client.v1.customers.create(params={"metadata": {"0": "zero", "1": "one"}})
    assert customer.metadata.to_dict() == {"0": "zero", "1": "one"}


def test_expanding_a_field_that_cannot_be_expanded_is_rejected(client, make):
    customer = make.customer(card="pm_card_visa")
    sub = client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": make.price().id}]})
    error = rejected(lambda: client.v1.subscriptions.retrieve(sub.id, params={"expand": ["customerx"]}))
    assert error.http_status == 400 and error.user_message == "This property cannot be expanded (customerx)."
    error = rejected(lambda: client.v1.subscriptions.retrieve(sub.id, params={"expand": ["metadata"]}))
    assert error.user_message == "This property cannot be expanded (metadata)."
    error = rejected(lambda: client.v1.subscriptions.retrieve(sub.id, params={"expand": ["customer.nope"]}))
    assert error.user_message == "This property cannot be expanded (customer.nope)."


def test_expanding_a_list_without_data_prefix_suggests_it(client):
    error = rejected(lambda: client.v1.subscriptions.list(params={"expand": ["customer"]}))
    assert error.user_message == (
        "This property cannot be expanded (customer). You may want to try expanding 'data.customer' instead."
    )


def test_expanding_more_than_four_levels_is_rejected(client):
    path = "data.customer.invoice_settings.default_payment_method.customer"
    error = rejected(lambda: client.v1.subscriptions.list(params={"expand": [path]}))
    assert error.user_message == "You cannot expand more than 4 levels of a property."


def test_search_paths_are_searches_not_lookups_of_an_object_called_search(emulator, client):
    error = rejected(lambda: client.v1.customers.search(params={}))
    assert error.code == "parameter_missing" and error.param == "query"
    status, _, body = raw(emulator, "GET", "/v1/subscriptions/search", {"query": "status:'active'"})
    assert status == 200 and body["object"] == "search_result"


def test_operations_stripe_has_but_the_emulator_does_not_are_unrecognized(emulator, client, make):
    customer = make.customer()
    error = rejected(lambda: client.v1.quotes.create(params={"customer": customer.id}))
    assert error.http_status == 404
    assert error.user_message.startswith("Unrecognized request URL (POST: /v1/quotes).")
    status, _, body = raw(emulator, "POST", "/v1/shipping_rates", {"display_name": "Ground"})
    assert status == 404 and body["error"]["message"].startswith("Unrecognized request URL (POST: /v1/shipping_rates).")


def test_parameter_removed_by_a_newer_api_version_is_accepted_from_older_versions(client, make):
    customer = make.customer()
    error = rejected(lambda: client.v1.customers.update(customer.id, params={"coupon": "LAUNCH"}))
    assert error.code == "parameter_unknown" and error.param == "coupon"
    older = rejected(
        lambda: client.v1.customers.update(
            customer.id, params={"coupon": "LAUNCH"}, options={"stripe_version": "2024-06-20"}
        )
    )
    # 2024-06-20 still had customer[coupon]; no such coupon exists, so Stripe's answer is resource_missing.
    assert older.http_status == 400 and older.code == "resource_missing" and older.param == "coupon"
    assert older.headers["Stripe-Version"] == "2024-06-20"


def test_validation_errors_are_not_kept_under_the_idempotency_key(client):
    options = {"idempotency_key": "retry-after-typo"}
    rejected(lambda: client.v1.customers.create(params={"emial": "ada@example.com"}, options=options))
    customer = client.v1.customers.create(params={"email": "ada@example.com"}, options=options)
    assert customer.email == "ada@example.com"


def test_referencing_a_missing_object_in_a_parameter_is_400_not_404(client, make):
    customer = make.customer(card="pm_card_visa")
    error = rejected(
        lambda: client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": "price_nope"}]})
    )
    assert error.http_status == 400 and error.code == "resource_missing" and error.param == "items[0][price]"
    error = rejected(lambda: client.v1.subscriptions.retrieve("sub_nope"))
    assert error.http_status == 404 and error.param == "id"


def test_discount_naming_a_coupon_that_does_not_exist_is_refused_not_billed_in_full(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    error = rejected(
        lambda: client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}], "discounts": [{"coupon": "NOPE"}]}
        )
    )
    assert error.http_status == 400 and error.code == "resource_missing" and error.param == "discounts[0][coupon]"
    assert error.user_message == "No such coupon: 'NOPE'"
    assert client.v1.invoices.list(params={"customer": customer.id}).data == []
