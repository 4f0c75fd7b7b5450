"""URLs of the platform host (PLATFORM_DOMAIN): sign-up, tokens, plans, webhooks, operations."""

from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularSwaggerView
from saas_platform import health, metrics
from saas_platform.api.schema import CombinedSchemaView, OfflineRedocView

from companies import api as companies_api
from subscriptions import api as subscriptions_api
from webhooks.intake import stripe_webhook

urlpatterns = [
    path("stripe/webhooks/", stripe_webhook, name="stripe-webhook"),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", metrics.metrics_view),
    path("admin/", admin.site.urls),
    path("api/companies/", companies_api.CompanyListCreateView.as_view(), name="companies"),
    path("api/companies/<int:company_id>/", companies_api.CompanyDetailView.as_view(), name="company-detail"),
    path("api/auth/token/", companies_api.TokenCreateView.as_view(), name="auth-token"),
    path("api/auth/tokens/", companies_api.TokenListView.as_view(), name="auth-tokens"),
    path("api/auth/tokens/<int:token_id>/", companies_api.TokenDetailView.as_view(), name="auth-token-detail"),
    path("api/plans/", subscriptions_api.PlanListView.as_view(), name="plans"),
    path("api/schema/", CombinedSchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", OfflineRedocView.as_view(url_name="schema"), name="redoc"),
]
handler404 = "saas_platform.responses.not_found"
handler500 = "saas_platform.responses.server_error"
