"""Revenue recognition: move what recurring charges billed in advance earned from DEFERRED_REVENUE to revenue.

`recognize(uow, through)` brings every billing account's deferred revenue to what its revenue schedule
(ledger.tables.revenue_schedule: the lines posted with service days still to come) leaves unearned once day
`through` is over, and posts the difference as one balanced entry per account and currency
(ledger.model.Recognition). The target is recomputed from the schedule each time, so a run is idempotent (run
again for the same day, it finds nothing to move), a missed day is caught up by the next run, and a credit note
posted meanwhile is accounted for. Runs hold the journal's chain lock, so they are serialized with each other
and with postings. Days are the service days of the
lines (dates in each account's zone); the scheduled job recognizes through yesterday (UTC).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import DEFERRED_REVENUE, DeferredLine, Recognition
from openbss.ledger.tables import journal_entry, journal_line, revenue_schedule

Key = tuple[uuid.UUID, str]  # (billing account, currency)


@dataclass
class RecognitionRun:
    through: date
    entries: int = 0
    recognized: dict[str, Money] = field(default_factory=dict)  # per currency (negative: returned to deferred)


def unearned(uow: UnitOfWork, through: date) -> dict[Key, Decimal]:
    """Per account and currency, what its schedule leaves deferred once day `through` is over."""
    s = revenue_schedule.c
    rows = uow.conn.execute(
        sa.select(s.account_id, s.currency, s.line_id, s.net, s.service_start, s.service_end)
        .where(s.service_end > through + timedelta(days=1))
    )
    result: dict[Key, Decimal] = {}
    for r in rows:
        line = DeferredLine(r.line_id, r.net, r.service_start, r.service_end)
        key = (r.account_id, r.currency)
        result[key] = result.get(key, Decimal(0)) + line.unearned_after(through, r.currency)
    return result


def deferred_balances(uow: UnitOfWork) -> dict[Key, Decimal]:
    """DEFERRED_REVENUE per account and currency as the journal holds it (credit minus debit), zeros left out."""
    j = journal_line.c
    balance = sa.func.sum(j.credit) - sa.func.sum(j.debit)
    rows = uow.conn.execute(
        sa.select(j.account_id, j.currency, balance).where(j.gl_account == DEFERRED_REVENUE)
        .group_by(j.account_id, j.currency).having(balance != 0)
    )
    return {(r[0], r[1]): r[2] for r in rows}


def _free_runs(uow: UnitOfWork, todo: dict[Key, Decimal], through: date, now: datetime) -> list[Recognition]:
    """One Recognition per account to post, numbered past the runs already posted for that account and day."""
    pending = {key: Recognition(key[0], key[1], through, 0, amount, now) for key, amount in todo.items()}
    result = []
    while pending:
        ids = {r.entry().source_id: key for key, r in pending.items()}
        taken = set(uow.conn.execute(
            sa.select(journal_entry.c.source_id).where(journal_entry.c.source_type == "recognition",
                                                       journal_entry.c.source_id.in_(list(ids)))
        ).scalars())
        for source_id, key in ids.items():
            r = pending.pop(key)
            if source_id in taken:
                pending[key] = Recognition(r.account_id, r.currency, r.through, r.run + 1, r.amount, r.posted_at)
            else:
                result.append(r)
    return sorted(result, key=lambda r: (r.account_id, r.currency))


def recognize(uow: UnitOfWork, through: date) -> RecognitionRun:
    """Recognize every account's revenue earned through the end of day `through`; see the module docstring."""
    # The chain lock first: every posting holds it until its commit, so the schedule and the journal read below
    # are of the same moment (no invoice commits its deferral between the two reads), and runs are serialized.
    uow.advisory_lock("ledger", "chain")
    target, balance = unearned(uow, through), deferred_balances(uow)
    todo = {key: balance.get(key, Decimal(0)) - target.get(key, Decimal(0)) for key in target.keys() | balance.keys()}
    todo = {key: amount for key, amount in todo.items() if amount}
    recognitions = _free_runs(uow, todo, through, uow.now())
    ledger.post_new(uow, [r.entry() for r in recognitions])
    run = RecognitionRun(through, entries=len(recognitions))
    for r in recognitions:
        run.recognized[r.currency] = run.recognized.get(r.currency, Money.zero(r.currency)) + Money(r.amount,
                                                                                                   r.currency)
    return run


def run_daily(uow: UnitOfWork, at: datetime) -> dict[str, int]:
    """The scheduled job (jobs/schedule.py): recognize through yesterday; run again, it finds nothing to do."""
    run = recognize(uow, at.date() - timedelta(days=1))
    return {"entries": run.entries}
