"""Handlers of Stripe's REST API, one module per resource family.  Importing
this package registers every handler with ``routing``."""

from . import (  # noqa: F401
    catalog,
    charges,
    checkout,
    credit_notes,
    customer_balance,
    customers,
    discounts,
    entitlements,
    events,
    invoice_items,
    invoices,
    meters,
    payment_intents,
    payment_methods,
    portal,
    subscription_schedules,
    subscriptions,
    tax,
    test_clocks,
)
