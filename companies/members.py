"""Who is in a company: invitations, accepting them, roles and removal.

Nobody becomes a member without consent: an admin records an invitation and the outbox e-mails its
accept link; only the link's owner, setting a password (a new person) or proving theirs (an existing
user), turns it into a membership. Every change takes the company's row lock first
(`companies.locks.company_lock`), so the plan's `max_members` — members plus pending invitations —
holds under concurrency, and a company never loses its last admin.

The accept link is `/invitations/<token>/` on the company host, the token signed with Django's
signing over (invitation id, nonce): resending draws a new nonce, which voids every older link, and
accepting or revoking closes the invitation, so a link works once. Nothing secret is stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.contrib.auth import password_validation
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from saas_platform.debounce import Debounce
from saas_platform.errors import ServiceError

from companies.gates import PLAN_LIMIT_REACHED, Denied, limit_denial, require_free_slot
from companies.locks import company_lock
from companies.models import Company, Invitation, Membership, User
from companies.selectors import seats_taken
from notifications.services import notification_owe

# The company's member count changed (someone joined or was removed): work that follows it - the
# seat sync of per-seat plans (subscriptions/seats.py) - is asked for here, debounced per company.
MEMBERS_CHANGED = Debounce("members-changed", window_setting="SEAT_SYNC_DEBOUNCE_SECONDS")

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_KIND = "invitation"
_TOKEN_SALT = "companies.invitation"


class MembershipRefused(ServiceError):
    """A membership rule said no (409): already a member or invited, the last admin. The plan's
    member limit refuses like every other plan limit instead (companies.gates.Denied, 402)."""


class AccountExists(MembershipRefused):
    """An account with the invited address appeared while a new person was accepting."""

    code = "account_exists"
    detail = "An account with this e-mail exists now; enter its password to join."


class InvitationUnusable(MembershipRefused):
    """The accept link cannot be used: closed (410), or tampered or unknown (404)."""

    status = 410

    def __init__(self, detail: str, *, code: str):
        super().__init__(detail, code=code)
        if code == "invitation_not_found":
            self.status = 404


class NoFreeSeat(Denied):
    """Accepting found the company full: a plan downgraded since the invitation was sent may have
    lowered max_members below the members already there."""

    code = PLAN_LIMIT_REACHED
    detail = "This company has no free seat right now; please ask its admin."


def _not_found() -> InvitationUnusable:
    return InvitationUnusable("This invitation link is not valid.", code="invitation_not_found")


# --- Links -------------------------------------------------------------------------------------


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps([invitation.pk, invitation.nonce], salt=_TOKEN_SALT)


def invitation_accept_path(invitation: Invitation) -> str:
    return f"/invitations/{invitation_token(invitation)}/"


def invitation_by_token(*, company: Company, token: str, now: datetime | None = None) -> Invitation:
    """The invitation a link names, if it can still be accepted on this company's host; else
    InvitationUnusable saying why (another company's invitation is not found here, like any other
    company's data)."""
    try:
        invitation_id, nonce = signing.loads(token, salt=_TOKEN_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise _not_found() from None
    if not isinstance(invitation_id, int) or not isinstance(nonce, str):
        raise _not_found()
    invitation = Invitation.objects.select_related("company").filter(pk=invitation_id, company=company).first()
    if invitation is None:
        raise _not_found()
    _require_usable(invitation, nonce, now or timezone.now())
    return invitation


def _require_usable(invitation: Invitation, nonce: str, now: datetime) -> None:
    if invitation.accepted_at is not None:
        raise InvitationUnusable("This invitation has been accepted already.", code="invitation_used")
    if invitation.revoked_at is not None:
        raise InvitationUnusable("This invitation was withdrawn by the company.", code="invitation_revoked")
    if not constant_time_compare(nonce, invitation.nonce):
        raise InvitationUnusable(
            "A newer invitation e-mail was sent; please use the link in that one.", code="invitation_replaced"
        )
    if invitation.expires_at <= now:
        raise InvitationUnusable(
            "This invitation has expired; ask the company for a new one.", code="invitation_expired"
        )


# --- Admin actions -----------------------------------------------------------------------------


def _require_a_free_seat(company: Company, now: datetime) -> None:
    """Inviting takes a seat: members plus pending invitations must stay under max_members."""
    require_free_slot(company, "max_members", seats_taken(company=company, now=now))


def _owe_invitation_email(invitation: Invitation) -> None:
    # Keyed by the nonce: a resend owes a new e-mail, a replayed cause owes nothing more.
    notification_owe(
        subject=f"invitation:{invitation.pk}:{invitation.nonce}",
        kind=INVITATION_KIND,
        company=invitation.company,
        context={"invitation_id": invitation.pk, "nonce": invitation.nonce},
    )


def invitation_create(*, company_id: int, email: str, role: str, invited_by: User | None) -> Invitation:
    """Record an invitation and owe its e-mail. No user and no membership are created.

    Refuses (MembershipRefused) an existing member (`already_member`) and an address with a pending
    invitation (`already_invited`: resend that one); a full company is Denied (`plan_limit_reached`).
    An expired invitation to the same address is closed and replaced.
    """
    email = email.strip().lower()
    now = timezone.now()
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        if Membership.objects.filter(company=company, user__email=email).exists():
            raise MembershipRefused(f"{email} is a member of this company already.", code="already_member")
        earlier = Invitation.objects.filter(
            company=company, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).first()
        if earlier is not None:
            if earlier.expires_at > now:
                raise MembershipRefused(
                    f"{email} has a pending invitation (id {earlier.pk}); resend it instead.", code="already_invited"
                )
            earlier.revoked_at = now
            earlier.save(update_fields=["revoked_at"])
        _require_a_free_seat(company, now)
        invitation = Invitation.objects.create(
            company=company,
            email=email,
            role=role,
            invited_by=invited_by,
            nonce=_new_nonce(),
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        _owe_invitation_email(invitation)
    return invitation


def _lock_open_invitation(company: Company, invitation_id: int) -> Invitation | None:
    return (
        Invitation.objects.select_for_update()
        .filter(pk=invitation_id, company=company, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )


def invitation_resend(*, company_id: int, invitation_id: int) -> Invitation | None:
    """A new link (new nonce: older links stop working) valid for another 7 days, e-mailed again.
    None when the company has no such open invitation. Reviving an expired invitation takes a seat
    again, so it is refused when the company is full."""
    now = timezone.now()
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        invitation = _lock_open_invitation(company, invitation_id)
        if invitation is None:
            return None
        if invitation.expires_at <= now:
            _require_a_free_seat(company, now)
        invitation.nonce = _new_nonce()
        invitation.expires_at = now + INVITATION_LIFETIME
        invitation.sent_at = None
        invitation.save(update_fields=["nonce", "expires_at", "sent_at"])
        _owe_invitation_email(invitation)
    return invitation


def invitation_mark_sent(*, invitation: Invitation, sent_at: datetime) -> None:
    """The e-mail with this invitation's current link went to the mail server (a resend since then
    draws a new nonce: that later e-mail records its own)."""
    Invitation.objects.filter(pk=invitation.pk, nonce=invitation.nonce).update(sent_at=sent_at)


def invitation_revoke(*, company_id: int, invitation_id: int) -> bool:
    """Withdraw an open invitation: its link stops working and an e-mail still owed is not sent."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        invitation = _lock_open_invitation(company, invitation_id)
        if invitation is None:
            return False
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return True


# --- Accepting ---------------------------------------------------------------------------------


def _accept(invitation: Invitation, user_for_invitation) -> Membership:
    """Under the company lock: re-check the invitation (a concurrent accept, revoke or resend may
    have closed it), check the limit, then make the membership and close the invitation.

    Accepting counts members only: the invitation's seat was counted when it was sent, but a plan
    downgraded since may have lowered max_members below the members already there, and then the
    invitation waits (NoFreeSeat, `plan_limit_reached`) until an admin frees a seat or upgrades.
    """
    now = timezone.now()
    with transaction.atomic():
        company = company_lock(company_id=invitation.company_id)
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None:
            raise _not_found()
        _require_usable(locked, invitation.nonce, now)
        if limit_denial(company, "max_members", Membership.objects.filter(company=company).count()):
            raise NoFreeSeat()
        user = user_for_invitation(locked)
        membership, _ = Membership.objects.get_or_create(company=company, user=user, defaults={"role": locked.role})
        locked.accepted_at = now
        locked.save(update_fields=["accepted_at"])
        MEMBERS_CHANGED.request(company.pk)
    return membership


def invitation_accept_as_new_person(*, invitation: Invitation, password: str) -> User:
    """Accept for someone with no account: their user is created with the password they chose
    (validated by Django's password validators) together with the membership, or not at all.
    `account_exists` when an account with the address appeared meanwhile (they must prove it)."""
    if not password:
        raise ValueError("a new person's account needs the password they chose")
    password_validation.validate_password(password, User(email=invitation.email))

    def create_user(locked: Invitation) -> User:
        try:
            with transaction.atomic():
                return User.objects.create_user(locked.email, password)
        except IntegrityError:
            raise AccountExists() from None

    return _accept(invitation, create_user).user


def invitation_accept_as_user(*, invitation: Invitation, user: User) -> Membership:
    """Accept for an existing user whom the caller has authenticated with their own password."""
    if user.email.lower() != invitation.email:
        raise ValueError("an invitation is accepted only by the user it was sent to")
    return _accept(invitation, lambda locked: user)


# --- Roles and removal -------------------------------------------------------------------------


def _refuse_losing_the_last_admin(company: Company, membership: Membership) -> None:
    if membership.role != Membership.Role.ADMIN:
        return
    if Membership.objects.filter(company=company, role=Membership.Role.ADMIN).count() <= 1:
        raise MembershipRefused("A company keeps at least one admin.", code="last_admin")


def member_set_role(*, company_id: int, membership_id: int, role: str) -> Membership | None:
    """Change a member's role; never demotes the last admin (`last_admin`). None if not found."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(company=company, pk=membership_id)
            .first()
        )
        if membership is None:
            return None
        if role != membership.role:
            if role != Membership.Role.ADMIN:
                _refuse_losing_the_last_admin(company, membership)
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def member_remove(*, company_id: int, membership_id: int) -> bool:
    """Remove someone from the company (their user stays); never the last admin (`last_admin`).
    False if not found."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        membership = Membership.objects.select_for_update().filter(company=company, pk=membership_id).first()
        if membership is None:
            return False
        _refuse_losing_the_last_admin(company, membership)
        membership.delete()
        MEMBERS_CHANGED.request(company.pk)
    return True
