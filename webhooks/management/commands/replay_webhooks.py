from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_replay


class Command(BaseCommand):
    help = "Replay one stored Stripe event (--event evt_...) or every failed one (--failed)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--event", help="Stripe event id")
        group.add_argument("--failed", action="store_true", help="every event in state failed")
        parser.add_argument("--sync", action="store_true", help="process here instead of enqueuing to workers")

    def handle(self, *args, event=None, failed=False, sync=False, **options):
        events = WebhookEvent.objects.filter(stripe_id=event) if event else WebhookEvent.objects.filter(state="failed")
        ids = list(events.order_by("created", "pk").values_list("pk", flat=True))
        if event and not ids:
            raise CommandError(f"no stored event {event}")
        if sync:
            from webhooks.services import webhook_event_process

            WebhookEvent.objects.filter(pk__in=ids).exclude(state="processed").update(state="pending")
            outcomes: dict[str, int] = {}
            for index, event_id in enumerate(ids, start=1):
                try:
                    state = webhook_event_process(event_id=event_id)
                except Exception as exc:
                    from webhooks.services import webhook_event_record_failure

                    webhook_event_record_failure(event_id=event_id, error=exc, final=True)
                    state = "failed"
                outcomes[state] = outcomes.get(state, 0) + 1
                if index % 100 == 0 or index == len(ids):
                    self.stdout.write(f"  {index}/{len(ids)} events")
            summary = ", ".join(f"{n} {state}" for state, n in sorted(outcomes.items())) or "nothing to do"
            self.stdout.write(self.style.SUCCESS(f"replay_webhooks: {summary}"))
            return
        with transaction.atomic():
            count = webhook_events_replay(event_ids=ids)
        self.stdout.write(self.style.SUCCESS(f"replay_webhooks: {count} event(s) re-enqueued"))
