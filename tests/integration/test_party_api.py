"""TMF632 individuals and organizations, TMF629 customers as the role of a party."""

import pytest

from openbss.party import service as party
from tests import factories
from tests.tmf_spec import spec_errors

PARTY = "/tmf-api/party/v4"
CUSTOMERS = "/tmf-api/customerManagement/v4/customer"
ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"
UNKNOWN = "0192f0e0-0000-7000-8000-000000000000"
JANE = {
    "givenName": "Jane", "familyName": "Lamborgizzia", "middleName": "Q", "birthDate": "1990-04-01",
    "nationality": "IT", "@baseType": "Party",
    "contactMedium": [{"mediumType": "email", "preferred": True, "characteristic": {"emailAddress": "jane@example.org"}}],
    "partyCharacteristic": [{"name": "preferredLanguage", "value": "it"}],
    "externalReference": [{"externalReferenceType": "crm", "name": "CRM-17"}],
}


def _path(item):
    return item["href"].replace("http://testserver", "")


def test_customer_and_billing_account_roundtrip(client):
    r = client.post(CUSTOMERS, json={"name": "Ada Lovelace"})
    assert r.status_code == 201, r.text
    cust = r.json()
    assert cust["@type"] == "Customer" and cust["href"].endswith(cust["id"])
    r = client.post(
        ACCOUNTS,
        json={"name": "Ada main", "relatedParty": [{"id": cust["id"]}], "currency": "EUR", "country": "DE",
              "billCycleDay": 1, "timeZone": "Europe/Berlin"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["accountNumber"] == "ACC-000001"
    r = client.get(CUSTOMERS, params={"fields": "name"})
    assert r.headers["X-Total-Count"] == "1"
    assert r.json() == [{"id": cust["id"], "href": cust["href"], "@type": "Customer", "name": "Ada Lovelace"}]


def test_individual_lifecycle_with_merge_patch(client):
    r = client.post(f"{PARTY}/individual", json=JANE)
    assert r.status_code == 201, r.text
    jane = r.json()
    assert spec_errors("TMF632-Party-v4.0.0", "Individual", jane) == []
    assert jane["href"] == f"http://testserver{PARTY}/individual/{jane['id']}"
    assert (jane["fullName"], jane["birthDate"], jane["status"], jane["nationality"]) == (
        "Jane Lamborgizzia", "1990-04-01", "initialized", "IT")
    assert "@baseType" not in jane  # TMF housekeeping fields are not kept as attributes
    assert jane["contactMedium"] == JANE["contactMedium"]
    assert client.get(_path(jane)).json() == jane

    client.post(f"{PARTY}/individual", json={"givenName": "John", "familyName": "Smith"})
    r = client.get(f"{PARTY}/individual", params={"familyName": "Lamborgizzia"})
    assert r.headers["X-Total-Count"] == "1" and r.json()[0]["id"] == jane["id"]
    assert client.get(f"{PARTY}/individual", params={"id": jane["id"]}).json() == [jane]
    assert client.get(f"{PARTY}/organization").headers["X-Total-Count"] == "0"  # kinds are separate resources

    r = client.patch(_path(jane), json={"givenName": "Janet", "middleName": None, "contactMedium": None,
                                        "status": "validated"},
                     headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text
    patched = r.json()
    assert (patched["givenName"], patched["familyName"], patched["status"]) == ("Janet", "Lamborgizzia", "validated")
    assert "middleName" not in patched and patched["contactMedium"] == []
    assert patched["partyCharacteristic"] == JANE["partyCharacteristic"]  # untouched by the patch
    assert client.get(_path(jane)).json() == patched

    assert client.delete(_path(jane)).status_code == 204
    assert client.get(_path(jane)).status_code == 404


def test_organization(client):
    r = client.post(f"{PARTY}/organization", json={"tradingName": "Coffee Do Brazil", "name": "Coffee Do Brazil SA",
                                                   "isLegalEntity": True, "organizationType": "company",
                                                   "isHeadOffice": True})
    assert r.status_code == 201, r.text
    org = r.json()
    assert spec_errors("TMF632-Party-v4.0.0", "Organization", org) == []
    assert (org["tradingName"], org["isLegalEntity"], org["organizationType"], org["isHeadOffice"]) == (
        "Coffee Do Brazil", True, "company", True)
    assert client.get(f"{PARTY}/organization", params={"tradingName": "Coffee Do Brazil"}).json() == [org]
    assert client.get(f"{PARTY}/individual/{org['id']}").status_code == 404  # not an individual


@pytest.mark.parametrize("kind, body, status, text", [
    ("individual", {**JANE, "birthDate": "2030-01-01"}, 422, "birthDate='2030-01-01' is in the future"),
    ("individual", {**JANE, "status": "asleep"}, 422, "status='asleep' must be one of"),
    ("individual", {"nationality": "IT"}, 422, "an Individual needs a name"),
    ("individual", {**JANE, "partyCharacteristic": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}, 422,
     "partyCharacteristic[1].name='a' is given twice"),
    ("individual", {**JANE, "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": "nope"}}]},
     422, "contactMedium[0].characteristic.emailAddress='nope' is not an e-mail address"),
    ("individual", {**JANE, "birthDate": "someday"}, 400, "birthDate='someday'"),
    ("organization", {"isLegalEntity": True}, 422, "an Organization needs a name"),
    ("organization", {"tradingName": "X", "status": "deceaded"}, 422, "status='deceaded' must be one of"),
])
def test_bad_party_input_is_named_and_nothing_is_written(client, kind, body, status, text):
    r = client.post(f"{PARTY}/{kind}", json=body)
    assert r.status_code == status, r.text
    assert text in r.json()["message"]
    assert client.get(f"{PARTY}/{kind}").headers["X-Total-Count"] == "0"


def test_customer_without_engaged_party_gets_an_individual_of_its_name(client):
    cust = client.post(CUSTOMERS, json={
        "name": "Ada Lovelace", "segment": "residential",
        "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": "ada@example.org"}}]}).json()
    assert spec_errors("TMF629-Customer-v4.0.0", "Customer", cust) == []
    ep = cust["engagedParty"]
    assert (ep["@referredType"], ep["name"]) == ("Individual", "Ada Lovelace")
    individual = client.get(_path(ep)).json()
    assert (individual["id"], individual["fullName"]) == (ep["id"], "Ada Lovelace")
    assert cust["segment"] == "residential" and cust["validFor"] == {"startDateTime": "2026-10-01T09:00:00Z"}


def test_customer_engaged_party_references(client):
    org = client.post(f"{PARTY}/organization", json={"tradingName": "Moon FC"}).json()
    r = client.post(CUSTOMERS, json={"name": "Moon Football Club",
                                     "engagedParty": {"id": org["id"], "@referredType": "Organization"}})
    assert r.status_code == 201, r.text
    assert r.json()["engagedParty"] == {"id": org["id"], "href": org["href"], "name": "Moon FC",
                                        "@referredType": "Organization"}
    # A party held in another party register (ids that are not openbss UUIDs) is kept as referenced.
    r = client.post(CUSTOMERS, json={"name": "Sun FC", "engagedParty": {"id": "500", "@referredType": "Organization",
                                                                         "name": "Sun"}})
    assert r.status_code == 201, r.text
    assert r.json()["engagedParty"] == {"id": "500", "name": "Sun", "@referredType": "Organization"}
    assert client.get(_path(r.json())).json()["engagedParty"]["id"] == "500"

    cases = [
        ({"id": UNKNOWN, "@referredType": "Individual"}, 422, f"engagedParty.id='{UNKNOWN}': no party"),
        ({"id": org["id"], "@referredType": "Individual"}, 422,
         f"engagedParty.@referredType='Individual' but party {org['id']} is an Organization"),
        ({"id": org["id"], "@referredType": "Robot"}, 422, "engagedParty.@referredType='Robot' must be one of"),
        ({"id": org["id"]}, 400, "engagedParty.@referredType is required"),
    ]
    for engaged, status, text in cases:
        r = client.post(CUSTOMERS, json={"name": "X", "engagedParty": engaged})
        assert r.status_code == status, (engaged, r.text)
        assert text in r.json()["message"], (engaged, r.text)
    assert client.get(CUSTOMERS).headers["X-Total-Count"] == "2"


def test_customer_patch_is_a_merge_and_is_validated_whole(client):
    cust = client.post(CUSTOMERS, json={"name": "Ada", "characteristic": [{"name": "vip", "value": True}],
                                        "relatedParty": [{"id": "77", "@referredType": "Individual", "role": "agent"}]}
                       ).json()
    r = client.patch(_path(cust), json={"name": "Ada L.", "segment": "business", "statusReason": "verified",
                                        "relatedParty": None})
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["name"], after["segment"], after["statusReason"]) == ("Ada L.", "business", "verified")
    assert after["characteristic"] == [{"name": "vip", "value": True}] and after["relatedParty"] == []
    assert after["engagedParty"] == cust["engagedParty"]  # the customer's name is the role's, not the person's
    assert spec_errors("TMF629-Customer-v4.0.0", "Customer", after) == []

    for change, text in [({"status": "dancing"}, "status='dancing'"), ({"name": " "}, "name=' ' must not be empty"),
                         ({"engagedParty": None}, "engagedParty=None is required"),
                         ({"validFor": {"endDateTime": "2020-01-01T00:00:00Z"}}, "validFor.endDateTime=")]:
        r = client.patch(_path(cust), json=change)
        assert r.status_code == 422 and text in r.json()["message"], (change, r.text)
    assert client.get(_path(cust)).json() == after
    assert client.patch(f"{CUSTOMERS}/{UNKNOWN}", json={"name": "X"}).status_code == 404


def test_a_customer_with_billing_accounts_cannot_be_deleted(client, uow):
    with uow() as u:
        acc = factories.account(u)
    r = client.delete(f"{CUSTOMERS}/{acc.customer_id}")
    assert r.status_code == 409
    assert r.json()["message"] == (f"customer {acc.customer_id} has billing account(s) ACC-000001; "
                                   "close and reassign them, or keep the customer")
    with uow() as u:
        engaged = party.get_customer(u, acc.customer_id).party
    r = client.delete(f"{PARTY}/individual/{engaged.id}")
    assert r.status_code == 409 and f"engaged party of customer(s) {acc.customer_id}" in r.json()["message"]

    other = client.post(CUSTOMERS, json={"name": "Bob"}).json()
    assert client.delete(_path(other)).status_code == 204
    assert client.get(_path(other)).status_code == 404
    assert client.delete(_path(other)).status_code == 404
