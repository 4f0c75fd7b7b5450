"""Handlers of Stripe's REST API, one module per resource family.  Importing
this package registers every handler with ``routing``."""

from . import (  # noqa: F401
    catalog,
    checkout,
    customer_balance,
    customers,
    discounts,
    entitlements,
    events,
    invoice_items,
    invoices,
    meters,
    payment_methods,
    portal,
    subscriptions,
    tax,
    test_clocks,
)
