"""Creating a company's schema: cloned from a migrated template schema, migrations as the fallback."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

logger = logging.getLogger(__name__)

# One clone at a time: CloneSchema (re)creates a shared SQL function on every call.
_CLONE_LOCK_ID = 7_240_113


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def _tenant_migrations_on_disk() -> set[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    tenant_apps = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    return {key for key in loader.disk_migrations if key[0] in tenant_apps}


def _applied_in(schema: str) -> set[tuple[str, str]]:
    if not schema_exists(schema):
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'django_migrations')",
            [schema],
        )
        if not cursor.fetchone()[0]:
            return set()
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return {(app, name) for app, name in cursor.fetchall()}


def schema_is_complete(schema: str) -> bool:
    return _tenant_migrations_on_disk() <= _applied_in(schema)


def template_prepare(verbosity: int = 0) -> None:
    """Create or migrate the template schema; run after every deploy's migrate step."""
    name = template_schema()
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)


def schema_provision(schema: str) -> str:
    """Make `schema` exist with every tenant migration applied. Returns how: cloned, migrated or existing."""
    if schema_is_complete(schema):
        return "existing"
    template = template_schema()
    # Off only in the benchmarks, to time django-tenants' migration-based creation.
    cloning = settings.TENANT_CLONE_SCHEMAS
    if cloning and not schema_exists(schema) and schema_is_complete(template):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CLONE_LOCK_ID])
            if not schema_exists(schema):
                CloneSchema().clone_schema(template, schema, "DATA")
        connection.set_schema_to_public()
        return "cloned"
    if cloning:
        logger.warning("template schema %s is not current; creating %s by migrations", template, schema)
    if not schema_exists(schema):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    return "migrated"
