"""Each domain's changes reach TMF688 hub listeners: a listener registered through the HTTP API, a change made
through the HTTP API, the outbox relay POSTing to a real receiver on 127.0.0.1. Every notification carries the
resource exactly as GET shows it (its href is read back with the same client), and a change that rolls back
sends nothing."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from openbss.core.money import Money
from openbss.events.tables import outbox_event
from openbss.jobs.relay import deliver_due
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests.tmf_spec import spec_errors

pytest_plugins = ["tests.http_receiver"]

CATALOG = "/tmf-api/productCatalogManagement/v4"
PARTY = "/tmf-api/party/v4"
CUSTOMERS = "/tmf-api/customerManagement/v4"
ACCOUNTS = "/tmf-api/accountManagement/v4"
PAYMENTS = "/tmf-api/paymentManagement/v4"
MERGE = {"Content-Type": "application/merge-patch+json"}
BASE_URL = "http://127.0.0.1:8000"  # the tests' settings: OPENBSS_BASE_URL unset


@pytest.fixture
def api(client):
    """The HTTP API addressed as OPENBSS_BASE_URL (the tests' default), under which events write their hrefs."""
    client.base_url = BASE_URL
    return client


@pytest.fixture
def notified(api, engine, clock, peer, http):
    """`listen(base)` registers the receiver for an API's events; `notified()` then delivers what is due and
    returns the notifications that arrived since its last call, each checked against GET of its resource, in
    order of event type and resource id (the clock stands still, so deliveries have no order of their own)."""
    seen = 0

    def listen(base: str) -> None:
        r = api.post(f"{base}/hub", json={"callback": f"{peer.url}{base}"})
        assert r.status_code == 201, r.text

    def deliver(*, gone: bool = False) -> list[tuple[str, dict]]:
        nonlocal seen
        report = deliver_due(engine, clock=clock, http_client=http)
        assert (report.retrying, report.failed) == (0, 0)
        bodies, seen = peer.bodies()[seen:], len(peer.requests)
        arrived = []
        for body in bodies:
            [(resource_type, resource)] = body["event"].items()
            now = api.get(resource["href"])
            if gone:  # a delete event carries the resource as it was; it can no longer be read
                assert now.status_code == 404, now.text
            else:
                assert now.status_code == 200, now.text
                assert resource == now.json(), body["eventType"]
            arrived.append((body["eventType"], resource))
        return sorted(arrived, key=lambda a: (a[0], a[1]["id"]))

    deliver.listen = listen
    return deliver


def types(arrived: list[tuple[str, dict]]) -> list[str]:
    return [event_type for event_type, _ in arrived]


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_catalog_changes_are_announced(api, notified):
    notified.listen(CATALOG)
    cat = ok(api.post(f"{CATALOG}/category", json={"name": "Mobile"}), 201)
    spec = ok(api.post(f"{CATALOG}/productSpecification", json={"name": "Mobile line"}), 201)
    draft = ok(api.post(f"{CATALOG}/productOfferingPrice", json={
        "name": "Monthly fee", "priceType": "recurring", "price": {"unit": "EUR", "value": 30}}), 201)
    catalog = ok(api.post(f"{CATALOG}/catalog", json={"name": "Retail", "category": [{"id": cat["id"]}]}), 201)
    arrived = notified()
    assert types(arrived) == ["CatalogCreateEvent", "CategoryCreateEvent", "ProductOfferingPriceCreateEvent",
                              "ProductSpecificationCreateEvent"]
    assert arrived[2][1]["lifecycleStatus"] == "active" and arrived[2][1]["price"] == {"unit": "EUR", "value": 30}

    offer = ok(api.post(f"{CATALOG}/productOffering", json={
        "name": "Mobile M", "productOfferingPrice": [{"id": draft["id"]}], "category": [{"id": cat["id"]}],
        "productSpecification": {"id": spec["id"]}}), 201)
    # the draft price now belongs to the offering: it changed too
    assert types(notified()) == ["ProductOfferingCreateEvent", "ProductOfferingPriceAttributeValueChangeEvent"]

    ok(api.patch(f"{CATALOG}/productOffering/{offer['id']}", json={"lifecycleStatus": "active"}, headers=MERGE))
    [(event_type, shown)] = notified()
    assert (event_type, shown["lifecycleStatus"]) == ("ProductOfferingStateChangeEvent", "active")
    assert spec_errors("TMF620-ProductCatalog-v4.0.0", "ProductOfferingStateChangeEvent",
                       {"eventType": event_type, "event": {"productOffering": shown}}) == []

    ok(api.patch(f"{CATALOG}/productOffering/{offer['id']}", json={"description": "5 GB"}, headers=MERGE))
    ok(api.patch(f"{CATALOG}/productOffering/{offer['id']}", json={"description": "5 GB"}, headers=MERGE))
    # the second PATCH changed nothing, so it says nothing
    assert types(notified()) == ["ProductOfferingAttributeValueChangeEvent"]

    ok(api.patch(f"{CATALOG}/productSpecification/{spec['id']}", json={"lifecycleStatus": "active"},
                    headers=MERGE))
    ok(api.patch(f"{CATALOG}/category/{cat['id']}", json={"description": "phones"}, headers=MERGE))
    ok(api.patch(f"{CATALOG}/productOfferingPrice/{draft['id']}", json={"name": "Fee"}, headers=MERGE))
    # a price shows inline on its offering, so the offering changed as well
    assert types(notified()) == ["CategoryAttributeValueChangeEvent", "ProductOfferingAttributeValueChangeEvent",
                                 "ProductOfferingPriceAttributeValueChangeEvent",
                                 "ProductSpecificationStateChangeEvent"]

    before = ok(api.get(f"{CATALOG}/catalog/{catalog['id']}"))
    ok(api.delete(f"{CATALOG}/catalog/{catalog['id']}"), 204)
    assert notified(gone=True) == [("CatalogDeleteEvent", before)]


def test_a_deleted_draft_offering_takes_its_inline_prices_with_it(api, notified):
    notified.listen(CATALOG)
    offer = ok(api.post(f"{CATALOG}/productOffering", json={"name": "Draft", "productOfferingPrice": [
        {"name": "Fee", "priceType": "recurring", "price": {"unit": "EUR", "value": 9}}]}), 201)
    assert types(notified()) == ["ProductOfferingCreateEvent", "ProductOfferingPriceCreateEvent"]
    price = ok(api.get(offer["productOfferingPrice"][0]["href"]))
    ok(api.delete(f"{CATALOG}/productOffering/{offer['id']}"), 204)
    assert notified(gone=True) == [("ProductOfferingDeleteEvent", offer), ("ProductOfferingPriceDeleteEvent", price)]


def test_party_changes_are_announced(api, notified):
    notified.listen(PARTY)
    person = ok(api.post(f"{PARTY}/individual", json={"givenName": "Jane", "familyName": "Smith"}), 201)
    org = ok(api.post(f"{PARTY}/organization", json={"tradingName": "Moon FC"}), 201)
    assert notified() == [("IndividualCreateEvent", person), ("OrganizationCreateEvent", org)]

    # Each notification shows the resource as its own change committed it: delivered (and compared) one by one.
    ok(api.patch(f"{PARTY}/individual/{person['id']}", json={"status": "validated"}, headers=MERGE))
    [(event_type, shown)] = notified()
    assert (event_type, shown["status"]) == ("IndividualStateChangeEvent", "validated")
    ok(api.patch(f"{PARTY}/individual/{person['id']}", json={"middleName": "Q"}, headers=MERGE))
    [(event_type, shown)] = notified()
    assert (event_type, shown["middleName"]) == ("IndividualAttributeValueChangeEvent", "Q")
    ok(api.patch(f"{PARTY}/organization/{org['id']}", json={"status": "validated"}, headers=MERGE))
    assert types(notified()) == ["OrganizationStateChangeEvent"]

    before = ok(api.get(f"{PARTY}/organization/{org['id']}"))
    ok(api.delete(f"{PARTY}/organization/{org['id']}"), 204)
    assert notified(gone=True) == [("OrganizationDeleteEvent", before)]


def test_customer_changes_are_announced(api, notified):
    notified.listen(CUSTOMERS)
    customer = ok(api.post(f"{CUSTOMERS}/customer", json={"name": "Ada Lovelace", "status": "initialized"}), 201)
    assert notified() == [("CustomerCreateEvent", customer)]  # its individual is a party event, not heard here

    ok(api.patch(f"{CUSTOMERS}/customer/{customer['id']}", json={"status": "active"}, headers=MERGE))
    assert types(notified()) == ["CustomerStateChangeEvent"]
    ok(api.patch(f"{CUSTOMERS}/customer/{customer['id']}", json={"segment": "consumer"}, headers=MERGE))
    [(event_type, shown)] = notified()
    assert (event_type, shown["segment"]) == ("CustomerAttributeValueChangeEvent", "consumer")
    assert spec_errors("TMF629-Customer-v4.0.0", "CustomerAttributeValueChangeEvent",
                       {"eventType": event_type, "event": {"customer": shown}}) == []

    before = ok(api.get(f"{CUSTOMERS}/customer/{customer['id']}"))
    ok(api.delete(f"{CUSTOMERS}/customer/{customer['id']}"), 204)
    assert notified(gone=True) == [("CustomerDeleteEvent", before)]


def test_a_billing_account_event_shows_its_balance_and_hierarchy_as_get_does(api, notified):
    notified.listen(ACCOUNTS)
    customer = ok(api.post(f"{CUSTOMERS}/customer", json={"name": "Acme"}), 201)
    owner = [{"id": customer["id"], "@referredType": "Customer"}]
    parent = ok(api.post(f"{ACCOUNTS}/billingAccount", json={
        "name": "Acme HQ", "relatedParty": owner, "currency": "EUR", "country": "DE"}), 201)
    assert notified() == [("BillingAccountCreateEvent", parent)]
    child = ok(api.post(f"{ACCOUNTS}/billingAccount", json={
        "name": "Acme Berlin", "relatedParty": owner, "currency": "EUR", "country": "DE",
        "accountRelationship": [{"relationshipType": "parent", "account": {"id": parent["id"]}}]}), 201)
    # the parent shows its children, so it changed as well
    assert types(notified()) == ["BillingAccountAttributeValueChangeEvent", "BillingAccountCreateEvent"]
    ok(api.post(f"{PAYMENTS}/payment", json={  # 25.00 paid with nothing billed: a credit of 25.00
        "account": {"id": child["id"]}, "totalAmount": {"unit": "EUR", "value": "25.00"},
        "paymentMethod": {"@type": "bankTransfer"}}), 201)

    ok(api.patch(f"{ACCOUNTS}/billingAccount/{child['id']}", json={"paymentTermsDays": 30}, headers=MERGE))
    [(event_type, shown)] = notified()
    assert event_type == "BillingAccountAttributeValueChangeEvent"
    assert shown["paymentTermsDays"] == 30
    assert shown["accountBalance"][0]["balanceType"] == "receivable"
    assert shown["accountBalance"][0]["amount"] == {"unit": "EUR", "value": -25.0}
    assert [(r["relationshipType"], r["account"]["id"]) for r in shown["accountRelationship"]] == [
        ("parent", parent["id"])]

    ok(api.patch(f"{ACCOUNTS}/billingAccount/{parent['id']}", json={"state": "suspended"}, headers=MERGE))
    [(event_type, shown)] = notified()
    assert (event_type, shown["state"]) == ("BillingAccountStateChangeEvent", "suspended")
    assert [(r["relationshipType"], r["account"]["id"]) for r in shown["accountRelationship"]] == [
        ("child", child["id"])]
    assert spec_errors("TMF666-Account-v4.0.0", "BillingAccountStateChangeEvent",
                       {"eventType": event_type, "event": {"billingAccount": shown}}) == []

    pending = ok(api.post(f"{ACCOUNTS}/billingAccount", json={"name": "Later", "relatedParty": owner}), 201)
    assert notified() == [("BillingAccountCreateEvent", pending)]
    ok(api.delete(f"{ACCOUNTS}/billingAccount/{pending['id']}"), 204)
    assert notified(gone=True) == [("BillingAccountDeleteEvent", pending)]


def test_a_payment_is_announced_once_however_often_it_is_sent(api, uow, notified):
    notified.listen(PAYMENTS)
    customer = ok(api.post(f"{CUSTOMERS}/customer", json={"name": "Acme"}), 201)
    account = ok(api.post(f"{ACCOUNTS}/billingAccount", json={
        "name": "Acme HQ", "relatedParty": [{"id": customer["id"]}], "currency": "EUR", "country": "DE"}), 201)
    body = {"account": {"id": account["id"]}, "totalAmount": {"unit": "EUR", "value": "10.00"},
            "paymentMethod": {"@type": "bankTransfer"}}
    paid = ok(api.post(f"{PAYMENTS}/payment", json=body, headers={"Idempotency-Key": "bank-line-1"}), 201)
    again = ok(api.post(f"{PAYMENTS}/payment", json=body, headers={"Idempotency-Key": "bank-line-1"}), 201)
    assert again["id"] == paid["id"]
    with uow() as u:  # the same bank line again through another channel: the payment already recorded
        replayed = payments.record_payment(u, NewPayment(uuid.UUID(account["id"]), Money.of("10.00", "EUR"),
                                                         idempotency_key="bank-line-1"))
    assert str(replayed.id) == paid["id"]
    assert notified() == [("PaymentCreateEvent", paid)]


def test_a_change_that_rolls_back_announces_nothing(api, engine, notified):
    notified.listen(PARTY)
    # The customer's individual is created (and its event emitted) before the customer is refused.
    r = api.post(f"{CUSTOMERS}/customer", json={"name": "Ada Lovelace", "status": "bogus"})
    assert r.status_code == 422 and r.json()["message"].startswith("status='bogus' must be one of")
    assert notified() == []
    assert api.get(f"{PARTY}/individual").json() == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox_event)).scalar() == 0
