"""Two posts racing for the last slot under max_posts: the company's row lock serializes them."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from companies.gates import Denied
from posts.models import Post
from posts.services import post_create
from tests.factories import CompanyFactory, MembershipFactory, PostFactory, give_subscription
from tests.helpers import contend_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_posts_cannot_exceed_max_posts():
    """The first takes the last of 10 slots and holds its transaction open; the second waits for the
    company lock, then counts 10 and is refused. Without the lock both would count 9 and both insert."""
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly")  # max_posts: 10
    author = MembershipFactory(company=company, role="admin").user
    with tenant_context(company):
        PostFactory.create_batch(9, author=author)

    def create(title: str):
        with tenant_context(company):
            return post_create(company=company, author=author, title=title)

    second = contend_for_a_lock(holder=lambda: create("first"), contender=lambda: create("second"), expected=Denied)

    assert isinstance(second, Denied) and second.code == "plan_limit_reached"
    with tenant_context(company):
        assert list(Post.objects.filter(title__in=["first", "second"]).values_list("title", flat=True)) == ["first"]
        assert Post.objects.count() == 10
