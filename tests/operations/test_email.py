"""Outgoing e-mail is configured from the environment with Django's own setting names: the values
reach the settings, a password-reset e-mail really travels over SMTP with the configured server and
credentials, and an unreachable SMTP server neither breaks nor betrays the reset form."""

from __future__ import annotations

import base64
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.factories import UserFactory
from tests.helpers import platform_client, send_owed_emails

ROOT = Path(__file__).resolve().parents[2]

EMAIL_ENV = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.provider.example",
    "EMAIL_PORT": "2525",
    "EMAIL_HOST_USER": "billing-sender",
    "EMAIL_HOST_PASSWORD": "smtp-secret-42",
    "EMAIL_USE_TLS": "true",
    "EMAIL_TIMEOUT": "7",
    "EMAIL_FILE_PATH": "/srv/mail",
    "DEFAULT_FROM_EMAIL": "Billing <billing@provider.example>",
}
PRINT_EMAIL_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
names = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
         "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT", "EMAIL_FILE_PATH", "DEFAULT_FROM_EMAIL"]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def _settings_under(module: str, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DEFAULT_FROM", "DJANGO_", "STRIPE_"))}
    base.update(DJANGO_SETTINGS_MODULE=module, **env)
    if module.endswith("production"):
        base.update(
            DJANGO_SECRET_KEY="email-test-" + "s3cret-" * 8,
            STRIPE_SECRET_KEY="sk_test_emailSettingsCheck",
            STRIPE_WEBHOOK_SECRET="whsec_email_settings",
        )
    result = subprocess.run(
        [sys.executable, "-c", PRINT_EMAIL_SETTINGS], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_email_settings_come_from_the_environment_under_production_settings():
    found = _settings_under("saas_platform.settings.production", **EMAIL_ENV)
    assert found == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.provider.example",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "billing-sender",
        "EMAIL_HOST_PASSWORD": "smtp-secret-42",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 7,
        "EMAIL_FILE_PATH": "/srv/mail",
        "DEFAULT_FROM_EMAIL": "Billing <billing@provider.example>",
    }


def test_mail_is_printed_locally_and_sent_over_smtp_in_production_by_default():
    assert _settings_under("saas_platform.settings.local")["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )
    assert _settings_under("saas_platform.settings.production")["EMAIL_BACKEND"] == (
        "django.core.mail.backends.smtp.EmailBackend"
    )


# --- A real SMTP conversation -----------------------------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough of an SMTP server (RFC 5321, AUTH PLAIN) to receive what Django's backend sends."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        received = {"auth": None, "from": None, "to": [], "data": b""}
        self._reply("220 test-smtp ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._reply("250-test-smtp")
                self._reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(command.split()[2]).split(b"\0")
                received["auth"] = (user.decode(), password.decode())
                self._reply("235 authenticated")
            elif verb == "MAIL":
                received["from"] = command
                self._reply("250 ok")
            elif verb == "RCPT":
                received["to"].append(command)
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 go ahead")
                chunks = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    chunks.append(chunk)
                received["data"] = b"".join(chunks)
                self.server.messages.append(dict(received))
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_a_password_reset_email_travels_over_smtp_with_the_configured_credentials(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.server_address
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "billing-sender", "smtp-secret-42"
    settings.DEFAULT_FROM_EMAIL = "billing@provider.example"
    user = UserFactory()
    response = platform_client().post("/password-reset/", {"email": user.email})
    assert response.status_code == 302
    assert not smtp_server.messages  # the request only owes the e-mail; the outbox sends it
    assert send_owed_emails() == 1
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["auth"] == ("billing-sender", "smtp-secret-42")
    assert "billing@provider.example" in message["from"] and user.email in message["to"][0]
    assert b"/password-reset/" in message["data"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_an_unreachable_smtp_server_does_not_break_or_betray_the_reset_form(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    user = UserFactory()
    client = platform_client()
    client.raise_request_exception = False
    known, unknown = (client.post("/password-reset/", {"email": email}) for email in (user.email, "no@example.com"))
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/password-reset/sent/"
