"""Customer balance transactions (``/v1/customers/{customer}/balance_transactions``):
adjustments made through the API, and what finalized invoices used (see
``balances.py`` and ``invoicing.py``)."""

from .. import balances, stored_objects
from ..errors import invalid_request, not_found
from ..resources import filter_by_created, merge_metadata, paginate
from ..routing import handles


@handles("POST /v1/customers/{customer}/balance_transactions")
def balance_transaction_create(app, request, params, customer_id):
    """A negative ``amount`` is a credit (lowers what the next invoice asks for), a positive one a debit."""
    customer = stored_objects.live_customer(app, customer_id, "id")
    currency = params["currency"].lower()
    if customer.get("currency") not in (None, currency):
        raise invalid_request(
            "The currency of the balance transaction (%s) must match the customer's currency (%s)."
            % (currency, customer["currency"]),
            param="currency",
        )
    transaction = balances.record(
        app,
        customer,
        amount=params["amount"],
        currency=currency,
        kind="adjustment",
        description=params.get("description"),
        metadata=merge_metadata({}, params),
    )
    return balances.render(transaction)


def _transaction(app, customer_id, transaction_id):
    transaction = app.state.get("customer_balance_transactions", transaction_id)
    if transaction is None or transaction["customer"] != customer_id:
        raise not_found("customer balance transaction", transaction_id)
    return transaction


@handles("GET /v1/customers/{customer}/balance_transactions/{transaction}")
def balance_transaction_retrieve(app, request, params, customer_id, transaction_id):
    stored_objects.live_customer(app, customer_id, "id")
    return balances.render(_transaction(app, customer_id, transaction_id))


@handles("POST /v1/customers/{customer}/balance_transactions/{transaction}")
def balance_transaction_update(app, request, params, customer_id, transaction_id):
    """Only ``description`` and ``metadata`` can change: the ledger itself is immutable."""
    stored_objects.live_customer(app, customer_id, "id")
    transaction = _transaction(app, customer_id, transaction_id)
    if "description" in params:
        transaction["description"] = params["description"] or None
    if "metadata" in params:
        transaction["metadata"] = merge_metadata(transaction["metadata"] or {}, params)
    app.state.dirty = True
    return balances.render(transaction)


@handles("GET /v1/customers/{customer}/balance_transactions")
def balance_transaction_list(app, request, params, customer_id):
    stored_objects.live_customer(app, customer_id, "id")
    transactions = [t for t in app.state.all("customer_balance_transactions") if t["customer"] == customer_id]
    if params.get("invoice"):
        transactions = [t for t in transactions if t["invoice"] == params["invoice"]]
    transactions = filter_by_created(transactions, params)
    url = "/v1/customers/%s/balance_transactions" % customer_id
    return paginate([balances.render(t) for t in transactions], params, url)
