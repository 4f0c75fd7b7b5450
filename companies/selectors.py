"""Reads about companies and who is in them: members, open invitations, the seats they take."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from companies.models import ApiToken, Company, Domain, Invitation, Membership, User


def company_get(*, company_id: int) -> Company | None:
    return Company.objects.filter(pk=company_id).first()


def company_by_host(*, hostname: str) -> Company | None:
    """The company a host name belongs to, with its entitlement snapshot: one query."""
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    return domain.tenant if domain else None


def company_by_slug(*, slug: str) -> Company | None:
    return Company.objects.filter(slug=slug).first()


def invitations_open(*, company: Company) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked, expired ones included (an admin may resend them)."""
    return Invitation.objects.filter(company=company, accepted_at__isnull=True, revoked_at__isnull=True).select_related(
        "invited_by"
    )


def invitation_open(*, company: Company, invitation_id: int) -> Invitation | None:
    return invitations_open(company=company).filter(pk=invitation_id).first()


def members_of(*, company: Company) -> QuerySet[Membership]:
    """The company's memberships with their users, newest first."""
    return Membership.objects.filter(company=company).select_related("user").order_by("-created_at", "-id")


def member_of(*, company: Company, membership_id: int) -> Membership | None:
    return members_of(company=company).filter(pk=membership_id).first()


def tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's API tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def invitations_pending(*, company: Company, now: datetime | None = None) -> QuerySet[Invitation]:
    """Open invitations that can still be accepted: each holds a seat under the plan's max_members."""
    return invitations_open(company=company).filter(expires_at__gt=now or timezone.now())


def seats_taken(*, company: Company, now: datetime | None = None) -> int:
    """Members plus pending invitations: what the plan's max_members limits."""
    members = Membership.objects.filter(company=company).count()
    return members + invitations_pending(company=company, now=now).count()


def members_count(*, company: Company) -> int:
    """The company's members, admins included: the seats a per-seat plan bills (pending invitations
    are not billed; they count only against max_members)."""
    return Membership.objects.filter(company=company).count()


def membership_for(*, company: Company | None, user) -> Membership | None:
    """The user's membership of the company; None for anonymous users and the platform host."""
    if not getattr(user, "is_authenticated", False) or company is None or not company.pk:
        return None
    return Membership.objects.filter(company=company, user=user).first()


def admin_emails(*, company: Company) -> list[str]:
    """The addresses of the company's admins, oldest membership first."""
    admins = Membership.objects.filter(company=company, role=Membership.Role.ADMIN).order_by("pk")
    return list(admins.values_list("user__email", flat=True))


def invitation_get(*, invitation_id) -> Invitation | None:
    return Invitation.objects.select_related("company", "invited_by").filter(pk=invitation_id).first()


def user_active(*, user_id) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).first()


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=email.lower()).first()
