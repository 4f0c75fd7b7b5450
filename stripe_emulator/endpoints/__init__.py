"""Handlers of Stripe's REST API, one module per resource family.  Importing
this package registers every handler with ``routing``."""

from . import (  # noqa: F401
    catalog,
    checkout,
    customers,
    entitlements,
    events,
    invoices,
    payment_methods,
    portal,
    subscriptions,
    test_clocks,
)
