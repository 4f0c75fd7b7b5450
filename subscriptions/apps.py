from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from subscriptions import notifications  # noqa: F401 - register the dunning e-mail kinds
