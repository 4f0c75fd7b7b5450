from django.contrib import admin, messages
from django.db import transaction

from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_replay


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "type", "state", "company", "attempts", "created", "received_at", "processed_at"]
    list_filter = ["state", "type", "company"]
    search_fields = ["stripe_id", "type", "company__slug"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["replay"]

    @admin.action(description="Replay selected events")
    def replay(self, request, queryset):
        with transaction.atomic():
            outcomes = webhook_events_replay(event_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{outcomes['pending']} event(s) re-enqueued.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False
