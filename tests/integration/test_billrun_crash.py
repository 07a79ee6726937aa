"""A bill run whose queue workers are killed with SIGKILL at 20 random moments, in drafting and in issuing, then
run to the end, bills every account exactly once.

`openbss billrun --period 2026-10 --workers 2 --batch 1 --issue` runs as a process group against the test
database, and the whole group (the command and its worker processes) is killed at a random moment of a run under
way: 0 to 30 ms after a new draft (the first half of the kills) or a new issued invoice (the second half)
committed, so inside a later job, between statements or in a commit. The next command resumes the period's open
run; the jobs the killed workers held are retried once their heartbeats stop (db/queue.py). A job's transaction
commits whole or not at all, and re-running a job finds what it already did. The outcome is compared with an
uninterrupted run of the same customers on a twin database: the same invoices (amounts), the numbers
INV-YYYY-000001.. with no gap, usage billed once, and a balanced journal with its hash chain intact.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal as D

import sqlalchemy as sa

from openbss.billing.billrun import run_bill_run
from openbss.billing.tables import bill_run, invoice
from openbss.core.clock import FixedClock, SystemClock
from openbss.db.uow import unit_of_work
from openbss.ledger import service as ledger
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.integration.test_billrun_batch import twin_engine  # noqa: F401 - the fixture

ACCOUNTS = 120
KILLS = 20


def build(engine) -> None:
    """ACCOUNTS customers on one tariff since September, each with four October calls."""
    clock = FixedClock(datetime(2026, 9, 15, 9, tzinfo=UTC))
    with unit_of_work(engine, clock=clock) as u:
        mobile = factories.offering(u)
        for n in range(ACCOUNTS):
            account = factories.account(u, f"Customer {n}")
            factories.subscribe(u, account.id, mobile.id, f"+49151{n:08d}")
    clock.move_to(datetime(2026, 11, 2, tzinfo=UTC))
    with unit_of_work(engine, clock=clock) as u:
        records = [UsageRecord("msc", f"{n}-{k}", f"+49151{n:08d}", "voice", datetime(2026, 10, 5 + k, tzinfo=UTC),
                               D(30 + n + k)) for n in range(ACCOUNTS) for k in range(4)]
        assert mediation.ingest(u, records).accepted == ACCOUNTS * 4


def billed(engine) -> list[sa.Row]:
    """(account, number, net, tax, gross, state) of every invoice, drafts included."""
    with engine.connect() as conn:
        return conn.execute(sa.select(invoice.c.account_id, invoice.c.number, invoice.c.net_total,
                                      invoice.c.tax_total, invoice.c.gross_total, invoice.c.state)).all()


def counts(engine) -> tuple[int, int]:
    """(invoices written, invoices issued)."""
    rows = billed(engine)
    return len(rows), sum(r.number is not None for r in rows)


def test_a_bill_run_killed_twenty_times_bills_every_account_once(engine, twin_engine):  # noqa: F811
    build(engine)
    build(twin_engine)
    # The uninterrupted reference, at the same real time the command uses (issue and due dates follow it).
    run_bill_run(twin_engine, "2026-10", clock=SystemClock(), rounding="half_up", batch=4)

    env = {**os.environ, "OPENBSS_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    command = [sys.executable, "-m", "openbss.cli", "billrun", "--period", "2026-10", "--workers", "2",
               "--batch", "1", "--issue"]
    rnd = random.Random(20261123)
    interrupted = []  # (phase, invoices drafted or issued when the kill landed)
    for k in range(KILLS):
        phase = 0 if k < KILLS // 2 else 1  # drafting, then issuing
        before = counts(engine)[phase]
        with tempfile.TemporaryFile() as output:
            run = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own process group: the workers die with it
            while counts(engine)[phase] == before and run.poll() is None:
                time.sleep(0.01)
            time.sleep(rnd.uniform(0, 0.03))
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except ProcessLookupError:  # the command ended by itself before the kill: say how
                output.seek(0)
                raise AssertionError(f"kill {k}: the command exited {run.wait()} before it was killed, "
                                     f"{counts(engine)} written/issued:\n{output.read().decode()}") from None
            run.wait()
        interrupted.append((phase, counts(engine)[phase]))
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr

    # Every kill landed in a run under way: after it drafted (issued) something, before it drafted (issued) all.
    assert all(0 < n < ACCOUNTS for _, n in interrupted) and interrupted == sorted(interrupted), interrupted
    got, expected = billed(engine), billed(twin_engine)
    assert len(got) == ACCOUNTS and len({r.account_id for r in got}) == ACCOUNTS  # every account exactly once
    assert {r.state for r in got} == {"sent"}
    assert sorted(r.number for r in got) == [f"INV-2026-{n:06d}" for n in range(1, ACCOUNTS + 1)]  # no gap
    # The same money as the uninterrupted run, account by account (accounts differ between the twins: by name).
    totals = lambda rows: sorted((r.net_total, r.tax_total, r.gross_total) for r in rows)  # noqa: E731
    assert totals(got) == totals(expected)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM usage WHERE status <> 'billed'")).scalar_one() == 0
        assert conn.execute(sa.select(bill_run.c.state)).scalars().all() == ["issued"]  # one run, resumed
    with unit_of_work(engine) as u:
        assert ledger.trial_balance(u).balanced and ledger.verify_chain(u)
