"""The admin of companies: their onboarding (steps, failure, retry) and billing (plan, resync)."""

from django.contrib import admin, messages
from django.db import transaction

from companies.models import Company, Domain, Membership, OnboardingStep
from onboarding.services import onboarding_restart
from subscriptions.services import companies_reconcile_later


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class OnboardingStepInline(admin.TabularInline):
    model = OnboardingStep
    extra = 0
    readonly_fields = ["step", "method", "started_at", "finished_at"]
    can_delete = False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "status", "plan", "subscription_status", "paid_access", "created_at"]
    list_filter = ["status", "paid_access", "subscription__plan", "subscription__status"]
    search_fields = ["slug", "name", "stripe_customer_id"]
    readonly_fields = [
        "schema_name",
        "stripe_customer_id",
        "failure_reason",
        "paid_access",
        "paid_access_until",
        "features",
        "limits",
        "access_reason",
        "created_at",
        "activated_at",
    ]
    inlines = [DomainInline, MembershipInline, OnboardingStepInline]
    actions = ["retry_provisioning", "resync_from_stripe"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("subscription").exclude(schema_name="public")

    @admin.display(description="plan")
    def plan(self, company):
        return getattr(getattr(company, "subscription", None), "plan", "")

    @admin.display(description="subscription")
    def subscription_status(self, company):
        return getattr(getattr(company, "subscription", None), "status", "")

    @admin.action(description="Retry provisioning")
    def retry_provisioning(self, request, queryset):
        with transaction.atomic():
            restarted = onboarding_restart(company_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Onboarding restarted for {len(restarted)} company(ies).", messages.SUCCESS)

    @admin.action(description="Resync subscription from Stripe")
    def resync_from_stripe(self, request, queryset):
        count = companies_reconcile_later(company_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Resync queued for {count} company(ies).", messages.SUCCESS)
