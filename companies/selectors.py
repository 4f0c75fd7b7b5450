"""Reads about who is in a company: members, open invitations, the seats they take."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from companies.models import Company, Invitation, Membership, User


def invitations_open(*, company: Company) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked, expired ones included (an admin may resend them)."""
    return Invitation.objects.filter(company=company, accepted_at__isnull=True, revoked_at__isnull=True)


def invitations_pending(*, company: Company, now: datetime | None = None) -> QuerySet[Invitation]:
    """Open invitations that can still be accepted: each holds a seat under the plan's max_members."""
    return invitations_open(company=company).filter(expires_at__gt=now or timezone.now())


def seats_taken(*, company: Company, now: datetime | None = None) -> int:
    """Members plus pending invitations: what the plan's max_members limits."""
    members = Membership.objects.filter(company=company).count()
    return members + invitations_pending(company=company, now=now).count()


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=email.lower()).first()
