"""Customer portal configurations and sessions (``/v1/billing_portal/...``);
the portal page itself is ``pages.py``."""

from .. import stored_objects
from ..events import diff_previous, emit
from ..resources import merge_metadata, now, p_bool, p_dict, p_list, p_str, paginate, public
from ..routing import handles
from ..store import new_id

BUSINESS_PROFILE_FIELDS = ("headline", "privacy_policy_url", "terms_of_service_url")


def default_features():
    return {
        "customer_update": {"allowed_updates": [], "enabled": False},
        "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": []},
            "enabled": False,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "billing_cycle_anchor": None,
            "default_allowed_updates": [],
            "enabled": False,
            "products": [],
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
        },
    }


def apply_features(features, requested):
    """Merge ``features[...]`` parameters into a configuration's features."""
    for name, changes in requested.items():
        if not isinstance(changes, dict) or name not in features:
            continue
        current = features[name]
        if "enabled" in changes:
            current["enabled"] = p_bool(changes, "enabled")
        for key in ("mode", "proration_behavior"):
            if changes.get(key) and key in current:
                current[key] = changes[key]
        if name == "subscription_update":
            _apply_subscription_update(current, changes)
        if name == "customer_update" and "allowed_updates" in changes:
            current["allowed_updates"] = p_list(changes, "allowed_updates")
    return features


def _apply_subscription_update(current, changes):
    if "default_allowed_updates" in changes:
        current["default_allowed_updates"] = p_list(changes, "default_allowed_updates")
    if "products" in changes:
        current["products"] = [
            {
                "adjustable_quantity": _adjustable_quantity(p_dict(product, "adjustable_quantity")),
                "prices": p_list(product, "prices"),
                "product": product.get("product"),
            }
            for product in p_list(changes, "products")
            if isinstance(product, dict)
        ]


def _adjustable_quantity(requested):
    """Stripe's default is a fixed quantity (the portal page offers no quantity edits either way)."""
    return {
        "enabled": p_bool(requested, "enabled", False),
        "maximum": requested.get("maximum"),
        "minimum": requested.get("minimum", 1),
    }


@handles("POST /v1/billing_portal/configurations")
def portal_configuration_create(app, request, params):
    created = now()
    profile = p_dict(params, "business_profile")
    configuration = {
        "id": new_id("bpc_"),
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {k: profile.get(k) or None for k in BUSINESS_PROFILE_FIELDS},
        "created": created,
        "default_return_url": p_str(params, "default_return_url"),
        "features": apply_features(default_features(), p_dict(params, "features")),
        "is_default": False,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": merge_metadata({}, params),
        "name": p_str(params, "name"),
        "updated": created,
    }
    defaults = [c for c in app.state.all("portal_configurations") if c["is_default"]]
    if p_bool(params, "is_default", False) or not defaults:
        for other in defaults:
            other["is_default"] = False
        configuration["is_default"] = True
    app.state.put("portal_configurations", configuration)
    emit(app, "billing_portal.configuration.created", public(configuration))
    return public(configuration)


@handles("GET /v1/billing_portal/configurations/{configuration}")
def portal_configuration_retrieve(app, request, params, configuration_id):
    return public(stored_objects.get_or_404(app, "portal_configurations", configuration_id, "configuration"))


@handles("POST /v1/billing_portal/configurations/{configuration}")
def portal_configuration_update(app, request, params, configuration_id):
    configuration = stored_objects.get_or_404(app, "portal_configurations", configuration_id, "configuration")
    before = public(configuration)
    if "active" in params:
        configuration["active"] = p_bool(params, "active")
    for key in ("default_return_url", "name"):
        if key in params:
            configuration[key] = p_str(params, key)
    if "metadata" in params:
        configuration["metadata"] = merge_metadata(configuration["metadata"] or {}, params)
    profile = p_dict(params, "business_profile")
    for key in BUSINESS_PROFILE_FIELDS:
        if key in profile:
            configuration["business_profile"][key] = profile[key] or None
    if "features" in params:
        configuration["features"] = apply_features(configuration["features"], p_dict(params, "features"))
    if p_bool(params, "is_default", False):
        for other in app.state.all("portal_configurations"):
            other["is_default"] = other["id"] == configuration_id
    configuration["updated"] = now()
    app.state.dirty = True
    after = public(configuration)
    emit(app, "billing_portal.configuration.updated", after, diff_previous(before, after))
    return after


@handles("GET /v1/billing_portal/configurations")
def portal_configuration_list(app, request, params):
    items = app.state.all("portal_configurations")
    for key in ("active", "is_default"):
        if key in params:
            wanted = p_bool(params, key)
            items = [c for c in items if c[key] == wanted]
    return paginate([public(c) for c in items], params, "/v1/billing_portal/configurations")


@handles("POST /v1/billing_portal/sessions")
def portal_session_create(app, request, params):
    customer = stored_objects.live_customer(app, p_str(params, "customer", required=True))
    configuration_id = p_str(params, "configuration")
    if configuration_id:
        configuration = stored_objects.get_or_404(
            app, "portal_configurations", configuration_id, "configuration", "configuration"
        )
    else:
        configuration = next((c for c in app.state.all("portal_configurations") if c["is_default"]), None)
    session_id = new_id("bps_")
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": configuration["id"] if configuration else None,
        "created": now(),
        "customer": customer["id"],
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": p_str(params, "locale"),
        "on_behalf_of": None,
        "return_url": p_str(params, "return_url") or (configuration or {}).get("default_return_url"),
        "url": "%s/p/session/%s" % (request.base_url, session_id),
    }
    app.state.put("portal_sessions", session)
    emit(app, "billing_portal.session.created", public(session))
    return public(session)
