"""Deploy-time migrations skip companies whose onboarding has not created their schema yet."""

import pytest

from companies.management.commands.migrate_platform import provisioned_schemas
from companies.models import Company
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_only_existing_company_schemas_are_migrated():
    provisioned = CompanyFactory()
    onboarding = CompanyFactory(slug="onboarding-now", status=Company.Status.PROVISIONING, provisioned=False)
    schemas = provisioned_schemas()
    assert provisioned.schema_name in schemas
    assert onboarding.schema_name not in schemas
    assert "public" not in schemas
