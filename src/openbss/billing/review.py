"""The operator's review of a drafted bill run before approving it: run-level totals per currency, the accounts
that failed, and the largest changes against each account's previous issued invoice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from openbss.billing.lifecycle import ISSUED_STATES
from openbss.billing.tables import bill_run_account, invoice
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.party import service as party


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    invoices: int
    net: Money
    tax: Money
    gross: Money


@dataclass(frozen=True)
class Change:
    """An account's invoice in the run against its previous issued invoice (same currency)."""

    account_number: str
    previous_number: str
    previous: Money
    now: Money

    @property
    def change(self) -> Money:
        return self.now - self.previous

    @property
    def percent(self) -> Decimal | None:
        """The change in percent of the previous gross, to one decimal (None when that was zero)."""
        if not self.previous.amount:
            return None
        return (self.change.amount * 100 / self.previous.amount).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Review:
    totals: list[CurrencyTotals]
    errors: list[tuple[str, str]]  # (account number, message)
    changes: list[Change]  # largest absolute change first
    without_previous: int  # invoices of accounts that have no earlier issued invoice to compare with


def review(uow: UnitOfWork, run_id: uuid.UUID, largest: int = 10) -> Review:
    i = invoice.c
    totals = [
        CurrencyTotals(cur, n, Money(net, cur), Money(tax, cur), Money(gross, cur))
        for cur, n, net, tax, gross in uow.conn.execute(
            sa.select(i.currency, sa.func.count(), sa.func.sum(i.net_total), sa.func.sum(i.tax_total),
                      sa.func.sum(i.gross_total)).where(i.bill_run_id == run_id).group_by(i.currency)
            .order_by(i.currency))
    ]
    a = bill_run_account.c
    failed = uow.conn.execute(sa.select(a.account_id, a.error).where(a.bill_run_id == run_id, a.status == "error")
                              .order_by(a.account_id)).all()
    previous = invoice.alias("previous")
    p = previous.c
    last = (sa.select(p.number, p.gross_total).where(p.account_id == i.account_id, p.currency == i.currency,
                                                     p.state.in_(ISSUED_STATES), p.period_start < i.period_start)
            .order_by(p.period_start.desc()).limit(1).lateral("last"))
    rows = uow.conn.execute(
        sa.select(i.account_id, i.currency, i.gross_total, last.c.number, last.c.gross_total.label("previous"))
        .join(last, sa.true()).where(i.bill_run_id == run_id)
        .order_by(sa.func.abs(i.gross_total - last.c.gross_total).desc(), i.account_id).limit(largest)
    ).all()
    compared = uow.conn.scalar(sa.select(sa.func.count()).select_from(invoice).join(last, sa.true())
                               .where(i.bill_run_id == run_id))
    numbers = {acc.id: acc.number for acc in party.billing_accounts(
        uow, [r.account_id for r in rows] + [r.account_id for r in failed]).values()}
    changes = [Change(numbers[r.account_id], r.number, Money(r.previous, r.currency), Money(r.gross_total, r.currency))
               for r in rows]
    return Review(totals, [(numbers.get(r.account_id, str(r.account_id)), r.error) for r in failed], changes,
                  sum(t.invoices for t in totals) - compared)
