"""TMF666 billing accounts: terms, credit limit, VAT id, hierarchies with "parent pays"; the kept TMF666 resources."""

import uuid
from decimal import Decimal

import pytest

from openbss.core.errors import Conflict, NotFound
from openbss.core.money import Money
from openbss.party import service as party
from tests import factories
from tests.tmf_spec import spec_errors

ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"
BASE = "/tmf-api/accountManagement/v4"


def _path(item):
    return item["href"].replace("http://testserver", "")


@pytest.fixture
def customer(client):
    return client.post("/tmf-api/customerManagement/v4/customer", json={"name": "Acme"}).json()


def _account(client, customer, **extra):
    body = {"name": "Acme HQ", "relatedParty": [{"id": customer["id"], "@referredType": "Customer"}],
            "currency": "EUR", "country": "DE", **extra}
    r = client.post(ACCOUNTS, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_terms_credit_limit_vat_and_tax_exemption(client, customer, uow):
    exemption = [{"issuingJurisdiction": "DE", "certificateNumber": "EX-1", "reason": "diplomatic",
                  "validFor": {"startDateTime": "2026-01-01T00:00:00Z"}}]
    acc = _account(client, customer, paymentTermsDays=30, creditLimit={"unit": "EUR", "value": "500.00"},
                   vatId="DE 136 695 976", taxExemption=exemption)
    assert spec_errors("TMF666-Account-v4.0.0", "BillingAccount", acc) == []
    assert (acc["paymentTermsDays"], acc["creditLimit"], acc["vatId"], acc["taxExemption"]) == (
        30, {"unit": "EUR", "value": 500.0}, "DE136695976", exemption)
    with uow() as u:
        a = party.get_billing_account(u, party.list_billing_accounts(u, {}, 0, 1)[0][0].id)
    assert (a.payment_terms_days, a.credit_limit, a.vat_id, a.tax_exempt) == (
        30, Money(Decimal("500"), "EUR"), "DE136695976", True)

    plain = _account(client, customer, name="Acme branch")
    assert (plain["paymentTermsDays"], plain["billToParent"]) == (14, False)
    assert "creditLimit" not in plain and "vatId" not in plain


@pytest.mark.parametrize("extra, text", [
    ({"vatId": "DE136695977"}, "vatId='DE136695977' is not a valid EU VAT identification number"),
    ({"creditLimit": {"unit": "USD", "value": 100}}, "creditLimit.unit='USD' must be the account's currency EUR"),
    ({"creditLimit": {"unit": "EUR", "value": -1}}, "creditLimit.value='-1' must not be negative"),
    ({"paymentTermsDays": 400}, "paymentTermsDays=400 must be a number of days from 0 to 365"),
    ({"taxExemption": [{"reason": "x"}]}, "taxExemption[0].issuingJurisdiction=None is required"),
    ({"accountRelationship": [{"relationshipType": "child", "account": {"id": "x"}}]},
     "accountRelationship[0].relationshipType='child' must be 'parent'"),
    ({"billToParent": True}, "billToParent=True needs a parent account"),
    ({"relatedParty": []}, "relatedParty=[] must name the account's owner"),
])
def test_bad_account_input_is_named_and_nothing_is_written(client, customer, extra, text):
    body = {"name": "Acme", "relatedParty": [{"id": customer["id"]}], "currency": "EUR", "country": "DE", **extra}
    r = client.post(ACCOUNTS, json=body)
    assert r.status_code == 422, r.text
    assert text in r.json()["message"]
    assert client.get(ACCOUNTS).headers["X-Total-Count"] == "0"


def test_hierarchy_parent_pays_and_cycles_refused(client, customer, uow):
    top = _account(client, customer, name="Acme group")
    mid = _account(client, customer, name="Acme DE", billToParent=True,
                   accountRelationship=[{"relationshipType": "parent", "account": {"id": top["id"]}}])
    leaf = _account(client, customer, name="Acme Berlin", billToParent=True,
                    accountRelationship=[{"relationshipType": "parent", "account": {"id": mid["id"]}}])
    own = _account(client, customer, name="Acme Munich",
                   accountRelationship=[{"relationshipType": "parent", "account": {"id": mid["id"]}}])

    shown = client.get(_path(mid)).json()
    assert spec_errors("TMF666-Account-v4.0.0", "BillingAccount", shown) == []
    assert [(r["relationshipType"], r["account"]["id"], r["account"]["name"]) for r in shown["accountRelationship"]] == [
        ("parent", top["id"], "Acme group"), ("child", leaf["id"], "Acme Berlin"), ("child", own["id"], "Acme Munich")]
    assert shown["accountRelationship"][0]["validFor"] == {"startDateTime": "2026-10-01T09:00:00Z"}
    assert client.get(ACCOUNTS, params={"parentId": mid["id"]}).headers["X-Total-Count"] == "2"

    with uow() as u:
        ids = {a["name"]: uuid.UUID(a["id"]) for a in (top, mid, leaf, own)}
        assert [c.id for c in party.account_children(u, ids["Acme DE"])] == [ids["Acme Berlin"], ids["Acme Munich"]]
        # Berlin -> DE -> group all "parent pays"; Munich pays its own bills.
        assert party.invoice_account_for(u, ids["Acme Berlin"]) == ids["Acme group"]
        assert party.invoice_account_for(u, ids["Acme DE"]) == ids["Acme group"]
        assert party.invoice_account_for(u, ids["Acme Munich"]) == ids["Acme Munich"]
        assert party.invoice_account_for(u, ids["Acme group"]) == ids["Acme group"]

    # The group under Berlin would make the group its own ancestor.
    r = client.patch(_path(top), json={"accountRelationship": [{"relationshipType": "parent",
                                                                "account": {"id": leaf["id"]}}]})
    assert r.status_code == 409
    assert r.json()["message"] == (
        "accountRelationship: making ACC-000003 the parent of ACC-000001 would make ACC-000001 its own ancestor "
        "(ACC-000001 -> ACC-000003 -> ACC-000002 -> ACC-000001)")
    r = client.patch(_path(top), json={"accountRelationship": [{"relationshipType": "parent",
                                                                "account": {"id": top["id"]}}]})
    assert r.status_code == 409 and "would make ACC-000001 its own ancestor" in r.json()["message"]
    assert [(r["relationshipType"], r["account"]["id"]) for r in client.get(_path(top)).json()["accountRelationship"]
            ] == [("child", mid["id"])]

    # Leaving the hierarchy: Berlin must stop "parent pays" in the same patch.
    r = client.patch(_path(leaf), json={"accountRelationship": []})
    assert r.status_code == 422 and "billToParent=True needs a parent account" in r.json()["message"]
    r = client.patch(_path(leaf), json={"accountRelationship": [], "billToParent": False})
    assert r.status_code == 200 and "accountRelationship" not in r.json()
    with uow() as u:
        assert party.invoice_account_for(u, ids["Acme Berlin"]) == ids["Acme Berlin"]


def test_parent_pays_needs_the_same_currency(client, customer):
    usd = _account(client, customer, name="Acme US", currency="USD", country="US")
    r = client.post(ACCOUNTS, json={
        "name": "Acme DE", "relatedParty": [{"id": customer["id"]}], "currency": "EUR", "country": "DE",
        "billToParent": True, "accountRelationship": [{"relationshipType": "parent", "account": {"id": usd["id"]}}]})
    assert r.status_code == 422
    assert "billToParent=True needs the parent ACC-000001 to bill in EUR, not USD" in r.json()["message"]


def test_hierarchy_rules_in_the_service(uow):
    with uow() as u:
        parent = factories.account(u, "Parent")
        child = factories.account(u, "Child", parent_id=parent.id, bill_to_parent=True)
        assert (child.parent_id, child.bill_to_parent, child.number) == (parent.id, True, "ACC-000002")
    with uow() as u, pytest.raises(Conflict, match="would make ACC-000001 its own ancestor"):
        party.update_billing_account(u, parent.id, {"parent_id": child.id})
    with uow() as u, pytest.raises(NotFound, match="accountRelationship.account.id="):
        factories.account(u, "Orphan", parent_id=factories.account(u, "x").customer_id)


def test_a_pending_account_is_completed_then_fixed(client, customer):
    # The base TMF666 schema carries no currency or country: the account waits, unbilled, until it has them.
    r = client.post(ACCOUNTS, json={"name": "Home", "relatedParty": [{"id": "6838", "@referredType": "Organization",
                                                                       "name": "Richard Cole"}]})
    assert r.status_code == 201, r.text
    pending = r.json()
    assert spec_errors("TMF666-Account-v4.0.0", "BillingAccount", pending) == []
    assert pending["state"] == "pending" and "accountBalance" not in pending
    assert pending["relatedParty"] == [{"id": "6838", "@referredType": "Organization", "name": "Richard Cole"}]

    r = client.patch(_path(pending), json={"state": "active"})
    assert r.status_code == 422 and "state='active' needs currency and country to be set" in r.json()["message"]
    r = client.patch(_path(pending), json={"currency": "EUR", "country": "AT", "timeZone": "Europe/Vienna",
                                           "state": "active"}, headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text
    active = r.json()
    assert (active["state"], active["currency"], active["timeZone"]) == ("active", "EUR", "Europe/Vienna")
    assert active["accountBalance"][0]["amount"] == {"unit": "EUR", "value": 0.0}

    r = client.patch(_path(active), json={"currency": "USD"})
    assert r.status_code == 409
    assert r.json()["message"] == ("currency of billing account ACC-000001 cannot change: it is active "
                                   "(only a pending account's may)")
    assert client.patch(_path(active), json={"name": "Home AT", "paymentTermsDays": 7}).json()["paymentTermsDays"] == 7
    r = client.delete(_path(active))
    assert r.status_code == 409 and "set its state to closed instead" in r.json()["message"]
    assert client.patch(_path(active), json={"state": "closed"}).json()["state"] == "closed"

    other = client.post(ACCOUNTS, json={"name": "Draft", "relatedParty": [{"id": customer["id"]}]}).json()
    assert client.delete(_path(other)).status_code == 204
    assert client.get(_path(other)).status_code == 404


@pytest.mark.parametrize("kind, body", [
    ("billFormat", {"name": "Detailed invoice", "description": "every call"}),
    ("billingCycleSpecification", {"name": "Monthly", "frequency": "monthly", "billingDateShift": 1}),
    ("billPresentationMedia", {"name": "PDF by e-mail"}),
    ("financialAccount", {"name": "Administration account"}),
    ("partyAccount", {"name": "Travel", "relatedParty": [{"id": "4665", "name": "John Doe", "@referredType": "Organization"}]}),
    ("settlementAccount", {"name": "Per usage", "relatedParty": [{"id": "5965", "name": "Jimmy Doe", "@referredType": "Organization"}]}),
])
def test_other_account_resources_are_kept_as_sent(client, kind, body):
    definition = kind[0].upper() + kind[1:]
    r = client.post(f"{BASE}/{kind}", json={**body, "id": "client-chosen", "@type": "Wrong"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert spec_errors("TMF666-Account-v4.0.0", definition, doc) == []
    assert {k: doc[k] for k in body} == body and doc["id"] != "client-chosen" and doc["@type"] == definition
    assert client.get(f"{BASE}/{kind}", params={"name": body["name"]}).json() == [doc]
    r = client.patch(_path(doc), json={"name": "Renamed", "description": None},
                     headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and "description" not in r.json()
    r = client.patch(_path(doc), json={"name": None})
    assert r.status_code == 422 and r.json()["message"] == "name=None must not be empty"
    assert client.delete(_path(doc)).status_code == 204
    assert client.get(_path(doc)).status_code == 404


def test_party_and_settlement_accounts_need_a_related_party(client):
    r = client.post(f"{BASE}/partyAccount", json={"name": "Travel"})
    assert r.status_code == 422 and r.json()["message"] == "relatedParty=None is required"


def test_ownership_moves_to_an_existing_customer_only(client, customer):
    acc = _account(client, customer)
    other = client.post("/tmf-api/customerManagement/v4/customer", json={"name": "Globex"}).json()
    r = client.patch(_path(acc), json={"relatedParty": [{"id": "0192f0e0-0000-7000-8000-000000000000"}]})
    assert r.status_code == 422 and r.json()["code"] == "INVALID_REFERENCE"
    r = client.patch(_path(acc), json={"relatedParty": [{"id": other["id"], "@referredType": "Customer"}]})
    assert r.status_code == 200
    assert [(p["id"], p["name"], p["role"]) for p in r.json()["relatedParty"]] == [(other["id"], "Globex", "owner")]
    assert client.get(ACCOUNTS, params={"customerId": other["id"]}).headers["X-Total-Count"] == "1"
    r = client.patch(_path(acc), json={"billCycleDay": None})
    assert r.status_code == 422 and r.json()["message"] == "billCycleDay=None cannot be removed"
