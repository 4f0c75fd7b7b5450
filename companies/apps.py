from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "companies"
    verbose_name = "Companies"

    def ready(self) -> None:
        # Load the Celery app with Django in every process (web included), so tasks are
        # published through it. platform/ has no __init__.py to do this (see pyproject.toml).
        import saas_platform.celery  # noqa: F401

        from companies import notifications  # noqa: F401 - registers the invitation e-mail kind
        from companies.gates import usage_counter
        from companies.selectors import seats_taken

        # max_members counts pending invitations too: each holds a seat.
        usage_counter("max_members")(lambda company: seats_taken(company=company))
