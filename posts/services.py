"""Posts: creation within the plan's limit, changes by their author or an admin, and CSV export.

Posts live in the company's own schema (the request's tenant); the company row, in the public
schema, is the lock that serializes creations."""

import csv
import io

from django.db import transaction
from saas_platform.errors import ServiceError

from companies.gates import require_free_slot
from companies.locks import company_lock
from companies.models import Membership
from companies.selectors import membership_for
from posts.models import Post
from posts.selectors import posts_count, posts_oldest_first


class NotAuthor(ServiceError):
    """Only a post's author or an admin of its company may edit or delete it."""

    status = 403
    code = "not_author"
    detail = "Only the post's author or a company admin can change it."


def post_create(*, company, author, title: str, body: str = "") -> Post:
    """A new post, unless the plan's max_posts is reached (Denied, `plan_limit_reached`): counted
    under the company's lock, so two requests cannot both take the last slot."""
    with transaction.atomic():
        require_free_slot(company_lock(company_id=company.pk), "max_posts", posts_count())
        return Post.objects.create(author=author, title=title, body=body)


def post_check_may_change(*, company, post: Post, user) -> None:
    """Raise NotAuthor unless `user` wrote the post or is an admin of `company`."""
    if post.author_id == user.pk:
        return
    membership = membership_for(company=company, user=user)
    if membership is None or membership.role != Membership.Role.ADMIN:
        raise NotAuthor()


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
    for post in posts_oldest_first().iterator():
        row = [post.pk, post.title, post.body, post.author_id, post.created_at.isoformat(), post.updated_at.isoformat()]
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()
