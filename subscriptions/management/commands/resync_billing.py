from django.core.management.base import BaseCommand, CommandError

from subscriptions.selectors import companies_to_reconcile, subscription_of
from subscriptions.services import subscription_sync_company


class Command(BaseCommand):
    help = (
        "Re-read subscriptions, entitlements and invoices from Stripe, here and now, for one company (--company SLUG) "
        "or every company reconciliation covers (--all: each with a Stripe customer)."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--company", help="the company's slug")
        group.add_argument("--all", action="store_true")

    def handle(self, *args, company=None, all=False, **options):
        companies = companies_to_reconcile(slugs=[company] if company else None)
        if company and not companies.exists():
            raise CommandError(f"no company {company!r} with a Stripe customer")
        total, changed, failed = companies.count(), 0, 0
        for index, item in enumerate(companies.iterator(), start=1):
            before = _state(subscription_of(company=item))
            try:
                after = _state(subscription_sync_company(company_id=item.pk, entitlements=True))
            except Exception as exc:
                failed += 1
                self.stderr.write(f"  {item.slug}: {type(exc).__name__}: {exc}")
                continue
            if after is not None and after != before:
                changed += 1
                self.stdout.write(f"  {item.slug}: {before} -> {after}")
            if index % 100 == 0 or index == total:
                self.stdout.write(f"  {index}/{total} companies")
        self.stdout.write(self.style.SUCCESS(f"resync_billing: {total} checked, {changed} changed, {failed} failed"))


def _state(record) -> tuple | None:
    return (record.status, record.plan, record.entitlement_features) if record else None
