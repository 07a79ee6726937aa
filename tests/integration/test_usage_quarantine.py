"""The usage pipeline's bad input: every rejected record is quarantined with its reason (once per open
source and key), nothing is lost, and a quarantined record is stored once its cause is fixed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.db.uow import unit_of_work
from openbss.mediation import bulk, quarantine, service
from openbss.mediation.cli import usage_app
from openbss.mediation.model import Rejection, ReprocessResult, UsageRecord
from openbss.mediation.tables import usage, usage_quarantine
from tests import factories

SEPT = datetime(2026, 9, 1, tzinfo=UTC)
BASE = "/tmf-api/usageManagement/v4"
HEADER = "record_key,service_id,usage_type,start_time,quantity,destination"
# Clock: 2026-10-01T09:00Z (conftest). +4915100000001 subscribed since September 1st.
BAD_FILE = [
    "ok-1,+4915100000001,voice,2026-09-15T10:00:00Z,60,+4930123456",
    "bad-syntax,+4915100000001,voice,2026-09-15T10:00:00Z,ten,",  # unreadable quantity: raw
    "bad-type,+4915100000001,fax,2026-09-15T10:00:00Z,1,",  # wrong usage type
    "bad-neg,+4915100000001,voice,2026-09-15T10:00:00Z,-5,",  # negative duration
    "bad-future,+4915100000001,voice,2026-10-01T09:06:00Z,60,",  # 6 minutes after intake
    "bad-early,+4915100000001,voice,2026-08-31T23:59:00Z,60,",  # before the subscription started
    "bad-who,+4915199999999,voice,2026-09-15T10:00:00Z,60,",  # unknown subscriber
]


@pytest.fixture
def line(uow):
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        return acc, off, factories.subscribe(u, acc.id, off.id, "+4915100000001", start=SEPT)


def entries(engine, **where) -> list[dict]:
    q = usage_quarantine
    with engine.connect() as conn:
        rows = conn.execute(sa.select(q).where(*(q.c[k] == v for k, v in where.items())).order_by(q.c.line))
        return [dict(r._mapping) for r in rows]


def stored_keys(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(usage.c.record_key)).scalars())


def write(tmp_path, rows, name="switch-1.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_raw_input_is_quarantined_once_while_open(engine, uow):
    with uow() as u:
        quarantine.quarantine_raw(u, "asterisk-1", [(Rejection(3, "line", 4, "truncated"), '"a","b","c","d"')],
                                  origin="spool:Master.csv")  # fmt: skip
    with uow() as u:  # the same file dropped again under another name
        quarantine.quarantine_raw(u, "asterisk-1", [(Rejection(7, "line", 4, "truncated"), '"a","b","c","d"')],
                                  origin="spool:Master-2.csv")  # fmt: skip
    [entry] = entries(engine)
    assert (entry["origin"], entry["line"], entry["raw"]) == ("spool:Master-2.csv", 7, '"a","b","c","d"')  # latest
    assert (entry["field"], entry["value"], entry["reason"], entry["status"]) == ("line", "4", "truncated", "open")
    assert entry["payload"] is None and entry["record_key"] is None


def test_each_kind_of_bad_input_is_quarantined_with_its_reason(engine, clock, line, tmp_path):
    result = bulk.import_csv(engine, write(tmp_path, BAD_FILE), source="sw", clock=clock)
    assert (result.accepted, result.duplicates, len(result.rejected)) == (1, 0, 6)
    assert stored_keys(engine) == ["ok-1"]
    with engine.connect() as conn:  # the optional destination column
        assert conn.execute(sa.select(usage.c.destination)).scalar_one() == "+4930123456"
    got = [(e["line"], e["record_key"], e["field"], e["value"], e["reason"]) for e in entries(engine)]
    assert got == [
        (3, None, "quantity", "ten", "is not a decimal number"),
        (4, "bad-type", "usageType", "fax", "must be one of voice, sms, data"),
        (5, "bad-neg", "quantity", "-5", "must not be negative"),
        (6, "bad-future", "usageDate", "2026-10-01T09:06:00+00:00", "is in the future: more than 5 minutes after intake"),
        (7, "bad-early", "usageDate", "2026-08-31T23:59:00+00:00",
         "is before the subscription of serviceId '+4915100000001' started (2026-09-01T00:00:00+00:00)"),
        (8, "bad-who", "serviceId", "+4915199999999", "is not the service id of any subscription"),
    ]  # fmt: skip
    raw, *decoded = entries(engine)
    assert raw["raw"] == "bad-syntax,+4915100000001,voice,2026-09-15T10:00:00Z,ten," and raw["payload"] is None
    assert {e["origin"] for e in entries(engine)} == {"csv:switch-1.csv"}
    assert decoded[-1]["payload"] == {
        "source": "sw", "record_key": "bad-who", "service_id": "+4915199999999", "usage_type": "voice",
        "usage_date": "2026-09-15T10:00:00+00:00", "quantity": "60", "destination": None,
    }  # fmt: skip

    again = bulk.import_csv(engine, write(tmp_path, BAD_FILE), source="sw", clock=clock)
    assert (again.accepted, again.duplicates, len(again.rejected)) == (0, 1, 6)
    assert len(entries(engine)) == 6  # the same file twice: the open entries are updated, not doubled


def test_reprocess_stores_what_is_fixed_and_keeps_the_rest_open(engine, uow, clock, line, tmp_path):
    acc, off, _ = line
    bulk.import_csv(engine, write(tmp_path, BAD_FILE), source="sw", clock=clock)
    with uow() as u:  # the cause of "bad-who": the subscription was missing
        factories.subscribe(u, acc.id, off.id, "+4915199999999", start=SEPT)
    clock.advance(timedelta(minutes=2))  # "bad-future" is now 4 minutes ahead: within the tolerance
    with uow() as u:
        outcome = service.reprocess(u, source="sw")
    assert outcome == ReprocessResult(stored=2, duplicates=0, still_open=3, raw_only=1)
    assert stored_keys(engine) == ["bad-future", "bad-who", "ok-1"]
    by_key = {e["record_key"]: e for e in entries(engine)}
    assert by_key["bad-who"]["status"] == "reprocessed" and by_key["bad-who"]["resolution"] == "stored"
    assert by_key["bad-who"]["usage_id"] is not None and by_key["bad-who"]["resolved_at"] == clock.now()
    assert [(k, e["status"]) for k, e in by_key.items() if e["status"] == "open"] == [
        (None, "open"), ("bad-type", "open"), ("bad-neg", "open"), ("bad-early", "open")]
    with engine.connect() as conn:
        audited = conn.execute(sa.select(audit_record.c.after).where(
            audit_record.c.action == "usageQuarantine.reprocessed")).scalar_one()  # fmt: skip
    assert (audited["stored"], audited["still_open"], len(audited["entries"])) == (2, 3, 6)

    with uow() as u:  # nothing left that could be stored: a second run changes nothing
        assert service.reprocess(u, source="sw") == ReprocessResult(0, 0, 3, 1)


def test_a_record_stored_meanwhile_is_reprocessed_as_a_duplicate_of_it(engine, uow, clock, line):
    record = UsageRecord("sw", "k1", "+4915100000001", "voice", datetime(2026, 10, 1, 9, 10, tzinfo=UTC), Decimal(60))
    with uow() as u:
        assert service.ingest(u, [record]).rejected[0].field == "usageDate"  # 10 min ahead: quarantined
    clock.advance(timedelta(minutes=10))
    with uow() as u:
        usage_id, _ = service.ingest_one(u, record)  # the API does not look at the quarantine's entries...
    [entry] = entries(engine)
    assert (entry["status"], entry["usage_id"]) == ("reprocessed", usage_id.id)  # ...but storing closes it


def test_reprocess_points_a_duplicate_at_the_usage_already_stored(engine, uow, clock, line):
    at = datetime(2026, 9, 20, tzinfo=UTC)
    stored = UsageRecord("sw", "k1", "+4915100000001", "voice", at, Decimal(60))
    with uow() as u:
        service.ingest(u, [stored])
        # The same key again with a broken clock's date: rejected by validation before dedupe.
        service.ingest(u, [UsageRecord("sw", "k1", "+4915100000001", "voice", at.replace(year=2027), Decimal(60))])
    [entry] = entries(engine)
    assert entry["status"] == "open"
    clock.move_to(datetime(2027, 9, 20, tzinfo=UTC))  # now its date is no longer in the future
    with uow() as u:
        assert service.reprocess(u, ids=[entry["id"]]) == ReprocessResult(0, 1, 0, 0)
        existing = service.find_usage(u, "sw", "k1")
    [entry] = entries(engine)
    assert (entry["status"], entry["resolution"], entry["usage_id"]) == ("reprocessed", "duplicate", existing.id)


def test_discard_closes_raw_entries_with_the_reason(engine, uow, clock, line, tmp_path):
    bulk.import_csv(engine, write(tmp_path, BAD_FILE), source="sw", clock=clock)
    raw_id = entries(engine, line=3)[0]["id"]
    with uow() as u:
        assert quarantine.discard(u, [raw_id], "resent corrected as ok-2") == 1
        assert quarantine.discard(u, [raw_id], "again") == 0  # no longer open
    [entry] = entries(engine, line=3)
    assert (entry["status"], entry["resolution"]) == ("discarded", "resent corrected as ok-2")


def test_duplicates_in_a_batch_and_across_batches_never_reach_rating(engine, uow, line, monkeypatch):
    rated: list[str] = []
    rate = service._rate

    def watching(u, numbered):
        rated.extend(r.record_key for _, r in numbered)
        return rate(u, numbered)

    monkeypatch.setattr(service, "_rate", watching)
    at = datetime(2026, 9, 20, tzinfo=UTC)
    first, other = (UsageRecord("sw", k, "+4915100000001", "sms", at, Decimal(1)) for k in ("a", "b"))
    with uow() as u:
        assert service.ingest(u, [first, first, other, first]) .accepted == 2
    with uow() as u:
        again = service.ingest(u, [other, UsageRecord("sw", "c", "+4915100000001", "sms", at, Decimal(1))])
    assert (again.accepted, again.duplicates) == (1, 1)
    assert rated == ["a", "b", "c"]  # each key rated once: "a" twice more and "b" once more were duplicates


def test_a_concurrent_insert_of_the_same_keys_is_retried_as_duplicates(engine, clock, line, tmp_path, monkeypatch):
    """Another transaction commits the same key between this one's duplicate check and its insert (forced
    here in that window): the insert stores fewer rows, the batch rolls back, and the retry counts it."""
    lookup = service.stored_usage_ids
    raced = []

    def racing(u, keys):
        found = lookup(u, keys)
        if not raced:
            raced.append(True)
            with unit_of_work(engine, actor="rival", clock=clock) as rival:
                service.ingest(rival, [UsageRecord("sw", "ok-1", "+4915100000001", "voice",
                                                   datetime(2026, 9, 15, 10, tzinfo=UTC), Decimal(60))])
        return found

    monkeypatch.setattr(service, "stored_usage_ids", racing)
    with unit_of_work(engine, clock=clock) as u, pytest.raises(service.ConcurrentIngest, match="1 of 1"):
        service.ingest(u, [UsageRecord("sw", "ok-1", "+4915100000001", "voice",
                                       datetime(2026, 9, 15, 10, tzinfo=UTC), Decimal(60))])
    raced.clear()
    result = bulk.import_csv(engine, write(tmp_path, BAD_FILE[:1]), source="sw", clock=clock)
    assert (result.accepted, result.duplicates) == (0, 1)  # lost the race, then found it stored on the retry
    assert stored_keys(engine) == ["ok-1"]


def test_api_batch_quarantines_rejections_and_the_single_post_does_not(client, engine, line):
    good = {"usageDate": "2026-09-15T10:00:00Z", "usageType": "voice", "usageCharacteristic": [
        {"name": "serviceId", "value": "+4915100000001"}, {"name": "quantity", "value": 60},
        {"name": "recordKey", "value": "b1"}, {"name": "destination", "value": "+4930123456"}]}
    unknown = json.loads(json.dumps(good).replace("+4915100000001", "+4915199999999").replace("b1", "b2"))
    r = client.post(f"{BASE}/usage/batch", json=[good, unknown, {"usageType": "voice"}])
    assert r.json()["accepted"] == 1 and [x["index"] for x in r.json()["rejected"]] == [1, 2]
    assert [(e["origin"], e["record_key"], e["raw"] is None) for e in entries(engine)] == [
        ("api:batch", "b2", True), ("api:batch", None, False)]
    assert json.loads(entries(engine, line=2)[0]["raw"]) == {"usageType": "voice"}

    single = client.post(f"{BASE}/usage", json={**unknown, "usageCharacteristic": [
        *unknown["usageCharacteristic"][:2], {"name": "recordKey", "value": "s1"}]})
    assert single.status_code == 422 and len(entries(engine)) == 2

    listed = client.get(f"{BASE}/usageQuarantine", params={"status": "open", "source": "api"})
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "2"
    assert {e["reason"] for e in listed.json()} >= {"is not the service id of any subscription"}
    stored = client.get(f"{BASE}/usage").json()[0]
    characteristics = {c["name"]: c["value"] for c in stored["usageCharacteristic"]}
    assert (characteristics["destination"], characteristics["late"]) == ("+4930123456", False)


def test_api_reprocess_and_discard(client, engine, uow, line):
    acc, off, _ = line
    bad = {"usageDate": "2026-09-15T10:00:00Z", "usageType": "sms", "usageCharacteristic": [
        {"name": "serviceId", "value": "+4915100000002"}, {"name": "quantity", "value": 1}]}
    client.post(f"{BASE}/usage/batch", json=[bad, 17])
    assert client.post(f"{BASE}/usageQuarantine/reprocess", json={}).status_code == 422
    with uow() as u:
        factories.subscribe(u, acc.id, off.id, "+4915100000002", start=SEPT)
    r = client.post(f"{BASE}/usageQuarantine/reprocess", json={"all": True})
    assert r.json() == {"stored": 1, "duplicates": 0, "stillOpen": 0, "rawOnly": 1}
    raw = client.get(f"{BASE}/usageQuarantine", params={"status": "open"}).json()[0]
    assert raw["raw"] == "17" and raw["record"] is None
    r = client.post(f"{BASE}/usageQuarantine/discard", json={"ids": [raw["id"]], "reason": "not a record"})
    assert r.json() == {"discarded": 1}
    entry = client.get(raw["href"].removeprefix("http://testserver")).json()
    assert (entry["status"], entry["resolution"]) == ("discarded", "not a record")


def test_cli_lists_reprocesses_and_discards(engine, uow, clock, line, tmp_path, run_cli):
    bulk.import_csv(engine, write(tmp_path, BAD_FILE), source="sw", clock=clock)
    listed = run_cli(usage_app, ["quarantine", "--source", "sw"])
    assert listed.exit_code == 0, listed.output
    assert "is not the service id of any subscription" in listed.output and "6 of 6 entries" in listed.output
    acc, off, _ = line
    with uow() as u:
        factories.subscribe(u, acc.id, off.id, "+4915199999999", start=SEPT)
    done = run_cli(usage_app, ["reprocess", "--reason-contains", "not the service id"])
    assert done.exit_code == 0, done.output
    assert "bad-who" in stored_keys(engine) and "usage reprocess" in done.output
    raw_id = str(entries(engine, line=3)[0]["id"])
    gone = run_cli(usage_app, ["discard", "--id", raw_id, "--reason", "resent"])
    assert gone.exit_code == 0 and "discarded 1 of 1" in gone.output
    assert run_cli(usage_app, ["reprocess"]).exit_code == 2  # names no entries
