from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from onboarding.selectors import companies_failed, companies_to_restart
from onboarding.services import onboarding_restart


class Command(BaseCommand):
    help = "Start onboarding again for a failed or stuck company (--company SLUG) or every failed one (--failed)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--company")
        group.add_argument("--failed", action="store_true")

    def handle(self, *args, company=None, failed=False, **options):
        companies = companies_to_restart(slugs=[company]) if company else companies_failed()
        slugs = dict(companies.values_list("pk", "slug"))
        if company and not slugs:
            raise CommandError(f"no failed or provisioning company {company!r}")
        with transaction.atomic():
            restarted = onboarding_restart(company_ids=list(slugs))
        for company_id in restarted:
            self.stdout.write(f"  {slugs[company_id]}: onboarding restarted")
        self.stdout.write(self.style.SUCCESS(f"retry_onboarding: {len(restarted)} company(ies)"))
