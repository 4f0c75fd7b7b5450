"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings.local")
application = get_wsgi_application()

# Every app's tasks imported before the first request, so no request pays for (or races) importing them.
from saas_platform.celery import app  # noqa: E402

app.loader.import_default_modules()
