"""The e-mail outbox: one row per e-mail the platform owes, unique on what it is about and its kind."""

from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """An owed e-mail. `subject` names what it is about ("event:evt_1", "invitation:7:<nonce>",
    later "invoice:in_1"), so (subject, kind) is owed once however often its cause is replayed.

    States: owed (not claimed), claimed (a worker is sending it, or died while sending: in doubt),
    sent. See notifications/services.py for why an in-doubt row is not sent again on its own.
    """

    subject = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)
    company = models.ForeignKey("companies.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The lease of an owed e-mail (saas_platform/leases.py): taken when it is owed and when a failed
    # send releases it; an owed e-mail whose lease ran out is published again by beat's sweep.
    leased_at = models.DateTimeField(default=timezone.now)
    requeues = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "kind"], name="one_notification_per_subject")]
        indexes = [models.Index(fields=["sent_at", "claimed_at", "leased_at"], name="notification_lease_idx")]

    def __str__(self) -> str:
        return f"{self.kind} about {self.subject} ({self.state})"

    @property
    def state(self) -> str:
        if self.sent_at:
            return "sent"
        return "in doubt" if self.claimed_at else "owed"
