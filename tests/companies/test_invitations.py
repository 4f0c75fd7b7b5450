"""People join a company only by accepting an invitation: no account and no membership without the
consent (and the password) of the person, seats counted under the company's lock, links single use."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.signals import user_login_failed
from django.core import mail
from django.test import Client
from django.utils import timezone

from companies.gates import Denied
from companies.members import (
    MembershipRefused,
    invitation_accept_path,
    invitation_by_token,
    invitation_create,
    invitation_resend,
)
from companies.models import Invitation, Membership, User
from notifications.models import Notification
from notifications.services import notification_send
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, give_subscription
from tests.helpers import company_client, contend_for_a_lock, host_of
from tests.plugins.services import wait_until, worker_mail

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-secret"


@pytest.fixture
def company():
    """A company on the basic plan (3 seats) with its admin."""
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly")
    admin = MembershipFactory(company=company, role="admin").user
    return company, admin


def _invite(client, email: str, role: str = "member"):
    return client.post("/api/invitations/", {"email": email, "role": role}, content_type="application/json")


def _link(email: str, company) -> str:
    return invitation_accept_path(Invitation.objects.get(company=company, email=email, accepted_at__isnull=True))


def _accept_new(client: Client, path: str, password: str = PASSWORD, again: str | None = None):
    return client.post(path, {"new_password1": password, "new_password2": password if again is None else again})


def test_inviting_does_not_create_a_user_or_membership(company):
    company, admin = company
    response = _invite(company_client(company, admin), "New.Person@Example.com", "admin")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new.person@example.com" and body["role"] == "admin" and body["state"] == "pending"
    assert body["invited_by"] == admin.email
    assert response["Location"].endswith(f"/api/invitations/{body['id']}/")
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert Membership.objects.filter(company=company).count() == 1
    invitation = Invitation.objects.get(pk=body["id"])
    assert Notification.objects.filter(kind="invitation", subject=f"invitation:{invitation.pk}:{invitation.nonce}")
    assert "1 (+1 invited) of 3" in company_client(company, admin).get("/").content.decode()  # the dashboard


def test_the_old_members_endpoint_is_gone_and_adds_nobody(company):
    company, admin = company
    response = company_client(company, admin).post(
        "/api/members/", {"email": "squatted@example.com"}, content_type="application/json"
    )
    assert response.status_code == 410
    assert response.json()["code"] == "use_invitations"
    assert "/api/invitations/" in response.json()["detail"]
    assert not User.objects.filter(email="squatted@example.com").exists()
    assert not Invitation.objects.exists()


def test_user_rows_always_carry_a_password_their_owner_chose():
    with pytest.raises(ValueError):
        User.objects.create_user("nobody@example.com", None)
    assert not User.objects.filter(email="nobody@example.com").exists()


def test_only_admins_see_and_send_invitations(company):
    company, admin = company
    member = MembershipFactory(company=company).user
    _invite(company_client(company, admin), "someone@example.com")
    client = company_client(company, member)
    assert client.get("/api/invitations/").status_code == 403
    assert _invite(client, "other@example.com").status_code == 403
    listed = company_client(company, admin).get("/api/invitations/").json()["results"]
    assert [i["email"] for i in listed] == ["someone@example.com"]


def test_inviting_a_member_or_someone_already_invited_is_a_conflict(company):
    company, admin = company
    member = MembershipFactory(company=company).user
    client = company_client(company, admin)
    refused = _invite(client, member.email.upper())
    assert refused.status_code == 409 and refused.json()["code"] == "already_member"
    assert _invite(client, "twice@example.com").status_code == 201
    again = _invite(client, "twice@example.com")
    assert again.status_code == 409 and again.json()["code"] == "already_invited"
    assert Invitation.objects.filter(email="twice@example.com").count() == 1


def test_new_person_chooses_a_password_and_joins(company):
    company, admin = company
    _invite(company_client(company, admin), "newcomer@example.com")
    path = _link("newcomer@example.com", company)
    client = company_client(company)

    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert company.name in html and 'id="invitation-role">member<' in html and "new_password2" in html

    assert _accept_new(client, path, again="something-else-entirely").status_code == 200
    weak = _accept_new(client, path, password="password")
    assert weak.status_code == 200 and "too common" in weak.content.decode()
    assert not User.objects.filter(email="newcomer@example.com").exists()

    accepted = _accept_new(client, path)
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    user = User.objects.get(email="newcomer@example.com")
    assert user.check_password(PASSWORD)
    assert Membership.objects.get(company=company, user=user).role == "member"
    assert client.get("/").status_code == 200  # logged in on the company host
    assert Invitation.objects.get(email="newcomer@example.com").accepted_at is not None
    assert company_client(company, admin).get("/api/invitations/").json()["results"] == []


def test_existing_user_must_prove_their_password_to_join(company):
    company, admin = company
    elsewhere = MembershipFactory(role="admin").user  # a member of another company
    _invite(company_client(company, admin), elsewhere.email)
    path = _link(elsewhere.email, company)
    client = company_client(company)

    page = client.get(path).content.decode()
    assert "already have an account" in page and 'name="new_password1"' not in page
    wrong = client.post(path, {"password": "not-their-password"})
    assert wrong.status_code == 200 and "not the password" in wrong.content.decode()
    # A new password in the new-person fields does not bypass the check either.
    assert _accept_new(client, path).status_code == 200
    assert not Membership.objects.filter(company=company, user=elsewhere).exists()
    assert "_auth_user_id" not in client.session

    joined = client.post(path, {"password": "correct-horse-battery"})
    assert joined.status_code == 302
    assert Membership.objects.get(company=company, user=elsewhere).role == "member"
    elsewhere.refresh_from_db()
    assert elsewhere.check_password("correct-horse-battery")  # their account is untouched
    assert client.get("/").status_code == 200


def test_a_wrong_password_on_the_accept_page_is_a_failed_login_the_lockout_counts(company):
    company, admin = company
    elsewhere = UserFactory()
    _invite(company_client(company, admin), elsewhere.email)
    path = _link(elsewhere.email, company)
    failures = []

    def record(sender, credentials, request=None, **kwargs):
        failures.append((credentials.get("email"), request.path if request else None))

    user_login_failed.connect(record)
    try:
        company_client(company).post(path, {"password": "guess"})
    finally:
        user_login_failed.disconnect(record)
    assert failures == [(elsewhere.email, path)]


def test_five_wrong_passwords_on_the_accept_page_lock_it_even_for_the_right_one(company):
    """The accept page is a password form like the login: guessing there is locked out the same way."""
    company, admin = company
    elsewhere = UserFactory()
    _invite(company_client(company, admin), elsewhere.email)
    path = _link(elsewhere.email, company)
    visitor = company_client(company)
    answers = [visitor.post(path, {"password": f"guess-{n}"}).status_code for n in range(5)]
    assert answers[:4] == [200] * 4 and answers[4] == 429, answers
    refused = visitor.post(path, {"password": "correct-horse-battery"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert not Membership.objects.filter(company=company, user=elsewhere).exists()


def test_an_account_made_meanwhile_must_be_proven_not_taken_over(company):
    """Someone signs up with the invited address between the page and the submit: the new-person
    path must not set a password on (or attach) that account."""
    from companies.members import invitation_accept_as_new_person, invitation_by_token

    company, admin = company
    _invite(company_client(company, admin), "raced@example.com")
    path = _link("raced@example.com", company)
    invitation = invitation_by_token(company=company, token=path.split("/")[2])
    meanwhile = UserFactory(email="raced@example.com")
    with pytest.raises(MembershipRefused) as refused:
        invitation_accept_as_new_person(invitation=invitation, password=PASSWORD)
    assert refused.value.code == "account_exists"
    meanwhile.refresh_from_db()
    assert meanwhile.check_password("correct-horse-battery")
    assert not Membership.objects.filter(company=company, user=meanwhile).exists()
    # The page now asks for that account's password.
    page = _accept_new(company_client(company), path)
    assert page.status_code == 200 and "already have an account" in page.content.decode()
    assert not Membership.objects.filter(company=company, user=meanwhile).exists()


def test_invitation_link_is_single_use(company):
    company, admin = company
    _invite(company_client(company, admin), "once@example.com")
    path = _link("once@example.com", company)
    assert _accept_new(company_client(company), path).status_code == 302

    second = company_client(company)
    page = second.get(path)
    assert page.status_code == 410 and 'data-code="invitation_used"' in page.content.decode()
    again = _accept_new(second, path, password="another-long-secret")
    assert again.status_code == 410
    assert User.objects.get(email="once@example.com").check_password(PASSWORD)
    assert "_auth_user_id" not in second.session


def test_resend_voids_the_old_link(company):
    company, admin = company
    client = company_client(company, admin)
    invitation_id = _invite(client, "resent@example.com").json()["id"]
    old_path = _link("resent@example.com", company)
    old_notification = Notification.objects.get(kind="invitation")

    resent = client.post(f"/api/invitations/{invitation_id}/resend/")
    assert resent.status_code == 200 and resent.json()["state"] == "pending"
    new_path = _link("resent@example.com", company)
    assert new_path != old_path

    old = company_client(company).get(old_path)
    assert old.status_code == 410 and 'data-code="invitation_replaced"' in old.content.decode()
    assert _accept_new(company_client(company), old_path).status_code == 410
    assert not User.objects.filter(email="resent@example.com").exists()

    # The old e-mail, if still owed, goes to nobody; the new one carries the new link.
    new_notification = Notification.objects.exclude(pk=old_notification.pk).get(kind="invitation")
    assert notification_send(notification_id=old_notification.pk) is True
    assert mail.outbox == []
    assert notification_send(notification_id=new_notification.pk) is True
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["resent@example.com"]
    # The e-mail's link is signed when the e-mail is rendered (a later second signs differently), so it
    # is compared by the invitation it names, not character by character.
    emailed = re.search(rf"http://{re.escape(host_of(company))}:8000(/invitations/[^/\s]+/)", mail.outbox[0].body)
    assert emailed, mail.outbox[0].body
    token = emailed.group(1).strip("/").rsplit("/", 1)[1]
    assert invitation_by_token(company=company, token=token).pk == invitation_id
    assert company_client(company).get(emailed.group(1)).status_code == 200


def test_expired_invitation_cannot_be_accepted_until_resent(company):
    company, admin = company
    client = company_client(company, admin)
    invitation_id = _invite(client, "late@example.com").json()["id"]
    path = _link("late@example.com", company)
    Invitation.objects.filter(pk=invitation_id).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))

    page = company_client(company).get(path)
    assert page.status_code == 410 and 'data-code="invitation_expired"' in page.content.decode()
    assert _accept_new(company_client(company), path).status_code == 410
    assert not User.objects.filter(email="late@example.com").exists()
    assert client.get("/api/invitations/").json()["results"][0]["state"] == "expired"

    assert client.post(f"/api/invitations/{invitation_id}/resend/").status_code == 200
    assert _accept_new(company_client(company), _link("late@example.com", company)).status_code == 302


def test_revoked_invitation_cannot_be_accepted_and_its_email_is_not_sent(company):
    company, admin = company
    client = company_client(company, admin)
    invitation_id = _invite(client, "withdrawn@example.com").json()["id"]
    path = _link("withdrawn@example.com", company)

    assert client.delete(f"/api/invitations/{invitation_id}/").status_code == 204
    assert client.delete(f"/api/invitations/{invitation_id}/").status_code == 404
    assert client.post(f"/api/invitations/{invitation_id}/resend/").status_code == 404
    page = company_client(company).get(path)
    assert page.status_code == 410 and 'data-code="invitation_revoked"' in page.content.decode()
    assert _accept_new(company_client(company), path).status_code == 410
    assert not User.objects.filter(email="withdrawn@example.com").exists()

    notification = Notification.objects.get(kind="invitation")
    assert notification_send(notification_id=notification.pk) is True
    assert mail.outbox == []


def test_tampered_or_foreign_links_are_not_found(company):
    company, admin = company
    other = CompanyFactory()
    _invite(company_client(company, admin), "target@example.com")
    path = _link("target@example.com", company)
    token = path.split("/")[2]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (f"/invitations/{forged}/", "/invitations/not-a-token/"):
        response = company_client(company).get(bad)
        assert response.status_code == 404 and 'data-code="invitation_not_found"' in response.content.decode()

    # The right token on another company's host.
    assert company_client(other).get(path).status_code == 404
    assert _accept_new(company_client(other), path).status_code == 404
    assert not User.objects.filter(email="target@example.com").exists()


def test_someone_logged_in_as_another_user_is_asked_to_log_out(company):
    company, admin = company
    _invite(company_client(company, admin), "colleague@example.com")
    path = _link("colleague@example.com", company)
    client = company_client(company, admin)

    page = client.get(path)
    assert page.status_code == 200 and 'id="signed-in-as-other"' in page.content.decode()
    assert _accept_new(client, path).status_code == 200
    assert not User.objects.filter(email="colleague@example.com").exists()

    logged_out = client.post("/logout/", {"next": path})
    assert logged_out.status_code == 302 and logged_out["Location"] == path
    assert 'name="new_password1"' in client.get(path).content.decode()


def test_the_accept_form_needs_its_csrf_token(company):
    company, admin = company
    _invite(company_client(company, admin), "csrf@example.com")
    path = _link("csrf@example.com", company)
    client = Client(HTTP_HOST=host_of(company), enforce_csrf_checks=True)
    page = client.get(path).content.decode()
    assert _accept_new(client, path).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    accepted = client.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


def test_pending_invitations_take_seats_under_the_member_limit(company):
    company, admin = company  # basic: 3 seats
    MembershipFactory(company=company)
    client = company_client(company, admin)
    first = _invite(client, "third@example.com").json()
    full = _invite(client, "fourth@example.com")
    assert full.status_code == 402 and full.json()["code"] == "plan_limit_reached"
    assert "upgrade_url" in full.json()
    assert client.delete(f"/api/invitations/{first['id']}/").status_code == 204
    assert _invite(client, "fourth@example.com").status_code == 201
    # An expired invitation frees its seat; reviving it needs a free one again.
    Invitation.objects.filter(email="fourth@example.com").update(expires_at=timezone.now())
    assert _invite(client, "fifth@example.com").status_code == 201
    stale = Invitation.objects.get(email="fourth@example.com")
    refused = client.post(f"/api/invitations/{stale.pk}/resend/")
    assert refused.status_code == 402 and refused.json()["code"] == "plan_limit_reached"


def test_accepting_is_refused_while_a_downgrade_leaves_no_free_seat(company):
    company, admin = company
    MembershipFactory(company=company)
    _invite(company_client(company, admin), "waiting@example.com")
    path = _link("waiting@example.com", company)
    # The plan shrank after the invitation was sent: the two members fill it.
    type(company).objects.filter(pk=company.pk).update(limits={"max_posts": 10, "max_members": 2})

    refused = _accept_new(company_client(company), path)
    assert refused.status_code == 402 and 'data-code="plan_limit_reached"' in refused.content.decode()
    assert not User.objects.filter(email="waiting@example.com").exists()
    assert Invitation.objects.get(email="waiting@example.com").accepted_at is None

    type(company).objects.filter(pk=company.pk).update(limits={"max_posts": 10, "max_members": 3})
    assert _accept_new(company_client(company), path).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_concurrent_invitations_cannot_exceed_the_member_limit(company):
    """Two admins take the last seat at once: the second waits for the first's company lock, then
    sees its invitation and is refused. Without the lock it would count before the first committed."""
    company, admin = company
    MembershipFactory(company=company)  # 2 of 3 seats taken: one left

    def invite(email: str):
        return invitation_create(company_id=company.pk, email=email, role="member", invited_by=admin)

    second = contend_for_a_lock(
        holder=lambda: invite("a@example.com"), contender=lambda: invite("b@example.com"), expected=Denied
    )
    assert isinstance(second, Denied) and second.code == "plan_limit_reached"
    assert list(Invitation.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_last_admin_cannot_be_demoted(company):
    company, admin = company
    member = MembershipFactory(company=company)
    own = Membership.objects.get(company=company, user=admin)
    client = company_client(company, admin)

    refused = client.patch(f"/api/members/{own.pk}/", {"role": "member"}, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "last_admin"
    assert (
        company_client(company, member.user)
        .patch(f"/api/members/{member.pk}/", {"role": "admin"}, content_type="application/json")
        .status_code
        == 403
    )

    promoted = client.patch(f"/api/members/{member.pk}/", {"role": "admin"}, content_type="application/json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    demoted = client.patch(f"/api/members/{own.pk}/", {"role": "member"}, content_type="application/json")
    assert demoted.status_code == 200
    assert list(Membership.objects.filter(company=company, role="admin").values_list("pk", flat=True)) == [member.pk]
    # The last admin cannot be removed either.
    gone = company_client(company, member.user).delete(f"/api/members/{member.pk}/")
    assert gone.status_code == 409 and gone.json()["code"] == "last_admin"


def test_passwordless_users_become_pending_invitations(company):
    company, admin = company
    other = CompanyFactory()
    migration = importlib.import_module("companies.migrations.0004_passwordless_users_to_invitations")

    # Rows exactly as the old POST /api/members/ left them: a user without a password, attached.
    squatted = UserFactory(email="victim@example.com", password=None)  # None: an unusable password
    MembershipFactory(company=company, user=squatted, role="admin")
    MembershipFactory(company=other, user=squatted, role="member")
    operator = UserFactory(email="operator@example.com", is_staff=True, password=None)
    real = MembershipFactory(company=company).user

    migration.passwordless_users_to_invitations(django_apps, None)

    assert not User.objects.filter(email="victim@example.com").exists()
    assert not Membership.objects.filter(user__email="victim@example.com").exists()
    invitations = {i.company_id: i for i in Invitation.objects.filter(email="victim@example.com")}
    assert {company.pk: "admin", other.pk: "member"} == {k: i.role for k, i in invitations.items()}
    assert all(i.accepted_at is None and i.revoked_at is None and i.sent_at is None for i in invitations.values())
    assert User.objects.filter(pk__in=[operator.pk, real.pk, admin.pk]).count() == 3
    assert Membership.objects.filter(company=company).count() == 2

    # The owner of the address can now join with a password of their own, once an admin resends.
    resent = invitation_resend(company_id=company.pk, invitation_id=invitations[company.pk].pk)
    assert _accept_new(company_client(company), invitation_accept_path(resent)).status_code == 302
    assert Membership.objects.get(company=company, user__email="victim@example.com").role == "admin"


@pytest.mark.django_db(transaction=True)
def test_invitation_email_goes_out_once_with_a_working_link(company, celery_worker_process):
    company, admin = company
    assert _invite(company_client(company, admin), "by-mail@example.com").status_code == 201
    notification = Notification.objects.get(kind="invitation")
    wait_until(
        lambda: Notification.objects.filter(pk=notification.pk, sent_at__isnull=False).exists(),
        timeout=30,
        message="the worker to send the invitation",
    )
    assert notification_send(notification_id=notification.pk) is False  # never twice
    sent = [m for m in worker_mail() if "To: by-mail@example.com" in m]
    assert len(sent) == 1
    assert f"You are invited to join {company.name}" in sent[0]
    url = re.search(r"http://(\S+?)(/invitations/\S+/)", sent[0])
    assert url.group(1) == f"{host_of(company)}:8000"  # PLATFORM_PORT of the worker's settings
    assert Invitation.objects.get(email="by-mail@example.com").sent_at is not None

    client = Client(HTTP_HOST=host_of(company))
    assert client.get(url.group(2)).status_code == 200
    assert _accept_new(client, url.group(2)).status_code == 302
    assert Membership.objects.filter(company=company, user__email="by-mail@example.com").exists()


def test_the_admin_cannot_make_password_less_users_and_can_revoke_invitations(company):
    from tests.helpers import platform_client

    company, admin = company
    operator = UserFactory(operator=True, email="ops@example.com")
    client = platform_client(operator)
    assert client.get("/admin/companies/user/add/").status_code == 403
    invitation = invitation_create(company_id=company.pk, email="withdraw@example.com", role="member", invited_by=admin)
    response = client.post(
        "/admin/companies/invitation/", {"action": "revoke", "_selected_action": [invitation.pk]}, follow=True
    )
    assert response.status_code == 200 and "1 invitation(s) revoked." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_an_admin_cannot_flood_an_inbox_with_invitation_emails(company, monkeypatch):
    from companies.api import _InvitationThrottle

    monkeypatch.setattr(_InvitationThrottle, "THROTTLE_RATES", {"invitations": "3/hour"})
    company, admin = company
    client = company_client(company, admin)
    invitation_id = _invite(client, "target@example.com").json()["id"]
    assert client.post(f"/api/invitations/{invitation_id}/resend/").status_code == 200
    assert client.post(f"/api/invitations/{invitation_id}/resend/").status_code == 200
    flooded = client.post(f"/api/invitations/{invitation_id}/resend/")
    assert flooded.status_code == 429 and flooded.json()["code"] == "throttled" and flooded["Retry-After"]
    assert client.get("/api/invitations/").status_code == 200  # listing is not limited
    assert Notification.objects.filter(kind="invitation").count() == 3
