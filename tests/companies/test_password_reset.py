"""Password reset on the platform host: every login page links to it, the e-mail carries a link that
works once, the answer never tells whether an address has an account, a forged Host header cannot
redirect the link, and a reset lifts the lockout of the account."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from notifications.models import Notification
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, give_subscription
from tests.helpers import host_of, platform_client, send_owed_emails

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-7"


def request_reset(email: str, client: Client | None = None):
    response = (client or platform_client()).post("/password-reset/", {"email": email})
    send_owed_emails()
    return response


def reset_link() -> str:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return re.search(r"https?://\S+/password-reset/\S+/\S+/", mail.outbox[0].body).group(0)


def set_password_through(link: str, password: str = NEW_PASSWORD, client: Client | None = None):
    client = client or platform_client()
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = client.get("/" + path, follow=True)  # Django moves the token into the session, then shows the form
    return form, client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else "/" + path,
        {"new_password1": password, "new_password2": password},
    )


def test_every_login_page_links_to_password_reset(settings):
    company = CompanyFactory()
    give_subscription(company)
    login = Client(HTTP_HOST=f"{host_of(company)}:8123").get("/login/").content.decode()
    assert f'href="http://{settings.PLATFORM_DOMAIN}:8123/password-reset/"' in login

    admin_login = platform_client().get("/admin/login/").content.decode()
    assert 'href="/admin/password-reset/"' in admin_login
    redirect = platform_client().get("/admin/password-reset/")
    assert redirect.status_code == 302 and redirect["Location"] == "/password-reset/"
    page = platform_client().get("/password-reset/")
    assert page.status_code == 200 and 'id="password-reset-form"' in page.content.decode()


def test_the_reset_email_carries_a_link_that_sets_the_password_once():
    user = UserFactory()
    response = request_reset(user.email.upper())
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    message = mail.outbox[0]
    assert message.to == [user.email] and message.subject == "Reset your password"
    link = reset_link()

    form, done = set_password_through(link)
    assert 'id="set-password-form"' in form.content.decode()
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    again, _ = set_password_through(link, "yet-another-passphrase-9")
    assert 'id="invalid-link"' in again.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD), "a used link must not work a second time"


def test_a_weak_new_password_is_refused():
    user = UserFactory()
    request_reset(user.email)
    _, response = set_password_through(reset_link(), "123")
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery")


def test_the_answer_does_not_reveal_whether_an_account_exists():
    user = UserFactory()
    known, unknown = request_reset(user.email), request_reset("nobody-here@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1  # only the real account gets mail
    page_after_known = platform_client().get(known["Location"]).content
    page_after_unknown = platform_client().get(unknown["Location"]).content
    assert re.sub(rb"csrfmiddlewaretoken[^>]*", b"", page_after_known) == re.sub(
        rb"csrfmiddlewaretoken[^>]*", b"", page_after_unknown
    )


def test_the_request_only_owes_the_email_so_its_timing_reveals_no_account():
    """Sending in the request made known addresses answer slower (an SMTP conversation); the request
    now writes one outbox row and the worker sends it."""
    user = UserFactory()
    platform_client().post("/password-reset/", {"email": user.email})
    platform_client().post("/password-reset/", {"email": "nobody-here@example.com"})
    assert mail.outbox == []
    assert list(Notification.objects.values_list("kind", "context")) == [("password_reset", {"user_id": user.pk})]


def test_asking_again_and_again_sends_one_email_per_window():
    """Nobody can make the platform mail an address as often as they like."""
    user = UserFactory()
    for _ in range(5):
        request_reset(user.email)
    assert len(mail.outbox) == 1
    assert Notification.objects.count() == 1


def test_the_link_points_at_the_configured_platform_host_whatever_the_host_header(settings):
    settings.PLATFORM_PORT = "8000"
    user = UserFactory()
    request_reset(user.email, client=Client(HTTP_HOST=f"{settings.PLATFORM_DOMAIN}:6666"))
    assert reset_link().startswith(f"http://{settings.PLATFORM_DOMAIN}:8000/password-reset/")


def test_password_reset_is_not_served_on_company_hosts():
    company = CompanyFactory()
    give_subscription(company)
    assert Client(HTTP_HOST=host_of(company)).get("/password-reset/").status_code == 404


def test_a_password_reset_lifts_the_lockout_of_the_account():
    company = CompanyFactory()
    give_subscription(company)
    person = MembershipFactory(company=company).user
    site = Client(HTTP_HOST=host_of(company))
    for _ in range(5):
        site.post("/login/", {"username": person.email, "password": "not-it"})
    assert site.post("/login/", {"username": person.email, "password": "correct-horse-battery"}).status_code == 429

    request_reset(person.email)
    set_password_through(reset_link())
    response = site.post("/login/", {"username": person.email, "password": NEW_PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in site.session


def test_staff_can_reset_too_and_then_log_into_the_admin():
    operator = UserFactory(operator=True, email="operator-reset@example.com")
    request_reset(operator.email)
    set_password_through(reset_link())
    client = platform_client()
    response = client.post("/admin/login/", {"username": operator.email, "password": NEW_PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
