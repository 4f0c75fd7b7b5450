"""URLs of a company host (<slug>.PLATFORM_DOMAIN): the pages (dashboard, billing, members, API tokens),
invitation links and the company API."""

from django.urls import path
from saas_platform import health

from companies import api as companies_api
from companies import pages, views
from dashboard import cancellation, tax_details
from dashboard.plan_change import plan_change_confirm, plan_change_preview_page
from dashboard.promotion import promotion_code_apply
from dashboard.views import billing, dashboard
from posts import api as posts_api
from subscriptions import api as subscriptions_api
from subscriptions.views import billing_portal

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("billing/", billing, name="billing"),
    path("billing/portal/", billing_portal, name="billing-portal"),
    path("billing/promotion-code/", promotion_code_apply, name="billing-promotion-code-page"),
    path("billing/cancel/", cancellation.cancel_subscription_page, name="billing-cancel-page"),
    path("billing/resume/", cancellation.resume_subscription_page, name="billing-resume-page"),
    path("billing/tax-details/", tax_details.tax_details_page, name="billing-tax-details-page"),
    path("billing/plan-change/", plan_change_preview_page, name="billing-plan-change-page"),
    path("billing/plan-change/confirm/", plan_change_confirm, name="billing-plan-change-confirm"),
    path("members/", pages.members_page, name="members-page"),
    path("members/invite/", pages.member_invite, name="members-invite"),
    path("members/<int:member_id>/role/", pages.member_change_role, name="members-role"),
    path("members/<int:member_id>/remove/", pages.member_remove_page, name="members-remove"),
    path(
        "members/invitations/<int:invitation_id>/resend/",
        pages.invitation_resend_page,
        name="members-invitation-resend",
    ),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        pages.invitation_revoke_page,
        name="members-invitation-revoke",
    ),
    path("tokens/", pages.tokens_page, name="tokens-page"),
    path("tokens/<int:token_id>/revoke/", pages.token_revoke_page, name="tokens-revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("healthz", health.healthz),
    path("api/billing/subscription/", subscriptions_api.SubscriptionView.as_view(), name="billing-subscription"),
    path("api/billing/portal-session/", subscriptions_api.PortalSessionView.as_view(), name="billing-portal-session"),
    path(
        "api/billing/checkout-session/",
        subscriptions_api.CheckoutSessionView.as_view(),
        name="billing-checkout-session",
    ),
    path(
        "api/billing/promotion-code/",
        subscriptions_api.PromotionCodeView.as_view(),
        name="billing-promotion-code",
    ),
    path("api/billing/cancel/", subscriptions_api.CancelView.as_view(), name="billing-cancel"),
    path("api/billing/resume/", subscriptions_api.ResumeView.as_view(), name="billing-resume"),
    path("api/billing/details/", subscriptions_api.BillingDetailsView.as_view(), name="billing-details"),
    path("api/billing/invoices/", subscriptions_api.InvoiceListView.as_view(), name="billing-invoices"),
    path(
        "api/billing/upcoming-invoice/",
        subscriptions_api.UpcomingInvoiceView.as_view(),
        name="billing-upcoming-invoice",
    ),
    path(
        "api/billing/plan-change/preview/",
        subscriptions_api.PlanChangePreviewView.as_view(),
        name="billing-plan-change-preview",
    ),
    path("api/billing/plan-change/", subscriptions_api.PlanChangeView.as_view(), name="billing-plan-change"),
    path("api/members/", companies_api.MemberListCreateView.as_view(), name="members"),
    path("api/members/<int:member_id>/", companies_api.MemberDetailView.as_view(), name="member-detail"),
    path("api/invitations/", companies_api.InvitationListCreateView.as_view(), name="invitations"),
    path(
        "api/invitations/<int:invitation_id>/",
        companies_api.InvitationDetailView.as_view(),
        name="invitation-detail",
    ),
    path(
        "api/invitations/<int:invitation_id>/resend/",
        companies_api.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path("api/posts/", posts_api.PostListCreateView.as_view(), name="posts"),
    path("api/posts/export/", posts_api.PostExportView.as_view(), name="posts-export"),
    path("api/posts/<int:pk>/", posts_api.PostDetailView.as_view(), name="post-detail"),
]

handler403 = "saas_platform.responses.permission_denied"
handler404 = "saas_platform.responses.not_found"
handler500 = "saas_platform.responses.server_error"
