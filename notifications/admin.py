from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction

from notifications.models import Notification
from notifications.services import notifications_release


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("owed", "owed"), ("in_doubt", "in doubt"), ("sent", "sent")]

    def queryset(self, request, queryset):
        if self.value() == "owed":
            return queryset.filter(sent_at__isnull=True, claimed_at__isnull=True)
        if self.value() == "in_doubt":
            return queryset.filter(sent_at__isnull=True, claimed_at__isnull=False)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject", "company", "state", "attempts", "created_at", "claimed_at", "sent_at"]
    list_filter = [StateFilter, "kind"]
    search_fields = ["subject", "company__slug"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send again (in-doubt or owed e-mails)")
    def send_again(self, request, queryset):
        with transaction.atomic():
            count = notifications_release(notification_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"{count} e-mail(s) queued. E-mails claimed less than {settings.CELERY_TASK_TIME_LIMIT} s ago may "
            "still be with their worker and are left alone; check the mail server's log before sending an "
            "in-doubt e-mail again.",
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False
