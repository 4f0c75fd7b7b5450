"""The billing API on a company host (`billing.py`: the subscription, the portal, Checkout, invoices;
`changes.py`: an admin's changes to the subscription) and the public plan list on the platform host."""

from subscriptions.api.billing import (
    CheckoutSessionView,
    InvoiceListView,
    PlanListView,
    PortalSessionView,
    SubscriptionView,
    UpcomingInvoiceView,
    dashboard_url,
)
from subscriptions.api.changes import (
    BillingDetailsView,
    CancelView,
    PlanChangePreviewView,
    PlanChangeView,
    PromotionCodeView,
    ResumeView,
)

__all__ = [
    "BillingDetailsView",
    "CancelView",
    "CheckoutSessionView",
    "InvoiceListView",
    "PlanChangePreviewView",
    "PlanChangeView",
    "PlanListView",
    "PortalSessionView",
    "PromotionCodeView",
    "ResumeView",
    "SubscriptionView",
    "UpcomingInvoiceView",
    "dashboard_url",
]
