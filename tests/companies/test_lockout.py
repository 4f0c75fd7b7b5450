"""Login lockout on every password entry point: the company login, the admin login, the token
endpoint and any other form that calls authenticate(). 5 failures for one (account, address) pair
lock the pair for 15 minutes, the right password included; 50 failures per account and 100 per
address within an hour lock the account or the address; one client's failures never lock the other
accounts behind its address below that ceiling. Counters live in PostgreSQL, so Redis going away
changes nothing; operators unlock from the admin."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from companies.lockout import attempt_address
from companies.models import User
from tests.factories import AccessFailureLogFactory, CompanyFactory, MembershipFactory, UserFactory, give_subscription
from tests.helpers import host_of, platform_client

pytestmark = pytest.mark.django_db

RIGHT = "correct-horse-battery"
WRONG = "not-the-password"


@pytest.fixture
def company():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    return company


def member(company, role="member") -> User:
    return MembershipFactory(company=company, role=role).user


def company_login(company, email: str, password: str, address: str = "203.0.113.1", client: Client | None = None):
    client = client or Client(HTTP_HOST=host_of(company), raise_request_exception=False)
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def admin_login(email: str, password: str, address: str = "203.0.113.1", client: Client | None = None):
    client = client or platform_client()
    client.raise_request_exception = False
    return client.post("/admin/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def token_login(email: str, password: str, address: str = "203.0.113.1", **extra):
    return Client(HTTP_HOST="localhost", raise_request_exception=False).post(
        "/api/auth/token/",
        {"email": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
        **extra,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def assert_locked_page(response):
    assert response.status_code == 429, response.status_code
    assert int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert "Too many failed sign-in attempts" in body and 'id="reset-password"' in body
    assert "_auth_user_id" not in response.client.session


def assert_locked_api(response, *, at_least: int = 1):
    assert response.status_code == 429, (response.status_code, response.content[:300])
    assert response.json()["code"] == "too_many_attempts"
    assert response.json()["detail"].startswith("Too many failed sign-in attempts")
    assert int(response["Retry-After"]) >= at_least


# --- The (account, address) pair ------------------------------------------------------------------


def test_thirty_wrong_passwords_lock_the_company_login(company):
    admin = member(company, "admin")
    statuses = [company_login(company, admin.email, WRONG).status_code for _ in range(30)]
    assert statuses[:4] == [200] * 4  # the form again, with the wrong-credentials error
    assert statuses[4:] == [429] * 26  # the fifth failure locks the pair
    right = company_login(company, admin.email, RIGHT)
    assert_locked_page(right)
    assert 14 * 60 < int(right["Retry-After"]) <= 15 * 60
    assert AccessAttempt.objects.get(username=admin.email).failures_since_start == 5  # refusals are not failures


def test_five_wrong_passwords_lock_the_admin_login_on_the_platform_host():
    operator = UserFactory(operator=True, email="operator-lock@example.com")
    for _ in range(4):
        assert admin_login(operator.email, WRONG).status_code == 200
    assert_locked_page(admin_login(operator.email, WRONG))
    assert_locked_page(admin_login(operator.email, RIGHT))
    assert admin_login(operator.email, RIGHT, address="198.51.100.7").status_code == 302  # another address


def test_five_wrong_passwords_lock_the_token_endpoint_with_429_too_many_attempts():
    user = UserFactory()
    for _ in range(4):
        response = token_login(user.email, WRONG)
        assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert_locked_api(token_login(user.email, WRONG), at_least=14 * 60)
    right = token_login(user.email, RIGHT)
    assert_locked_api(right)
    assert "key" not in right.json()


def test_failures_count_together_on_every_entry_point_and_in_any_letter_case(company):
    """The company login, the admin login and the token endpoint are one password check to an attacker."""
    person = member(company, "admin")
    company_login(company, person.email.upper(), WRONG)
    company_login(company, person.email, WRONG)
    admin_login(person.email, WRONG)
    token_login(person.email.title(), WRONG)
    assert_locked_api(token_login(person.email, WRONG))
    assert_locked_page(company_login(company, person.email, RIGHT))
    assert_locked_page(admin_login(person.email, RIGHT))


def test_failures_from_one_client_do_not_lock_other_accounts_behind_its_ip(company):
    victim, colleague = member(company, "admin"), member(company)
    office = "192.0.2.10"  # one NAT address for the whole office
    for _ in range(10):
        company_login(company, victim.email, WRONG, address=office)
        token_login(victim.email, WRONG, address=office)
    assert_locked_page(company_login(company, victim.email, RIGHT, address=office))
    assert logged_in(company_login(company, colleague.email, RIGHT, address=office))
    assert token_login(colleague.email, RIGHT, address=office).status_code == 201
    # The locked account itself still works from anywhere else.
    assert logged_in(company_login(company, victim.email, RIGHT, address="192.0.2.99"))


def test_a_successful_login_resets_the_pair(company):
    person = member(company)
    for _ in range(4):
        company_login(company, person.email, WRONG)
    assert logged_in(company_login(company, person.email, RIGHT))
    for _ in range(4):
        assert token_login(person.email, WRONG).status_code == 400
    assert token_login(person.email, RIGHT).status_code == 201  # a token exchange resets it too
    for _ in range(4):
        assert company_login(company, person.email, WRONG).status_code == 200
    assert logged_in(company_login(company, person.email, RIGHT))


def test_the_pair_unlocks_after_its_fifteen_minute_cool_down(company):
    person = member(company)
    for _ in range(5):
        company_login(company, person.email, WRONG)
    assert_locked_page(company_login(company, person.email, RIGHT))
    AccessAttempt.objects.filter(username=person.email).update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert_locked_page(company_login(company, person.email, RIGHT))
    AccessAttempt.objects.filter(username=person.email).update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert logged_in(company_login(company, person.email, RIGHT))


# --- The hourly ceilings --------------------------------------------------------------------------


def test_fifty_failures_from_many_addresses_lock_the_account(company):
    target, bystander = member(company, "admin"), member(company)
    addresses = [f"198.18.0.{n}" for n in range(1, 14)]
    sent = 0
    for address in addresses:
        for _ in range(4):  # under the pair's limit everywhere
            if sent < 50:
                assert token_login(target.email, WRONG, address=address).status_code in (400, 429)
                sent += 1
    assert AccessFailureLog.objects.filter(username=target.email).count() == 50
    fresh = "198.18.1.1"
    assert_locked_api(token_login(target.email, RIGHT, address=fresh), at_least=59 * 60)
    assert_locked_page(company_login(company, target.email, RIGHT, address=fresh))
    # The addresses themselves are not locked for other accounts.
    assert logged_in(company_login(company, bystander.email, RIGHT, address=addresses[0]))


def test_a_hundred_failures_from_one_address_lock_that_address(company):
    sprayer = "198.19.0.66"
    for n in range(25):
        for _ in range(4):
            token_login(f"guess{n}@example.com", WRONG, address=sprayer)
    person = member(company)
    assert_locked_api(token_login(person.email, RIGHT, address=sprayer), at_least=59 * 60)
    assert_locked_page(company_login(company, person.email, RIGHT, address=sprayer))
    assert logged_in(company_login(company, person.email, RIGHT, address="198.19.0.67"))


def test_the_ceilings_lift_an_hour_after_the_failures(company):
    person = member(company)
    for n in range(13):
        for _ in range(4):
            token_login(person.email, WRONG, address=f"198.18.2.{n}")
    assert_locked_api(token_login(person.email, RIGHT, address="198.18.3.1"))
    AccessAttempt.objects.all().update(attempt_time=timezone.now() - timedelta(minutes=61))
    AccessFailureLog.objects.all().update(attempt_time=timezone.now() - timedelta(minutes=61))
    assert token_login(person.email, RIGHT, address="198.18.3.1").status_code == 201


# --- Who and where ----------------------------------------------------------------------------------


def test_a_forged_forwarded_for_does_not_change_the_address_without_proxies(company, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    person = member(company)
    for n in range(5):
        Client(HTTP_HOST=host_of(company), raise_request_exception=False).post(
            "/login/", {"username": person.email, "password": WRONG}, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"
        )
    response = Client(HTTP_HOST=host_of(company), raise_request_exception=False).post(
        "/login/", {"username": person.email, "password": RIGHT}, HTTP_X_FORWARDED_FOR="10.9.9.200"
    )
    assert_locked_page(response)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


@pytest.mark.parametrize("num_proxies", [0, 1, 2])
@pytest.mark.parametrize(
    "forwarded_for", [None, "198.51.100.4", "6.6.6.6, 198.51.100.4", "6.6.6.6, 198.51.100.4, 10.0.0.2", "not-an-ip"]
)
def test_the_lockout_sees_the_client_address_exactly_as_drf_throttles_do(settings, num_proxies, forwarded_for):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.1", **headers)
    expected = BaseThrottle().get_ident(request)
    if expected == "not-an-ip":  # more proxies configured than there are: not an address to store
        expected = "10.0.0.1"
    assert attempt_address(request) == expected
    assert attempt_address(Request(request)) == expected


def test_behind_one_proxy_each_client_is_locked_on_its_own(company, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    person = member(company)
    proxy = "10.0.0.1"
    client = Client(HTTP_HOST=host_of(company), raise_request_exception=False)
    for n in range(5):  # the attacker's own header entries vary; the proxy appended the real address last
        client.post(
            "/login/",
            {"username": person.email, "password": WRONG},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"10.7.7.{n}, 198.51.100.23",
        )
    locked = client.post(
        "/login/",
        {"username": person.email, "password": RIGHT},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert_locked_page(locked)
    other_client = Client(HTTP_HOST=host_of(company))
    response = other_client.post(
        "/login/",
        {"username": person.email, "password": RIGHT},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.24",
    )
    assert logged_in(response)


def test_an_overlong_or_odd_username_is_counted_not_a_500():
    client = platform_client()
    client.raise_request_exception = False
    long_name = "x" * 300 + "@example.com"
    statuses = [client.post("/admin/login/", {"username": long_name, "password": WRONG}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert AccessAttempt.objects.get().username == long_name[:255]


# --- Any later password form ------------------------------------------------------------------------


@pytest.mark.parametrize("credential", ["email", "username"])
def test_any_form_calling_authenticate_is_counted_and_refused_when_locked(credential):
    """A future password form (the invitation page) calls authenticate(request, email=..., password=...)."""
    user = UserFactory()
    factory = RequestFactory()

    def attempt(password, wrap=False):
        request = factory.post("/invitations/abc/", REMOTE_ADDR="192.0.2.77")
        request.session = {}
        caller = Request(request) if wrap else request
        return request, authenticate(caller, **{credential: user.email.upper(), "password": password})

    for _ in range(5):
        request, result = attempt(WRONG)
        assert result is None
    assert request.axes_locked_out  # the fifth failure locks
    request, result = attempt(RIGHT)
    assert result is None and request.axes_locked_out
    # A DRF view's Request wrapper: the flag reaches the HttpRequest that AxesMiddleware answers for.
    request, result = attempt(RIGHT, wrap=True)
    assert result is None and request.axes_locked_out


# --- Redis down -------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_lockout_never_500s_when_redis_is_down(company, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"}}
    from django.core.cache import cache

    with pytest.raises(Exception):  # noqa: B017 - proof that the cache really is unreachable
        cache.get("anything")
    person = member(company, "admin")
    person.is_staff = True
    person.save()
    codes = [company_login(company, person.email, WRONG).status_code for _ in range(3)]
    codes += [admin_login(person.email, WRONG).status_code, token_login(person.email, WRONG).status_code]
    assert codes == [200, 200, 200, 200, 429]
    assert_locked_page(company_login(company, person.email, RIGHT))
    assert_locked_page(admin_login(person.email, RIGHT))
    assert_locked_api(token_login(person.email, RIGHT))
    # Other accounts and addresses keep working.
    colleague = member(company)
    assert logged_in(company_login(company, colleague.email, RIGHT))
    assert token_login(colleague.email, RIGHT).status_code == 201


# --- Operators ----------------------------------------------------------------------------------------


def test_an_operator_unlocks_an_account_from_the_admin(company):
    person = member(company, "admin")
    for _ in range(5):  # the pair of the user's own office
        company_login(company, person.email, WRONG, address="192.0.2.50")
    for n in range(13):  # and 52 failures from 13 other addresses: the account ceiling
        for _ in range(4):
            token_login(person.email, WRONG, address=f"198.18.5.{n}")
    assert_locked_api(token_login(person.email, RIGHT, address="198.18.6.1"))
    assert_locked_page(company_login(company, person.email, RIGHT, address="192.0.2.50"))

    operator = UserFactory(operator=True, email="operator-unlock@example.com")
    admin = platform_client(operator)
    index = admin.get("/admin/").content.decode()
    assert "Access attempts" in index and "Access failures" in index
    listing = admin.get("/admin/axes/accessattempt/", {"q": person.email})
    assert listing.status_code == 200 and "Locked Out" in listing.content.decode()
    row = AccessAttempt.objects.get(username=person.email, ip_address="192.0.2.50")
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "unlock_accounts", "_selected_action": [row.pk]}, follow=True
    )
    assert response.status_code == 200 and "Unlocked 1 account(s)" in response.content.decode()
    assert not AccessAttempt.objects.filter(username=person.email).exists()
    assert logged_in(company_login(company, person.email, RIGHT, address="192.0.2.50"))


def test_an_operator_unlocks_an_address_and_a_user_from_the_admin(company):
    person = member(company)
    sprayer = "198.19.9.9"
    for n in range(100):
        token_login(f"spray{n}@example.com", WRONG, address=sprayer)
    assert_locked_api(token_login(person.email, RIGHT, address=sprayer))
    operator = UserFactory(operator=True, email="operator-unlock-ip@example.com")
    admin = platform_client(operator)
    row = AccessFailureLog.objects.filter(ip_address=sprayer).first()
    response = admin.post("/admin/axes/accessfailurelog/", {"action": "unlock_addresses", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert token_login(person.email, RIGHT, address=sprayer).status_code == 201

    for _ in range(5):
        token_login(person.email, WRONG, address=sprayer)
    assert_locked_api(token_login(person.email, RIGHT, address=sprayer))
    response = admin.post("/admin/companies/user/", {"action": "unlock_sign_in", "_selected_action": [person.pk]})
    assert response.status_code == 302
    assert token_login(person.email, RIGHT, address=sprayer).status_code == 201


def test_the_account_ceiling_keeps_counting_past_axes_failure_log_limit(company, settings):
    """Axes trims an account's failure log to AXES_ACCESS_FAILURE_LOG_PER_USER_LIMIT rows (reached after
    some 20 hours of a distributed attack); trimming must drop the oldest rows, not the fresh ones the
    account ceiling counts."""
    limit = settings.AXES_ACCESS_FAILURE_LOG_PER_USER_LIMIT
    person = member(company)
    AccessFailureLogFactory.create_batch(limit, username=person.email, ip_address="198.18.9.1", user_agent="old")
    AccessFailureLog.objects.update(attempt_time=timezone.now() - timedelta(hours=20))
    for n in range(13):
        for _ in range(4):
            token_login(person.email, WRONG, address=f"198.18.8.{n}")
    assert_locked_api(token_login(person.email, RIGHT, address="198.18.7.1"))
    assert AccessFailureLog.objects.filter(username=person.email).count() == limit
    assert AccessFailureLog.objects.filter(username=person.email).exclude(user_agent="old").count() == 50
