"""The webhook inbox: every verified Stripe event, stored once, with its processing state."""

from django.db import models
from django.utils import timezone

from companies.models import Company


class WebhookEvent(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    created = models.DateTimeField(help_text="When Stripe created the event")
    livemode = models.BooleanField(default=False)
    account = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The processing lease (saas_platform/leases.py): taken at receipt and when a retry is scheduled;
    # a pending event whose lease ran out is published again by beat's sweep.
    leased_at = models.DateTimeField(default=timezone.now)
    requeues = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["state", "leased_at"], name="webhook_lease_idx")]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.state})"
