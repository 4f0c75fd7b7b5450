"""SEPA Direct Debit payment methods and Stripe's test IBANs
(https://docs.stripe.com/payments/sepa-debit/accept-a-payment#test-integration).

A SEPA debit is a delayed-notification payment: a confirmed PaymentIntent is
``processing`` first, then ``succeeded`` or ``requires_payment_method``.  The
test IBAN decides which, and when: at once, or (``…Delayed``) at least three
minutes later.  Any other IBAN with a valid checksum succeeds at once."""

import hashlib

from .errors import invalid
from .resources import merge_metadata, p_dict
from .store import new_id

SETTLEMENT_DELAY = 180
# IBAN -> (behaviour, failure code)
TEST_IBANS = {
    "AT611904300234573201": ("succeed", None),
    "AT321904300235473204": ("succeed_delayed", None),
    "AT861904300235473202": ("fail", "insufficient_funds"),
    "AT051904300235473205": ("fail_delayed", "insufficient_funds"),
    "AT591904300235473203": ("dispute", None),
    "AT981904300002222227": ("fail", "insufficient_funds"),
    "BE62510007547061": ("succeed", None),
    "BE78510007547064": ("succeed_delayed", None),
    "BE68539007547034": ("fail", "insufficient_funds"),
    "BE51510007547065": ("fail_delayed", "insufficient_funds"),
    "BE08510007547063": ("dispute", None),
    "DE89370400440532013000": ("succeed", None),
    "DE08370400440532013003": ("succeed_delayed", None),
    "DE62370400440532013001": ("fail", "insufficient_funds"),
    "DE78370400440532013004": ("fail_delayed", "insufficient_funds"),
    "DE35370400440532013002": ("dispute", None),
    "FR1420041010050500013M02606": ("succeed", None),
    "FR3020041010050500013M02609": ("succeed_delayed", None),
    "FR8420041010050500013M02607": ("fail", "insufficient_funds"),
    "FR7920041010050500013M02600": ("fail_delayed", "insufficient_funds"),
    "FR5720041010050500013M02608": ("dispute", None),
    "NL39RABO0300065264": ("succeed", None),
    "NL55RABO0300065267": ("succeed_delayed", None),
    "NL91ABNA0417164300": ("fail", "insufficient_funds"),
    "NL28RABO0300065268": ("fail_delayed", "insufficient_funds"),
    "NL82RABO0300065266": ("dispute", None),
}


def iban_is_valid(iban):
    """ISO 13616 checksum: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    if len(iban) < 15 or not iban[:2].isalpha() or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def build_payment_method(params, now):
    """``type=sepa_debit`` with ``sepa_debit[iban]``."""
    iban = (p_dict(params, "sepa_debit").get("iban") or "").replace(" ", "").upper()
    if not iban_is_valid(iban):
        raise invalid(
            "sepa_debit[iban]", "The IBAN you provided (%s) is invalid." % iban, code="invalid_bank_account_iban"
        )
    behaviour, failure_code = TEST_IBANS.get(iban, ("succeed", None))
    details = p_dict(params, "billing_details")
    address = details.get("address") if isinstance(details.get("address"), dict) else {}
    return {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {k: address.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")},
            "email": details.get("email"),
            "name": details.get("name"),
            "phone": details.get("phone"),
            "tax_id": None,
        },
        "created": now,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "sepa_debit": {
            "bank_code": iban[4:9],
            "branch_code": "",
            "country": iban[:2],
            "fingerprint": hashlib.sha1(iban.encode()).hexdigest()[:16],
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": iban[-4:],
        },
        "type": "sepa_debit",
        "_behaviour": behaviour,
        "_decline_code": failure_code,
    }
