"""Resolve the company from the request's host, and only from the host.

The platform host (PLATFORM_DOMAIN) is served from the public schema without a query; each
company host costs one query, which loads the company row with its entitlement snapshot.
"""

from django.conf import settings
from django.db import connection
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, remove_www
from saas_platform import responses
from saas_platform.log_context import bind_company

from companies.models import Company
from companies.selectors import company_by_host


def _public_tenant() -> Company:
    return Company(schema_name=get_public_schema_name(), name="platform", slug="", status=Company.Status.ACTIVE)


class CompanyTenantMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        connection.set_schema_to_public()
        hostname = remove_www(request.get_host().split(":")[0]).lower()
        if hostname == settings.PLATFORM_DOMAIN:
            request.tenant = _public_tenant()
            connection.set_tenant(request.tenant)
            self.setup_url_routing(request, force_public=True)
            return None
        tenant = company_by_host(hostname=hostname)
        if tenant is None:
            return responses.not_found(request)
        request.tenant = tenant
        bind_company(tenant.slug)
        if tenant.status != Company.Status.ACTIVE:
            return responses.company_unavailable(request, provisioning=tenant.status == Company.Status.PROVISIONING)
        connection.set_tenant(tenant)
        self.setup_url_routing(request)
        return None
