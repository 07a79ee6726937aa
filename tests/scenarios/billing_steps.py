"""Steps the billing scenarios share: run a bill run at a moment, read an account's invoices and their lines."""

from __future__ import annotations

from datetime import UTC, datetime

from openbss.billing import service as billing


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bill(engine, clock, period: str, at: datetime):
    """Run the bill run for `period` at `at`; no account may fail."""
    clock.move_to(at)
    summary = billing.run_bill_run(engine, period, clock=clock, rounding="half_up")
    assert summary.errors == [], summary.errors
    return summary


def invoice_of(uow, account_id, period_start):
    """The account's invoice for the period starting on `period_start` (a date), with its lines; None if none."""
    with uow() as u:
        invoices, _ = billing.list_invoices(u, {"billingAccountId": str(account_id)}, 0, 100)
        found = [i for i in invoices if i.period_start == period_start]
        return billing.get_invoice(u, found[0].id) if found else None


def lines(inv):
    """(kind, first day, day after the last, net) of each line, in invoice order."""
    return [(line.kind, line.service_start, line.service_end, line.net.amount) for line in inv.lines]


def totals(inv):
    return inv.net_total.amount, inv.tax_total.amount, inv.gross_total.amount
