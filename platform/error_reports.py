"""What Django's error reports (the DEBUG page, the e-mails to ADMINS) may show: never a password or a key.

Django's own filter honours `@sensitive_variables` and `@sensitive_post_parameters` only with DEBUG
off, so local settings showed a sign-up's password on the debug page. This filter is active in DEBUG
too and, on top of the decorators (which only cover code called from a decorated function), hides
every local variable and dict entry whose name looks secret (`password`, `admin_password`, `key`,
`token`, ...) and the data of DRF serializers, whose repr echoes the request body.
"""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter
from rest_framework.serializers import BaseSerializer


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        return True

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self._cleanse(name, value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def _cleanse(self, name: str, value):
        if isinstance(value, BaseSerializer):
            return f"<{type(value).__name__}: request data hidden>"
        # By name (hidden_settings: API, AUTH, TOKEN, KEY, SECRET, PASS, SIGNATURE, ...), recursing into dicts.
        return self.cleanse_setting(name, value)
