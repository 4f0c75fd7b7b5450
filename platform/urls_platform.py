"""URLs of the platform host (PLATFORM_DOMAIN): the pricing page, sign-up, the way to a company's
login page, password reset; the platform API (sign-up, tokens, plans), webhooks, operations."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView
from saas_platform import health, metrics
from saas_platform.api.schema import CombinedSchemaView, OfflineRedocView, SwaggerView

from companies import api as companies_api
from companies import views as companies_views
from onboarding import api as onboarding_api
from onboarding import views as onboarding_views
from subscriptions import api as subscriptions_api
from subscriptions.views import pricing
from webhooks.intake import stripe_webhook

urlpatterns = [
    path("", pricing, name="pricing"),
    path("signup/", onboarding_views.signup, name="signup"),
    path("signup/slug/", onboarding_views.slug_check, name="signup-slug-check"),
    path("signup/progress/<str:token>/", onboarding_views.signup_progress, name="signup-progress"),
    path(
        "signup/progress/<str:token>/status/",
        onboarding_views.signup_progress_status,
        name="signup-progress-status",
    ),
    path("signup/progress/<str:token>/retry/", onboarding_views.signup_progress_retry, name="signup-progress-retry"),
    path("login/", companies_views.company_finder, name="platform-login"),
    path("stripe/webhooks/", stripe_webhook, name="stripe-webhook"),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", metrics.metrics_view),
    # Users are global, so one reset serves every company's login page and the admin's.
    path("password-reset/", companies_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", companies_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        companies_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", companies_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # The admin's login page links to this name ("Forgotten your password?").
    path("admin/password-reset/", RedirectView.as_view(pattern_name="password_reset"), name="admin_password_reset"),
    path("admin/", admin.site.urls),
    path("api/companies/", onboarding_api.CompanyListCreateView.as_view(), name="companies"),
    path("api/companies/<int:company_id>/", onboarding_api.CompanyDetailView.as_view(), name="company-detail"),
    path("api/auth/token/", companies_api.TokenCreateView.as_view(), name="auth-token"),
    path("api/auth/tokens/", companies_api.TokenListView.as_view(), name="auth-tokens"),
    path("api/auth/tokens/<int:token_id>/", companies_api.TokenDetailView.as_view(), name="auth-token-detail"),
    path("api/plans/", subscriptions_api.PlanListView.as_view(), name="plans"),
    path("api/schema/", CombinedSchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", OfflineRedocView.as_view(url_name="schema"), name="redoc"),
]
handler403 = "saas_platform.responses.permission_denied"
handler404 = "saas_platform.responses.not_found"
handler500 = "saas_platform.responses.server_error"
