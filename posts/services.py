"""Posts: creation within the plan's limit, changes by their author or an admin, and CSV export."""

import csv
import io

from django.db import transaction

from companies.models import Membership
from companies.services import membership_for
from posts.models import Post
from subscriptions.gates import Denial, limit_denial


class NotAuthor(Exception):
    """Only a post's author or an admin of its company may edit or delete it."""

    code = "not_author"


def post_create(*, company, author, title: str, body: str = "") -> Post | Denial:
    with transaction.atomic():
        # Serialize creations in this schema so two requests cannot both take the last slot.
        Post.objects.select_for_update().order_by().values("pk").first()
        denial = limit_denial(company, "max_posts", Post.objects.count())
        if denial:
            return denial
        return Post.objects.create(author=author, title=title, body=body)


def post_check_may_change(*, company, post: Post, user) -> None:
    """Raise NotAuthor unless `user` wrote the post or is an admin of `company`."""
    if post.author_id == user.pk:
        return
    membership = membership_for(company=company, user=user)
    if membership is None or membership.role != Membership.Role.ADMIN:
        raise NotAuthor("Only the post's author or a company admin can change it.")


def post_update(*, company, post: Post, user, **fields) -> Post:
    post_check_may_change(company=company, post=post, user=user)
    for field, value in fields.items():
        setattr(post, field, value)
    post.save()
    return post


def post_delete(*, company, post: Post, user) -> None:
    post_check_may_change(company=company, post=post, user=user)
    post.delete()


# A spreadsheet evaluates a cell that starts like a formula (OWASP "CSV injection"); a leading
# apostrophe makes it plain text there, and is visible (not silently dropped) anywhere else.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def posts_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "body", "author_id", "created_at", "updated_at"])
    for post in Post.objects.order_by("id").iterator():
        row = [post.pk, post.title, post.body, post.author_id, post.created_at.isoformat(), post.updated_at.isoformat()]
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()
