"""A company's Stripe subscription state, as last read from Stripe (public schema)."""

from django.db import models

from companies.models import Company


class CompanySubscription(models.Model):
    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="subscription")
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=30, blank=True)
    plan = models.CharField(max_length=40, blank=True)
    price_lookup_key = models.CharField(max_length=100, blank=True)
    # The base plan item's quantity (seats on a per-seat plan, 1 on a flat one) and its price per
    # unit, as Stripe has them; None without a subscription.
    quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_amount = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # The seat sync's own writes of the quantity (subscriptions/seats.py): when the last one was made
    # (the next waits SEAT_SYNC_MIN_INTERVAL_SECONDS), and how many so far (in its idempotency keys).
    seats_synced_at = models.DateTimeField(null=True, blank=True)
    seats_version = models.PositiveIntegerField(default=0)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # When the subscription was first seen past_due; the grace period counts from here.
    past_due_since = models.DateTimeField(null=True, blank=True)
    # Feature lookup keys from Stripe Entitlements, as read from its API (never from an event's
    # summary); None until Stripe reports any. `entitlements_as_of`: when that list was read.
    entitlement_features = models.JSONField(null=True, blank=True)
    entitlements_as_of = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.company} {self.plan or '-'} {self.status or 'none'}"
