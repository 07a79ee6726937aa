"""`openbss ledger export`: the journal as a general-ledger CSV for an ERP, or as a beancount file.

CSV: one row per journal line, in entry order: seq, date (the entry's posting date, UTC), account code and
name, debit, credit, currency, source type and id, description, billing account id and number. Amounts are
plain decimals with the currency's minor units.

Beancount: one `open` per account of the chart used (Assets/Liabilities/Income/Expenses by the account's type,
named "code-Name" so the export keeps the chart's codes), then one transaction per entry dated its posting
date, debits positive and credits negative (beancount's sign convention), the seq, source and billing account
as metadata. Every entry balances, so `bean-check` accepts the file.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import TextIO

from openbss.core.money import minor_units
from openbss.db.uow import UnitOfWork
from openbss.ledger import service as ledger
from openbss.ledger.model import ACCOUNTS, ASSET, EXPENSE, LIABILITY, REVENUE, PostedEntry
from openbss.party import service as party

FORMATS = ("csv", "beancount")
CSV_COLUMNS = ("seq", "date", "account_code", "account_name", "debit", "credit", "currency", "source_type",
               "source_id", "description", "billing_account_id", "billing_account_number")
BEANCOUNT_ROOT = {ASSET: "Assets", LIABILITY: "Liabilities", REVENUE: "Income", EXPENSE: "Expenses"}


@dataclass(frozen=True)
class ExportSummary:
    entries: int
    lines: int


def amount_text(value: Decimal, currency: str) -> str:
    """The currency's minor units, more only if the amount has them (it should not: postings are rounded)."""
    places = max(minor_units(currency), -value.normalize().as_tuple().exponent)
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def _account_numbers(uow: UnitOfWork) -> dict[uuid.UUID, str]:
    numbers, offset, total = {}, 0, 1
    while offset < total:
        page, total = party.list_billing_accounts(uow, {}, offset, 1000)
        numbers.update((a.id, a.number) for a in page)
        offset += len(page)
        if not page:
            break
    return numbers


def write_csv(uow: UnitOfWork, out: TextIO) -> ExportSummary:
    numbers = _account_numbers(uow)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    entries = lines = 0
    for posted in ledger.entries(uow):
        e = posted.entry
        entries += 1
        for line in e.lines:
            gl = ACCOUNTS[line.gl_account]
            writer.writerow((
                posted.seq, e.posted_at.astimezone(UTC).date().isoformat(), gl.code, gl.name,
                amount_text(line.debit, e.currency), amount_text(line.credit, e.currency), e.currency,
                e.source_type, e.source_id, e.description, e.account_id, numbers.get(e.account_id, ""),
            ))
            lines += 1
    return ExportSummary(entries, lines)


def beancount_account(gl_account: str) -> str:
    """"1100 Accounts receivable" -> "Assets:1100-AccountsReceivable" (components: a capital or a digit first)."""
    gl = ACCOUNTS[gl_account]
    words = re.findall(r"[A-Za-z0-9]+", gl.name)
    return f"{BEANCOUNT_ROOT[gl.type]}:{gl.code}-{''.join(w[:1].upper() + w[1:] for w in words)}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _transaction(posted: PostedEntry, number: str | None) -> Iterator[str]:
    e = posted.entry
    yield f"{e.posted_at.astimezone(UTC).date().isoformat()} * {_quoted(e.description)}"
    yield f"  seq: {posted.seq}"
    yield f"  source: {_quoted(f'{e.source_type}:{e.source_id}')}"
    yield f"  billing_account: {_quoted(number or str(e.account_id))}"
    for line in e.lines:
        amount = line.debit if line.debit else -line.credit
        yield f"  {beancount_account(line.gl_account)}  {amount_text(amount, e.currency)} {e.currency}"


def write_beancount(uow: UnitOfWork, out: TextIO) -> ExportSummary:
    numbers = _account_numbers(uow)
    used = ledger.account_balances(uow)
    first = ledger.first_posting_date(uow)
    out.write('option "title" "openbss general ledger"\n')
    for currency in sorted({currency for _, currency, _, _ in used}):
        out.write(f'option "operating_currency" "{currency}"\n')
    out.write("\n")
    for gl_account in sorted({gl for gl, _, _, _ in used}, key=lambda a: ACCOUNTS[a].code):
        out.write(f"{first.isoformat()} open {beancount_account(gl_account)}\n")
    entries = lines = 0
    for posted in ledger.entries(uow):
        out.write("\n" + "\n".join(_transaction(posted, numbers.get(posted.entry.account_id))) + "\n")
        entries += 1
        lines += len(posted.entry.lines)
    return ExportSummary(entries, lines)


def export(uow: UnitOfWork, fmt: str, out: TextIO) -> ExportSummary:
    if fmt == "csv":
        return write_csv(uow, out)
    return write_beancount(uow, out)
