"""The notices at the top of a company's pages about its billing state (trial ending, a failed
payment, a cancellation at the period's end...). Each is a function of the company and its stored
subscription registered with `@banner`; the pages show every one that applies, in the order they
are registered here. A new notice is one decorated function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from companies.features import LIMIT_NOUNS
from companies.gates import company_has_paid_access, limits_exceeded
from companies.models import Company
from subscriptions.entitlements import FULL_ACCESS_STATUSES, LIVE_STATUSES
from subscriptions.models import CompanySubscription

BILLING_PAGE = "/billing/"
# The customer's `tax.automatic_tax` values with which Stripe can tax (subscriptions/tax.py's PLACED).
PLACED_FOR_TAX = frozenset({"supported", "not_collecting"})
# Stripe warns three days before a trial ends (customer.subscription.trial_will_end): so do we.
TRIAL_ENDING_NOTICE = timedelta(days=3)


@dataclass(frozen=True)
class Banner:
    code: str  # stable, for styling and tests: the element's id is banner-<code>
    tone: str  # info | warning | danger
    text: str
    action_label: str = "Go to Billing"
    action_url: str = BILLING_PAGE


Rule = Callable[[Company, CompanySubscription | None, datetime], Banner | None]
_RULES: list[Rule] = []


def banner(rule: Rule) -> Rule:
    _RULES.append(rule)
    return rule


def banners_for(*, company: Company, subscription: CompanySubscription | None, now: datetime | None = None) -> list:
    now = now or timezone.now()
    return [found for rule in _RULES if (found := rule(company, subscription, now)) is not None]


def _day(moment: datetime) -> str:
    return date_format(moment, "j F Y")


@banner
def trial_ending(company, subscription, now) -> Banner | None:
    if subscription is None or subscription.status != "trialing" or subscription.trial_end is None:
        return None
    if subscription.cancel_at_period_end or subscription.trial_end - now > TRIAL_ENDING_NOTICE:
        return None
    return Banner(
        "trial-ending",
        "warning",
        f"Your free trial ends on {_day(subscription.trial_end)}. Add a card under Billing to keep your plan: "
        "without one the subscription is cancelled then.",
    )


@banner
def past_due(company, subscription, now) -> Banner | None:
    if subscription is None or subscription.status != "past_due":
        return None
    until = company.paid_access_until
    deadline = f" by {_day(until)}" if until and until > now else ""
    return Banner(
        "past-due",
        "danger",
        f"Your last payment failed. Update your card{deadline} to keep the paid features.",
    )


@banner
def cancelled_at_period_end(company, subscription, now) -> Banner | None:
    if subscription is None or not subscription.cancel_at_period_end:
        return None
    if subscription.status not in FULL_ACCESS_STATUSES:
        return None
    ends = subscription.trial_end if subscription.status == "trialing" else subscription.current_period_end
    when = f" on {_day(ends)}" if ends else " at the end of the period"
    text = f"Your subscription is cancelled and ends{when}. You can resume it until then."
    return Banner("cancelling", "warning", text)


@banner
def tax_address_missing(company, subscription, now) -> Banner | None:
    """With Stripe Tax on, a live subscription whose customer Stripe cannot place (a trial started at
    sign-up has no address): ask for the billing address before the next invoice."""
    if not settings.STRIPE_AUTOMATIC_TAX or subscription is None or subscription.status not in LIVE_STATUSES:
        return None
    if subscription.automatic_tax or subscription.customer_tax_status in PLACED_FOR_TAX:
        return None
    before = subscription.trial_end if subscription.status == "trialing" else subscription.current_period_end
    when = f" before {_day(before)}" if before and before > now else ""
    return Banner(
        "tax-address",
        "info",
        f"Add your billing address{when} under Billing: your invoices need it for tax.",
        action_label="Add billing address",
        action_url=BILLING_PAGE + "#tax-details",
    )


@banner
def no_paid_access(company, subscription, now) -> Banner | None:
    if subscription is None or not subscription.status or company_has_paid_access(company):
        return None
    return Banner(
        "subscription-ended",
        "danger",
        "Your subscription has ended: your data is still here, but the paid features are off. "
        "Choose a plan under Billing.",
    )


@banner
def over_limit(company, subscription, now) -> Banner | None:
    """The company uses more than its plan allows (a downgrade accepted, or made in the portal): what is
    there stays, nothing more can be added. Gone by itself once usage is back within the limits."""
    if subscription is None or not subscription.status:
        return None
    exceeded = limits_exceeded(company, company.limits or {})
    if not exceeded:
        return None
    usage = ", ".join(
        f"{item['used']} {LIMIT_NOUNS.get(item['limit'], item['limit'])} of {item['allowed']}" for item in exceeded
    )
    return Banner(
        "over-limit",
        "warning",
        f"Your company is over its plan's limits ({usage}). Everything stays readable, but nothing more can be "
        "added until you remove some or change the plan.",
    )
