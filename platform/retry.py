"""The one retry policy of the workers: which errors are worth another try, and when it comes.

Every task is a `RetryingTask`: Celery's own autoretry retries a transient error (`TRANSIENT_ERRORS`)
up to TASK_MAX_RETRIES times, after an exponential back-off from TASK_RETRY_BACKOFF_SECONDS with full
jitter, never longer than TASK_RETRY_BACKOFF_MAX_SECONDS (well under a minute, below every lease).
Any other error, or the last failed retry, ends the task: Celery calls its `on_failure`.

A task whose work carries a lease (saas_platform/leases.py) is told, before its retry is published,
when the retry is due (`on_retry_scheduled`), so the lease can start then: a scheduled retry is
never mistaken for lost work, and a retry lost with a killed worker is published again by the sweep.
"""

from __future__ import annotations

import stripe
from django.conf import settings
from django.db import OperationalError
from tenant_schemas_celery.task import TenantTask

# Stripe's network errors, its rate limit, and its own failures (5xx) and conflicts (409), which
# the library raises as APIError; a database connection that broke or a lock wait that timed out.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
    OperationalError,
)


class RetryingTask(TenantTask):
    """The base of every task: the policy above, as Celery task options. It extends the app's own task
    class (tenant-schemas-celery's), so a task published from a company's request still runs in that
    company's schema."""

    autoretry_for = TRANSIENT_ERRORS
    max_retries = settings.TASK_MAX_RETRIES
    retry_backoff = settings.TASK_RETRY_BACKOFF_SECONDS
    retry_backoff_max = settings.TASK_RETRY_BACKOFF_MAX_SECONDS
    retry_jitter = True

    def on_retry_scheduled(self, exc: BaseException, countdown: float, args: tuple, kwargs: dict) -> None:
        """A retry of this call is about to be published, due in `countdown` seconds."""

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None, **opts):
        # Called by Celery's autoretry with the countdown it drew; tell the task before publishing.
        limit = self.max_retries if max_retries is None else max_retries
        if exc is not None and (limit is None or self.request.retries < limit):
            self.on_retry_scheduled(exc, countdown or 0, tuple(self.request.args or ()), self.request.kwargs or {})
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **opts)
