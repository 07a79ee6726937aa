"""TMF677 queryUsageConsumption: what a customer portal shows (allowance used and left), valid against the
official v4.0.1 swagger. Tariff: tests/data/rating/mobile.yaml, voice 0.40 connect + 0.20/min (60/60) with
300 s included (rate table), and a plain data price with 1,000,000 bytes included (billed on totals)."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.core.money import Money
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.rating import store
from openbss.rating.service import RatingRequest, rate_records
from tests import factories
from tests.tmf_spec import spec_errors

TABLE = Path(__file__).resolve().parents[1] / "data" / "rating" / "mobile.yaml"
BASE = "/tmf-api/usageConsumption/v4"
SPEC = "TMF677-UsageConsumption-v4.0.1"


def test_a_query_reports_used_and_left_per_bucket(client, uow, clock):
    with uow() as u:
        store.import_file(u, TABLE)
        offer = create_offering(u, NewOffering(name="Mobile Table", prices=[
            NewPrice(kind="usage", amount=Money.of("0.20", "EUR"), usage_type="voice", unit_size=Decimal(60),
                     rate_table="mobile-de", included_units=Decimal(300)),
            NewPrice(kind="usage", amount=Money.of("0.01", "EUR"), usage_type="data", unit_size=Decimal(1_000_000),
                     included_units=Decimal(1_000_000)),
        ]))
        acc = factories.account(u)
        line = factories.subscribe(u, acc.id, offer.id, "+4915100000001", datetime(2026, 10, 1, tzinfo=UTC))
        at = datetime(2026, 10, 1, 8, tzinfo=UTC)  # before the clock (09:00): not future usage
        # 130 s bills 180 s: 180 of the 300 s used, 120 left
        rate_records(u, [RatingRequest(UsageRecord("sw", "c1", line.service_id, "voice", at, Decimal(130),
                                                   destination="4930123"), line, "EUR")])
        # 400,000 bytes of data rated and unbilled: 600,000 of 1,000,000 left
        ingested = mediation.ingest(u, [UsageRecord("sw", "d1", line.service_id, "data", at, Decimal(400_000))])
        assert ingested.accepted == 1, ingested
    r = client.post(f"{BASE}/queryUsageConsumption", json={"searchCriteria": {
        "partyAccount": [{"id": str(acc.id)}], "validPeriod": {"startDateTime": "2026-10-02T00:00:00Z"}}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert spec_errors(SPEC, "QueryUsageConsumption", body) == []
    consumption, = body["usageConsumption"]
    assert consumption["product"][0]["id"] == str(line.id)
    buckets = {b["usageType"]: b for b in consumption["bucketRefOrValue"]}
    counters = {c["counterType"]: c["value"]["amount"] for c in buckets["voice"]["bucketCounter"]}
    assert buckets["voice"]["remainingValue"] == {"amount": 120, "units": "second"}
    assert counters == {"used": 180, "granted": 300, "rolledOver": 0}
    assert buckets["data"]["remainingValue"] == {"amount": 600_000, "units": "byte"}
    # 1 Oct 00:00 Berlin (CEST) is 30 Sep 22:00 UTC: the account's bill cycle period
    assert buckets["voice"]["validFor"] == {"startDateTime": "2026-09-30T22:00:00Z",
                                           "endDateTime": "2026-10-31T23:00:00Z"}
    listed = client.get(f"{BASE}/queryUsageConsumption")
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    one = client.get(body["href"].replace("http://testserver", ""))
    assert one.status_code == 200 and one.json() == body
    assert spec_errors(SPEC, "QueryUsageConsumption", listed.json()[0]) == []


def test_an_unknown_product_is_named_in_the_error(client):
    r = client.post(f"{BASE}/queryUsageConsumption",
                    json={"searchCriteria": {"product": [{"id": "01a2092e-0ab0-77d8-8e3a-3b223682da27"}]}})
    assert r.status_code == 422 and "searchCriteria.product[0].id" in r.json()["message"]
