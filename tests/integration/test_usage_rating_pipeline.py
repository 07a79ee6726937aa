"""The intake pipeline rates with the price's rate table and allowance: zone, band and allowance units are
stored with the usage and shown in TMF635; a record the table cannot rate is quarantined, not lost.
Tariff (tests/data/rating/mobile.yaml), Germany zone: voice 0.40 connect + 0.20/min per started minute (60/60),
half-up to 2 places; the offering includes 300 s a month."""

from datetime import UTC, datetime

import pytest

from openbss.mediation import quarantine
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.integration.test_rating_records import D, tariff

BASE = "/tmf-api/usageManagement/v4"
MSISDN = "+4915100000001"


@pytest.fixture
def line(uow):
    with uow() as u:
        offer = tariff(u)
        acc = factories.account(u)
        return factories.subscribe(u, acc.id, offer.id, MSISDN, datetime(2026, 9, 1, tzinfo=UTC))


def call(seconds, hour, destination="4930123456", key=None):
    return {"usageDate": f"2026-09-15T{hour:02d}:00:00Z", "usageType": "voice", "usageCharacteristic": [
        {"name": "serviceId", "value": MSISDN}, {"name": "quantity", "value": seconds},
        {"name": "destination", "value": destination}, {"name": "recordKey", "value": key or f"c{hour}"}]}


def chars(u):
    return {c["name"]: c["value"] for c in u["usageCharacteristic"]}


def test_calls_are_rated_by_zone_and_draw_the_allowance(client, line):
    first = client.post(f"{BASE}/usage", json=call(200, 10)).json()
    second = client.post(f"{BASE}/usage", json=call(130, 11)).json()
    # 200 s bills 240 s (60/60), all inside the 300 s allowance: 0.00, no connect fee
    assert first["ratedProductUsage"][0]["taxExcludedRatingAmount"] == {"unit": "EUR", "value": 0}
    assert (chars(first)["zone"], chars(first)["allowanceUsed"]) == ("Germany", 240)
    # 130 s bills 180 s, 60 s left: 120 s to pay -> 0.40 + 120 x 0.20 / 60 = 0.80
    assert second["ratedProductUsage"][0]["taxExcludedRatingAmount"] == {"unit": "EUR", "value": 0.8}
    assert chars(second)["allowanceUsed"] == 60


def test_a_destination_outside_every_zone_is_quarantined(uow, line):
    record = UsageRecord("switch", "x-1", MSISDN, "voice", datetime(2026, 9, 15, 10, tzinfo=UTC), D(60),
                         destination="999")
    with uow() as u:
        result = mediation.ingest(u, [record])
    rejection, = result.rejected
    assert (result.accepted, rejection.field, rejection.value) == (0, "destination", "999")
    with uow() as u:
        entry, = quarantine.list_quarantine(u, status="open")[0]
    assert (entry.record_key, entry.field) == ("x-1", "destination")
