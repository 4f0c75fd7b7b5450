from django.core.management import call_command
from django.core.management.base import BaseCommand

from companies.provisioning import template_prepare


class Command(BaseCommand):
    help = "Deploy-time migrations: the public schema, the tenant template schema, then every company schema."

    def add_arguments(self, parser):
        parser.add_argument("--executor", default="standard", choices=["standard", "multiprocessing"])

    def handle(self, *args, executor="standard", **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        template_prepare(verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity, executor=executor)
        self.stdout.write(self.style.SUCCESS("migrate_platform: public, template and company schemas are current"))
