from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "companies"
    verbose_name = "Companies"

    def ready(self) -> None:
        # Load the Celery app with Django in every process (web included), so tasks are
        # published through it. platform/ has no __init__.py to do this (see pyproject.toml).
        import saas_platform.celery  # noqa: F401

        from companies import notifications  # noqa: F401 - registers the invitation e-mail kind
