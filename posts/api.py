"""The posts API on a company host: members read; creating needs the `posts` feature and a free slot."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.views import APIView
from saas_platform.api.pagination import NewestFirstPagination

from companies.access import IsCompanyMember, RequiresFeature
from posts.models import Post
from posts.selectors import posts_newest_first
from posts.services import post_create, post_delete, post_update, posts_csv


class PostSerializer(serializers.ModelSerializer):
    author_email = serializers.EmailField(source="author.email", read_only=True)

    class Meta:
        model = Post
        fields = ["id", "title", "body", "author_email", "created_at", "updated_at"]
        read_only_fields = ["id", "author_email", "created_at", "updated_at"]


class _ApiAccess:
    """Token clients need the plan's `api_access`; browser sessions do not."""

    def get_permissions(self):
        permissions = [IsCompanyMember()]
        if getattr(self.request, "api_token", None) is not None:
            permissions.append(RequiresFeature("api_access")())
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            permissions.append(RequiresFeature("posts")())
        return permissions


@extend_schema_view(
    get=extend_schema(operation_id="posts_list", tags=["posts"], summary="The company's posts, newest first"),
    post=extend_schema(
        operation_id="posts_create",
        tags=["posts"],
        summary="Create a post (needs the `posts` feature and a free slot under `max_posts`)",
        parameters=[
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[201], description="The URL of the new post."
            )
        ],
    ),
)
class PostListCreateView(_ApiAccess, generics.ListCreateAPIView):
    serializer_class = PostSerializer
    pagination_class = NewestFirstPagination
    gated = True

    def get_queryset(self):
        return posts_newest_first()

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response["Location"] = request.build_absolute_uri(f"/api/posts/{response.data['id']}/")
        return response

    def perform_create(self, serializer):
        serializer.instance = post_create(
            company=self.request.tenant, author=self.request.user, **serializer.validated_data
        )


@extend_schema_view(
    get=extend_schema(operation_id="posts_retrieve", tags=["posts"]),
    put=extend_schema(
        operation_id="posts_update",
        tags=["posts"],
        summary="Edit a post (its author or an admin; else 403 `not_author`)",
    ),
    patch=extend_schema(
        operation_id="posts_partial_update",
        tags=["posts"],
        summary="Edit part of a post (its author or an admin; else 403 `not_author`)",
    ),
    delete=extend_schema(
        operation_id="posts_destroy",
        tags=["posts"],
        summary="Delete a post (its author or an admin; else 403 `not_author`)",
    ),
)
class PostDetailView(_ApiAccess, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = PostSerializer
    gated = True

    def get_queryset(self):
        return posts_newest_first()

    def get_permissions(self):
        permissions = super().get_permissions()
        # Deleting frees a slot and loses nothing: allowed on any plan, so data can always be tidied.
        if self.request.method == "DELETE":
            permissions = [p for p in permissions if getattr(p, "required_feature", None) != "posts"]
        return permissions

    # Who may change a post is the service's rule (its author or an admin): 403 `not_author` otherwise.
    def perform_update(self, serializer):
        serializer.instance = post_update(
            company=self.request.tenant, post=serializer.instance, user=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        post_delete(company=self.request.tenant, post=instance, user=self.request.user)


class PostExportView(APIView):
    permission_classes = [IsCompanyMember, RequiresFeature("exports")]
    gated = True

    @extend_schema(
        operation_id="posts_export",
        tags=["posts"],
        summary="All posts as CSV (needs the `exports` feature)",
        description=(
            "A cell that starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab or carriage return) is "
            "prefixed with `'`, so spreadsheets show it as text instead of running it."
        ),
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="All posts as CSV")},
    )
    def get(self, request):
        response = HttpResponse(posts_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-posts.csv"'
        return response
