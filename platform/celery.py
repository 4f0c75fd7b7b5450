"""The Celery application. Tasks are discovered in each app's tasks.py."""

import os

from celery.signals import task_prerun
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings.local")

app = TenantAwareCeleryApp("saas_platform")
# The default app in every thread, not only the importing one: shared_task resolves the current
# app per thread, and a gunicorn thread would otherwise publish through Celery's fallback app
# (amqp://localhost) and lose the message.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _before_task(task_id=None, task=None, **_):
    from django.db import close_old_connections
    from saas_platform.log_context import bind_task

    bind_task(task_id)
    if not getattr(task.request, "is_eager", False):
        # Connections are reused across tasks (CELERY_DB_REUSE_MAX): drop one that broke (a database
        # restart) or outlived CONN_MAX_AGE, as Django does at the start of each request.
        close_old_connections()
