"""Search endpoints with the subset of Stripe's query language the emulator
understands: exact, substring, metadata, numeric comparisons, negation,
AND/OR, and page cursors."""

import pytest
import stripe


def ids(result):
    return {o.id for o in result.data}


@pytest.fixture
def people(client):
    ada = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada Lovelace", "metadata": {"plan": "pro"}}
    )
    bob = client.v1.customers.create(
        params={"email": "bob@example.com", "name": "Bob Byte", "metadata": {"plan": "free"}}
    )
    cy = client.v1.customers.create(params={"email": "cy@example.org", "name": "Cy Lovelace"})
    return ada, bob, cy


def test_exact_match_is_case_insensitive_for_string_fields(client, people):
    ada, _, _ = people
    result = client.v1.customers.search(params={"query": "email:'ADA@example.com'"})
    assert result.object == "search_result" and ids(result) == {ada.id}
    assert result.url == "/v1/customers/search" and result.has_more is False and result.next_page is None


def test_substring_metadata_and_combinations(client, people):
    ada, bob, cy = people
    assert ids(client.v1.customers.search(params={"query": "name~'lovelace'"})) == {ada.id, cy.id}
    assert ids(client.v1.customers.search(params={"query": "metadata['plan']:'pro'"})) == {ada.id}
    assert ids(client.v1.customers.search(params={"query": "name~'love' AND metadata['plan']:'pro'"})) == {ada.id}
    assert ids(client.v1.customers.search(params={"query": "name~'love' metadata['plan']:'pro'"})) == {ada.id}
    either = client.v1.customers.search(params={"query": "email:'bob@example.com' OR metadata['plan']:'pro'"})
    assert ids(either) == {ada.id, bob.id}
    assert ids(client.v1.customers.search(params={"query": "-name~'lovelace'"})) == {bob.id}
    assert ids(client.v1.customers.search(params={"query": "metadata['plan']:null"})) == {cy.id}


def test_created_comparisons(client, people):
    ada, bob, cy = people
    first = min(c.created for c in people)
    assert ids(client.v1.customers.search(params={"query": "created>=%d" % first})) == {ada.id, bob.id, cy.id}
    assert ids(client.v1.customers.search(params={"query": "created>%d" % (first + 3600)})) == set()


def test_next_page_cursor_walks_every_result_once(client):
    created = [client.v1.customers.create(params={"name": "Page %d" % i}).id for i in range(5)]
    first = client.v1.customers.search(params={"query": "name~'page'", "limit": 2})
    assert len(first.data) == 2 and first.has_more is True and first.next_page
    second = client.v1.customers.search(params={"query": "name~'page'", "limit": 2, "page": first.next_page})
    assert not ids(first) & ids(second)
    every = [c.id for c in client.v1.customers.search(params={"query": "name~'page'", "limit": 2}).auto_paging_iter()]
    assert sorted(every) == sorted(created) and len(every) == 5
    counted = client.v1.customers.search(params={"query": "name~'page'", "limit": 1, "expand": ["total_count"]})
    assert counted.total_count == 5


def test_search_on_subscriptions_invoices_prices_and_products(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price(lookup_key="team_monthly", name="Team")
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], "metadata": {"company_id": "7"}}
    )
    found = client.v1.subscriptions.search(params={"query": "status:'active' AND metadata['company_id']:'7'"})
    assert ids(found) == {sub.id}
    invoices = client.v1.invoices.search(params={"query": "customer:'%s' AND total>1000" % customer.id})
    assert ids(invoices) == {sub.latest_invoice}
    assert ids(client.v1.prices.search(params={"query": "lookup_key:'team_monthly' AND active:'true'"})) == {price.id}
    assert ids(client.v1.products.search(params={"query": "name:'Team'"})) == {price.product}
    assert ids(client.v1.products.search(params={"query": "active:'false'"})) == set()


@pytest.mark.parametrize(
    "query,fragment",
    [
        ("colour:'red'", "unsupported search field"),
        ("name:'a' AND email:'b' OR phone:'c'", "AND and OR cannot be combined"),
        ("name~'ab'", "at least 3 characters"),
        ("email>'a'", "only applies to numeric fields"),
        ("name:", "could not parse"),
    ],
)
def test_queries_outside_the_language_are_400_on_query(client, query, fragment):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.search(params={"query": query})
    assert exc.value.http_status == 400 and exc.value.param == "query"
    assert fragment in exc.value.user_message
