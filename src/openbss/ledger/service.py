"""Use cases of the receivables journal: post entries, read balances, verify the chain. Never commits.

Posting takes one global advisory lock so the chain stays linear (each entry hashes its predecessor);
the lock is held only for the few statements of the post, at the end of the caller's use case.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.db.bulk import copy_rows
from openbss.db.numbering import next_number, next_numbers
from openbss.db.uow import UnitOfWork
from openbss.ledger.model import (
    AR,
    GENESIS_HASH,
    CorrectionPosting,
    InvoicePosting,
    JournalEntry,
    JournalLine,
    PaymentPosting,
    PostedEntry,
    TrialBalance,
    entry_hash,
)
from openbss.ledger.tables import journal_entry, journal_line

_ENTRY_COLUMNS = ("source_type", "source_id", "account_id", "currency", "posted_at", "description")


def _posted(row: sa.Row, lines: list[JournalLine]) -> PostedEntry:
    m = row._mapping
    return PostedEntry(
        id=m["id"],
        seq=m["seq"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
        entry=JournalEntry(**{k: m[k] for k in _ENTRY_COLUMNS}, lines=tuple(lines)),
    )


def _line(row: sa.Row) -> JournalLine:
    return JournalLine(row.gl_account, row.debit, row.credit)


def _find(uow: UnitOfWork, source_type: str, source_id: uuid.UUID) -> PostedEntry | None:
    row = uow.conn.execute(
        sa.select(journal_entry).where(
            journal_entry.c.source_type == source_type, journal_entry.c.source_id == source_id
        )
    ).first()
    if row is None:
        return None
    lines = uow.conn.execute(sa.select(journal_line).where(journal_line.c.entry_id == row.id)).all()
    return _posted(row, [_line(l) for l in lines])


def _last_hash(uow: UnitOfWork) -> str:
    """The hash the next entry chains to (the caller holds the chain lock)."""
    return uow.conn.execute(
        sa.select(journal_entry.c.hash).order_by(journal_entry.c.seq.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS_HASH


def post(uow: UnitOfWork, entry: JournalEntry) -> PostedEntry:
    """Append `entry` to the chain; posting the same source again returns the stored entry."""
    uow.advisory_lock("ledger", "chain")
    existing = _find(uow, entry.source_type, entry.source_id)
    if existing is not None:
        if existing.entry.facts() != entry.facts():
            raise Conflict(
                f"{entry.source_type} {entry.source_id} is already posted with different amounts; "
                "post a correcting entry instead"
            )
        return existing
    prev_hash = _last_hash(uow)
    posted = PostedEntry(
        id=new_id(),
        seq=next_number(uow, "journal"),
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, entry),
        entry=entry,
    )
    uow.conn.execute(
        sa.insert(journal_entry).values(
            id=posted.id,
            seq=posted.seq,
            prev_hash=posted.prev_hash,
            hash=posted.hash,
            created_at=uow.now(),
            **{k: getattr(entry, k) for k in _ENTRY_COLUMNS},
        )
    )
    if entry.lines:
        uow.conn.execute(
            sa.insert(journal_line),
            [
                {
                    "id": new_id(),
                    "entry_id": posted.id,
                    "account_id": entry.account_id,
                    "gl_account": l.gl_account,
                    "debit": l.debit,
                    "credit": l.credit,
                    "currency": entry.currency,
                }
                for l in entry.lines
            ],
        )
    audit.record(
        uow, "journalEntry.posted", "journalEntry", posted.id,
        after={"seq": posted.seq, "hash": posted.hash, "description": entry.description, **entry.facts()},
    )
    return posted


def post_invoice(uow: UnitOfWork, posting: InvoicePosting) -> PostedEntry:
    return post(uow, posting.entry())


def post_invoices(uow: UnitOfWork, postings: Sequence[InvoicePosting]) -> list[PostedEntry]:
    """Append the entries of invoices issued in this transaction (a bill run batch), in the order given: one
    chain lock, one block of seqs, the hashes chained in Python, then one COPY each for entries, lines and
    audit records. The invoices are new, so there is no re-post to compare with (UNIQUE(source) still guards)."""
    if not postings:
        return []
    uow.advisory_lock("ledger", "chain")
    prev_hash = _last_hash(uow)
    posted = []
    for seq, posting in zip(next_numbers(uow, "journal", len(postings)), postings, strict=True):
        entry = posting.entry()
        posted.append(PostedEntry(id=new_id(), seq=seq, prev_hash=prev_hash, hash=entry_hash(prev_hash, entry),
                                  entry=entry))
        prev_hash = posted[-1].hash
    now = uow.now()
    copy_rows(uow, journal_entry, [
        {"id": p.id, "created_at": now, "seq": p.seq, "prev_hash": p.prev_hash, "hash": p.hash,
         **{k: getattr(p.entry, k) for k in _ENTRY_COLUMNS}}
        for p in posted
    ])
    copy_rows(uow, journal_line, [
        {"id": new_id(), "entry_id": p.id, "account_id": p.entry.account_id, "gl_account": l.gl_account,
         "debit": l.debit, "credit": l.credit, "currency": p.entry.currency}
        for p in posted for l in p.entry.lines
    ])
    audit.record_many(uow, "journalEntry.posted", "journalEntry", [
        (p.id, {"seq": p.seq, "hash": p.hash, "description": p.entry.description, **p.entry.facts()}) for p in posted
    ])
    return posted


def post_payment(uow: UnitOfWork, posting: PaymentPosting) -> PostedEntry:
    return post(uow, posting.entry())


def post_correction(uow: UnitOfWork, posting: CorrectionPosting) -> PostedEntry:
    """A credit note or a debit note (ledger.model.CorrectionPosting); idempotent per document like the others."""
    return post(uow, posting.entry())


def _ar_sums() -> sa.Select:
    return sa.select(
        journal_line.c.account_id,
        journal_line.c.currency,
        (sa.func.sum(journal_line.c.debit) - sa.func.sum(journal_line.c.credit)).label("balance"),
    ).where(journal_line.c.gl_account == AR).group_by(journal_line.c.account_id, journal_line.c.currency)


def ar_balance(uow: UnitOfWork, account_id: uuid.UUID) -> Money | None:
    """What the account owes (negative: a credit it holds); None when nothing was ever posted for it."""
    # An account bills in one currency; a second currency would be a bug, and one_or_none fails loudly on it.
    row = uow.conn.execute(_ar_sums().where(journal_line.c.account_id == account_id)).one_or_none()
    return None if row is None else Money(row.balance, row.currency)


def ar_balances(uow: UnitOfWork, account_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, Money]:
    """AR balance of every account with postings, or of the given accounts only."""
    stmt = _ar_sums()
    if account_ids is not None:
        stmt = stmt.where(journal_line.c.account_id.in_(set(account_ids)))
    rows = uow.conn.execute(stmt.order_by(journal_line.c.account_id)).all()
    return {r.account_id: Money(r.balance, r.currency) for r in rows}


def verify_chain(uow: UnitOfWork) -> bool:
    """Recompute every hash in seq order; False when any entry or line was changed, removed or reordered."""
    mismatched = uow.conn.execute(
        sa.select(sa.func.count())
        .select_from(journal_line.join(journal_entry))
        .where(
            (journal_line.c.account_id != journal_entry.c.account_id)
            | (journal_line.c.currency != journal_entry.c.currency)
        )
    ).scalar_one()
    if mismatched:
        return False
    rows = uow.conn.execute(
        sa.select(journal_entry, journal_line.c.gl_account, journal_line.c.debit, journal_line.c.credit)
        .select_from(journal_entry.outerjoin(journal_line))
        .order_by(journal_entry.c.seq)
        .execution_options(yield_per=2000)
    )
    prev_hash = GENESIS_HASH
    for expected_seq, (_, group) in enumerate(itertools.groupby(rows, key=lambda r: r.seq), start=1):
        group = list(group)
        lines = [_line(r) for r in group if r.gl_account is not None]
        try:
            posted = _posted(group[0], lines)
        except InvalidValue:  # a tampered row may not even form a valid entry (unbalanced, negative)
            return False
        if posted.seq != expected_seq or posted.prev_hash != prev_hash:
            return False
        if entry_hash(prev_hash, posted.entry) != posted.hash:
            return False
        prev_hash = posted.hash
    return True


def trial_balance(uow: UnitOfWork) -> TrialBalance:
    rows = uow.conn.execute(
        sa.select(journal_line.c.currency, sa.func.sum(journal_line.c.debit), sa.func.sum(journal_line.c.credit))
        .group_by(journal_line.c.currency)
        .order_by(journal_line.c.currency)
    ).all()
    per_currency = {cur: (Decimal(d), Decimal(c)) for cur, d, c in rows}
    return TrialBalance(
        per_currency=per_currency,
        balanced=all(d == c for d, c in per_currency.values()),
        chain_ok=verify_chain(uow),
    )
