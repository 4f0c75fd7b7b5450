"""Data the benchmarks need, made as cheaply as honesty allows (runs in the harness, Django set up).

Only what a benchmark exercises is real: the company the tenant endpoints hit has a schema, posts,
an admin and an API token; the 1,000 companies of the event-processing benchmark have real Stripe
customers and subscriptions in the emulator but no schemas (processing never touches a tenant
schema); the companies that only make the tenant table big are bare rows with a domain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from companies.models import Company, Domain, Membership, User
from companies.provisioning import schema_provision, template_schema
from companies.services import company_domain, schema_name_for
from companies.tokens import api_token_create
from posts.models import Post
from subscriptions.models import CompanySubscription
from subscriptions.services import company_refresh_entitlements
from subscriptions.stripe_api import stripe_client
from webhooks.models import WebhookEvent

PASSWORD = "correct-horse-battery"
API_VERSION = "2026-10-28.endive"


def hit_company(slug: str = "bench-hit", posts: int = 20) -> tuple[Company, str]:
    """An active company on a trialing basic plan with its schema, `posts` posts, an admin and an
    API token; returns (company, token key). Its entitlements are stored as a sync would store them."""
    now = timezone.now()
    company = Company.objects.create(
        name="Bench Hit", slug=slug, schema_name=schema_name_for(slug), status=Company.Status.ACTIVE, activated_at=now
    )
    schema_provision(company.schema_name)
    Domain.objects.create(domain=company_domain(slug), tenant=company, is_primary=True)
    user = User.objects.create_user(f"admin@{slug}.example", PASSWORD)
    Membership.objects.create(company=company, user=user, role=Membership.Role.ADMIN)
    record = CompanySubscription.objects.create(
        company=company,
        status="trialing",
        plan="basic",
        price_lookup_key="basic_monthly",
        stripe_subscription_id=f"sub_{slug}",
        synced_at=now,
    )
    company_refresh_entitlements(company=company, subscription=record)
    _, key = api_token_create(user=user, name="bench")
    with schema_context(company.schema_name):
        Post.objects.bulk_create(
            Post(title=f"Post {i}", body="Lorem ipsum dolor sit amet. " * 8, author=user) for i in range(posts)
        )
    company.refresh_from_db()
    return company, key


def bulk_company_rows(
    count: int,
    prefix: str,
    *,
    with_domains: bool = True,
    status=Company.Status.ACTIVE,
    schema_names: list[str] | None = None,
) -> list[Company]:
    """`count` company rows (no schemas unless `schema_names` were made), each with its domain."""
    now = timezone.now()
    companies = []
    for i in range(count):
        slug = f"{prefix}-{i}"
        companies.append(
            Company(
                name=f"{prefix} {i}",
                slug=slug,
                schema_name=schema_names[i] if schema_names else schema_name_for(slug),
                status=status,
                created_at=now,
                activated_at=now,
            )
        )
    with transaction.atomic():
        created = Company.objects.bulk_create(companies, batch_size=2000)
        if with_domains:
            Domain.objects.bulk_create(
                (Domain(domain=company_domain(c.slug), tenant=c, is_primary=True) for c in created), batch_size=2000
            )
    return created


def delete_company_rows(prefix: str) -> None:
    """Forget the bare rows `bulk_company_rows(..., prefix)` made (they have nothing but a domain), and
    vacuum both tables so the next measurement sees them as a fresh database of that size would."""
    pattern = f"{prefix}-%"
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Domain._meta.db_table} WHERE tenant_id IN "
            f"(SELECT id FROM {Company._meta.db_table} WHERE slug LIKE %s)",
            [pattern],
        )
        cursor.execute(f"DELETE FROM {Company._meta.db_table} WHERE slug LIKE %s", [pattern])
    vacuum_companies()


def vacuum_companies() -> None:
    """VACUUM ANALYZE the company and domain tables (what autovacuum would do after a bulk change)."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Company._meta.db_table}, {Domain._meta.db_table}")


def clone_schemas_by_sql(names: list[str], database_url: str, work_dir: Path) -> None:
    """Create `names` as copies of the template schema in one psql script: pg_dump the template
    once, rename it per copy. Far quicker than CloneSchema for a thousand schemas, same result."""
    template = template_schema()
    dump = subprocess.run(
        ["pg_dump", "--schema", template, "--no-owner", "--no-privileges", database_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    script = work_dir / "schemas.sql"
    with open(script, "w") as out:
        for name in names:
            out.write(dump.replace(template, name))
            out.write("\n")
    subprocess.run(
        ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", str(script), database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    script.unlink()


def as_json(stripe_object) -> dict:
    """A Stripe object as it travels in an event (the library parses decimal strings into Decimals)."""
    return json.loads(json.dumps(stripe_object.to_dict(), default=str))


def _parallel(function, items, workers: int = 8) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def billing_companies(count: int, prefix: str) -> list[Company]:
    """`count` companies (rows, no schemas) each with a Stripe customer and a trialing subscription in
    the emulator (a third on pro), a tenth of them then cancelled: the events carry the subscription as
    created, so for those the state the workers must end with differs from what the payload says."""
    companies = bulk_company_rows(count, prefix)
    client = stripe_client()
    prices = {p.lookup_key: p.id for p in client.v1.prices.list(params={"limit": 100}).data}

    def customer(company: Company) -> str:
        return client.v1.customers.create(
            params={
                "name": company.name,
                "metadata": {"company_id": str(company.pk), "company_slug": company.slug},
            }
        ).id

    for company, customer_id in zip(companies, _parallel(customer, companies), strict=True):
        company.stripe_customer_id = customer_id
    Company.objects.bulk_update(companies, ["stripe_customer_id"], batch_size=2000)

    def subscribe(pair) -> dict:
        # A third on pro; a tenth cancelled afterwards: the states the workers must end with vary.
        index, company = pair
        price = prices["pro_monthly" if index % 3 == 1 else "basic_monthly"]
        subscription = as_json(
            client.v1.subscriptions.create(
                params={
                    "customer": company.stripe_customer_id,
                    "items": [{"price": price}],
                    "trial_period_days": 7,
                    "metadata": {"company_id": str(company.pk)},
                }
            )
        )
        if index % 10 == 7:
            client.v1.subscriptions.cancel(subscription["id"])
        return subscription

    subscriptions = _parallel(subscribe, list(enumerate(companies)))
    for company, subscription in zip(companies, subscriptions, strict=True):
        company.bench_subscription = subscription
    return companies


def subscription_event(subscription: dict, event_id: str) -> dict:
    """A customer.subscription.updated event shaped like Stripe's."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": subscription, "previous_attributes": {"status": "incomplete"}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "customer.subscription.updated",
    }


def store_events(companies: list[Company], per_company: int, prefix: str) -> list[int]:
    """`per_company` stored, pending customer.subscription.updated events per company; their ids."""
    now = timezone.now()
    rows = []
    for n in range(per_company):
        for company in companies:
            event = subscription_event(company.bench_subscription, f"evt_{prefix}_{company.pk}_{n}")
            rows.append(
                WebhookEvent(
                    stripe_id=event["id"],
                    type=event["type"],
                    created=now,
                    payload=event,
                    received_at=now,
                )
            )
    created = WebhookEvent.objects.bulk_create(rows, batch_size=1000)
    return [row.pk for row in created]


def sign(payload: str, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def write_signed_events(path_prefix: Path, *, threads: int, per_thread: int, subscription: dict, id_prefix: str) -> int:
    """wrk input (bench/wrk.lua): per thread, one signed, unique event a line. Returns the total."""
    secret = settings.STRIPE_WEBHOOK_SECRETS[0]
    timestamp = int(time.time())
    for thread in range(threads):
        with open(f"{path_prefix}.{thread}", "w") as out:
            for n in range(per_thread):
                payload = json.dumps(subscription_event(subscription, f"evt_{id_prefix}_{thread}_{n}"))
                out.write(f"{sign(payload, secret, timestamp)}\t{payload}\n")
    return threads * per_thread


def sample_subscription() -> dict:
    """A real subscription object from the emulator, for realistic event payloads."""
    client = stripe_client()
    price = client.v1.prices.list(params={"lookup_keys": ["basic_monthly"], "limit": 1}).data[0]
    customer = client.v1.customers.create(params={"name": "Bench payload"})
    return as_json(
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 7}
        )
    )


def shuffled_with_duplicates(ids: list[int], total: int, seed: int = 8) -> list[int]:
    """`total` task messages for `ids`: each id once, the rest random repeats, in random order."""
    rng = random.Random(seed)
    messages = list(ids) + [rng.choice(ids) for _ in range(total - len(ids))]
    rng.shuffle(messages)
    return messages


def pg_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]
