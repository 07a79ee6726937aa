"""Accounts receivable aging (`openbss report aging [--at DATE]`): open items by how long they are past due.

Open items are the issued invoices and debit notes with something left to pay (gross - amount settled by
payments and credit notes - amount written off by collections), read through billing's and dunning's service
functions. Each falls in one bucket by days past its
due date at `at`: current (not yet due, or due that day), 1-30, 31-60, 61-90, 90+. Documents issued after `at`
are left out; the open amounts are today's (the settlement history of a document is not kept, so `--at` in the
past ages what is still open today as it stood then). A customer's credit balance (negative AR) is not an open
item; `ledger verify` and the AR balance show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from openbss.billing import correction_service as corrections
from openbss.billing import service as billing
from openbss.core.money import Money, total
from openbss.db.uow import UnitOfWork
from openbss.ledger.verify import every, written_off
from openbss.party import service as party

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def bucket(due_date: date, at: date) -> str:
    """The bucket of an item due on `due_date`, aged at `at`."""
    late = (at - due_date).days
    if late <= 0:
        return "current"
    if late <= 30:
        return "1-30"
    if late <= 60:
        return "31-60"
    return "61-90" if late <= 90 else "90+"


@dataclass
class AgingRow:
    account_id: uuid.UUID
    account_number: str
    currency: str
    buckets: dict[str, Money] = field(default_factory=dict)

    @property
    def total(self) -> Money:
        return total(self.buckets.values(), self.currency)

    def amount(self, name: str) -> Money:
        return self.buckets.get(name, Money.zero(self.currency))


@dataclass
class AgingReport:
    at: date
    rows: list[AgingRow]

    def totals(self) -> dict[str, dict[str, Money]]:
        """Per currency, per bucket (and "total")."""
        result: dict[str, dict[str, Money]] = {}
        for row in self.rows:
            per = result.setdefault(row.currency, {name: Money.zero(row.currency) for name in (*BUCKETS, "total")})
            for name in BUCKETS:
                per[name] = per[name] + row.amount(name)
            per["total"] = per["total"] + row.total
        return result


def _open_items(uow: UnitOfWork, at: date) -> Iterable[tuple[uuid.UUID, date, Money]]:
    documents = [doc for doc in (*every(uow, billing.list_invoices), *every(uow, corrections.list_debit_notes))
                 if doc.issue_date <= at and doc.amount_paid < doc.gross_total]
    gone = written_off(uow, [doc.id for doc in documents])  # bad debt is no longer expected to come in
    for doc in documents:
        left = doc.gross_total - doc.amount_paid - Money(gone.get(doc.id, 0), doc.currency)
        if left.amount > 0:
            yield doc.account_id, doc.due_date, left


def aging(uow: UnitOfWork, at: date) -> AgingReport:
    rows: dict[tuple[uuid.UUID, str], AgingRow] = {}
    for account_id, due_date, left in _open_items(uow, at):
        row = rows.get((account_id, left.currency))
        if row is None:
            number = party.get_billing_account(uow, account_id).number
            row = rows[(account_id, left.currency)] = AgingRow(account_id, number, left.currency)
        name = bucket(due_date, at)
        row.buckets[name] = row.amount(name) + left
    return AgingReport(at, sorted(rows.values(), key=lambda r: (r.currency, r.account_number)))
