from django.core.management.base import BaseCommand, CommandError

from companies.models import Company
from subscriptions.services import subscription_sync_company


class Command(BaseCommand):
    help = "Re-read subscriptions and entitlements from Stripe for one company (--company SLUG) or all (--all)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--company", help="the company's slug")
        group.add_argument("--all", action="store_true")

    def handle(self, *args, company=None, all=False, **options):
        companies = Company.objects.exclude(stripe_customer_id=None).order_by("pk")
        if company:
            companies = companies.filter(slug=company)
            if not companies.exists():
                raise CommandError(f"no company {company!r} with a Stripe customer")
        total = companies.count()
        changed = failed = 0
        for index, item in enumerate(companies.iterator(), start=1):
            before = getattr(
                Company.objects.filter(pk=item.pk).select_related("subscription").first(), "subscription", None
            )
            before_state = (before.status, before.plan, before.entitlement_features) if before else None
            try:
                record = subscription_sync_company(company_id=item.pk, entitlements=True)
            except Exception as exc:
                failed += 1
                self.stderr.write(f"  {item.slug}: {type(exc).__name__}: {exc}")
                continue
            after_state = (record.status, record.plan, record.entitlement_features) if record else None
            if record and after_state != before_state:
                changed += 1
                self.stdout.write(f"  {item.slug}: {before_state} -> {after_state}")
            if index % 100 == 0 or index == total:
                self.stdout.write(f"  {index}/{total} companies")
        self.stdout.write(self.style.SUCCESS(f"resync_billing: {total} checked, {changed} changed, {failed} failed"))
