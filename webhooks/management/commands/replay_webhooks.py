from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from webhooks.selectors import event_ids
from webhooks.services import webhook_events_replay


class Command(BaseCommand):
    help = "Replay one stored Stripe event (--event evt_...) or every failed one (--failed)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--event", help="Stripe event id")
        group.add_argument("--failed", action="store_true", help="every event in state failed")
        parser.add_argument("--sync", action="store_true", help="process here instead of enqueuing to workers")

    def handle(self, *args, event=None, failed=False, sync=False, **options):
        ids = event_ids(stripe_id=event) if event else event_ids(failed=True)
        if event and not ids:
            raise CommandError(f"no stored event {event}")
        if sync:  # each event in its own transaction, as a worker would
            outcomes = webhook_events_replay(event_ids=ids, here=True, progress=self._progress)
        else:
            with transaction.atomic():
                outcomes = webhook_events_replay(event_ids=ids)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(outcomes.items()) if n) or "nothing to do"
        self.stdout.write(self.style.SUCCESS(f"replay_webhooks: {summary}"))

    def _progress(self, done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            self.stdout.write(f"  {done}/{total} events")
