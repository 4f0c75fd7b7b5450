"""Coupons, promotion codes and the discounts they turn into, and what
discounts take off an invoice.  Every function expects the state lock held.

A reference in a request (``discounts[0][coupon]``, ``[promotion_code]`` or an
existing ``[discount]``) is checked - exists, still redeemable, meets the
promotion code's restrictions - before anything changes, then redeemed into a
``discount`` object (``times_redeemed`` counted on the coupon and the code).

What a discount takes off an invoice (see ``money.py`` for rounding): line
item discounts first, then the invoice's (subscription's, customer's)
discounts, each on what earlier ones left; ``percent_off`` per line,
``amount_off`` split across the eligible lines in proportion to what is left on
them.  Lines with ``discountable: false`` (prorations, whose amounts already
include the discount) and credits are not discounted; ``applies_to.products``
limits a coupon to lines of those products."""

import contextlib
from fractions import Fraction

from . import money
from .errors import invalid_request, not_found
from .events import diff_previous, emit
from .resources import add_interval, public
from .store import new_id

COUPON_FIELDS = (
    "id",
    "object",
    "amount_off",
    "created",
    "currency",
    "duration",
    "duration_in_months",
    "livemode",
    "max_redemptions",
    "metadata",
    "name",
    "percent_off",
    "redeem_by",
    "times_redeemed",
    "valid",
)


# ---------------------------------------------------------------------------
# rendering


def coupon_is_valid(coupon, at):
    """Whether the coupon can still be redeemed at time ``at``."""
    if coupon.get("deleted"):
        return False
    if coupon["redeem_by"] is not None and at >= coupon["redeem_by"]:
        return False
    return coupon["max_redemptions"] is None or coupon["times_redeemed"] < coupon["max_redemptions"]


def render_coupon(coupon, at, include_applies_to=False):
    """``applies_to`` is one of Stripe's includable fields: only with ``expand[]=applies_to``."""
    out = {key: public(coupon.get(key)) for key in COUPON_FIELDS}
    out["valid"] = coupon_is_valid(coupon, at)
    if include_applies_to:
        out["applies_to"] = public(coupon["applies_to"])
    return out


def promotion_code_is_active(app, code, at):
    """Active only while switched on, unexpired, not fully redeemed and its coupon valid."""
    coupon = app.state.get("coupons", code["promotion"]["coupon"])
    if not code["_active"] or coupon is None or not coupon_is_valid(coupon, at):
        return False
    if code["expires_at"] is not None and at >= code["expires_at"]:
        return False
    return code["max_redemptions"] is None or code["times_redeemed"] < code["max_redemptions"]


def render_promotion_code(app, code, at):
    out = public(code)
    out["active"] = promotion_code_is_active(app, code, at)
    return out


def render_discount(discount):
    return public(discount)


# ---------------------------------------------------------------------------
# checking references


class Redemption:
    """A checked reference: the coupon and promotion code to redeem, or an existing discount to keep."""

    def __init__(self, coupon=None, promotion_code=None, existing=None):
        self.coupon = coupon
        self.promotion_code = promotion_code
        self.existing = existing


def check_references(app, references, *, customer_id, currency, amount, at, param):
    """Every ``references[i]`` checked (nothing redeemed yet): a list of Redemption.
    ``param`` names the list (``discounts``, ``items[0][discounts]``); None means the references
    came as an older version's top-level ``coupon``/``promotion_code``."""
    checked = []
    for index, reference in enumerate(references or []):

        def name(key, index=index):
            return key if param is None else "%s[%d][%s]" % (param, index, key)

        checked.append(_check_reference(app, reference, customer_id, currency, amount, at, name))
    return checked


def _check_reference(app, reference, customer_id, currency, amount, at, name):
    if reference.get("discount"):
        discount = app.state.get("discounts", reference["discount"])
        if discount is None or discount.get("deleted") or discount["customer"] not in (None, customer_id):
            raise not_found("discount", reference["discount"], name("discount"))
        return Redemption(coupon=coupon_of(app, discount), existing=discount)
    if reference.get("promotion_code"):
        code = app.state.get("promotion_codes", reference["promotion_code"])
        if code is None:
            raise not_found("promotion code", reference["promotion_code"], name("promotion_code"))
        check_promotion_code(app, code, customer_id, amount, at, name("promotion_code"))
        coupon = app.state.get("coupons", code["promotion"]["coupon"])
        check_coupon_currency(coupon, currency, name("promotion_code"))
        return Redemption(coupon=coupon, promotion_code=code)
    if reference.get("coupon"):
        coupon = app.state.get("coupons", reference["coupon"])
        if coupon is None or coupon.get("deleted"):
            raise not_found("coupon", reference["coupon"], name("coupon"))
        check_coupon(coupon, at, name("coupon"))
        check_coupon_currency(coupon, currency, name("coupon"))
        return Redemption(coupon=coupon)
    raise invalid_request("You must specify one of coupon, promotion_code or discount.", param=name("coupon"))


def check_coupon(coupon, at, param):
    if not coupon_is_valid(coupon, at):
        raise invalid_request("Coupon expired: %s" % coupon["id"], code="coupon_expired", param=param)


def check_coupon_currency(coupon, currency, param):
    if coupon["amount_off"] is not None and currency and coupon["currency"] != currency:
        raise invalid_request(
            "The coupon's currency (%s) must match the currency of what it discounts (%s)."
            % (coupon["currency"], currency),
            param=param,
        )


def check_promotion_code(app, code, customer_id, amount, at, param):
    """Stripe's rules for redeeming a code; the wording follows Stripe's first-time-transaction message."""
    coupon = app.state.get("coupons", code["promotion"]["coupon"])
    reasons = (
        (not code["_active"], "it is inactive"),
        (code["expires_at"] is not None and at >= code["expires_at"], "it has expired"),
        (
            code["max_redemptions"] is not None and code["times_redeemed"] >= code["max_redemptions"],
            "it has been redeemed the maximum number of times",
        ),
        (coupon is None or not coupon_is_valid(coupon, at), "its coupon is no longer valid"),
        (code["customer"] is not None and code["customer"] != customer_id, "it is restricted to another customer"),
        (
            code["restrictions"]["first_time_transaction"] and _has_prior_transactions(app, customer_id),
            "the associated customer has prior transactions",
        ),
        (_below_minimum(code, amount), "the minimum amount was not met"),
    )
    for failed, reason in reasons:
        if failed:
            raise invalid_request("This promotion code cannot be redeemed because %s." % reason, param=param)


def _has_prior_transactions(app, customer_id):
    return any(
        invoice["customer"] == customer_id and invoice["amount_paid"] > 0 for invoice in app.state.all("invoices")
    )


def _below_minimum(code, amount):
    minimum = code["restrictions"]["minimum_amount"]
    return minimum is not None and amount is not None and amount < minimum


# ---------------------------------------------------------------------------
# redeeming and ending


def redeem(app, redemption, *, customer_id, at, attached_to):
    """The discount for a checked reference: an existing one is kept, otherwise a new one
    is created (``attached_to``: e.g. ``{"subscription": "sub_..."}``) and the redemption counted."""
    if redemption.existing is not None:
        return redemption.existing
    coupon, code = redemption.coupon, redemption.promotion_code
    end = None
    if coupon["duration"] == "repeating":
        end = add_interval(at, "month", coupon["duration_in_months"])
    discount = {
        "id": new_id("di_"),
        "object": "discount",
        "checkout_session": None,
        "customer": customer_id,
        "customer_account": None,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": code["id"] if code else None,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": at,
        "subscription": None,
        "subscription_item": None,
    }
    discount.update(attached_to)
    _count_redemption(redemption)
    app.state.put("discounts", discount)
    if discount["invoice"] is None and discount["invoice_item"] is None:
        emit(app, "customer.discount.created", render_discount(discount))
    return discount


@contextlib.contextmanager
def transient(app, redemptions, customer_id, at):
    """Discounts that exist only while a preview is computed: no redemption counted, no event."""
    ids, created = [], []
    for redemption in redemptions:
        if redemption.existing is None:
            discount = {
                "id": new_id("di_"),
                "customer": customer_id,
                "end": None,
                "source": {"coupon": redemption.coupon["id"], "type": "coupon"},
                "start": at,
            }
            app.state.col["discounts"][discount["id"]] = discount
            created.append(discount["id"])
        ids.append(redemption.existing["id"] if redemption.existing else discount["id"])
    try:
        yield ids
    finally:
        for discount_id in created:
            app.state.col["discounts"].pop(discount_id, None)


def _count_redemption(redemption):
    redemption.coupon["times_redeemed"] += 1
    if redemption.promotion_code is not None:
        redemption.promotion_code["times_redeemed"] += 1


def replace_discounts(app, current_ids, redemptions, *, customer_id, at, attached_to):
    """Redeem ``redemptions`` in place of ``current_ids``; discounts no longer listed end.
    Returns the new list of discount ids."""
    new_ids = []
    for redemption in redemptions:
        discount = redeem(app, redemption, customer_id=customer_id, at=at, attached_to=attached_to)
        if discount["id"] not in new_ids:
            new_ids.append(discount["id"])
    for discount_id in current_ids:
        if discount_id not in new_ids:
            end_discount(app, app.state.get("discounts", discount_id))
    return new_ids


def end_discount(app, discount):
    """A discount stops applying (removed, used up, or its months are over) and leaves its owner."""
    if discount is None or discount.get("deleted"):
        return
    discount["deleted"] = True
    app.state.dirty = True
    _detach(app, discount)
    if discount["invoice"] is None and discount["invoice_item"] is None:
        emit(app, "customer.discount.deleted", render_discount(discount))


def _detach(app, discount):
    sub = app.state.get("subscriptions", discount["subscription"] or "")
    if sub is not None:
        owners = [i for i in sub["_items"] if i["id"] == discount["subscription_item"]] or [sub]
        for owner in owners:
            owner["discounts"] = [d for d in owner.get("discounts") or [] if d != discount["id"]]
        return
    customer = app.state.get("customers", discount["customer"] or "")
    if customer is not None and (customer.get("discount") or {}).get("id") == discount["id"]:
        customer["discount"] = None


def in_effect(app, discount_ids, at):
    """The ids of ``discount_ids`` still applying at ``at``."""
    kept = []
    for discount_id in discount_ids:
        discount = app.state.get("discounts", discount_id)
        if discount is None or discount.get("deleted") or discount.get("_used_up"):
            continue
        if discount["end"] is not None and at >= discount["end"]:
            continue
        kept.append(discount_id)
    return kept


def prune(app, discount_ids, at):
    """End the discounts of ``discount_ids`` that no longer apply; the ids still in effect."""
    kept = in_effect(app, discount_ids, at)
    for discount_id in discount_ids:
        if discount_id not in kept:
            end_discount(app, app.state.get("discounts", discount_id))
    return kept


def use_up_once_discounts(app, invoice):
    """A ``duration=once`` discount is used up by the first invoice it took something off; it stays on its
    subscription until the next invoice is created, which removes it (``customer.discount.deleted``)."""
    for entry in invoice["total_discount_amounts"]:
        discount = app.state.get("discounts", entry["discount"])
        coupon = coupon_of(app, discount)
        if entry["amount"] > 0 and coupon is not None and coupon["duration"] == "once":
            discount["_used_up"] = True


def coupon_of(app, discount):
    return app.state.get("coupons", discount["source"]["coupon"]) if discount else None


def customer_discount_switch(app, customer, redemption, at):
    """An older API version's ``coupon``/``promotion_code`` on a customer: set, switch or remove
    the customer's discount (``customer.discount.created/updated/deleted``)."""
    current = app.state.get("discounts", (customer.get("discount") or {}).get("id") or "")
    if redemption is None:
        end_discount(app, current)
        customer["discount"] = None
        return
    if current is None or current.get("deleted"):
        discount = redeem(app, redemption, customer_id=customer["id"], at=at, attached_to={})
        customer["discount"] = render_discount(discount)
        return
    before = render_discount(current)
    _count_redemption(redemption)
    current["source"] = {"coupon": redemption.coupon["id"], "type": "coupon"}
    current["promotion_code"] = redemption.promotion_code["id"] if redemption.promotion_code else None
    current["start"] = at
    duration_months = redemption.coupon["duration_in_months"]
    current["end"] = add_interval(at, "month", duration_months) if duration_months else None
    after = render_discount(current)
    customer["discount"] = after
    emit(app, "customer.discount.updated", after, diff_previous(before, after))


# ---------------------------------------------------------------------------
# what discounts take off


def discount_lines(app, lines, invoice_discount_ids, currency):
    """Fill ``discount_amounts`` on every (stored) line; returns ``total_discount_amounts``."""
    line_sources = [[(d, coupon_of(app, app.state.get("discounts", d))) for d in line["discounts"]] for line in lines]
    invoice_sources = [(d, coupon_of(app, app.state.get("discounts", d))) for d in invoice_discount_ids]
    totals = take_off(lines, line_sources, invoice_sources, currency)
    return [{"amount": amount, "discount": key} for key, amount in totals.items()]


def estimate(lines, line_redemptions, redemptions, currency):
    """What checked (not yet redeemed) references would take off ``lines`` in total."""
    line_sources = [[(r.coupon["id"], r.coupon) for r in each] for each in line_redemptions]
    invoice_sources = [(r.coupon["id"], r.coupon) for r in redemptions]
    return sum(take_off(lines, line_sources, invoice_sources, currency).values())


def take_off(lines, line_sources, invoice_sources, currency):
    """Apply ``(key, coupon)`` sources - each line's own, then the invoice's - filling each line's
    ``discount_amounts``; returns {key: amount taken off}."""
    remaining = [line["amount"] if line["discountable"] and line["amount"] > 0 else 0 for line in lines]
    for line in lines:
        line["discount_amounts"] = []
    totals = {}
    for index, sources in enumerate(line_sources):
        for key, coupon in sources:
            totals[key] = totals.get(key, 0) + _take(key, coupon, [index], lines, remaining, currency)
    everything = list(range(len(lines)))
    for key, coupon in invoice_sources:
        totals[key] = totals.get(key, 0) + _take(key, coupon, everything, lines, remaining, currency)
    return totals


def _take(key, coupon, indexes, lines, remaining, currency):
    """Apply one coupon to the lines at ``indexes``; returns what it took off in total."""
    if coupon is None:
        return 0
    eligible = [i for i in indexes if _eligible(coupon, lines[i]) and not _already_applied(key, lines[i])]
    if coupon["percent_off"] is not None:
        amounts = [money.percent_of(remaining[i], coupon["percent_off"]) for i in eligible]
    elif coupon["currency"] == currency:
        available = sum(remaining[i] for i in eligible)
        amounts = money.allocate(min(coupon["amount_off"], available), [remaining[i] for i in eligible])
    else:
        amounts = [0 for _ in eligible]
    for i, amount in zip(eligible, amounts, strict=True):
        remaining[i] -= amount
        lines[i]["discount_amounts"].append({"amount": amount, "discount": key})
    return sum(amounts)


def _already_applied(key, line):
    """A discount listed on a line (prorations carry theirs) is not applied again as an invoice discount."""
    return any(entry["discount"] == key for entry in line["discount_amounts"])


def _eligible(coupon, line):
    products = (coupon.get("applies_to") or {}).get("products")
    if not products:
        return True
    price_details = (line.get("pricing") or {}).get("price_details") or {}
    return price_details.get("product") in products


def share_left_by_percent_discounts(app, discount_ids, product_id):
    """The fraction of an amount of ``product_id`` that the ``percent_off`` discounts among
    ``discount_ids`` leave: prorations carry amounts with the discount included."""
    remaining = Fraction(1)
    for discount_id in discount_ids:
        coupon = coupon_of(app, app.state.get("discounts", discount_id))
        if coupon is None or coupon["percent_off"] is None:
            continue
        products = (coupon.get("applies_to") or {}).get("products")
        if products and product_id not in products:
            continue
        remaining *= 1 - Fraction(str(coupon["percent_off"])) / 100
    return remaining
