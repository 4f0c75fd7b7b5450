"""The sign-up form of the platform host. It renders the fields of POST /api/companies/, and the
API's serializer decides what it accepts, so the page and the API refuse the same input with the
same messages."""

from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation

from companies.services import SLUG_MAX_LENGTH
from onboarding.serializers import SignupSerializer
from subscriptions.plans import amount_display
from subscriptions.serializers import catalog, is_per_seat


def price_choices() -> list[tuple[str, str]]:
    """Every catalog price, as "Pro, $490 a year"."""
    choices = []
    for plan in catalog():
        per = " per seat" if is_per_seat(plan) else ""
        for price in plan["prices"]:
            amount, interval = amount_display(price["unit_amount"], price["currency"]), price["interval"]
            label = f"{plan['name']}, {amount}{per} a {interval}"
            choices.append((price["lookup_key"], label))
    return choices


def default_price(requested: str | None) -> str:
    known = {key for key, _ in price_choices()}
    return requested if requested in known else settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY


def _required(widget: type[forms.Widget], **attrs) -> forms.Widget:
    return widget(attrs={"required": True, **attrs})


class SignupForm(forms.Form):
    """Every field is left to the API's serializer (clean()): the form only renders them, so the
    page shows the API's own messages. The widgets still tell browsers and screen readers what is
    required and what kind of value goes where."""

    name = forms.CharField(
        label="Company name", required=False, widget=_required(forms.TextInput, autocomplete="organization")
    )
    slug = forms.CharField(
        label="Your company's address",
        required=False,
        help_text=(
            f"Your workspace will be at <strong><span id='slug-preview'>your-name</span>.{settings.PLATFORM_DOMAIN}"
            "</strong>: lowercase letters, digits and hyphens."
        ),
        widget=_required(
            forms.TextInput, maxlength=SLUG_MAX_LENGTH, autocapitalize="none", spellcheck="false", autocomplete="off"
        ),
    )
    admin_email = forms.CharField(
        label="Your e-mail",
        required=False,
        help_text="You log in with it.",
        widget=_required(forms.EmailInput, autocomplete="email"),
    )
    admin_password = forms.CharField(
        label="Choose a password",
        required=False,
        strip=False,
        help_text=password_validation.password_validators_help_text_html(),
        widget=_required(forms.PasswordInput, autocomplete="new-password"),
    )
    price_lookup_key = forms.CharField(
        label="Plan",
        required=False,
        help_text="Your trial starts on this plan; its price applies once the trial ends. Change plan any time.",
        widget=_required(forms.Select, choices=()),
    )
    promotion_code = forms.CharField(
        label="Promotion code",
        required=False,
        help_text="If you have one: it discounts your subscription once the trial ends.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"}),
    )
    # One key per form shown: sending it twice (a double click, a retry) signs up once.
    idempotency_key = forms.CharField(max_length=255, required=False, widget=forms.HiddenInput)

    API_FIELDS = ("name", "slug", "admin_email", "admin_password", "price_lookup_key", "promotion_code")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price_lookup_key"].widget.choices = price_choices()
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", secrets.token_urlsafe(24))
        self.validated_data: dict = {}

    def clean(self):
        cleaned = super().clean()
        serializer = SignupSerializer(data={name: self.data.get(name, "") for name in self.API_FIELDS})
        if serializer.is_valid():
            self.validated_data = dict(serializer.validated_data)
            return cleaned
        for field, messages in serializer.errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, str(message))
        return cleaned
