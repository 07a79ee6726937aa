"""A spool directory of CDR files: each file stored exactly once, duplicates and broken files set aside."""

import csv
import dataclasses
import os
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from openbss.mediation.collectors.formats import decoder
from openbss.mediation.collectors.spool import Spool
from openbss.mediation.collectors.tables import spool_file
from openbss.mediation.tables import usage, usage_quarantine
from tests import factories

SEPT = datetime(2026, 9, 1, tzinfo=UTC)
ADA, BOB = "+4915100000001", "+4915100000002"


def call(uniqueid, src=ADA, billsec=25, disposition="ANSWERED"):
    return (f'"","{src}","100","default","","SIP/a-1","SIP/b-2","Dial","SIP/b","2026-09-15 10:00:00",'
            f'"2026-09-15 10:00:05","2026-09-15 10:00:30",30,{billsec},"{disposition}","DOCUMENTATION","{uniqueid}",""\n')


MASTER = "".join([
    call("u-1"),                                           # line 1: 25 s for Ada
    call("u-2", src=BOB, billsec=10),                      # line 2: 10 s for Bob
    call("u-3", billsec=0, disposition="NO ANSWER"),      # line 3: skipped
    '"","+4915100000001","100"\n',                         # line 4: truncated
    call("u-5", src="+4915199999999"),                     # line 5: nobody's number
])  # fmt: skip


@pytest.fixture
def subscribers(uow):
    """Ada and Bob on the factory tariff (voice 0.0020 EUR per second)."""
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        factories.subscribe(u, acc.id, off.id, ADA, start=SEPT)
        factories.subscribe(u, acc.id, off.id, BOB, start=SEPT)


@pytest.fixture
def spool(engine, clock, tmp_path, subscribers):
    return Spool(engine, tmp_path / "spool", decoder("asterisk"), clock)


def stored(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(usage.c.record_key, usage.c.service_id, usage.c.quantity, usage.c.charge).order_by(usage.c.record_key)
        )]


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_dropped_file_is_stored_once_archived_and_its_bad_lines_reported(engine, spool):
    (spool.directory / "Master-001.csv").write_text(MASTER)
    (result,) = spool.process_pending()
    assert (result.outcome, result.accepted, result.duplicates, result.skipped) == ("archived", 2, 0, 1)
    assert [(r.line, r.field) for r in result.rejected] == [(4, "line"), (5, "serviceId")]
    assert stored(engine) == [
        ("u-1", ADA, Decimal(25), Decimal("0.050000")),  # 25 s x 0.0020 EUR
        ("u-2", BOB, Decimal(10), Decimal("0.020000")),  # 10 s x 0.0020 EUR
    ]
    assert names(spool.directory) == ["archive", "processing", "rejected"]
    assert names(spool.archive) == ["Master-001.csv", "Master-001.csv.rejected.csv"]
    with open(spool.archive / "Master-001.csv.rejected.csv", newline="") as f:
        report = list(csv.reader(f))
    assert [row[:2] for row in report] == [["line", "field"], ["4", "line"], ["5", "serviceId"]]
    with engine.connect() as conn:
        row = conn.execute(sa.select(spool_file)).one()
    assert (row.name, row.accepted, row.rejected, row.skipped) == ("Master-001.csv", 2, 2, 1)
    assert spool.process_pending() == []  # nothing left to do


def test_the_same_content_dropped_again_is_refused_with_a_reason(engine, spool):
    (spool.directory / "a.csv").write_text(MASTER)
    spool.process_pending()
    (spool.directory / "b.csv").write_text(MASTER)
    (result,) = spool.process_pending()
    assert result.outcome == "duplicate"
    assert names(spool.rejected) == ["b.csv", "b.csv.reason"]
    assert "was already processed" in (spool.rejected / "b.csv.reason").read_text()
    assert len(stored(engine)) == 2


def test_an_unreadable_file_is_set_aside_with_the_reason_and_the_next_one_processed(engine, spool):
    (spool.directory / "1-latin1.csv").write_bytes(call("x-1").replace("Dial", "W\xe4hlen").encode("latin-1"))
    (spool.directory / "2-good.csv").write_text(call("g-1"))
    first, second = spool.process_pending()
    assert first.outcome == "failed" and "UnicodeDecodeError" in first.reason
    assert names(spool.rejected) == ["1-latin1.csv", "1-latin1.csv.reason"]
    assert (second.outcome, second.accepted) == ("archived", 1)
    assert [k for k, *_ in stored(engine)] == ["g-1"]


def test_files_being_written_are_left_alone_and_a_claimed_file_is_not_claimed_twice(spool):
    (spool.directory / ".incoming.csv").write_text(call("h-1"))
    (spool.directory / "next.csv.part").write_text(call("h-2"))
    (spool.directory / "c.csv").write_text(call("h-3"))
    assert [p.name for p in spool.pending()] == ["c.csv"]
    claimed = spool.claim(spool.directory / "c.csv")
    assert claimed == spool.processing / "c.csv"
    assert spool.claim(spool.directory / "c.csv") is None  # another worker was first


def test_recovery_archives_committed_files_and_processes_the_others(engine, spool):
    (spool.directory / "done.csv").write_text(call("r-1"))
    spool.process(spool.claim(spool.directory / "done.csv"))
    # a crash after the commit, before the move: the committed file is back in processing/
    os.rename(spool.archive / "done.csv", spool.processing / "done.csv")
    (spool.processing / "todo.csv").write_text(call("r-2"))  # claimed, then a crash before the commit
    results = spool.process_pending()
    assert [(r.name, r.outcome, r.accepted) for r in results] == [("done.csv", "archived", 0), ("todo.csv", "archived", 1)]
    assert [k for k, *_ in stored(engine)] == ["r-1", "r-2"]
    assert names(spool.archive) == ["done.csv", "todo.csv"]


def test_a_freeswitch_spool_in_the_switch_time_zone(engine, clock, tmp_path, subscribers):
    spool = Spool(engine, tmp_path / "fs", decoder("freeswitch", tz="Europe/Berlin"), clock)
    (spool.directory / "Master.csv").write_text(
        f'"Ada","{ADA}","+4930123456","default","2026-09-15 10:00:00","2026-09-15 10:00:04","2026-09-15 10:02:04",'
        '"124","120","NORMAL_CLEARING","6f1c1f5e-0001-4f00-8000-000000000001","","","PCMA","PCMA"\n'
    )
    (result,) = spool.process_pending()
    assert result.accepted == 1
    with engine.connect() as conn:
        when, quantity = conn.execute(sa.select(usage.c.usage_date, usage.c.quantity)).one()
    assert when == datetime(2026, 9, 15, 8, 0, 4, tzinfo=UTC)  # 10:00:04 CEST (UTC+2)
    assert quantity == 120


def test_a_copy_left_in_processing_by_a_crash_is_refused_not_archived(engine, spool):
    (spool.directory / "a.csv").write_text(call("d-1"))
    spool.process_pending()
    (spool.processing / "copy-of-a.csv").write_text(call("d-1"))  # claimed, then a crash before the refusal
    (result,) = spool.process_pending()
    assert (result.name, result.outcome) == ("copy-of-a.csv", "duplicate")
    assert names(spool.rejected) == ["copy-of-a.csv", "copy-of-a.csv.reason"]


def test_unreadable_lines_are_quarantined_with_their_text_beside_the_refused_records(engine, spool):
    (spool.directory / "Master-002.csv").write_text(MASTER)
    spool.process_pending()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(usage_quarantine.c.line, usage_quarantine.c.source, usage_quarantine.c.origin,
                      usage_quarantine.c.field, usage_quarantine.c.raw, usage_quarantine.c.record_key)
            .order_by(usage_quarantine.c.line)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        (4, "asterisk", "spool:Master-002.csv", "line", '"","+4915100000001","100"', None),  # the truncated line
        (5, "asterisk", "spool:Master-002.csv", "serviceId", None, "u-5"),  # a record: kept by its fields
    ]


def test_a_stop_lets_the_file_in_hand_finish_and_claims_no_other(engine, spool):
    stop = threading.Event()
    asterisk = spool.decode

    def decode_then_stop(data):  # a SIGTERM arrives while the first file is being decoded
        stop.set()
        return asterisk(data)

    spool.decode = dataclasses.replace(asterisk, decode=decode_then_stop)
    (spool.directory / "1.csv").write_text(call("s-1"))
    (spool.directory / "2.csv").write_text(call("s-2"))
    assert [(r.name, r.outcome) for r in spool.process_pending(stop)] == [("1.csv", "archived")]
    assert names(spool.directory) == ["2.csv", "archive", "processing", "rejected"]
    assert [k for k, *_ in stored(engine)] == ["s-1"]


def test_watch_reports_each_round_and_ends_when_stopped(engine, spool):
    stop, rounds = threading.Event(), []

    def report(results):
        rounds.append([(r.name, r.outcome, r.accepted) for r in results])
        stop.set()

    (spool.directory / "w.csv").write_text(call("w-1"))
    watcher = threading.Thread(target=spool.watch, args=(stop, 0.05, report))
    watcher.start()
    watcher.join(timeout=60)
    assert not watcher.is_alive()
    assert rounds == [[("w.csv", "archived", 1)]]


def test_a_ber_file_of_pgw_cdrs_with_a_broken_tail_quarantines_the_tail_in_hex(engine, clock, tmp_path, subscribers):
    spool = Spool(engine, tmp_path / "pgw", decoder("ber"), clock)
    sample = (Path(__file__).resolve().parents[1] / "data" / "cdr" / "pgw" / "sample.ber").read_bytes()
    (spool.directory / "cdr.ber").write_bytes(sample + bytes.fromhex("bf4f10 00"))  # a record cut short
    clock.advance(timedelta(days=1))  # collected the next day: record 3 (2026-10-01 11:15 UTC) is past
    (result,) = spool.process_pending()
    # Records 1 and 2 are Ada's (+4915100000001), 3 is a number nobody has, 4 carries no volume.
    assert (result.outcome, result.accepted, result.skipped) == ("archived", 2, 1)
    assert [(r.line, r.field) for r in result.rejected] == [(3, "serviceId"), (5, "record")]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(usage_quarantine.c.line, usage_quarantine.c.source, usage_quarantine.c.origin,
                      usage_quarantine.c.raw, usage_quarantine.c.record_key)
            .order_by(usage_quarantine.c.line)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        (3, "pgw", "spool:cdr.ber", None, "PGW-FRA-01:2002:0:503"),
        (5, "pgw", "spool:cdr.ber", "bf4f1000", None),  # the record's bytes, in hex
    ]
