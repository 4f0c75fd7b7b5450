from django.contrib import admin

from subscriptions.models import CompanySubscription, Invoice


@admin.register(CompanySubscription)
class CompanySubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "company",
        "plan",
        "quantity",
        "status",
        "trial_end",
        "current_period_end",
        "cancel_at_period_end",
        "automatic_tax",
        "customer_tax_status",
        "synced_at",
    ]
    list_filter = ["plan", "status", "cancel_at_period_end", "cancellation_feedback", "automatic_tax"]
    search_fields = ["company__slug", "stripe_subscription_id"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Stripe's invoices as last read (read-only: Stripe is the source; `resync_billing` re-reads them)."""

    list_display = ["number", "company", "status", "total", "currency", "created_at", "dunning_step", "synced_at"]
    list_filter = ["status", "dunning_step"]
    search_fields = ["company__slug", "stripe_invoice_id", "number"]
    readonly_fields = [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request):
        return False
