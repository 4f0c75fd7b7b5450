"""Parameters a dated API version removed, which a request pinning an older
``Stripe-Version`` (``stripe trigger --api-version 2024-06-20``, an old SDK)
may still send.

The request spec (``stripe_spec.json``) describes only the pinned version;
this table is the small allowance for older ones, entry by entry from
Stripe's changelog.  A handler that receives such a parameter treats it the
way that version did (see ``customers.py`` and ``subscriptions.py``)."""

import re

from . import API_VERSION
from .errors import StripeError

_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})")
# In place of a spec node: a parameter the pinned version requires but the older version did not have.
NOT_REQUIRED = "not_required"

# (version that removed them, operation, {parameter: spec node})
REMOVED_PARAMETERS = (
    # https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-singular-coupon-promotion-code
    ("2025-03-31", "POST /v1/customers", {"coupon": "string", "promotion_code": "string"}),
    (
        "2025-03-31",
        "POST /v1/customers/{customer}",
        {"coupon": ["empty", "string"], "promotion_code": ["empty", "string"]},
    ),
    ("2025-03-31", "POST /v1/subscriptions", {"coupon": "string", "promotion_code": "string"}),
    (
        "2025-03-31",
        "POST /v1/subscriptions/{subscription_exposed_id}",
        {"coupon": "string", "promotion_code": "string"},
    ),
    # https://docs.stripe.com/changelog/clover/2025-09-30/polymorphic-coupon
    ("2025-09-30", "POST /v1/promotion_codes", {"coupon": "string", "promotion": NOT_REQUIRED}),
    # https://docs.stripe.com/changelog/clover/2025-09-30/remove-iterations (``duration`` replaces it)
    ("2025-09-30", "POST /v1/subscription_schedules", {"phases[][iterations]": "integer"}),
    ("2025-09-30", "POST /v1/subscription_schedules/{schedule}", {"phases[][iterations]": "integer"}),
    # https://docs.stripe.com/changelog/endive/2026-09-30/removes-the-payment-method-types-parameter-from-payment-intents-and-setup-intents
    ("2026-09-30", "POST /v1/payment_intents", {"payment_method_types": {"array": "string"}}),
    ("2026-09-30", "POST /v1/payment_intents/{intent}", {"payment_method_types": {"array": "string"}}),
    ("2026-09-30", "POST /v1/payment_intents/{intent}/confirm", {"payment_method_types": {"array": "string"}}),
    ("2026-09-30", "POST /v1/setup_intents", {"payment_method_types": {"array": "string"}}),
    ("2026-09-30", "POST /v1/setup_intents/{intent}", {"payment_method_types": {"array": "string"}}),
    # https://docs.stripe.com/changelog/endive/2026-09-30/remove-payment-method-types-checkout-sessions
    ("2026-09-30", "POST /v1/checkout/sessions", {"payment_method_types": {"array": "string"}}),
)
# A removed parameter the pinned version answers with its own error code instead of ``parameter_unknown``
REMOVED_WITH_CODE = {
    ("POST /v1/payment_intents", "payment_method_types"): "payment_method_types_no_longer_supported",
    ("POST /v1/payment_intents/{intent}", "payment_method_types"): "payment_method_types_no_longer_supported",
    ("POST /v1/payment_intents/{intent}/confirm", "payment_method_types"): "payment_method_types_no_longer_supported",
    ("POST /v1/setup_intents", "payment_method_types"): "payment_method_types_no_longer_supported",
    ("POST /v1/setup_intents/{intent}", "payment_method_types"): "payment_method_types_no_longer_supported",
}


def version_date(version):
    """``2024-06-20`` from ``2024-06-20`` or ``2025-03-31.basil``; None when not a dated version."""
    match = _DATED.match(version or "")
    return match.group(1) if match else None


def older_parameters(operation_key, requested_version):
    """Extra parameters ``requested_version`` still accepts for the operation: top-level names or bracketed
    paths (``phases[][iterations]``); ``NOT_REQUIRED``: a required parameter that version did not require."""
    requested = version_date(requested_version)
    if requested is None or requested >= version_date(API_VERSION):
        return {}
    allowed = {}
    for removed_in, key, parameters in REMOVED_PARAMETERS:
        if key == operation_key and requested < removed_in:
            allowed.update(parameters)
    return allowed


def removed_parameter_error(operation_key, error):
    """Stripe's own answer for a parameter the pinned version removed, in place of ``parameter_unknown``."""
    code = REMOVED_WITH_CODE.get((operation_key, error.param)) if error.code == "parameter_unknown" else None
    if code is None:
        return error
    return StripeError(
        400,
        "invalid_request_error",
        "The %s parameter is no longer supported in API version %s. Use allowed_payment_method_types, "
        "excluded_payment_method_types or dynamic payment methods instead." % (error.param, API_VERSION),
        code=code,
        param=error.param,
    )
