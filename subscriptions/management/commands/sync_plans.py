from django.core.management.base import BaseCommand

from subscriptions.catalog_sync import catalog_sync


class Command(BaseCommand):
    help = "Make Stripe's products, prices, entitlement features and portal configuration match the plan catalog."

    def handle(self, *args, **options):
        changes = catalog_sync()
        for change in changes:
            self.stdout.write(f"  {change}")
        self.stdout.write(self.style.SUCCESS(f"sync_plans: {len(changes)} change(s); Stripe matches the catalog."))
