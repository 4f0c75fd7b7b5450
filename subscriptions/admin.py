from django.contrib import admin

from subscriptions.models import CompanySubscription


@admin.register(CompanySubscription)
class CompanySubscriptionAdmin(admin.ModelAdmin):
    list_display = ["company", "plan", "quantity", "status", "trial_end", "current_period_end", "synced_at"]
    list_filter = ["plan", "status"]
    search_fields = ["company__slug", "stripe_subscription_id"]
