"""The RADIUS accounting collector against a real peer: radclient from FreeRADIUS (Debian freeradius-utils),
on 127.0.0.1 and a free port."""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.mediation.collectors.radius import RadiusCollector
from openbss.mediation.collectors.tables import radius_session
from openbss.mediation.tables import usage
from tests import factories

SECRET = "s3cret-nas-1"
USER = "ada@isp.example"
SEPT = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def radclient():
    path = shutil.which("radclient")
    assert path, "radclient is needed: apt-get install -y freeradius-utils"
    return path


@pytest.fixture
def collector(engine, clock, uow):
    """A collector for client 127.0.0.1 with one data subscription for USER on the factory tariff."""
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        factories.subscribe(u, acc.id, off.id, USER, start=SEPT)
    c = RadiusCollector(engine, {"127.0.0.1": SECRET}, clock)
    c.start("127.0.0.1", 0)
    yield c
    c.stop()


def send(radclient, collector, attributes: dict, secret=SECRET) -> subprocess.CompletedProcess:
    host, port = collector.address
    text = "\n".join(f"{k} = {v}" for k, v in {"User-Name": USER, "NAS-IP-Address": "127.0.0.1", **attributes}.items())
    return subprocess.run(
        [radclient, "-r", "1", "-t", "2", f"{host}:{port}", "acct", secret],
        input=text, capture_output=True, text=True, timeout=30,
    )


def stored(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(usage.c.record_key, usage.c.service_id, usage.c.usage_type, usage.c.quantity)
            .order_by(usage.c.usage_date, usage.c.quantity)
        )]


START = {"Acct-Status-Type": "Start", "Acct-Session-Id": "S-0001", "Acct-Session-Time": 0}
INTERIM = {
    "Acct-Status-Type": "Interim-Update", "Acct-Session-Id": "S-0001", "Acct-Session-Time": 600,
    "Acct-Input-Octets": 1000, "Acct-Input-Gigawords": 1, "Acct-Output-Octets": 5000,
}
STOP = {
    "Acct-Status-Type": "Stop", "Acct-Session-Id": "S-0001", "Acct-Session-Time": 900,
    "Acct-Input-Octets": 3000, "Acct-Input-Gigawords": 1, "Acct-Output-Octets": 2_000_000,
    "Acct-Output-Gigawords": 1, "Acct-Terminate-Cause": "User-Request",
}


def test_start_interim_stop_store_the_bytes_of_each_period(engine, clock, collector, radclient):
    for attributes in (START, INTERIM, STOP):
        done = send(radclient, collector, attributes)
        assert done.returncode == 0, done.stdout + done.stderr  # answered: the record is committed
        clock.advance(timedelta(minutes=5))  # the NAS reports as time passes
    assert stored(engine) == [
        ("S-0001:Start:0", USER, "data", Decimal(0)),
        # interim totals: in 1 x 2^32 + 1000 = 4,294,968,296; out 5,000; since Start (0): 4,294,973,296
        ("S-0001:Interim-Update:600", USER, "data", Decimal(4_294_973_296)),
        # stop totals: in 2^32 + 3000 = 4,294,970,296; out 2^32 + 2,000,000 = 4,296,967,296;
        # sum 8,591,937,592 less the interim's 4,294,973,296 = 4,296,964,296
        ("S-0001:Stop:900", USER, "data", Decimal(4_296_964_296)),
    ]
    # the whole session: 4,294,973,296 + 4,296,964,296 = 8,591,937,592 = the stop's totals
    assert sum(q for *_, q in stored(engine)) == 8_591_937_592
    with engine.connect() as conn:
        session = conn.execute(sa.select(radius_session)).one()
    assert (session.session_time, session.input_octets, session.output_octets) == (900, 4_294_970_296, 4_296_967_296)
    assert collector.stats.stored == 3


def test_a_retransmitted_stop_is_answered_and_stored_once(engine, collector, radclient):
    for attributes in (START, INTERIM, STOP, STOP):
        done = send(radclient, collector, attributes)
        assert done.returncode == 0, done.stdout + done.stderr
    assert [key for key, *_ in stored(engine)] == ["S-0001:Start:0", "S-0001:Interim-Update:600", "S-0001:Stop:900"]
    assert (collector.stats.stored, collector.stats.duplicates) == (3, 1)


def test_a_late_interim_adds_nothing(engine, collector, radclient):
    for attributes in (START, STOP, INTERIM):  # the interim (600 s) arrives after the stop (900 s)
        assert send(radclient, collector, attributes).returncode == 0
    assert [q for *_, q in stored(engine)] == [0, 8_591_937_592]  # the stop's totals since Start
    assert collector.stats.stale == 1


def test_a_wrong_secret_gets_no_answer_and_stores_nothing(engine, collector, radclient):
    done = send(radclient, collector, START, secret="not-the-secret")
    assert done.returncode != 0  # radclient gave up: no response
    assert stored(engine) == []
    assert collector.stats.bad_authenticator == 1  # radclient -r 1: one try, dropped, counted
    assert collector.stats.stored == 0


def test_a_user_without_subscription_is_answered_and_reported(engine, collector, radclient):
    done = send(radclient, collector, {**START, "User-Name": "eve@isp.example"})
    assert done.returncode == 0
    assert stored(engine) == []
    ((rejection),) = collector.stats.rejected
    assert (rejection.field, rejection.value) == ("serviceId", "eve@isp.example")
    assert rejection.reason == "is not the service id of any subscription"


def test_calling_station_id_can_be_the_service_id(engine, clock, uow, radclient):
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        factories.subscribe(u, acc.id, off.id, "+4915100000009", start=SEPT)
    c = RadiusCollector(engine, {"127.0.0.1": SECRET}, clock, service_attribute="Calling-Station-Id")
    c.start()
    try:
        assert send(radclient, c, {**START, "Calling-Station-Id": "+4915100000009"}).returncode == 0
    finally:
        c.stop()
    assert stored(engine) == [("S-0001:Start:0", "+4915100000009", "data", Decimal(0))]


def test_no_answer_when_the_record_cannot_be_committed(engine, collector, radclient, monkeypatch):
    from openbss.mediation.collectors import radius

    def broken(uow, numbered):
        raise RuntimeError("database went away")

    monkeypatch.setattr(radius, "ingest_lines", broken)
    done = send(radclient, collector, INTERIM)
    assert done.returncode != 0  # unanswered: the NAS keeps the record and retransmits
    assert stored(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(radius_session)).scalar_one() == 0
    assert (collector.stats.failed, collector.stats.stored) == (1, 0)
