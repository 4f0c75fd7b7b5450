"""Tax: tax rates and what they add to an invoice, automatic tax from a small
table of countries, and customer tax IDs (Stripe's format check).  Every
function expects the state lock to be held.

How an invoice is taxed (https://docs.stripe.com/billing/taxes/tax-rates): each
line is taxed on what is left of it after its discounts (tax after discount).
A line's own rates (its subscription item's or invoice item's ``tax_rates``)
replace the invoice's ``default_tax_rates``.  An exclusive rate adds
``taxable × percentage / 100``; inclusive rates are already inside the amount,
each taking ``taxable × percentage / (100 + the line's inclusive percentages)``
out of it.  Each tax is rounded once per line, half away from zero
(``money.py``); ``total_taxes`` adds the lines' taxes up per rate.

Automatic tax (``automatic_tax[enabled]``) is NOT Stripe Tax: one standard rate
per country from ``AUTOMATIC_RATES``, chosen by the customer's shipping address
country, else billing address country (Stripe's order of preference).  A
country outside the table is taxed at 0 % (``not_collecting``, as for a country
where the account has no registration); without a country the invoice is
``requires_location_inputs`` and, at finalization, finalized without tax with
automatic tax switched off (Stripe's documented behaviour).  Exempt customers
pay 0 (``customer_exempt``), ``reverse`` ones 0 (``reverse_charge``).  The rates
used are archived tax rate objects the emulator creates, as Stripe does."""

import re
from fractions import Fraction

from . import money
from .errors import invalid_request, not_found
from .resources import merge_metadata, p_dict, public
from .store import new_id

# country -> (tax_type, display_name, percentage): standard rates as of 2025
AUTOMATIC_RATES = {
    "AT": ("vat", "VAT", 20),
    "AU": ("gst", "GST", 10),
    "BE": ("vat", "VAT", 21),
    "CA": ("gst", "GST", 5),
    "CH": ("vat", "VAT", 8.1),
    "DE": ("vat", "VAT", 19),
    "DK": ("vat", "VAT", 25),
    "ES": ("vat", "VAT", 21),
    "FI": ("vat", "VAT", 25.5),
    "FR": ("vat", "VAT", 20),
    "GB": ("vat", "VAT", 20),
    "IE": ("vat", "VAT", 23),
    "IT": ("vat", "VAT", 22),
    "JP": ("jct", "JCT", 10),
    "NL": ("vat", "VAT", 21),
    "NO": ("vat", "VAT", 25),
    "NZ": ("gst", "GST", 15),
    "PL": ("vat", "VAT", 23),
    "PT": ("vat", "VAT", 23),
    "SE": ("vat", "VAT", 25),
    "SG": ("gst", "GST", 9),
}
MANUAL_REASON = "not_available"  # what Stripe reports for tax rates it did not calculate itself

# ---------------------------------------------------------------------------
# tax rates


def whole(number):
    """``19.0`` -> ``19``: percentages render as Stripe's examples show them."""
    return int(number) if float(number).is_integer() else number


def build_tax_rate(params, at):
    percentage = params["percentage"]
    if not 0 <= percentage <= 100:
        raise invalid_request("The percentage must be between 0 and 100.", param="percentage")
    return {
        "id": new_id("txr_"),
        "object": "tax_rate",
        "active": params.get("active", True),
        "country": params.get("country"),
        "created": at,
        "description": params.get("description"),
        "display_name": params["display_name"],
        "effective_percentage": None,
        "flat_amount": None,
        "inclusive": params["inclusive"],
        "jurisdiction": params.get("jurisdiction"),
        "jurisdiction_level": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "percentage": whole(percentage),
        "rate_type": None,
        "state": params.get("state"),
        "tax_type": params.get("tax_type"),
    }


def checked_rates(app, references, param):
    """The tax rates ``references`` name (``""``: none), as the objects stored on what they apply to.
    An archived rate keeps applying where it is but cannot be applied anew."""
    rates = []
    for index, rate_id in enumerate(references or []):
        name = "%s[%d]" % (param, index)
        rate = app.state.get("tax_rates", rate_id)
        if rate is None:
            raise not_found("tax rate", rate_id, name)
        if not rate["active"]:
            raise invalid_request("The tax rate %s is archived and cannot be applied." % rate_id, param=name)
        rates.append(public(rate))
    return rates


def current(app, rates):
    """Stored rate snapshots as the rates are now (their names and ``active`` may have changed)."""
    return [public(app.state.get("tax_rates", rate["id"]) or rate) for rate in rates or []]


def automatic_tax_requested(params):
    """``automatic_tax[enabled]`` of a request, None when absent."""
    return p_dict(params, "automatic_tax").get("enabled")


def refuse_rates_with_automatic_tax(automatic, **rate_params):
    for name, value in rate_params.items():
        if automatic and value:
            raise invalid_request("Tax rates cannot be used together with automatic_tax[enabled]=true.", param=name)


def subscription_automatic_tax(enabled):
    return {"disabled_reason": None, "enabled": bool(enabled), "liability": {"type": "self"} if enabled else None}


def invoice_automatic_tax(enabled):
    return {
        "disabled_reason": None,
        "enabled": bool(enabled),
        "liability": {"type": "self"} if enabled else None,
        "provider": "stripe" if enabled else None,
        "status": None,
    }


def inherit_from_subscription(invoice, subscription):
    invoice["default_tax_rates"] = [dict(rate) for rate in subscription.get("default_tax_rates") or []]
    invoice["automatic_tax"] = invoice_automatic_tax(subscription["automatic_tax"]["enabled"])


# ---------------------------------------------------------------------------
# taxing an invoice


def apply(app, invoice):
    """Fill every line's ``taxes``, the invoice's ``total_taxes`` and, while a draft, its
    ``customer_tax_ids``.  Returns (exclusive, inclusive) tax totals.  A preview's ``customer_details``
    (address / shipping) stand in for the customer's (``invoice["_tax_location"]``)."""
    customer = app.state.get("customers", invoice["customer"]) or {}
    if invoice["status"] == "draft":
        invoice["customer_tax_ids"] = [
            {"type": t["type"], "value": t["value"]} for t in customer_tax_ids(app, invoice["customer"])
        ]
    country = None
    if invoice["automatic_tax"]["enabled"]:
        country = customer_country(customer, invoice.get("_tax_location"))
        invoice["automatic_tax"]["status"] = "complete" if country else "requires_location_inputs"
        _settle_without_location(app, invoice)
    basis = TaxBasis(app, invoice["automatic_tax"]["enabled"], country, invoice.get("customer_tax_exempt"))
    defaults = [rate["id"] for rate in invoice.get("default_tax_rates") or []]
    taxed = []
    for line in invoice["lines"]["data"]:
        taxable = line["amount"] - sum(entry["amount"] for entry in line["discount_amounts"])
        rates = basis.rates(line.get("_tax_rates") or defaults, _line_price(app, line), invoice["created"])
        line["taxes"] = line_taxes(rates, taxable)
        taxed += line["taxes"]
    invoice["total_taxes"] = add_up(taxed)
    return totals_by_behavior(taxed)


class TaxBasis:
    """What decides a line's rates: manual rates, or automatic tax for ``country``."""

    def __init__(self, app, automatic, country, exempt):
        self.app, self.automatic, self.country, self.exempt = app, automatic, country, exempt or "none"

    def rates(self, tax_rate_ids, price, at):
        """(rate id, percentage, inclusive, taxability reason) for each rate taxing a line."""
        if not self.automatic:
            rates = [self.app.state.get("tax_rates", rate_id) for rate_id in tax_rate_ids]
            return [(r["id"], r["percentage"], r["inclusive"], MANUAL_REASON) for r in rates if r is not None]
        if self.country is None:
            return []
        # unspecified (and lines without a price) count as exclusive: the account's default tax behavior
        inclusive = (price or {}).get("tax_behavior") == "inclusive"
        percentage, reason = _automatic_percentage(self.country, self.exempt)
        rate = automatic_rate(self.app, self.country, inclusive, percentage, at)
        return [(rate["id"], percentage, inclusive, reason)]


def _line_price(app, line):
    price_id = ((line.get("pricing") or {}).get("price_details") or {}).get("price")
    return app.state.get("prices", price_id) if price_id else None


def add_up(taxes):
    """``total_taxes``: the taxes summed per rate, behaviour and reason."""
    totals = {}
    for tax in taxes:
        key = (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"], tax["taxability_reason"])
        total = totals.setdefault(key, dict(tax, amount=0, taxable_amount=0))
        total["amount"] += tax["amount"]
        total["taxable_amount"] += tax["taxable_amount"]
    return list(totals.values())


def totals_by_behavior(taxes):
    """(exclusive, inclusive) tax totals."""
    exclusive = sum(t["amount"] for t in taxes if t["tax_behavior"] == "exclusive")
    return exclusive, sum(t["amount"] for t in taxes) - exclusive


def _automatic_percentage(country, exempt):
    if exempt == "exempt":
        return 0, "customer_exempt"
    if exempt == "reverse":
        return 0, "reverse_charge"
    if country not in AUTOMATIC_RATES:
        return 0, "not_collecting"
    return AUTOMATIC_RATES[country][2], "standard_rated"


def line_taxes(rates, taxable):
    """A line's ``taxes``: inclusive rates share what is inside ``taxable``, exclusive ones add to the rest."""
    inclusive_percentages = sum(Fraction(str(p)) for _, p, inclusive, _ in rates if inclusive)
    amounts = []
    for _, percentage, inclusive, _ in rates:
        if inclusive:
            amounts.append(money.share(taxable, Fraction(str(percentage)), 100 + inclusive_percentages))
        else:
            amounts.append(None)
    net = taxable - sum(a for a in amounts if a is not None)
    taxes = []
    for (rate_id, percentage, inclusive, reason), amount in zip(rates, amounts, strict=True):
        taxes.append(
            {
                "amount": money.percent_of(net, percentage) if amount is None else amount,
                "tax_behavior": "inclusive" if inclusive else "exclusive",
                "tax_rate_details": {"tax_rate": rate_id},
                "taxability_reason": reason,
                "taxable_amount": net,
                "type": "tax_rate_details",
            }
        )
    return taxes


def _settle_without_location(app, invoice):
    """Finalizing without a recognized customer location: Stripe finalizes without tax and switches
    automatic tax off on the invoice and its subscription (https://docs.stripe.com/tax/customer-locations)."""
    automatic = invoice["automatic_tax"]
    if invoice["status"] == "draft" or automatic["status"] != "requires_location_inputs":
        return
    automatic.update(enabled=False, disabled_reason="finalization_requires_location_inputs")
    subscription = app.state.get("subscriptions", invoice.get("_sub") or "")
    if subscription is not None:
        subscription["automatic_tax"].update(enabled=False, disabled_reason="requires_location_inputs")


def customer_country(customer, location=None):
    """Shipping address country, else billing address country (``location`` - a preview's
    ``customer_details`` - first)."""
    for source in (location or {}, customer or {}):
        for address in (((source.get("shipping") or {}).get("address") or {}), source.get("address") or {}):
            if isinstance(address, dict) and address.get("country"):
                return address["country"].upper()
    return None


def customer_tax(customer):
    """The includable ``customer.tax`` (``expand[]=tax``): whether automatic tax can place the customer
    (https://docs.stripe.com/tax/customer-locations): shipping address, else billing address; a US
    address needs its ZIP code and a Canadian one its postal code or province, elsewhere the country is
    enough. ``supported`` where the table has a rate, ``not_collecting`` elsewhere, and
    ``unrecognized_location`` when no address places the customer."""
    status, location = "unrecognized_location", None
    shipping = (customer.get("shipping") or {}).get("address") or {}
    for source, address in (("shipping_destination", shipping), ("billing_address", customer.get("address") or {})):
        country = (address.get("country") or "").upper()
        if not country:
            continue
        if (country == "US" and not address.get("postal_code")) or (
            country == "CA" and not (address.get("postal_code") or address.get("state"))
        ):
            break
        location = {"country": country, "source": source, "state": address.get("state")}
        status = "supported" if country in AUTOMATIC_RATES else "not_collecting"
        break
    return {"automatic_tax": status, "ip_address": None, "location": location, "provider": "stripe"}


def automatic_rate(app, country, inclusive, percentage, at):
    """The archived tax rate automatic tax uses for ``country`` (created once per behaviour and percentage)."""
    for rate in app.state.all("tax_rates"):
        if rate.get("_automatic") == [country, inclusive, percentage]:
            return rate
    tax_type, display_name, _ = AUTOMATIC_RATES.get(country, ("vat", "Tax", 0))
    rate = build_tax_rate(
        {
            "active": False,
            "country": country,
            "display_name": display_name,
            "inclusive": inclusive,
            "jurisdiction": country,
            "percentage": percentage,
            "tax_type": tax_type,
        },
        at,
    )
    rate.update(effective_percentage=whole(percentage), jurisdiction_level="country", rate_type="percentage")
    rate["_automatic"] = [country, inclusive, percentage]
    app.state.put("tax_rates", rate)
    return rate


def rate_label(app, tax):
    """What an invoice document shows for a ``total_taxes`` entry: ``VAT (20% included)``."""
    rate = app.state.get("tax_rates", tax["tax_rate_details"]["tax_rate"]) or {}
    label = "%s (%s%%%s)" % (
        rate.get("display_name") or "Tax",
        "%g" % rate.get("percentage", 0),
        " included" if tax["tax_behavior"] == "inclusive" else "",
    )
    return label


# ---------------------------------------------------------------------------
# tax IDs

# eu_vat: the prefix's number formats (VIES), accepting every example Stripe's tax ID table gives
EU_VAT = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}",
    "FR": r"[A-Z0-9]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}(\d{3})?",
    "IE": r"\d{7}[A-Z]{1,2}|\d[A-Z+*]\d{5}[A-Z]",
    "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"\d{2,10}",
    "SE": r"\d{12}",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
    "XI": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}",
}
EU_VAT_COUNTRY = {"EL": "GR", "XI": "GB"}
# type -> (pattern, country): the formats of Stripe's tax ID table for the common types
TAX_ID_FORMATS = {
    "gb_vat": (r"GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})", "GB"),
    "us_ein": (r"\d{2}-?\d{7}", "US"),
    "au_abn": (r"\d{11}", "AU"),
    "au_arn": (r"\d{12}", "AU"),
    "ca_bn": (r"\d{9}", "CA"),
    "ca_gst_hst": (r"\d{9}RT\d{4}", "CA"),
    "ch_vat": (r"CHE-?\d{3}\.?\d{3}\.?\d{3} ?(MWST|TVA|IVA)", "CH"),
    "eu_oss_vat": (r"EU\d{9}", None),
    "in_gst": (r"\d{2}[A-Z]{5}\d{4}[A-Z][A-Z0-9]Z[A-Z0-9]", "IN"),
    "jp_cn": (r"\d{13}", "JP"),
    "no_vat": (r"\d{9}MVA", "NO"),
    "nz_gst": (r"\d{8,9}", "NZ"),
}
VERIFIED_TYPES = ("eu_vat", "gb_vat", "au_abn")  # Stripe checks these against government databases


def check_tax_id(type_, value, param="value"):
    """Stripe's format check: ``400 tax_id_invalid`` "Invalid value for eu_vat." (types not in the
    tables above are accepted as given).  Returns the ID's country."""
    compact = value.strip().upper()
    if type_ == "eu_vat":
        prefix, number = compact[:2], compact[2:].replace(" ", "")
        if prefix in EU_VAT and re.fullmatch(EU_VAT[prefix], number):
            return EU_VAT_COUNTRY.get(prefix, prefix)
    elif type_ in TAX_ID_FORMATS:
        pattern, country = TAX_ID_FORMATS[type_]
        if re.fullmatch(pattern, compact):
            return country
    else:
        return type_.split("_", 1)[0].upper() if type_ != "unknown" else None
    raise invalid_request("Invalid value for %s." % type_, code="tax_id_invalid", param=param)


def build_tax_id(type_, value, owner, at, param="value"):
    country = check_tax_id(type_, value, param)
    customer = owner.get("customer")
    verification = None
    if type_ in VERIFIED_TYPES:
        verification = {"status": "pending", "verified_address": None, "verified_name": None}
    return {
        "id": new_id("txi_"),
        "object": "tax_id",
        "country": country,
        "created": at,
        "customer": customer,
        "customer_account": None,
        "livemode": False,
        "owner": {
            "account": owner.get("account"),
            "application": None,
            "customer": customer,
            "customer_account": None,
            "type": owner["type"],
        },
        "type": type_,
        "value": value,
        "verification": verification,
    }


def customer_tax_ids(app, customer_id):
    """The customer's tax IDs, oldest first."""
    return [t for t in app.state.all("tax_ids")[::-1] if t["customer"] == customer_id and customer_id]
