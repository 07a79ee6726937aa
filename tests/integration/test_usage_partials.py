"""Partial records: a long call the switch split into parts is held until complete and rated once, as one
record; resent parts are duplicates; calls that cannot be merged, or never complete, go to the quarantine as
their parts, and reprocessing merges them.

Tariff (tests/data/rating/mobile.yaml, no allowance), Germany zone: voice 0.40 connect + 0.20 per started
minute (first 60 s, then 60 s steps). The call of these tests: parts of 600 s + 600 s + 130 s = 1330 s,
billed 1380 s (23 started minutes) -> 0.40 + 23 x 0.20 = 5.00. Rated part by part it would cost
3 x 0.40 + (10 + 10 + 3) x 0.20 = 1.20 + 4.60 = 5.80: a connect fee per part and 130 s rounded up alone.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.db.uow import unit_of_work
from openbss.mediation import bulk, correlation, service
from openbss.mediation.cli import usage_app
from openbss.mediation.model import ReprocessResult, UsageRecord
from openbss.mediation.tables import usage, usage_partial, usage_quarantine
from tests import factories
from tests.integration.test_rating_records import tariff

D = Decimal
SEPT = datetime(2026, 9, 1, tzinfo=UTC)
START = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)  # a Wednesday; the clock is 2026-10-01T09:00Z
MSISDN = "+4915100000001"
BASE = "/tmf-api/usageManagement/v4"
# (part, seconds, last): a call of 1330 s cut every 600 s.
CALL = [(1, 600, False), (2, 600, False), (3, 130, True)]


@pytest.fixture
def line(uow):
    with uow() as u:
        offer = tariff(u, included=0)
        acc = factories.account(u)
        return acc, offer, factories.subscribe(u, acc.id, offer.id, MSISDN, start=SEPT)


def part(n, seconds=None, last=None, *, call="gcr-1", service_id=MSISDN, destination="4930123456", key=None):
    seconds, last = seconds or dict((p, s) for p, s, _ in CALL)[n], n == 3 if last is None else last
    return UsageRecord("msc-1", key or f"{call}-{n}", service_id, "voice", START + timedelta(seconds=600 * (n - 1)),
                       D(seconds), destination, call, n, last)


def stored(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(usage).order_by(usage.c.record_key))]


def held(engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(usage_partial.c.part_of, usage_partial.c.part)
                                               .order_by(usage_partial.c.part_of, usage_partial.c.part))]


def entries(engine) -> list[dict]:
    q = usage_quarantine
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(q).order_by(q.c.record_key))]


def test_a_call_in_three_parts_in_order_is_rated_once_as_one_record(engine, uow, line):
    with uow() as u:
        first = service.ingest(u, [part(1)])
    assert (first.accepted, first.parts, first.calls) == (0, 1, 0) and held(engine) == [("gcr-1", 1)]
    with uow() as u:
        second = service.ingest(u, [part(2)])
        [waiting] = correlation.held_calls(u)
    assert (second.accepted, second.parts) == (0, 1)
    assert (waiting.parts, waiting.last, waiting.missing, waiting.quantity) == ([1, 2], None, "3,...", 1200)
    with uow() as u:
        last = service.ingest(u, [part(3)])
    assert (last.accepted, last.duplicates, last.rejected, last.parts, last.calls) == (1, 0, [], 1, 1)
    [call] = stored(engine)
    # 600 + 600 + 130 = 1330 s, billed 1380 s: 0.40 + 23 x 0.20 = 5.00 (per part it would be 5.80)
    assert (call["record_key"], call["quantity"], call["charge"], call["zone"]) == ("gcr-1", 1330, D("5.00"), "Germany")
    assert (call["usage_date"], call["service_id"], call["destination"]) == (START, MSISDN, "4930123456")
    assert held(engine) == []  # the parts are gone with the merge


def test_parts_out_of_order_make_the_same_call(engine, uow, line):
    for n in (3, 1):  # the last part first, then part 1: still waiting for 2
        with uow() as u:
            assert service.ingest(u, [part(n)]).accepted == 0
    with uow() as u:
        [waiting] = correlation.held_calls(u)
        assert (waiting.parts, waiting.last, waiting.missing) == ([1, 3], 3, "2")
        assert service.ingest(u, [part(2)]).accepted == 1
    [call] = stored(engine)
    assert (call["quantity"], call["charge"], call["usage_date"]) == (1330, D("5.00"), START)  # 0.40 + 23 x 0.20


def test_a_whole_call_in_one_batch_with_other_records(engine, uow, line):
    sms = UsageRecord("msc-1", "sms-1", MSISDN, "sms", START, D(1), "4930123456")
    with uow() as u:
        result = service.ingest(u, [part(2), sms, part(3), part(1)])
    assert (result.accepted, result.parts, result.calls) == (2, 3, 1)  # the SMS and the call
    assert [(r["record_key"], r["charge"]) for r in stored(engine)] == [
        ("gcr-1", D("5.00")),  # 0.40 + 23 x 0.20
        ("sms-1", D("0.09")),  # 1 x 0.09
    ]


def test_a_resent_part_is_a_duplicate_before_and_after_the_merge(engine, uow, line):
    with uow() as u:
        service.ingest(u, [part(1)])
    with uow() as u:  # resent while held, and repeated in the batch
        again = service.ingest(u, [part(1), part(2), part(2)])
    assert (again.accepted, again.duplicates, again.parts) == (0, 2, 1)
    with uow() as u:
        assert service.ingest(u, [part(3)]).accepted == 1
    with uow() as u:  # the switch resends a part of a call already stored
        late = service.ingest(u, [part(2)])
    assert (late.accepted, late.duplicates, late.parts) == (0, 1, 0)
    assert held(engine) == [] and [r["charge"] for r in stored(engine)] == [D("5.00")]  # 0.40 + 23 x 0.20


def test_a_part_of_another_subscriber_quarantines_the_whole_call(engine, uow, line):
    with uow() as u:
        service.ingest(u, [part(1)])
    with uow() as u:
        result = service.ingest(u, [part(2, service_id="+4915100000002"), part(3)], first_line=7)
    reason = "of part 2 differs from part 1's '+4915100000001': the parts of call 'gcr-1' disagree"
    assert [(r.line, r.field, r.value, r.reason) for r in result.rejected] == [
        (7, "serviceId", "+4915100000002", reason), (8, "serviceId", "+4915100000002", reason)]
    assert stored(engine) == [] and held(engine) == []
    got = [(e["record_key"], e["line"], e["status"], e["reason"], e["payload"]["part"]) for e in entries(engine)]
    # nothing lost: part 1 (line 1 of the earlier batch) too, each part with its own payload
    assert got == [("gcr-1-1", 1, "open", reason, "1"), ("gcr-1-2", 7, "open", reason, "2"),
                   ("gcr-1-3", 8, "open", reason, "3")]  # fmt: skip


def test_an_incomplete_call_is_listed_flushed_and_merged_when_its_last_part_comes(engine, uow, clock, line):
    with uow() as u:
        service.ingest(u, [part(1), part(2)])
    clock.advance(timedelta(hours=25))
    with uow() as u:
        assert correlation.held_calls(u, older_than=timedelta(hours=26)) == []  # arrived 25 h ago
        [listed] = correlation.held_calls(u, older_than=timedelta(hours=24))
        assert (listed.part_of, listed.parts, listed.missing) == ("gcr-1", [1, 2], "3,...")
        [flushed] = correlation.flush_incomplete(u, older_than=timedelta(hours=24))
    assert flushed == listed and held(engine) == []
    reason = "incomplete: parts 1,2 of ? held since 2026-10-01T09:00:00+00:00"
    assert [(e["record_key"], e["field"], e["value"], e["reason"]) for e in entries(engine)] == [
        ("gcr-1-1", "partOf", "gcr-1", reason), ("gcr-1-2", "partOf", "gcr-1", reason)]

    with uow() as u:  # the lost last part finally arrives: held alone, parts 1 and 2 are in the quarantine
        assert service.ingest(u, [part(3)]).parts == 1
    with uow() as u:
        outcome = service.reprocess(u, reason_contains="incomplete")
    # one call stored from the 2 entries and the held part 3: 0.40 + 23 x 0.20 = 5.00
    assert outcome == ReprocessResult(stored=1, duplicates=0, still_open=0, raw_only=0, parts=2)
    [call] = stored(engine)
    assert (call["record_key"], call["quantity"], call["charge"]) == ("gcr-1", 1330, D("5.00"))
    assert [(e["status"], e["resolution"], e["usage_id"]) for e in entries(engine)] == [
        ("reprocessed", "merged", call["id"])] * 2


def test_a_call_without_subscription_is_quarantined_as_its_parts_and_reprocessed(engine, uow, line):
    acc, offer, _ = line
    other = "+4915199999999"
    with uow() as u:
        service.ingest(u, [part(1, service_id=other)])
    with uow() as u:
        result = service.ingest(u, [part(2, service_id=other), part(3, service_id=other)])
    assert [(r.field, r.reason) for r in result.rejected] == [
        ("serviceId", "is not the service id of any subscription")] * 2
    assert len([e for e in entries(engine) if e["status"] == "open"]) == 3 and held(engine) == []
    with uow() as u:
        factories.subscribe(u, acc.id, offer.id, other, start=SEPT)
    with uow() as u:
        assert service.reprocess(u, source="msc-1") == ReprocessResult(1, 0, 0, 0, 3)
    assert [(r["service_id"], r["charge"]) for r in stored(engine)] == [(other, D("5.00"))]  # 0.40 + 23 x 0.20


def test_two_transactions_completing_one_call_merge_it_once(engine, uow, clock, line):
    with uow() as u:
        service.ingest(u, [part(1)])
    outcome = {}

    def second():
        with unit_of_work(engine, actor="t2", clock=clock) as u:
            outcome["t2"] = service.ingest(u, [part(3)])

    with unit_of_work(engine, actor="t1", clock=clock) as u1:
        outcome["t1"] = service.ingest(u1, [part(2)])  # holds the call's lock until it commits
        t2 = threading.Thread(target=second)
        t2.start()
        with engine.connect() as watcher:  # t2 is waiting for that lock (not for a row it could skip)
            waiting = 0
            for _ in range(2000):
                waiting = watcher.execute(sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar_one()
                if waiting:
                    break
                threading.Event().wait(0.01)
        assert waiting == 1
    t2.join()
    # t1 saw parts 1 and 2 (incomplete); t2, once t1 committed, saw 1, 2 and 3: one merge, by t2.
    assert (outcome["t1"].accepted, outcome["t2"].accepted, outcome["t2"].calls) == (0, 1, 1)
    assert [(r["quantity"], r["charge"]) for r in stored(engine)] == [(1330, D("5.00"))]  # 0.40 + 23 x 0.20
    assert held(engine) == []


def test_csv_import_sends_partial_rows_to_correlation(engine, clock, line, tmp_path):
    path = tmp_path / "msc.csv"
    path.write_text("\n".join([
        "record_key,service_id,usage_type,start_time,quantity,destination,part_of,part,last_part",
        "c-1,+4915100000001,voice,2026-09-30T12:00:00Z,60,4930123456,,,",  # a whole call: the fast lane
        "gcr-1-3,+4915100000001,voice,2026-09-30T10:20:00Z,130,4930123456,gcr-1,3,true",
        "gcr-1-1,+4915100000001,voice,2026-09-30T10:00:00Z,600,4930123456,gcr-1,1,false",
        "gcr-1-2,+4915100000001,voice,2026-09-30T10:10:00Z,600,4930123456,gcr-1,2,",
        "gcr-2-1,+4915100000001,voice,2026-09-30T11:00:00Z,600,4930123456,gcr-2,one,",
    ]) + "\n")
    result = bulk.import_csv(engine, path, source="msc-1", clock=clock)
    assert (result.accepted, result.duplicates, result.parts, result.calls) == (2, 0, 3, 1)
    assert [(r.line, r.field, r.value, r.reason) for r in result.rejected] == [(6, "part", "one", "is not a whole number")]
    assert [(r["record_key"], r["quantity"], r["charge"]) for r in stored(engine)] == [
        ("c-1", 60, D("0.60")),  # 0.40 + 1 x 0.20
        ("gcr-1", 1330, D("5.00")),  # 0.40 + 23 x 0.20
    ]
    again = bulk.import_csv(engine, path, source="msc-1", clock=clock)  # the same file again: nothing twice
    assert (again.accepted, again.duplicates, again.parts) == (0, 4, 0)


def test_the_api_takes_partial_records_in_batches_only(engine, client, line):
    def body(n, seconds, last):
        return {"usageDate": (START + timedelta(seconds=600 * (n - 1))).isoformat(), "usageType": "voice",
                "usageCharacteristic": [
                    {"name": "serviceId", "value": MSISDN}, {"name": "quantity", "value": seconds},
                    {"name": "destination", "value": "4930123456"}, {"name": "source", "value": "sbc"},
                    {"name": "recordKey", "value": f"api-{n}"}, {"name": "partOf", "value": "gcr-9"},
                    {"name": "part", "value": n}, {"name": "lastPart", "value": last}]}  # fmt: skip

    single = client.post(f"{BASE}/usage", json=body(1, 600, False))
    assert single.status_code == 422 and "usageCharacteristic.partOf" in single.text
    r = client.post(f"{BASE}/usage/batch", json=[body(n, s, last) for n, s, last in CALL])
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": [], "parts": 3, "calls": 1}
    [call] = stored(engine)
    assert (call["record_key"], call["charge"]) == ("gcr-9", D("5.00"))  # 0.40 + 23 x 0.20
    bad = client.post(f"{BASE}/usage/batch", json=[{**body(1, 600, False), "usageCharacteristic": [
        *body(1, 600, False)["usageCharacteristic"][:6], {"name": "part", "value": 0}]}])
    assert bad.json()["rejected"] == [
        {"index": 0, "field": "usageCharacteristic.part", "value": 0, "reason": "must be a whole number from 1"}]


def test_cli_lists_and_flushes_incomplete_calls(engine, uow, line, run_cli):
    with uow() as u:  # received at the test clock's 2026-10-01T09:00Z, long before the CLI's system time
        service.ingest(u, [part(1), part(3)])
    listed = run_cli(usage_app, ["partials", "--older-than", "24h"])
    assert listed.exit_code == 0, listed.output
    assert "gcr-1" in listed.output and "1 calls with partial records held" in listed.output
    assert run_cli(usage_app, ["partials", "--flush"]).exit_code == 2  # never without --older-than
    assert run_cli(usage_app, ["partials", "--older-than", "a day"]).exit_code == 2
    flushed = run_cli(usage_app, ["partials", "--flush", "--older-than", "24h"])
    assert flushed.exit_code == 0 and "1 calls with partial records flushed" in flushed.output
    assert held(engine) == []
    assert {e["reason"] for e in entries(engine)} == {"incomplete: parts 1,3 of 3 held since 2026-10-01T09:00:00+00:00"}
