"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set, web and worker processes share counters."""

import os

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils.crypto import constant_time_compare
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

WEBHOOKS_RECEIVED = Counter("webhooks_received_total", "Verified webhook events stored", ["type"])
WEBHOOKS_REJECTED = Counter("webhooks_rejected_total", "Webhook deliveries rejected", ["reason"])
WEBHOOKS_DUPLICATES = Counter("webhooks_duplicates_total", "Webhook deliveries of an event already stored")
WEBHOOKS_PROCESSED = Counter("webhooks_processed_total", "Webhook events processed", ["state"])
WEBHOOK_FAILURES = Counter("webhook_processing_failures_total", "Webhook processing attempts that raised")
WEBHOOK_LAG = Histogram(
    "webhook_processing_lag_seconds",
    "From receipt to processed",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
ONBOARDING_DURATION = Histogram(
    "onboarding_duration_seconds",
    "From sign-up to an active company",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300),
)
ONBOARDING_FAILURES = Counter("onboarding_failures_total", "Companies whose onboarding failed", ["step"])
GATE_DENIALS = Counter("gate_denials_total", "Requests denied by a feature gate", ["code"])


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def metrics_view(request):
    """Protected by a bearer token (METRICS_TOKEN); without one configured, only DEBUG serves it."""
    token = settings.METRICS_TOKEN
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token:
        if not constant_time_compare(supplied, token):
            return HttpResponseForbidden("metrics token required\n", content_type="text/plain")
    elif not settings.DEBUG:
        return HttpResponseForbidden("set METRICS_TOKEN to enable metrics\n", content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
