"""Stripe-shaped API errors."""


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
            err["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        if request_id:
            err["request_log_url"] = "https://dashboard.stripe.com/test/logs/" + request_id
        err.update(self.extra)
        return {"error": err}


def missing(param):
    return StripeError(
        400, "invalid_request_error", "Missing required param: %s." % param, code="parameter_missing", param=param
    )


def invalid(param, message=None, code="parameter_invalid_string"):
    return StripeError(400, "invalid_request_error", message or "Invalid value for %s." % param, code=code, param=param)


def not_found(kind, oid, param="id"):
    return StripeError(
        404, "invalid_request_error", "No such %s: '%s'" % (kind, oid), code="resource_missing", param=param
    )


def card_declined(decline_code="generic_decline", message="Your card was declined.", param=None, extra=None):
    code = "card_declined"
    if decline_code == "insufficient_funds":
        message = "Your card has insufficient funds."
    return StripeError(402, "card_error", message, code=code, param=param, decline_code=decline_code, extra=extra)
