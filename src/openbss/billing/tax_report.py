"""The tax report: what a period's issued documents taxed, per jurisdiction, tax category and rate.

A tax period is a calendar month of issue dates (the tax point is the issue date, billing.model), whatever the
accounts' bill cycles. Per (jurisdiction, currency, category, rate): the taxable amount, the tax and the
number of documents. Documents are invoices (+), credit notes (-, they reduce what was taxed) and debit notes
(+); each is one SELECT in `_DOCUMENTS` producing the same columns, so another kind of document is one more
entry. The jurisdiction is the country the invoice was taxed in (`invoice_tax.country`, billing.tax
place_of_supply): a reverse-charge invoice is filed under the buyer's member state (the EC Sales List needs
it), a consumer's under the customer's country (the One-Stop Shop return needs it). A correction is filed
under the jurisdiction of the invoice it corrects; invoices issued before the country was recorded fall back to
their account's current country.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from openbss.billing import tax
from openbss.billing.lifecycle import ISSUED_STATES
from openbss.billing.periods import add_months, parse_period
from openbss.billing.tables import credit_note, credit_note_tax, debit_note, debit_note_tax, invoice, invoice_tax
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.party import service as party
from openbss.party.model import BillingAccount

DOCUMENT_KINDS = ("invoice", "creditNote", "debitNote")


@dataclass(frozen=True)
class TaxReportRow:
    country: str
    tax_name: str  # VAT, MWST, MVA... ("-" where openbss collects no tax: out of scope)
    tax_category: str
    tax_rate: Decimal
    taxable: Money
    tax: Money
    invoices: int
    credit_notes: int
    debit_notes: int


def _invoices(start: date, end: date) -> sa.Select:
    return (
        sa.select(sa.literal("invoice").label("kind"), invoice.c.id.label("document_id"), invoice.c.account_id,
                  invoice.c.currency, invoice_tax.c.country, invoice_tax.c.tax_category, invoice_tax.c.tax_rate,
                  invoice_tax.c.taxable_amount.label("taxable"), invoice_tax.c.tax_amount.label("tax"))
        .join_from(invoice_tax, invoice, invoice_tax.c.invoice_id == invoice.c.id)
        .where(invoice.c.issue_date >= start, invoice.c.issue_date < end, invoice.c.state.in_(ISSUED_STATES))
    )


def _corrections(kind: str, header: sa.Table, taxes: sa.Table, fk: str, sign: int) -> Callable[[date, date], sa.Select]:
    def select(start: date, end: date) -> sa.Select:
        # Taxed where the corrected invoice was: one country per invoice, so any of its VAT groups tells it.
        country = (sa.select(invoice_tax.c.country).where(invoice_tax.c.invoice_id == header.c.invoice_id)
                   .limit(1).scalar_subquery())
        return (
            sa.select(sa.literal(kind).label("kind"), header.c.id.label("document_id"), header.c.account_id,
                      header.c.currency, country.label("country"), taxes.c.tax_category, taxes.c.tax_rate,
                      (taxes.c.taxable_amount * sign).label("taxable"), (taxes.c.tax_amount * sign).label("tax"))
            .join_from(taxes, header, taxes.c[fk] == header.c.id)
            .where(header.c.issue_date >= start, header.c.issue_date < end)
        )
    return select


_DOCUMENTS: tuple[Callable[[date, date], sa.Select], ...] = (
    _invoices,
    _corrections("creditNote", credit_note, credit_note_tax, "credit_note_id", -1),
    _corrections("debitNote", debit_note, debit_note_tax, "debit_note_id", +1),
)


def tax_report(uow: UnitOfWork, period: str, country: str | None = None) -> list[TaxReportRow]:
    """The report for the calendar month `period` (YYYY-MM), optionally for one jurisdiction, ordered by
    country, currency, category and rate."""
    year, month = parse_period(period, "period")
    start = date(year, month, 1)
    docs = sa.union_all(*(select(start, add_months(start)) for select in _DOCUMENTS)).subquery()
    # Documents without a recorded country are grouped per account until the account's country is known.
    unknown_account = sa.case((docs.c.country.is_(None), docs.c.account_id))
    counts = [sa.func.count(sa.distinct(docs.c.document_id)).filter(docs.c.kind == k).label(k) for k in DOCUMENT_KINDS]
    stmt = sa.select(docs.c.country, unknown_account.label("account_id"), docs.c.currency, docs.c.tax_category,
                     docs.c.tax_rate, sa.func.sum(docs.c.taxable).label("taxable"),
                     sa.func.sum(docs.c.tax).label("tax"), *counts).group_by(
        docs.c.country, unknown_account, docs.c.currency, docs.c.tax_category, docs.c.tax_rate)
    rows = uow.conn.execute(stmt).all()
    fallback = party.billing_accounts(uow, [r.account_id for r in rows if r.country is None])
    merged: dict[tuple[str, str, str, Decimal], list] = {}
    for r in rows:
        where = r.country or _account_country(fallback, r.account_id)
        key = (where, r.currency, r.tax_category, r.tax_rate)
        figures = merged.setdefault(key, [Decimal(0), Decimal(0), 0, 0, 0])
        for i, value in enumerate((r.taxable, r.tax, r.invoice, r.creditNote, r.debitNote)):
            figures[i] += value
    result = []
    for (where, currency, category, rate), (taxable, tax_amount, invoices, credits, debits) in sorted(merged.items()):
        if country is not None and where != country:
            continue
        jurisdiction = tax.jurisdiction(where)
        result.append(TaxReportRow(where, jurisdiction.tax_name if jurisdiction else "-", category, rate,
                                   # stored with 6 places, issued in whole minor units: shown in those
                                   Money(taxable, currency).rounded(), Money(tax_amount, currency).rounded(),
                                   invoices, credits, debits))
    return result


def _account_country(accounts: dict[uuid.UUID, BillingAccount], account_id: uuid.UUID) -> str:
    account = accounts.get(account_id)
    return (account.country if account else None) or "??"
