"""Stripe-shaped API errors.  Messages, codes and ``param`` follow what Stripe
sends; a code is only set where Stripe sets one (its type errors for booleans,
enums, hashes and arrays carry none)."""

import time

DOC_URL = "https://stripe.com/docs/error-codes/"
REQUEST_LOG_URL = "https://dashboard.stripe.com/test/logs/"


class StripeError(Exception):
    def __init__(self, status, type_, message, code=None, param=None, decline_code=None, extra=None):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self, request_id=None):
        err = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOC_URL + self.code.replace("_", "-")
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        if request_id:
            err["request_log_url"] = "%s%s?t=%d" % (REQUEST_LOG_URL, request_id, int(time.time()))
        err.update(self.extra)
        return {"error": err}


def invalid_request(message, code=None, param=None, status=400):
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def missing(param):
    return invalid_request("Missing required param: %s." % param, code="parameter_missing", param=param)


def parameter_unknown(param):
    return invalid_request("Received unknown parameter: %s" % param, code="parameter_unknown", param=param)


def passed_empty_string(param):
    return invalid_request(
        "You passed an empty string for '%s'. We assume empty values are an attempt to unset a parameter; "
        "however '%s' cannot be unset. You should remove '%s' from your request or supply a non-empty value."
        % (param, param, param),
        code="parameter_invalid_empty",
        param=param,
    )


def invalid_parameter(param, message, code=None):
    return invalid_request(message, code=code, param=param)


def invalid(param, message=None, code="parameter_invalid_string"):
    return invalid_request(message or "Invalid value for %s." % param, code=code, param=param)


def not_found(kind, oid, param="id"):
    """404 for the object the URL names (``param="id"``), 400 for an id passed as a parameter."""
    status = 404 if param == "id" else 400
    return invalid_request("No such %s: '%s'" % (kind, oid), code="resource_missing", param=param, status=status)


def unrecognized_url(method, path, status=404):
    return invalid_request(
        "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/." % (method, path),
        status=status,
    )


def card_declined(decline_code="generic_decline", message="Your card was declined.", param=None, extra=None):
    code = "card_declined"
    if decline_code == "insufficient_funds":
        message = "Your card has insufficient funds."
    return StripeError(402, "card_error", message, code=code, param=param, decline_code=decline_code, extra=extra)
