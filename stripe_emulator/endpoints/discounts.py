"""Discount parameters.  Coupons and promotion codes are not emulated yet, so
no id can name an existing one: ``discounts[i][coupon]`` (and the singular
``coupon``/``promotion_code`` an older ``Stripe-Version`` may still send, see
``versions.py``) is answered the way Stripe answers an unknown id, instead of
being ignored and billing full price."""

from ..errors import not_found

REFERENCES = (("coupon", "coupon"), ("promotion_code", "promotion code"), ("discount", "discount"))


def reject_discount_references(params, name="discounts"):
    for key, kind in REFERENCES[:2]:
        if params.get(key):
            raise not_found(kind, params[key], key)
    for index, discount in enumerate(params.get(name) or []):
        for key, kind in REFERENCES:
            if discount.get(key):
                raise not_found(kind, discount[key], "%s[%d][%s]" % (name, index, key))
    for index, item in enumerate(params.get("items") or []):
        for discount_index, discount in enumerate(item.get("discounts") or []):
            for key, kind in REFERENCES:
                if discount.get(key):
                    raise not_found(kind, discount[key], "items[%d][discounts][%d][%s]" % (index, discount_index, key))
