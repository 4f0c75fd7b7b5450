"""Customer balance transactions: the ledger behind ``customer.balance`` (a
negative balance is credit the next finalized invoice uses, a positive one is
owed and added to it).  Every function expects the state lock to be held."""

from . import stored_objects
from .events import diff_previous, emit
from .resources import public
from .store import new_id


def record(
    app, customer, *, amount, currency, kind, invoice_id=None, description=None, metadata=None, credit_note_id=None
):
    """Add ``amount`` to the customer's balance; returns the stored transaction."""
    before = stored_objects.render_customer(app, customer)
    ending = (customer.get("balance") or 0) + amount
    transaction = {
        "id": new_id("cbtxn_"),
        "object": "customer_balance_transaction",
        "amount": amount,
        "checkout_session": None,
        "created": stored_objects.customer_now(app, customer),
        "credit_note": credit_note_id,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "description": description,
        "ending_balance": ending,
        "invoice": invoice_id,
        "livemode": False,
        "metadata": metadata,
        "type": kind,
    }
    app.state.put("customer_balance_transactions", transaction)
    customer["balance"] = ending
    customer["currency"] = customer.get("currency") or currency
    after = stored_objects.render_customer(app, customer)
    emit(app, "customer.updated", after, diff_previous(before, after))
    return transaction


def render(transaction):
    return public(transaction)
