from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Stripe webhooks"

    def ready(self) -> None:
        from webhooks import notifications  # noqa: F401 - registers the billing e-mail kinds
