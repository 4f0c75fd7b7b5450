from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "posts"
    verbose_name = "Posts"

    def ready(self) -> None:
        from django_tenants.utils import schema_context, schema_exists

        from companies.gates import usage_counter
        from posts.selectors import posts_count

        @usage_counter("max_posts")
        def posts_of(company) -> int:
            # Posts live in the company's schema: count them there, whichever schema is active now.
            if not company.schema_name or not schema_exists(company.schema_name):
                return 0
            with schema_context(company.schema_name):
                return posts_count()
