"""Password-less users made by the old `POST /api/members/` become pending invitations.

That endpoint created a user without a password for any new address and attached it to the company:
its owner never agreed and could neither sign up nor log in with their own address. Each of their
memberships becomes a pending invitation (same company, address and role; valid 7 days from this
migration and *not* e-mailed: an admin sends it with "resend" if they still want the person), and
the memberships and users are removed. Users with a usable password, staff and superusers stay.
"""

import secrets
from datetime import timedelta

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import migrations
from django.utils import timezone


def passwordless_users_to_invitations(apps, schema_editor) -> None:
    User = apps.get_model("companies", "User")
    Membership = apps.get_model("companies", "Membership")
    Invitation = apps.get_model("companies", "Invitation")
    now = timezone.now()
    users = User.objects.filter(
        password__startswith=UNUSABLE_PASSWORD_PREFIX, is_staff=False, is_superuser=False
    ).order_by("pk")
    for user in users:
        email = user.email.lower()
        for membership in Membership.objects.filter(user=user).order_by("pk"):
            already_open = Invitation.objects.filter(
                company_id=membership.company_id, email=email, accepted_at__isnull=True, revoked_at__isnull=True
            ).exists()
            if not already_open:
                Invitation.objects.create(
                    company_id=membership.company_id,
                    email=email,
                    role=membership.role,
                    invited_by=None,
                    nonce=secrets.token_urlsafe(16),
                    created_at=now,
                    expires_at=now + timedelta(days=7),
                )
        Membership.objects.filter(user=user).delete()
        user.delete()


class Migration(migrations.Migration):
    dependencies = [("companies", "0003_invitation")]

    operations = [migrations.RunPython(passwordless_users_to_invitations, migrations.RunPython.noop, elidable=False)]
