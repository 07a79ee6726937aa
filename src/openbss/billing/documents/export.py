"""Writing issued invoices to files: `openbss invoice export` and the demo.

Formats and file names (in the output folder, one file per invoice, named by its number):
`pdf` -> INV-2026-000001.pdf, `ubl` -> INV-2026-000001.ubl.xml (UBL 2.1), `cii` -> INV-2026-000001.cii.xml
(UN/CEFACT CII), `facturx` -> INV-2026-000001.facturx.pdf (PDF/A-3b with the CII embedded). The extensions
differ per format so one folder can hold them all. A period (YYYY-MM) selects the invoices of the bill cycle
periods starting in that month, as `openbss billrun --period` bills them; none selects every issued invoice.
Exporting again rewrites the same files: each is written to a temporary name and renamed over the old one,
so a reader never sees half a file. Each invoice is read in its own short transaction and rendered after it
ends; one that cannot be rendered is reported and the others are written.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from openbss.billing.documents import cii, facturx, pdf, ubl, validation
from openbss.billing.documents.context import document_of
from openbss.billing.periods import add_months, parse_period
from openbss.billing.tables import invoice
from openbss.core.errors import DomainError, InvalidValue, NotFound
from openbss.db.uow import UnitOfWork, unit_of_work

EXTENSIONS = {"pdf": "pdf", "ubl": "ubl.xml", "cii": "cii.xml", "facturx": "facturx.pdf"}


@dataclass(frozen=True)
class IssuedInvoice:
    id: uuid.UUID
    number: str


@dataclass
class ExportSummary:
    format: str
    out: Path
    invoices: int = 0
    written: list[Path] = field(default_factory=list)
    bytes: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (invoice number, message)
    seconds: float = 0.0


def check_format(fmt: str) -> str:
    if fmt not in EXTENSIONS:
        raise InvalidValue("format", fmt, f"must be one of {', '.join(EXTENSIONS)}")
    return fmt


def file_name(number: str, fmt: str) -> str:
    return f"{number}.{EXTENSIONS[check_format(fmt)]}"


def issued_invoices(uow: UnitOfWork, *, period: str | None = None, account_id: uuid.UUID | None = None
                    ) -> list[IssuedInvoice]:
    """Issued invoices in number order, of the bill cycle periods starting in `period` and of one account."""
    conditions = []
    if period is not None:
        year, month = parse_period(period, "period")
        first = date(year, month, 1)
        conditions += [invoice.c.period_start >= first, invoice.c.period_start < add_months(first)]
    if account_id is not None:
        conditions.append(invoice.c.account_id == account_id)
    rows = uow.conn.execute(sa.select(invoice.c.id, invoice.c.number).where(*conditions).order_by(invoice.c.number))
    return [IssuedInvoice(r.id, r.number) for r in rows]


def invoice_id_of(uow: UnitOfWork, number: str) -> uuid.UUID:
    """The id of the invoice numbered `number` (e.g. INV-2026-000001)."""
    found = uow.conn.execute(sa.select(invoice.c.id).where(invoice.c.number == number)).scalar()
    if found is None:
        raise NotFound("customerBill", number, "number")
    return found


def render(engine: sa.Engine, invoice_id: uuid.UUID, fmt: str, *, call_detail_limit: int = pdf.CALL_DETAIL_LIMIT
           ) -> bytes:
    """One invoice's document in `fmt`: read in a transaction of its own, rendered after it ends."""
    with unit_of_work(engine, actor="export") as uow:
        if fmt in ("pdf", "facturx"):
            printable = pdf.printable_of(uow, invoice_id, call_detail_limit=call_detail_limit)
        else:
            doc = document_of(uow, invoice_id)
    if fmt == "pdf":
        return pdf.render_pdf(printable)
    if fmt == "facturx":
        return facturx.to_facturx(printable)
    return ubl.to_ubl(doc) if fmt == "ubl" else cii.to_cii(doc)


def write_file(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically (a temporary file in the same folder, renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def export_documents(engine: sa.Engine, fmt: str, out: Path, *, period: str | None = None,
                     account_id: uuid.UUID | None = None, call_detail_limit: int = pdf.CALL_DETAIL_LIMIT,
                     on_progress: Callable[[int, int], None] | None = None) -> ExportSummary:
    """Write every selected invoice's document in `fmt` to `out`; `on_progress(done, total)` after each."""
    check_format(fmt)
    with unit_of_work(engine, actor="export") as uow:
        selected = issued_invoices(uow, period=period, account_id=account_id)
    summary = ExportSummary(fmt, out, invoices=len(selected))
    started = time.perf_counter()
    for done, inv in enumerate(selected, start=1):
        try:
            content = render(engine, inv.id, fmt, call_detail_limit=call_detail_limit)
        except DomainError as e:  # no seller profile, a category EN 16931 cannot express: said per invoice
            summary.errors.append((inv.number, e.message))
        else:
            path = out / file_name(inv.number, fmt)
            write_file(path, content)
            summary.written.append(path)
            summary.bytes += len(content)
        if on_progress is not None:
            on_progress(done, len(selected))
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class ValidationSummary:
    invoices: int = 0
    documents: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (number, syntax, failed assertion)
    seconds: float = 0.0


def validate_documents(engine: sa.Engine, *, period: str | None = None, account_id: uuid.UUID | None = None,
                       on_progress: Callable[[int, int], None] | None = None) -> ValidationSummary:
    """Render every selected invoice as UBL (with Peppol when it applies) and CII and check each against the
    official EN 16931 rules; the fatal assertions that fail, by invoice number and syntax."""
    with unit_of_work(engine, actor="validate") as uow:
        selected = issued_invoices(uow, period=period, account_id=account_id)
    summary = ValidationSummary(invoices=len(selected))
    started = time.perf_counter()
    for done, inv in enumerate(selected, start=1):
        try:
            with unit_of_work(engine, actor="validate") as uow:
                doc = document_of(uow, inv.id)
        except DomainError as e:
            summary.failures.append((inv.number, "-", e.message))
        else:
            for syntax, xml, peppol in (("ubl", ubl.to_ubl(doc), doc.peppol), ("cii", cii.to_cii(doc), False)):
                summary.documents += 1
                summary.failures += [(inv.number, syntax, str(f)) for f in validation.fatal(
                    validation.validate(xml, syntax, peppol=peppol))]
        if on_progress is not None:
            on_progress(done, len(selected))
    summary.seconds = time.perf_counter() - started
    return summary
