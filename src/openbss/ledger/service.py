"""Use cases of the receivables journal: post entries, read balances, verify the chain. Never commits.

Posting takes one global advisory lock so the chain stays linear (each entry hashes its predecessor);
the lock is held only for the few statements of the post, at the end of the caller's use case.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date
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
    CHART,
    GENESIS_HASH,
    CorrectionPosting,
    DeferredLine,
    InvoicePosting,
    JournalEntry,
    JournalLine,
    PaymentPosting,
    PostedEntry,
    TrialBalance,
    entry_hash,
)
from openbss.ledger.tables import journal_entry, journal_line, revenue_schedule

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


def _post(uow: UnitOfWork, entry: JournalEntry) -> tuple[PostedEntry, bool]:
    """(the entry as stored, whether this call stored it)."""
    uow.advisory_lock("ledger", "chain")
    existing = _find(uow, entry.source_type, entry.source_id)
    if existing is not None:
        if existing.entry.facts() != entry.facts():
            raise Conflict(
                f"{entry.source_type} {entry.source_id} is already posted with different amounts; "
                "post a correcting entry instead"
            )
        return existing, False
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
    return posted, True


def post(uow: UnitOfWork, entry: JournalEntry) -> PostedEntry:
    """Append `entry` to the chain; posting the same source again returns the stored entry."""
    return _post(uow, entry)[0]


def _schedule_rows(entry: JournalEntry, lines: Sequence[DeferredLine]) -> list[dict]:
    return [{"id": new_id(), "source_type": entry.source_type, "source_id": entry.source_id, "line_id": l.line_id,
             "account_id": entry.account_id, "currency": entry.currency, "net": l.net,
             "service_start": l.service_start, "service_end": l.service_end} for l in lines]


def _post_with_schedule(uow: UnitOfWork, entry: JournalEntry, schedule: Sequence[DeferredLine]) -> PostedEntry:
    posted, new = _post(uow, entry)
    if new and schedule:  # a re-post found the entry, and its schedule, already stored
        uow.conn.execute(sa.insert(revenue_schedule), _schedule_rows(entry, schedule))
    return posted


def post_invoice(uow: UnitOfWork, posting: InvoicePosting) -> PostedEntry:
    return _post_with_schedule(uow, posting.entry(), posting.schedule())


def post_new(uow: UnitOfWork, entries: Sequence[JournalEntry]) -> list[PostedEntry]:
    """Append entries of sources never posted before, in the order given: one chain lock, one block of seqs,
    the hashes chained in Python, then one COPY each for entries, lines and audit records (UNIQUE(source) still
    guards against a source posted twice)."""
    if not entries:
        return []
    uow.advisory_lock("ledger", "chain")
    prev_hash = _last_hash(uow)
    posted = []
    for seq, entry in zip(next_numbers(uow, "journal", len(entries)), entries, strict=True):
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


def post_invoices(uow: UnitOfWork, postings: Sequence[InvoicePosting]) -> list[PostedEntry]:
    """The entries of invoices issued in this transaction (a bill run batch), in bulk (`post_new`), with the
    revenue schedule of what they bill in advance."""
    posted = post_new(uow, [p.entry() for p in postings])
    rows = [row for p, e in zip(postings, posted, strict=True) for row in _schedule_rows(e.entry, p.schedule())]
    if rows:
        copy_rows(uow, revenue_schedule, rows)
    return posted


def post_payment(uow: UnitOfWork, posting: PaymentPosting) -> PostedEntry:
    return post(uow, posting.entry())


def post_correction(uow: UnitOfWork, posting: CorrectionPosting) -> PostedEntry:
    """A credit note or a debit note (ledger.model.CorrectionPosting); idempotent per document like the others."""
    return _post_with_schedule(uow, posting.entry(), posting.schedule())


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


def ar_balance_before(uow: UnitOfWork, source_type: str, source_id: uuid.UUID) -> Money | None:
    """What the account owed just before the entry of a document was posted (negative: a credit it held): the
    balance an invoice brings forward. Read from the append-only journal, so it is the same at every reading;
    None when the document has no entry."""
    posted = uow.conn.execute(sa.select(journal_entry.c.seq, journal_entry.c.account_id, journal_entry.c.currency)
                              .where(journal_entry.c.source_type == source_type,
                                     journal_entry.c.source_id == source_id)).first()
    if posted is None:
        return None
    before = uow.conn.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(journal_line.c.debit - journal_line.c.credit), 0))
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(journal_line.c.account_id == posted.account_id, journal_line.c.gl_account == AR,
               journal_line.c.currency == posted.currency, journal_entry.c.seq < posted.seq))
    return Money(before, posted.currency)


def ar_balances(uow: UnitOfWork, account_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, Money]:
    """AR balance of every account with postings, or of the given accounts only."""
    stmt = _ar_sums()
    if account_ids is not None:
        stmt = stmt.where(journal_line.c.account_id.in_(set(account_ids)))
    rows = uow.conn.execute(stmt.order_by(journal_line.c.account_id)).all()
    return {r.account_id: Money(r.balance, r.currency) for r in rows}


def chain_break(uow: UnitOfWork) -> str | None:
    """Recompute every hash in seq order; what is wrong at the first entry or line that was changed, removed or
    reordered, None when the chain is intact."""
    mismatched = uow.conn.execute(
        sa.select(journal_line.c.entry_id)
        .select_from(journal_line.join(journal_entry))
        .where(
            (journal_line.c.account_id != journal_entry.c.account_id)
            | (journal_line.c.currency != journal_entry.c.currency)
        ).limit(1)
    ).scalar_one_or_none()
    if mismatched is not None:
        return f"a line of entry {mismatched} names another account or currency than its entry"
    rows = uow.conn.execute(
        sa.select(journal_entry, journal_line.c.gl_account, journal_line.c.debit, journal_line.c.credit)
        .select_from(journal_entry.outerjoin(journal_line))
        .order_by(journal_entry.c.seq)
        .execution_options(yield_per=2000)
    )
    prev_hash = GENESIS_HASH
    for expected_seq, (seq, group) in enumerate(itertools.groupby(rows, key=lambda r: r.seq), start=1):
        group = list(group)
        lines = [_line(r) for r in group if r.gl_account is not None]
        try:
            posted = _posted(group[0], lines)
        except InvalidValue as e:  # a tampered row may not even form a valid entry (unbalanced, negative)
            return f"entry seq {seq} is not a valid entry: {e.message}"
        if posted.seq != expected_seq:
            return f"entry seq {expected_seq} is missing (found seq {posted.seq} in its place)"
        if posted.prev_hash != prev_hash:
            return f"entry seq {seq} does not link to the hash of the entry before it"
        if entry_hash(prev_hash, posted.entry) != posted.hash:
            return f"entry seq {seq} ({posted.entry.description}) does not match its hash: it was changed"
        prev_hash = posted.hash
    return None


def verify_chain(uow: UnitOfWork) -> bool:
    """True when no entry or line was changed, removed or reordered (`chain_break` says where)."""
    return chain_break(uow) is None


def currency_totals(uow: UnitOfWork) -> dict[str, tuple[Decimal, Decimal]]:
    """Per currency, (all debits, all credits) of the journal."""
    rows = uow.conn.execute(
        sa.select(journal_line.c.currency, sa.func.sum(journal_line.c.debit), sa.func.sum(journal_line.c.credit))
        .group_by(journal_line.c.currency)
        .order_by(journal_line.c.currency)
    ).all()
    return {cur: (Decimal(d), Decimal(c)) for cur, d, c in rows}


def trial_balance(uow: UnitOfWork) -> TrialBalance:
    per_currency = currency_totals(uow)
    return TrialBalance(
        per_currency=per_currency,
        balanced=all(d == c for d, c in per_currency.values()),
        chain_ok=verify_chain(uow),
    )


def account_balances(uow: UnitOfWork) -> list[tuple[str, str, Decimal, Decimal]]:
    """(gl account, currency, debits, credits) of every account of the chart used, in chart order."""
    rows = uow.conn.execute(
        sa.select(journal_line.c.gl_account, journal_line.c.currency, sa.func.sum(journal_line.c.debit),
                  sa.func.sum(journal_line.c.credit))
        .group_by(journal_line.c.gl_account, journal_line.c.currency)
    ).all()
    order = {key: i for i, key in enumerate(CHART)}
    return sorted(((a, c, Decimal(d), Decimal(cr)) for a, c, d, cr in rows), key=lambda r: (r[1], order.get(r[0], 99)))


def entries(uow: UnitOfWork) -> Iterator[PostedEntry]:
    """Every entry with its lines, in chain order, streamed."""
    rows = uow.conn.execute(
        sa.select(journal_entry, journal_line.c.gl_account, journal_line.c.debit, journal_line.c.credit)
        .select_from(journal_entry.outerjoin(journal_line))
        .order_by(journal_entry.c.seq, journal_line.c.id)
        .execution_options(yield_per=2000)
    )
    for _, group in itertools.groupby(rows, key=lambda r: r.seq):
        group = list(group)
        yield _posted(group[0], [_line(r) for r in group if r.gl_account is not None])


def first_posting_date(uow: UnitOfWork) -> date:
    """The UTC date of the earliest posting (today's date of the clock for an empty journal)."""
    first = uow.conn.execute(sa.select(sa.func.min(journal_entry.c.posted_at))).scalar_one_or_none()
    return (first or uow.now()).astimezone(UTC).date()
