from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from companies.models import Company
from companies.selectors import company_by_slug, user_by_email
from companies.services import company_domain, company_signup
from onboarding.services import onboarding_restart


class Command(BaseCommand):
    help = "Create the demo company and its admin (if missing) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--email", default="admin@demo.example")
        parser.add_argument("--password", default="demo-password-123")

    def handle(self, *args, slug, email, password, **options):
        existing = company_by_slug(slug=slug)
        if existing is None and user_by_email(email=email) is None:
            company_signup(name="Demo Company", slug=slug, admin_email=email, admin_password=password)
            self.stdout.write(f"created company {slug!r}; a worker finishes its onboarding")
        elif existing is not None and existing.status == Company.Status.FAILED:
            with transaction.atomic():
                onboarding_restart(company_ids=[existing.pk])
            self.stdout.write(f"onboarding of {slug!r} failed earlier ({existing.failure_reason}); retrying")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company: http://{company_domain(slug)}:{settings.PLATFORM_PORT}/  log in as {email} / {password}"
            )
        )
