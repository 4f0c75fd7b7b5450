"""Two posts racing for the last slot under max_posts: the company's row lock serializes them."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import tenant_context

from companies.gates import Denied
from posts.models import Post
from posts.services import post_create
from tests.factories import CompanyFactory, MembershipFactory, PostFactory, give_subscription
from tests.plugins.services import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_posts_cannot_exceed_max_posts():
    """The first takes the last of 10 slots and holds its transaction open; the second waits for the
    company lock, then counts 10 and is refused. Without the lock both would count 9 and both insert."""
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly")  # max_posts: 10
    author = MembershipFactory(company=company, role="admin").user
    with tenant_context(company):
        PostFactory.create_batch(9, author=author)
    first_holds_the_slot, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def first():
        try:
            with tenant_context(company), transaction.atomic():
                post_create(company=company, author=author, title="first")
                first_holds_the_slot.set()
                release.wait(30)
        finally:
            connections.close_all()

    def second():
        try:
            first_holds_the_slot.wait(30)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                outcome["pid"] = cursor.fetchone()[0]
            with tenant_context(company):
                try:
                    outcome["second"] = post_create(company=company, author=author, title="second")
                except Denied as refusal:
                    outcome["second"] = refusal
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:

        def second_waits_on_a_lock_or_finished() -> bool:
            if "second" in outcome:
                return True
            if "pid" not in outcome:
                return False
            with connection.cursor() as cursor:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [outcome["pid"]])
                row = cursor.fetchone()
            return bool(row) and row[0] == "Lock"

        wait_until(second_waits_on_a_lock_or_finished, timeout=30, message="the second post to wait")
        assert "second" not in outcome, "the second post did not wait for the company lock"
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert isinstance(outcome["second"], Denied) and outcome["second"].code == "plan_limit_reached"
    with tenant_context(company):
        assert sorted(Post.objects.values_list("title", flat=True)).count("first") == 1
        assert Post.objects.count() == 10
