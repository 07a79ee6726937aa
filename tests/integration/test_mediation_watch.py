"""`openbss mediation watch DIR`: files dropped into a spool directory are stored once and archived."""

import os
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.cli import app
from openbss.mediation.tables import usage
from tests import factories
from tests.services import openbss_service, stop, wait_until

SEPT = datetime(2026, 9, 1, tzinfo=UTC)
ADA, BOB = "+4915100000001", "+4915100000002"
MASTER = (
    f'"","{ADA}","100","default","","SIP/a-1","SIP/b-2","Dial","SIP/b","2026-09-15 10:00:00",'
    '"2026-09-15 10:00:05","2026-09-15 10:00:30",30,25,"ANSWERED","DOCUMENTATION","u-1",""\n'
    f'"","{BOB}","100","default","","SIP/a-1","SIP/b-2","Dial","SIP/b","2026-09-15 11:00:00",'
    '"2026-09-15 11:00:00","2026-09-15 11:00:00",0,0,"NO ANSWER","DOCUMENTATION","u-2",""\n'
)
USAGE_CSV = (
    "record_key,service_id,usage_type,start_time,quantity\n"
    f"sms-1,{BOB},sms,2026-09-20T08:00:00Z,1\n"
    f"data-1,{ADA},data,2026-09-20T08:05:00+02:00,1000\n"
    f"bad-1,{ADA},sms,last tuesday,1\n"
)


@pytest.fixture
def subscribers(uow):
    """Ada and Bob on the factory tariff (voice 0.0020 EUR per second)."""
    with uow() as u:
        acc = factories.account(u)
        off = factories.offering(u)
        factories.subscribe(u, acc.id, off.id, ADA, start=SEPT)
        factories.subscribe(u, acc.id, off.id, BOB, start=SEPT)


def stored(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(usage.c.source, usage.c.record_key, usage.c.quantity).order_by(usage.c.record_key)
        )]  # fmt: skip


def row(output: str, name: str) -> list[str]:
    """The cells of the table row of file `name`."""
    line = next(line for line in output.splitlines() if f" {name} " in line)
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_watch_once_stores_an_asterisk_file_and_a_csv_and_archives_them(engine, run_cli, subscribers, tmp_path):
    switch, feed = tmp_path / "asterisk", tmp_path / "feed"
    switch.mkdir()
    feed.mkdir()
    (switch / "Master-0001.csv").write_text(MASTER)
    (feed / "usage-0001.csv").write_text(USAGE_CSV)
    r = run_cli(app, ["mediation", "watch", str(switch), "--format", "asterisk", "--once"])
    assert r.exit_code == 0, r.output
    assert row(r.output, "Master-0001.csv") == ["Master-0001.csv", "archived", "1", "0", "0", "1"]
    r = run_cli(app, ["mediation", "watch", str(feed), "--format", "csv", "--source", "mvno-feed", "--once"])
    assert r.exit_code == 0, r.output
    assert row(r.output, "usage-0001.csv") == ["usage-0001.csv", "archived", "2", "0", "1", "0"]
    assert stored(engine) == [
        ("mvno-feed", "data-1", Decimal(1000)),
        ("mvno-feed", "sms-1", Decimal(1)),
        ("asterisk", "u-1", Decimal(25)),  # u-2 was not answered: skipped
    ]
    assert sorted(p.name for p in (switch / "archive").iterdir()) == ["Master-0001.csv"]
    assert sorted(p.name for p in (feed / "archive").iterdir()) == ["usage-0001.csv", "usage-0001.csv.rejected.csv"]
    assert "no files waiting" in run_cli(app, ["mediation", "watch", str(switch), "--format", "asterisk", "--once"]).output


def test_a_file_dropped_twice_is_refused_and_strict_fails_only_on_a_failed_file(engine, run_cli, subscribers, tmp_path):
    (tmp_path / "a.csv").write_text(MASTER)
    run_cli(app, ["mediation", "watch", str(tmp_path), "--format", "asterisk", "--once"])
    (tmp_path / "again.csv").write_text(MASTER)
    r = run_cli(app, ["mediation", "watch", str(tmp_path), "--format", "asterisk", "--once", "--strict"])
    assert r.exit_code == 0, r.output  # a duplicate is set aside, not a failure
    assert row(r.output, "again.csv") == ["again.csv", "duplicate", "0", "0", "0", "0"]
    assert "again.csv: duplicate: the same content (sha256 " in r.output
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == ["again.csv", "again.csv.reason"]
    (tmp_path / "latin1.csv").write_bytes("W\xe4hlen\n".encode("latin-1"))
    r = run_cli(app, ["mediation", "watch", str(tmp_path), "--format", "asterisk", "--once", "--strict"])
    assert r.exit_code == 1
    assert row(r.output, "latin1.csv")[:2] == ["latin1.csv", "failed"]
    assert "latin1.csv: failed: UnicodeDecodeError" in r.output
    assert stored(engine) == [("asterisk", "u-1", Decimal(25))]


def test_bad_options_are_refused_before_any_file_is_touched(run_cli, tmp_path):
    (tmp_path / "a.csv").write_text(MASTER)
    r = run_cli(app, ["mediation", "watch", str(tmp_path), "--format", "csv", "--tz", "Europe/Berlin", "--once"])
    assert r.exit_code == 2
    assert re.search(r"tz='Europe/Berlin' applies only to\s+asterisk, freeswitch", r.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_the_watcher_keeps_polling_until_sigterm_then_exits_cleanly(engine, subscribers, tmp_path):
    spool = tmp_path / "spool"
    args = ("mediation", "watch", str(spool), "--format", "asterisk", "--interval", "0.2")
    with openbss_service(engine, tmp_path / "home", *args) as watcher:
        wait_until(watcher, (spool / "archive").is_dir)  # the watcher made its folders: it is polling
        (spool / "Master.csv.part").write_text(MASTER)
        os.rename(spool / "Master.csv.part", spool / "Master.csv")  # dropped as switches should: renamed in
        wait_until(watcher, (spool / "archive" / "Master.csv").exists)
        output = stop(watcher)
    assert watcher.returncode == 0, output
    assert "Master.csv" in output and "archived" in output
    assert stored(engine) == [("asterisk", "u-1", Decimal(25))]
