"""Celery settings, each with the reason it is set. Part of settings/base.py, which imports it
(CELERY_ prefix); the broker's URL is declared there, beside REDIS_URL it defaults to."""

from saas_platform.queues import DEFAULT_QUEUE, ONBOARDING_QUEUE, WEBHOOKS_QUEUE
from saas_platform.settings.inputs import env

# Results are not read by the platform (state lives in PostgreSQL); Flower reads task events.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Every task is idempotent, so acknowledging after it ran is safe and a crash re-delivers it.
CELERY_TASK_ACKS_LATE = True
# A worker killed mid-task (OOM, SIGKILL) puts the message back instead of dropping it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Keep each worker process's database connection across tasks (Celery's Django fixup otherwise
# opens a new one for every task); celery.py retires broken or expired ones before each task.
CELERY_DB_REUSE_MAX = 1000
# Take one message per process at a time: long Stripe calls must not hold others hostage.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers unacknowledged messages after this, one value for every queue; it must stay
# longer than any task's hard limit and any countdown (retry back-offs are capped at seconds), or
# those run twice. A killed worker's messages are not waited for: the lease sweeps below publish
# its work again within a minute (saas_platform/leases.py); these copies arrive an hour later and
# find the work done.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A stuck Stripe call or lock wait cannot block a worker process forever.
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
# Publishing waits for the broker a bounded time; the webhook inbox covers the rest.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Separate queues so a webhook burst never delays a company's onboarding, and vice versa.
CELERY_TASK_DEFAULT_QUEUE = DEFAULT_QUEUE
CELERY_TASK_ROUTES = {
    "companies.*": {"queue": ONBOARDING_QUEUE},
    "webhooks.process_event": {"queue": WEBHOOKS_QUEUE},
}
# Task events power Flower's live view of what the workers are doing.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Beat: recovery sweeps. Each expires before the next run so a stopped worker does not
# come back to a pile of identical sweeps. The lease sweeps run often (each is one indexed query
# that usually finds nothing): work a killed worker held is published again at most
# <lease> + <interval> after it was last taken on.
RECOVERY_SWEEP_SECONDS = env.float("RECOVERY_SWEEP_SECONDS", default=10.0)
SEAT_SYNC_SWEEP_SECONDS = env.float("SEAT_SYNC_SWEEP_SECONDS", default=2.0)
SEAT_DRIFT_SWEEP_SECONDS = env.float("SEAT_DRIFT_SWEEP_SECONDS", default=60.0)
# Dunning (subscriptions/dunning.py): how often beat looks for unpaid invoices whose next e-mail is due.
DUNNING_SWEEP_SECONDS = env.float("DUNNING_SWEEP_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "webhooks.requeue_pending": {
        "task": "webhooks.requeue_pending",
        "schedule": RECOVERY_SWEEP_SECONDS,
        "options": {"expires": RECOVERY_SWEEP_SECONDS * 0.9},
    },
    "notifications.send_owed": {
        "task": "notifications.send_owed",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "companies.resume_provisioning": {
        "task": "companies.resume_provisioning",
        "schedule": RECOVERY_SWEEP_SECONDS,
        "options": {"expires": RECOVERY_SWEEP_SECONDS * 0.9},
    },
    # Seat syncs that are due (saas_platform/debounce.py): one Redis call when nothing is.
    "subscriptions.sync_seats_due": {
        "task": "subscriptions.sync_seats_due",
        "schedule": SEAT_SYNC_SWEEP_SECONDS,
        "options": {"expires": SEAT_SYNC_SWEEP_SECONDS * 0.9},
    },
    # Companies billed for another number of seats than they have members, whatever was lost on the
    # way (a Redis outage, a killed worker, an operator's edit): one query, no Stripe call.
    "subscriptions.find_seat_drift": {
        "task": "subscriptions.find_seat_drift",
        "schedule": SEAT_DRIFT_SWEEP_SECONDS,
        "options": {"expires": SEAT_DRIFT_SWEEP_SECONDS * 0.9},
    },
    # Dunning e-mails are due days apart: a look every few minutes is on time.
    "subscriptions.dunning_sweep": {
        "task": "subscriptions.dunning_sweep",
        "schedule": DUNNING_SWEEP_SECONDS,
        "options": {"expires": DUNNING_SWEEP_SECONDS * 0.9},
    },
    "subscriptions.reconcile_all": {
        "task": "subscriptions.reconcile_all",
        "schedule": env.float("RECONCILE_INTERVAL_SECONDS", default=6 * 3600),
        "options": {"expires": 3000},
    },
}
