"""The invitation e-mail, written at send time from the invitation as it is then."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from companies.members import INVITATION_KIND, invitation_accept_path, invitation_mark_sent
from companies.passwords import PASSWORD_RESET_KIND
from companies.selectors import invitation_get, user_active
from companies.services import company_url, platform_url
from notifications.models import Notification
from notifications.services import Message, notification_kind

SUBJECT = "You are invited to join {company}"
BODY = """\
{inviter} invited you to join {company} as {role}.

Accept the invitation here (the link works once, until {expires} UTC):
{url}

If you did not expect this e-mail, ignore it: nothing happens unless you accept.
"""


@notification_kind(INVITATION_KIND)
def invitation_email(notification: Notification) -> Message:
    """The accept link of the invitation's current nonce; nobody (no recipients) once the invitation
    was accepted, revoked, expired or resent since this e-mail was owed (the resend owes its own)."""
    invitation = invitation_get(invitation_id=notification.context.get("invitation_id"))
    now = timezone.now()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= now
        or invitation.nonce != notification.context.get("nonce")
    ):
        return Message(subject="", body="", to=[])
    company = invitation.company
    context = {
        "company": company.name,
        "inviter": invitation.invited_by.email if invitation.invited_by else "An admin",
        "role": invitation.role,
        "expires": invitation.expires_at.strftime("%d %B %Y %H:%M"),
        "url": company_url(company.slug, invitation_accept_path(invitation)),
    }
    invitation_mark_sent(invitation=invitation, sent_at=now)
    return Message(SUBJECT.format(**context), BODY.format(**context), [invitation.email])


@notification_kind(PASSWORD_RESET_KIND)
def password_reset_email(notification: Notification) -> Message:
    """Django's reset link, made now: it works once (it signs the password hash and the last login)
    and for PASSWORD_RESET_TIMEOUT from this moment. Nobody, if the account is gone or cannot log in."""
    user = user_active(user_id=notification.context.get("user_id"))
    if user is None or not user.has_usable_password():
        return Message(subject="", body="", to=[])
    path = reverse(
        "password_reset_confirm",
        urlconf=settings.PUBLIC_SCHEMA_URLCONF,
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {"email": user.email, "link": platform_url(path)}
    subject = "".join(render_to_string("companies/password_reset_subject.txt", context).splitlines())
    return Message(subject, render_to_string("companies/password_reset_email.txt", context), [user.email])
