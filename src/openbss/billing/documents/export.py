"""Writing issued bill documents (invoices, credit notes, debit notes) to files: `openbss invoice export`, the demo.

Formats and file names (in the output folder, one file per document, named by its number):
`pdf` -> INV-2026-000001.pdf, `ubl` -> INV-2026-000001.ubl.xml (UBL 2.1), `cii` -> INV-2026-000001.cii.xml
(UN/CEFACT CII), `facturx` -> INV-2026-000001.facturx.pdf (PDF/A-3b with the CII embedded); credit notes
CN-2026-000001.pdf, debit notes DN-2026-000001.pdf and so on. The extensions differ per format so one folder
can hold them all. A period (YYYY-MM) selects the invoices of the bill cycle periods starting in that month, as
`openbss billrun --period` bills them, and the credit and debit notes that correct those invoices (a note
belongs to the bill it corrects, whenever it was issued); none selects every issued document.
Exporting again rewrites the same files: each is written to a temporary name and renamed over the old one,
so a reader never sees half a file. Each document is read in its own short transaction and rendered after it
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

from openbss.billing.documents import cii, facturx, kinds, pdf, ubl, validation
from openbss.billing.periods import add_months, parse_period
from openbss.billing.tables import invoice
from openbss.core.errors import DomainError, InvalidValue, NotFound
from openbss.db.uow import UnitOfWork, unit_of_work

EXTENSIONS = {"pdf": "pdf", "ubl": "ubl.xml", "cii": "cii.xml", "facturx": "facturx.pdf"}


@dataclass(frozen=True)
class IssuedDocument:
    kind: str  # invoice, creditNote, debitNote (`kinds`)
    id: uuid.UUID
    number: str


@dataclass
class ExportSummary:
    format: str
    out: Path
    documents: int = 0
    written: list[Path] = field(default_factory=list)
    bytes: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (document number, message)
    seconds: float = 0.0


def check_format(fmt: str) -> str:
    if fmt not in EXTENSIONS:
        raise InvalidValue("format", fmt, f"must be one of {', '.join(EXTENSIONS)}")
    return fmt


def file_name(number: str, fmt: str) -> str:
    return f"{number}.{EXTENSIONS[check_format(fmt)]}"


def issued_documents(uow: UnitOfWork, *, period: str | None = None, account_id: uuid.UUID | None = None
                     ) -> list[IssuedDocument]:
    """Issued invoices, then credit notes, then debit notes, each in number order: of the bill cycle periods
    starting in `period` (a note by the invoice it corrects) and of one account."""
    conditions = []
    if period is not None:
        year, month = parse_period(period, "period")
        first = date(year, month, 1)
        conditions += [invoice.c.period_start >= first, invoice.c.period_start < add_months(first)]
    result = []
    for kind in kinds.KINDS:
        table = kinds.TABLES[kind]
        stmt = sa.select(table.c.id, table.c.number).where(*conditions)
        if table is not invoice:
            stmt = stmt.join(invoice, invoice.c.id == table.c.invoice_id)
        if account_id is not None:
            stmt = stmt.where(table.c.account_id == account_id)
        result += [IssuedDocument(kind, r.id, r.number) for r in uow.conn.execute(stmt.order_by(table.c.number))]
    return result


def invoice_id_of(uow: UnitOfWork, number: str) -> uuid.UUID:
    """The id of the invoice numbered `number` (e.g. INV-2026-000001)."""
    found = uow.conn.execute(sa.select(invoice.c.id).where(invoice.c.number == number)).scalar()
    if found is None:
        raise NotFound("customerBill", number, "number")
    return found


def render(engine: sa.Engine, document_id: uuid.UUID, fmt: str, *, kind: str = kinds.INVOICE,
           call_detail_limit: int = pdf.CALL_DETAIL_LIMIT) -> bytes:
    """One invoice's (or `kind`'s) document in `fmt`: read in a transaction of its own, rendered after it ends."""
    with unit_of_work(engine, actor="export") as uow:
        if fmt in ("pdf", "facturx"):
            printable = pdf.printable_of(uow, document_id, kind=kind, call_detail_limit=call_detail_limit)
        else:
            doc = kinds.document_for(uow, kind, document_id)
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
    """Write every selected document in `fmt` to `out` (`issued_documents`); `on_progress(done, total)` after each."""
    check_format(fmt)
    with unit_of_work(engine, actor="export") as uow:
        selected = issued_documents(uow, period=period, account_id=account_id)
    summary = ExportSummary(fmt, out, documents=len(selected))
    started = time.perf_counter()
    for done, item in enumerate(selected, start=1):
        try:
            content = render(engine, item.id, fmt, kind=item.kind, call_detail_limit=call_detail_limit)
        except DomainError as e:  # no seller profile, a category EN 16931 cannot express: said per document
            summary.errors.append((item.number, e.message))
        else:
            path = out / file_name(item.number, fmt)
            write_file(path, content)
            summary.written.append(path)
            summary.bytes += len(content)
        if on_progress is not None:
            on_progress(done, len(selected))
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class ValidationSummary:
    invoices: int = 0  # bill documents: invoices, credit notes, debit notes
    documents: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (number, syntax, failed assertion)
    seconds: float = 0.0


def validate_documents(engine: sa.Engine, *, period: str | None = None, account_id: uuid.UUID | None = None,
                       on_progress: Callable[[int, int], None] | None = None) -> ValidationSummary:
    """Render every selected document (invoices and their credit and debit notes) as UBL (with Peppol when it
    applies) and CII and check each against the official EN 16931 rules; the fatal assertions that fail, by
    document number and syntax."""
    with unit_of_work(engine, actor="validate") as uow:
        selected = issued_documents(uow, period=period, account_id=account_id)
    summary = ValidationSummary(invoices=len(selected))
    started = time.perf_counter()
    for done, inv in enumerate(selected, start=1):
        try:
            with unit_of_work(engine, actor="validate") as uow:
                doc = kinds.document_for(uow, inv.kind, inv.id)
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
