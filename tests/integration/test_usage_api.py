from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from openbss.mediation.tables import usage
from tests import factories

BASE = "/tmf-api/usageManagement/v4"
MSISDN = "+4915112345678"


@pytest.fixture
def subscription(uow):
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)  # voice 0.0020 EUR/s, sms 0.09 EUR, data 0.01 EUR per 1,000,000 bytes
        return factories.subscribe(u, acc.id, off.id, MSISDN, start=datetime(2026, 9, 1, tzinfo=UTC))


def body(quantity=125, usage_type="voice", service_id=MSISDN, date="2026-09-15T10:00:00+02:00", **extra):
    chars = [{"name": "serviceId", "value": service_id}, {"name": "quantity", "value": quantity}]
    chars += [{"name": k, "value": v} for k, v in extra.items()]
    return {"usageDate": date, "usageType": usage_type, "usageCharacteristic": chars}


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(usage)).scalar_one()


def test_post_usage_is_rated_and_stored(client, subscription):
    r = client.post(f"{BASE}/usage", json=body(quantity=125))
    assert r.status_code == 201, r.text
    u = r.json()
    assert r.headers["Location"] == u["href"] and u["href"].endswith(u["id"])
    assert u["status"] == "rated" and u["usageDate"] == "2026-09-15T08:00:00Z"
    rated = u["ratedProductUsage"][0]
    assert rated["taxExcludedRatingAmount"] == {"unit": "EUR", "value": 0.25}  # 125 s x 0.0020 EUR/s
    assert rated["productRef"]["id"] == str(subscription.id) and rated["isBilled"] is False
    assert u["relatedParty"][0]["id"] == str(subscription.account_id)
    chars = {c["name"]: c["value"] for c in u["usageCharacteristic"]}
    assert chars["serviceId"] == MSISDN and chars["quantity"] == 125 and chars["unit"] == "second"
    assert chars["source"] == "api" and len(chars["recordKey"]) == 64
    assert client.get(f"{BASE}/usage/{u['id']}").json() == u


def test_data_usage_rated_per_megabyte_block(client, subscription):
    r = client.post(f"{BASE}/usage", json=body(quantity="2500000", usage_type="data", recordKey="d-1"))
    assert r.status_code == 201, r.text
    # 2,500,000 bytes / 1,000,000 x 0.0100 EUR = 0.025 EUR
    assert r.json()["ratedProductUsage"][0]["taxExcludedRatingAmount"] == {"unit": "EUR", "value": 0.025}


def test_same_record_twice_is_stored_once(client, engine, subscription):
    first = client.post(f"{BASE}/usage", json=body())
    again = client.post(f"{BASE}/usage", json=body(date="2026-09-15T08:00:00Z"))  # the same instant, written in UTC
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert stored(engine) == 1


def test_same_key_for_another_event_is_a_conflict(client, engine, subscription):
    assert client.post(f"{BASE}/usage", json=body(quantity=60, recordKey="k1")).status_code == 201
    r = client.post(f"{BASE}/usage", json=body(quantity=61, recordKey="k1"))
    assert r.status_code == 409 and "recordKey" in r.json()["message"]
    assert stored(engine) == 1


def test_unknown_service_id_is_422_naming_service_id_and_writes_nothing(client, engine, subscription):
    r = client.post(f"{BASE}/usage", json=body(service_id="+490000"))
    assert r.status_code == 422
    assert r.json()["message"] == "usageCharacteristic.serviceId='+490000' is not the service id of any subscription"
    assert stored(engine) == 0


def test_usage_before_the_subscription_started_is_refused(client, subscription):
    r = client.post(f"{BASE}/usage", json=body(date="2026-08-31T23:59:59Z"))
    assert r.status_code == 422
    assert r.json()["message"] == (
        "usageDate='2026-08-31T23:59:59+00:00' is before the subscription of serviceId '+4915112345678' started "
        "(2026-09-01T00:00:00+00:00)"
    )


@pytest.mark.parametrize(
    "payload, field",
    [
        (body(quantity=-1), "usageCharacteristic.quantity"),
        (body(quantity="ten"), "usageCharacteristic.quantity"),
        (body(quantity="0.0000001"), "usageCharacteristic.quantity"),
        (body(usage_type="fax"), "usageType"),
        (body(date="2026-09-15T10:00:00"), "usageDate"),
        ({"usageDate": "2026-09-15T10:00:00Z", "usageType": "voice",
          "usageCharacteristic": [{"name": "serviceId", "value": MSISDN}]}, "usageCharacteristic.quantity"),
    ],
)
def test_bad_values_are_422_naming_the_field(client, engine, subscription, payload, field):
    r = client.post(f"{BASE}/usage", json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}=")
    assert stored(engine) == 0


def test_wrong_type_is_400(client, subscription):
    r = client.post(f"{BASE}/usage", json={**body(), "usageType": 5})
    assert r.status_code == 400 and "usageType" in r.json()["message"]
    r = client.post(f"{BASE}/usage", json={**body(), "usageCharacteristic": {"serviceId": MSISDN}})
    assert r.status_code == 400


def test_malformed_json_is_400(client, subscription):
    r = client.post(f"{BASE}/usage", content=b'{"usageType": "voice",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]


def test_batch_keeps_good_records_and_reports_bad_ones_by_index(client, engine, subscription):
    batch = [
        body(quantity=10, recordKey="b1"),
        body(quantity=-5, recordKey="b2"),
        body(quantity=10, recordKey="b1"),  # repeated inside the batch
        {"usageType": "voice"},
        body(service_id="+490000", recordKey="b3"),
        body(quantity=3, usage_type="sms", recordKey="b4"),
    ]
    r = client.post(f"{BASE}/usage/batch", json=batch)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["duplicates"]) == (2, 1)
    assert [(x["index"], x["field"]) for x in out["rejected"]] == [
        (1, "usageCharacteristic.quantity"),
        (3, "usageDate"),
        (4, "usageCharacteristic.serviceId"),
    ]
    assert stored(engine) == 2
    again = client.post(f"{BASE}/usage/batch", json=batch).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)


def test_list_usage_filters_and_pages(client, subscription):
    for i, t in enumerate(["voice", "sms", "voice"]):
        assert client.post(f"{BASE}/usage", json=body(quantity=1, usage_type=t, recordKey=f"l{i}")).status_code == 201
    r = client.get(f"{BASE}/usage", params={"usageType": "voice", "limit": 1})
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2" and r.headers["X-Result-Count"] == "1"
    r = client.get(f"{BASE}/usage", params={"billingAccountId": str(subscription.account_id), "status": "rated"})
    assert r.headers["X-Total-Count"] == "3"
    assert client.get(f"{BASE}/usage", params={"colour": "red"}).status_code == 422
    assert client.get(f"{BASE}/usage/not-an-id").status_code == 404
