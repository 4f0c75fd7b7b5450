"""The company host's home page: the subscription, the plan's limits and the latest posts, each read
through its own app's selectors."""

from __future__ import annotations

from django.shortcuts import render

from companies.access import member_required, request_membership
from companies.models import Membership
from companies.selectors import invitations_pending, members_of
from posts.selectors import posts_count, posts_newest_first
from subscriptions.selectors import subscription_of


@member_required
def dashboard(request):
    company = request.tenant
    membership = request_membership(request)
    context = {
        "company": company,
        "membership": membership,
        "is_admin": membership.role == Membership.Role.ADMIN,
        "subscription": subscription_of(company=company),
        "posts": list(posts_newest_first()[:5]),
        "post_count": posts_count(),
        "member_count": members_of(company=company).count(),
        "invited_count": invitations_pending(company=company).count(),
    }
    return render(request, "dashboard/home.html", context)
