"""Liveness (/healthz) and readiness (/readyz: database, broker, migrations) for load balancers."""

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database: {type(exc).__name__}"
    return None


def _broker() -> str | None:
    import redis

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        return f"broker: {type(exc).__name__}"
    return None


def _migrations() -> str | None:
    try:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return "migrations: unapplied migrations in the public schema"
    except Exception as exc:
        return f"migrations: {type(exc).__name__}"
    return None


def readyz(request):
    problems = [p for p in (_database(), _broker()) if p]
    if not problems:
        problems = [p for p in (_migrations(),) if p]
    status = 503 if problems else 200
    return JsonResponse({"status": "unavailable" if problems else "ready", "problems": problems}, status=status)
