"""Entitlements: the features a customer's live subscriptions grant (through their products'
features), the active entitlements the API lists, and ``entitlements.active_entitlement_summary.updated``
whenever a customer's set changes (checked after every mutating request).  Every function expects the
state lock to be held."""

import hashlib

from .events import emit
from .resources import (
    list_object,
    public,
)

LIVE_STATUSES = ("trialing", "active", "past_due")


def active_features(app, cid):
    feats = []
    seen = set()
    for sub in app.state.all("subscriptions")[::-1]:
        if sub["customer"] != cid or sub["status"] not in LIVE_STATUSES:
            continue
        for it in sub["_items"]:
            price = app.state.get("prices", it["price"])
            for pf in app.state.all("product_features")[::-1]:
                if pf["_product"] == price["product"] and pf["entitlement_feature"]["id"] not in seen:
                    feat = app.state.get("features", pf["entitlement_feature"]["id"])
                    if feat and feat.get("active"):
                        seen.add(feat["id"])
                        feats.append(feat)
    return feats


def active_entitlement(cid, feat, expand_feature=False):
    ent_id = "ent_test_" + hashlib.sha1(("%s:%s" % (cid, feat["id"])).encode()).hexdigest()[:28]
    return {
        "id": ent_id,
        "object": "entitlements.active_entitlement",
        "feature": public(feat) if expand_feature else feat["id"],
        "livemode": False,
        "lookup_key": feat["lookup_key"],
    }


def sync_entitlements(app):
    """Emit ``entitlements.active_entitlement_summary.updated`` for every
    customer whose set of active features changed."""
    st = app.state
    cids = {s["customer"] for s in st.all("subscriptions")} | set(st.ent_summary)
    for cid in sorted(cids):
        feats = active_features(app, cid)
        key = sorted(f["id"] + "|" + (f.get("lookup_key") or "") for f in feats)
        if st.ent_summary.get(cid, []) == key:
            continue
        st.ent_summary[cid] = key
        st.dirty = True
        cus = st.get("customers", cid)
        if cus is None or cus.get("deleted"):
            continue
        ents = [active_entitlement(cid, f, expand_feature=True) for f in feats]
        summary = {
            "object": "entitlements.active_entitlement_summary",
            "customer": cid,
            "entitlements": list_object(ents[:10], "/v1/customer/%s/entitlements" % cid, has_more=len(ents) > 10),
            "livemode": False,
        }
        emit(app, "entitlements.active_entitlement_summary.updated", summary)
