"""Login lockout on top of django-axes: who an attempt is for (the e-mail, whichever credential name
carries it) and from where (the client address exactly as DRF's throttles resolve it), the two hourly
ceilings axes has no setting for, and the operator's unlock.

Axes counts failures per (account, address) pair in PostgreSQL and locks the pair at
AXES_FAILURE_LIMIT for AXES_COOLOFF_TIME. With AXES_ENABLE_ACCESS_FAILURE_LOG it also writes one row
per failure; `LockoutHandler` counts those rows over the last hour per account and per address for
the ceilings. Nothing here touches Redis: a cache outage neither opens nor breaks the lockout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt, AccessFailureLog
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

CEILING_WINDOW = timedelta(hours=1)
# The user model's e-mail is at most 254 characters; axes stores at most 255. A longer submitted
# "e-mail" names no account, and must be counted rather than overflow the column (a 500).
_MAX_USERNAME = 255
_AXES_REQUEST_ATTRIBUTES = (
    "axes_updated",
    "axes_locked_out",
    "axes_credentials",
    "axes_attempt_time",
    "axes_ip_address",
    "axes_user_agent",
    "axes_path_info",
    "axes_http_accept",
    "axes_failures_since_start",
)


def normalized_email(value) -> str | None:
    if value is None:
        return None
    email = str(value).replace("\x00", "").strip().lower()[:_MAX_USERNAME]
    return email or None


def attempt_email(request: HttpRequest, credentials: Mapping | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account an attempt is for. Password forms pass the e-mail as
    `username` (Django's login forms) or `email` (the token endpoint); the user model keeps it in
    lower case, so `Admin@X` and `admin@x` are one account to the counters too."""
    source = credentials
    if source is None:
        source = getattr(request, "data", None)
        if not isinstance(source, Mapping):
            source = request.POST
    return normalized_email(source.get("email") or source.get("username"))


_throttle = BaseThrottle()


def attempt_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: DRF's own client identification (REMOTE_ADDR, or the entry of
    X-Forwarded-For that the NUM_PROXIES trusted proxies added), so the lockout and the API
    throttles always agree on who the client is and a forged header moves neither."""
    address = _throttle.get_ident(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        # Only when NUM_PROXIES counts more proxies than there are, so the entry is the client's own
        # text: fall back to the socket's address rather than store it.
        remote = request.META.get("REMOTE_ADDR")
        try:
            return str(ipaddress.ip_address(remote))
        except ValueError:
            return None


def _ceilings(email: str | None, address: str | None) -> Iterator[tuple[dict, int]]:
    if email:
        yield {"username": email}, settings.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR
    if address:
        yield {"ip_address": address}, settings.LOGIN_FAILURES_PER_ADDRESS_PER_HOUR


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler, locking also when an account or an address reaches its hourly ceiling."""

    def lockout_remaining(self, request: HttpRequest, credentials: Mapping | None = None) -> timedelta:
        """How long this attempt's account and address stay locked (zero: not locked)."""
        now = request.axes_attempt_time
        waits = [timedelta(0)]
        if self.get_failures(request, credentials) >= get_failure_limit(request, credentials):
            pairs = self.get_user_attempts(request, credentials)
            last = max(filter(None, (pair.aggregate(last=Max("attempt_time"))["last"] for pair in pairs)), default=now)
            waits.append(last + get_cool_off(request) - now)
        email = get_client_username(request, credentials)
        for filters, limit in _ceilings(email, request.axes_ip_address):
            # Locked while `limit` failures are younger than an hour: until the limit-th newest ages out.
            nth_newest = (
                AccessFailureLog.objects.filter(**filters, attempt_time__gt=now - CEILING_WINDOW)
                .order_by("-attempt_time")
                .values_list("attempt_time", flat=True)[limit - 1 : limit]
            )
            waits.extend(failed_at + CEILING_WINDOW - now for failed_at in nth_newest)
        return max(waits)

    def is_locked(self, request: HttpRequest, credentials: Mapping | None = None) -> bool:
        return self.lockout_remaining(request, credentials) > timedelta(0)

    def remove_out_of_limit_failure_logs(self, *, username: str, limit: int | None = None) -> int:
        """Keep an account's newest AXES_ACCESS_FAILURE_LOG_PER_USER_LIMIT failures. (Axes' own version
        deletes the rows past the limit in no particular order - its models have none - so it may
        delete the failure just written, and the account ceiling would stop counting.)"""
        limit = limit or settings.AXES_ACCESS_FAILURE_LOG_PER_USER_LIMIT
        older = AccessFailureLog.objects.filter(username=username).order_by("-attempt_time", "-pk")[limit:]
        deleted, _ = AccessFailureLog.objects.filter(pk__in=older.values("pk")).delete()
        return deleted

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        if not request.axes_locked_out and self.is_locked(request, credentials):
            # This failure reached an hourly ceiling (axes itself only checks the pair's limit).
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )
        _mirror_onto_django_request(request)


def _mirror_onto_django_request(request) -> None:
    """A DRF view hands authenticate() its Request wrapper, where axes sets its flags; AxesMiddleware
    sees only the wrapped HttpRequest. Copying them makes any DRF password form answer the lockout
    exactly as an HTML one does."""
    django_request = getattr(request, "_request", None)
    if isinstance(django_request, HttpRequest):
        own = vars(request)
        for name in _AXES_REQUEST_ATTRIBUTES:
            if name in own:
                setattr(django_request, name, own[name])


def lockout_remaining(request: HttpRequest, credentials: Mapping | None = None) -> timedelta:
    AxesProxyHandler.update_request(request)
    return AxesProxyHandler.get_implementation().lockout_remaining(request, credentials)


def login_succeeded(*, request: HttpRequest, email: str) -> None:
    """What a successful login does to the counters (axes does it on `user_logged_in`, which only a
    session login sends): the pair's failures are forgotten. The hourly ceilings are not."""
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.get_implementation().reset_user_attempts(request, get_credentials(email))


def login_unlock(*, emails: Iterable[str] = (), ip_addresses: Iterable[str] = ()) -> int:
    """Lift every lock on these accounts (from any address) and these addresses (for any account):
    their pairs' failures and the failures the hourly ceilings count. Returns the pairs unlocked."""
    emails = [email for email in map(normalized_email, emails) if email]
    ip_addresses = [address for address in ip_addresses if address]
    if not emails and not ip_addresses:
        return 0
    matching = Q(username__in=emails) | Q(ip_address__in=ip_addresses)
    _, deleted = AccessAttempt.objects.filter(matching).delete()
    AccessFailureLog.objects.filter(matching, attempt_time__gt=timezone.now() - CEILING_WINDOW).delete()
    return deleted.get(AccessAttempt._meta.label, 0)
