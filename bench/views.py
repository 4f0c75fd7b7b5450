"""Benchmark-only views, mounted by bench/urls_*.py on the same gunicorn as the platform.

`bare` is the floor: a Django view that does nothing, through the same middleware. The posts pair
does the same work (the newest 20 posts, serialized) and differs only in `RequiresFeature("posts")`;
both report in `X-Bench-Queries` how many SQL queries the view ran (authentication, permissions,
the list), so "zero extra queries" is checked on the real server with DEBUG off.
"""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import generics

from companies.access import IsCompanyMember, RequiresFeature
from posts.api import PostSerializer
from posts.models import Post


@csrf_exempt
def bare(request):
    return JsonResponse({"ok": True})


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class _NewestPosts(generics.ListAPIView):
    serializer_class = PostSerializer
    pagination_class = None

    def get_queryset(self):
        return Post.objects.select_related("author").order_by("-created_at", "-id")[:20]

    def dispatch(self, request, *args, **kwargs):
        counter = _QueryCounter()
        with connection.execute_wrapper(counter):
            response = super().dispatch(request, *args, **kwargs)
        response["X-Bench-Queries"] = str(counter.count)
        return response


class UngatedPosts(_NewestPosts):
    permission_classes = [IsCompanyMember]


class GatedPosts(_NewestPosts):
    permission_classes = [IsCompanyMember, RequiresFeature("posts")]
