"""Celery queue names, shared by settings, start scripts and tests."""

ONBOARDING_QUEUE = "onboarding"
WEBHOOKS_QUEUE = "webhooks"
DEFAULT_QUEUE = "default"
ALL_QUEUES = (ONBOARDING_QUEUE, WEBHOOKS_QUEUE, DEFAULT_QUEUE)
