"""Reads of the current company's posts (the connection is on its schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from posts.models import Post


def posts_newest_first() -> QuerySet[Post]:
    return Post.objects.select_related("author").order_by("-created_at", "-id")


def posts_oldest_first() -> QuerySet[Post]:
    return Post.objects.order_by("id")


def posts_count() -> int:
    return Post.objects.count()
