"""HTML forms of a company host that are more than Django's own."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordResetForm

from companies.models import Membership
from companies.passwords import password_reset_owe
from companies.services import SLUG_MAX_LENGTH
from companies.tokens import TOKEN_DEFAULT_LIFETIME_DAYS, TOKEN_MAX_LIFETIME_DAYS


class ExistingAccountForm(forms.Form):
    """Someone with an account proves it is theirs with its password before joining another company.

    `authenticate(request, ...)` is the one password check of every login form, so the lockout
    counts failures here too."""

    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request, email: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.email = email
        self.user = None

    def clean(self):
        password = self.cleaned_data.get("password")
        if password:
            self.user = authenticate(self.request, email=self.email, password=password)
            if self.user is None:
                raise forms.ValidationError(f"That is not the password of {self.email}.", code="invalid_login")
        return self.cleaned_data


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the e-mail is owed through the outbox instead of sent in the request,
    so the answer takes as long whether or not the address has an account."""

    email = forms.EmailField(
        label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def save(self, *args, **kwargs) -> None:
        for user in self.get_users(self.cleaned_data["email"]):
            password_reset_owe(user=user)


class InvitationForm(forms.Form):
    """The members page's invite form: the fields of POST /api/invitations/."""

    email = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)


NEVER = "never"
TOKEN_LIFETIMES = [("30", "30 days"), (str(TOKEN_DEFAULT_LIFETIME_DAYS), f"{TOKEN_DEFAULT_LIFETIME_DAYS} days")]
TOKEN_LIFETIMES += [(str(TOKEN_MAX_LIFETIME_DAYS), "1 year"), (NEVER, "Never (not recommended)")]


class ApiTokenForm(forms.Form):
    """The tokens page's form: a name and one of a few lifetimes within the service's bounds."""

    name = forms.CharField(
        label="Name", max_length=100, required=False, help_text="Where you use it, e.g. “CI” or “laptop”."
    )
    expires_in_days = forms.ChoiceField(
        label="Expires after", choices=TOKEN_LIFETIMES, initial=str(TOKEN_DEFAULT_LIFETIME_DAYS)
    )

    def clean_expires_in_days(self) -> int | None:
        value = self.cleaned_data["expires_in_days"]
        return None if value == NEVER else int(value)


class CompanyAddressForm(forms.Form):
    """The platform host's "Log in" page: which company's login page to open."""

    slug = forms.CharField(
        label="Your company's address",
        max_length=SLUG_MAX_LENGTH,
        help_text=f"The first part of its address: <em>acme</em> for acme.{settings.PLATFORM_DOMAIN}.",
        widget=forms.TextInput(attrs={"autocomplete": "organization", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def clean_slug(self) -> str:
        """`acme`, also typed as acme.<domain> or as a whole URL."""
        value = self.cleaned_data["slug"].strip().lower()
        host = value.split("//")[-1].split("/")[0].split(":")[0]
        return host.removesuffix(f".{settings.PLATFORM_DOMAIN}")
