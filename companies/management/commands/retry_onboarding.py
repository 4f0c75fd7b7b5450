from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from companies.models import Company
from companies.services import company_retry_onboarding


class Command(BaseCommand):
    help = "Start onboarding again for a failed or stuck company (--company SLUG) or every failed one (--failed)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--company")
        group.add_argument("--failed", action="store_true")

    def handle(self, *args, company=None, failed=False, **options):
        companies = Company.objects.filter(slug=company) if company else Company.objects.filter(status="failed")
        companies = companies.exclude(status=Company.Status.ACTIVE)
        if company and not companies.exists():
            raise CommandError(f"no failed or provisioning company {company!r}")
        with transaction.atomic():
            for item in companies:
                company_retry_onboarding(company_id=item.pk)
                self.stdout.write(f"  {item.slug}: onboarding restarted")
        self.stdout.write(self.style.SUCCESS(f"retry_onboarding: {companies.count()} company(ies)"))
