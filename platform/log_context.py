"""Request id, company slug and Celery task id on every log line (text locally, JSON in production)."""

import contextvars
import json
import logging
import re
import uuid

_request_id = contextvars.ContextVar("request_id", default="-")
_company = contextvars.ContextVar("company", default="-")
_task_id = contextvars.ContextVar("task_id", default="-")

# Secrets that must never reach a log line, whatever logged them.
_SECRET_PATTERN = re.compile(r"\b(sk|rk)_(test|live)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9]+")


def redact(text: str) -> str:
    return _SECRET_PATTERN.sub(lambda m: m.group(0).split("_")[0] + "_***", text)


def bind_company(slug: str) -> None:
    _company.set(slug or "-")


def bind_task(task_id: str | None) -> None:
    _task_id.set(task_id or "-")
    _company.set("-")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.company = _company.get()
        record.task_id = _task_id.get()
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = (
                tuple(redact(a) if isinstance(a, str) else a for a in record.args)
                if isinstance(record.args, tuple)
                else record.args
            )
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
            "company": getattr(record, "company", "-"),
            "task_id": getattr(record, "task_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


class RequestContextMiddleware:
    """Gives each request an id (or keeps the proxy's X-Request-ID) for its log lines."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", incoming) else uuid.uuid4().hex
        # Not reset when the response leaves: Django logs 4xx/5xx after the middleware returns,
        # and those lines need the id too. The next request on this thread sets its own.
        _request_id.set(request_id)
        _company.set("-")
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
