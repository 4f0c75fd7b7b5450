"""A company host's URLs plus the bench-only gated/ungated pair (only bench.settings mounts this module)."""

from django.urls import path
from saas_platform.urls_company import handler404, handler500  # noqa: F401
from saas_platform.urls_company import urlpatterns as company_urlpatterns

from bench import views

urlpatterns = [
    path("_bench/bare/", views.bare),
    path("_bench/posts/ungated/", views.UngatedPosts.as_view()),
    path("_bench/posts/gated/", views.GatedPosts.as_view()),
    *company_urlpatterns,
]
