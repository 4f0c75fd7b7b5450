"""Posts: creation within the plan's limit, and CSV export."""

import csv
import io

from django.db import transaction

from posts.models import Post
from subscriptions.gates import Denial, limit_denial


def post_create(*, company, author, title: str, body: str = "") -> Post | Denial:
    with transaction.atomic():
        # Serialize creations in this schema so two requests cannot both take the last slot.
        Post.objects.select_for_update().order_by().values("pk").first()
        denial = limit_denial(company, "max_posts", Post.objects.count())
        if denial:
            return denial
        return Post.objects.create(author=author, title=title, body=body)


def posts_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "body", "author_id", "created_at", "updated_at"])
    for post in Post.objects.order_by("id").iterator():
        writer.writerow(
            [post.pk, post.title, post.body, post.author_id, post.created_at.isoformat(), post.updated_at.isoformat()]
        )
    return out.getvalue()
