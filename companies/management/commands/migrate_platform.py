from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name

from companies.models import Company
from companies.provisioning import template_prepare


def provisioned_schemas() -> list[str]:
    """Company schemas that exist. A company still onboarding has a row but maybe no schema yet
    (its onboarding creates it, already current); migrating it would fail the whole deploy."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.schema_name FROM {Company._meta.db_table} c "
            "JOIN pg_namespace n ON n.nspname = c.schema_name WHERE c.schema_name <> %s ORDER BY c.id",
            [get_public_schema_name()],
        )
        return [row[0] for row in cursor.fetchall()]


class Command(MigrateSchemasCommand):
    help = (
        "Deploy-time migrations: the public schema, the tenant template schema new companies are cloned "
        "from, then every company schema that exists. Takes migrate_schemas' options (e.g. --executor)."
    )

    def handle(self, *args, **options):
        options.update(shared=False, tenant=False, schema_name=None)
        super(MigrateSchemasCommand, self).handle(*args, **options)  # SyncCommon: parse the options
        executor = get_executor(codename=self.executor)(self.args, self.options)
        executor.run_migrations(tenants=[get_public_schema_name()])
        template_prepare(verbosity=options["verbosity"])
        executor.run_migrations(tenants=provisioned_schemas())
        self.stdout.write(self.style.SUCCESS("migrate_platform: public, template and company schemas are current"))
