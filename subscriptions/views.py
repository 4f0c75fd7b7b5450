"""The HTML side of billing on a company host: Manage billing opens Stripe's portal."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.views.decorators.http import require_POST

from companies.access import member_required
from subscriptions.api import dashboard_url
from subscriptions.billing import billing_portal_session_create


@require_POST
@member_required(admin=True)
def billing_portal(request):
    """Manage billing: a portal session for the company's customer, then 303 to Stripe (without a
    customer yet, NoStripeCustomer's page: errors/no_stripe_customer.html, 409)."""
    url = billing_portal_session_create(company=request.tenant, return_url=dashboard_url(request))
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response
