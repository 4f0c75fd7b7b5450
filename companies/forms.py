"""HTML forms of a company host that are more than Django's own."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordResetForm

from companies.passwords import password_reset_owe


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

    def save(self, *args, **kwargs) -> None:
        for user in self.get_users(self.cleaned_data["email"]):
            password_reset_owe(user=user)
