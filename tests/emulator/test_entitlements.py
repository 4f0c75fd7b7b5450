"""Entitlements: features, product features, active entitlements and the
summary event."""

import pytest
import stripe

DAY = 86400


def _feature(client, key):
    return client.v1.entitlements.features.create(
        params={"name": key.title(), "lookup_key": key, "metadata": {"k": "v"}}
    )


def test_features_and_product_features(client, make):
    feat = _feature(client, "exports")
    assert feat.object == "entitlements.feature" and feat.active is True and feat.lookup_key == "exports"
    assert client.v1.entitlements.features.retrieve(feat.id).name == "Exports"
    assert [f.id for f in client.v1.entitlements.features.list().data] == [feat.id]
    price = make.price()
    pf = client.v1.products.features.create(price.product, params={"entitlement_feature": feat.id})
    assert pf.object == "product_feature" and pf.entitlement_feature.id == feat.id
    assert [x.id for x in client.v1.products.features.list(price.product).data] == [pf.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.features.create(price.product, params={"entitlement_feature": feat.id})
    assert client.v1.products.features.delete(price.product, pf.id).deleted is True
    assert client.v1.products.features.list(price.product).data == []


def test_active_entitlements_follow_subscription(client, make):
    price = make.price()
    feats = [_feature(client, k) for k in ("api", "sso")]
    for f in feats:
        client.v1.products.features.create(price.product, params={"entitlement_feature": f.id})
    cus = make.customer(card="pm_card_visa")
    assert client.v1.entitlements.active_entitlements.list(params={"customer": cus.id}).data == []
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    ents = client.v1.entitlements.active_entitlements.list(params={"customer": cus.id}).data
    assert {e.lookup_key for e in ents} == {"api", "sso"}
    assert ents[0].object == "entitlements.active_entitlement" and ents[0].feature.startswith("feat_")
    assert client.v1.entitlements.active_entitlements.retrieve(ents[0].id).id == ents[0].id
    summaries = make.events("entitlements.active_entitlement_summary.updated")
    assert len(summaries) == 1
    summary = summaries[0].data.object
    assert summary.object == "entitlements.active_entitlement_summary" and summary.customer == cus.id
    assert summary.entitlements.object == "list" and summary.entitlements.has_more is False
    assert {e.lookup_key for e in summary.entitlements.data} == {"api", "sso"}
    client.v1.subscriptions.cancel(sub.id)
    assert client.v1.entitlements.active_entitlements.list(params={"customer": cus.id}).data == []
    summaries = make.events("entitlements.active_entitlement_summary.updated")
    assert len(summaries) == 2 and summaries[0].data.object.entitlements.data == []


def test_summary_truncates_to_ten(client, make):
    price = make.price()
    for i in range(12):
        f = _feature(client, "feature_%02d" % i)
        client.v1.products.features.create(price.product, params={"entitlement_feature": f.id})
    cus = make.customer(card="pm_card_visa")
    client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    summary = make.events("entitlements.active_entitlement_summary.updated")[0].data.object
    assert len(summary.entitlements.data) == 10 and summary.entitlements.has_more is True
    page = client.v1.entitlements.active_entitlements.list(params={"customer": cus.id, "limit": 5})
    assert len(page.data) == 5 and page.has_more is True
    every = list(
        client.v1.entitlements.active_entitlements.list(params={"customer": cus.id, "limit": 5}).auto_paging_iter()
    )
    assert len(every) == 12


def test_attaching_feature_to_subscribed_product_emits_summary(client, make):
    clock = make.clock()
    price = make.price()
    cus = make.customer(clock=clock.id)
    make.trial(cus, price, days=3)
    assert make.events("entitlements.active_entitlement_summary.updated") == []
    f = _feature(client, "reports")
    client.v1.products.features.create(price.product, params={"entitlement_feature": f.id})
    assert len(make.events("entitlements.active_entitlement_summary.updated")) == 1
    make.advance(clock, clock.frozen_time + 4 * DAY)  # trial ends without a card -> canceled
    latest = make.events("entitlements.active_entitlement_summary.updated")
    assert len(latest) == 2 and latest[0].data.object.entitlements.data == []
