"""A company's Stripe subscription state and invoices, as last read from Stripe (public schema)."""

from datetime import datetime

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
    # Stripe's `cancellation_details`: the customer's feedback (one of Stripe's values), their comment,
    # and why Stripe cancelled (`cancellation_requested`, `payment_failed`, ...); empty when none.
    cancellation_feedback = models.CharField(max_length=40, blank=True)
    cancellation_comment = models.TextField(blank=True)
    cancellation_reason = models.CharField(max_length=40, blank=True)
    # Stripe Tax: the subscription's `automatic_tax.enabled`, and where Stripe places the customer
    # (the customer's `tax.automatic_tax`: supported, not_collecting, unrecognized_location, failed;
    # "" until read, which happens only with STRIPE_AUTOMATIC_TAX on).
    automatic_tax = models.BooleanField(default=False)
    customer_tax_status = models.CharField(max_length=30, blank=True)
    # When the subscription was first seen past_due; the grace period counts from here.
    past_due_since = models.DateTimeField(null=True, blank=True)
    # Feature lookup keys from Stripe Entitlements, as read from its API (never from an event's
    # summary); None until Stripe reports any. `entitlements_as_of`: when that list was read.
    entitlement_features = models.JSONField(null=True, blank=True)
    entitlements_as_of = models.DateTimeField(null=True, blank=True)
    # The subscription's active discount as Stripe has it: {id, name, percent_off, amount_off, currency,
    # promotion_code, ends_at} (subscriptions/stripe_objects.py Discount); None without one.
    discount = models.JSONField(null=True, blank=True)
    # A promotion code Stripe refused when it was applied (at the trial's start): the code and Stripe's
    # reason, shown to the admins until a code is applied; empty: none refused.
    refused_promotion_code = models.CharField(max_length=255, blank=True)
    refused_promotion_code_reason = models.CharField(max_length=500, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # A change Stripe holds until its invoice is paid (payment_behavior=pending_if_incomplete), as
    # Stripe has it: {"price_lookup_key", "plan", "quantity", "expires_at"}; None without one.
    pending_update = models.JSONField(null=True, blank=True)
    # How many times the stored plan price changed: keys the e-mail a change owes, once per change.
    plan_changes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.company} {self.plan or '-'} {self.status or 'none'}"

    @property
    def discount_ends_at(self) -> datetime | None:
        value = (self.discount or {}).get("ends_at")
        return datetime.fromisoformat(value) if value else None


class Invoice(models.Model):
    """One of a company's Stripe invoices as last read from Stripe (public schema): what the invoice
    list shows without calling Stripe, and how far its dunning e-mails have gone. Amounts are in the
    currency's smallest unit, times are Stripe's (a test clock's, for test-clock customers)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=30)
    billing_reason = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.BigIntegerField(default=0)
    discount = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_due = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    attempt_count = models.PositiveIntegerField(default=0)
    # Its payment waits for the customer to confirm it (3-D Secure): the PaymentIntent requires action.
    payment_action_required = models.BooleanField(default=False)
    created_at = models.DateTimeField()  # Stripe's `created`
    period_start = models.DateTimeField(null=True, blank=True)  # the service period its lines bill
    period_end = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf = models.URLField(max_length=1000, blank=True)
    # The last dunning e-mail owed for this invoice, of the steps in order (subscriptions/dunning.py).
    DUNNING_NONE, DUNNING_FAILED, DUNNING_REMINDER, DUNNING_FINAL = 0, 1, 2, 3
    DUNNING_STEPS = [(0, "none"), (1, "payment failed (or action required)"), (2, "reminder"), (3, "final")]
    dunning_step = models.PositiveSmallIntegerField(choices=DUNNING_STEPS, default=DUNNING_NONE)
    synced_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["company", "-created_at", "-id"], name="invoice_company_newest_idx"),
            # The dunning sweep's candidates: open invoices whose last e-mail is not the final one.
            models.Index(
                fields=["dunning_step"],
                name="invoice_dunning_idx",
                condition=models.Q(status="open", amount_remaining__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or self.stripe_invoice_id} {self.status}"

    @property
    def payment_failed(self) -> bool:
        """Stripe tried to collect it and could not (declined, or waiting for 3-D Secure): still open, unpaid."""
        return self.status == "open" and self.attempt_count > 0 and self.amount_remaining > 0


class PromotionCode(models.Model):
    """A Stripe promotion code and its coupon as last read from Stripe (public schema): the local copy
    sign-up and the apply endpoint check a code against without calling Stripe. Kept by sync_plans and
    by the promotion_code.*, coupon.* and customer.discount.* events (each re-read from Stripe)."""

    stripe_id = models.CharField(max_length=255, unique=True)
    code = models.CharField(max_length=255, db_index=True)  # customers type it in any case
    active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    customer = models.CharField(max_length=255, blank=True)  # only this Stripe customer may redeem it
    first_time_transaction = models.BooleanField(default=False)
    coupon_id = models.CharField(max_length=255)
    coupon_name = models.CharField(max_length=255, blank=True)
    # False once Stripe says the coupon is deleted or no longer valid (redeem_by passed, used up).
    coupon_valid = models.BooleanField(default=True)
    coupon_redeem_by = models.DateTimeField(null=True, blank=True)
    coupon_max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    coupon_times_redeemed = models.PositiveIntegerField(default=0)
    percent_off = models.FloatField(null=True, blank=True)
    amount_off = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.code} ({self.stripe_id})"

    def refusal(self, *, at, customer_id: str = "") -> str | None:
        """Why Stripe would refuse to redeem it at `at` (for `customer_id`), or None: redeemable."""
        reasons = (
            (not self.active, "it is inactive"),
            (self.expires_at is not None and at >= self.expires_at, "it has expired"),
            (
                self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions,
                "it has been redeemed the maximum number of times",
            ),
            (
                not self.coupon_valid
                or (self.coupon_redeem_by is not None and at >= self.coupon_redeem_by)
                or (
                    self.coupon_max_redemptions is not None
                    and self.coupon_times_redeemed >= self.coupon_max_redemptions
                ),
                "its coupon is no longer valid",
            ),
            (bool(self.customer) and self.customer != customer_id, "it is restricted to another customer"),
        )
        return next((reason for failed, reason in reasons if failed), None)
