from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Stripe webhooks"

    def ready(self) -> None:
        from webhooks import handlers, notifications  # noqa: F401 - register the event handlers, the billing e-mail kinds
