"""The platform host's URLs plus the bench-only bare view (only bench.settings mounts this module)."""

from django.urls import path
from saas_platform.urls_platform import handler404, handler500  # noqa: F401
from saas_platform.urls_platform import urlpatterns as platform_urlpatterns

from bench import views

urlpatterns = [path("_bench/bare/", views.bare, name="bench-bare"), *platform_urlpatterns]
