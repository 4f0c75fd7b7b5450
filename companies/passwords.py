"""Password reset: the e-mail is owed through the outbox, never sent inside the request.

Sending during the request made the answer slower for addresses that have an account (a timing
oracle for which e-mails exist) and let anyone make the platform mail an address as often as they
liked. Now the request only records an owed e-mail, keyed by the account and a 15-minute window:
however many resets are asked for, an account gets at most one e-mail per window, and the link is
made when the e-mail is sent (companies/notifications.py).
"""

from __future__ import annotations

import time

from companies.models import User
from notifications.services import notification_owe

PASSWORD_RESET_KIND = "password_reset"
RESET_EMAIL_WINDOW_SECONDS = 15 * 60


def password_reset_owe(*, user: User) -> bool:
    """Owe `user` one reset e-mail; False when one is owed (or went out) in this window already."""
    window = int(time.time() // RESET_EMAIL_WINDOW_SECONDS)
    owed = notification_owe(
        subject=f"user:{user.pk}:password_reset:{window}", kind=PASSWORD_RESET_KIND, context={"user_id": user.pk}
    )
    return owed is not None
