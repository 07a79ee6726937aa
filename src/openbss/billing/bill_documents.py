"""An issued invoice's, credit note's or debit note's documents (PDF, UBL, CII, Factur-X) rendered once and kept.

The first request for a document (a TMF678 download or the e-mail worker) renders it
(`documents.export.render`) and stores the bytes with their SHA-256 in `bill_document`; every later request
serves the stored bytes. Rendering again would not give the same file: Factur-X carries its creation time,
and every format prints the amount paid so far and the seller profile as they are at rendering. Storing makes a
download repeatable (the SHA-256 is its ETag) and lets an operator prove which bytes a customer was sent. Two first requests racing both render, the first to commit
wins (INSERT ... ON CONFLICT DO NOTHING) and both serve the winner's bytes.

What is stored is the invoice as of its first rendering: the amount already paid (BT-113) is printed as it
stood then. The e-mail worker renders minutes after the bill run, before any payment, so in practice the
stored document is the invoice as issued.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.audit import service as audit
from openbss.billing.delivery_tables import bill_document
from openbss.billing.documents import export, kinds
from openbss.core.clock import Clock
from openbss.core.errors import NotFound
from openbss.db.uow import UnitOfWork, unit_of_work

# format -> (media type, what it is: the TMF678 billDocument description)
DOCUMENT_TYPES = {
    "pdf": ("application/pdf", "Invoice (PDF)"),
    "ubl": ("application/xml", "EN 16931 e-invoice, UBL 2.1"),
    "cii": ("application/xml", "EN 16931 e-invoice, UN/CEFACT CII"),
    "facturx": ("application/pdf", "Factur-X EN 16931 (PDF/A-3 with the CII embedded)"),
}
FORMAT_OF_EXTENSION = {ext: fmt for fmt, ext in export.EXTENSIONS.items()}  # "ubl.xml" -> "ubl"


@dataclass(frozen=True)
class StoredDocument:
    document_id: uuid.UUID  # the invoice's, credit note's or debit note's id
    kind: str  # invoice, creditNote, debitNote
    format: str
    file_name: str  # INV-2026-000001.pdf, CN-2026-000001.pdf (`export.file_name`)
    media_type: str
    sha256: str  # hex
    content: bytes
    created_at: datetime


def _stored(row: sa.Row) -> StoredDocument:
    return StoredDocument(row.document_id, row.kind, row.format, row.file_name, row.media_type, row.sha256,
                          row.content, row.created_at)


def _kept(document_id: uuid.UUID, fmt: str) -> sa.Select:
    return sa.select(bill_document).where(bill_document.c.document_id == document_id,
                                          bill_document.c.format == export.check_format(fmt))


def stored_document(uow: UnitOfWork, document_id: uuid.UUID, fmt: str) -> StoredDocument | None:
    row = uow.conn.execute(_kept(document_id, fmt)).first()
    return None if row is None else _stored(row)


def store_document(uow: UnitOfWork, document_id: uuid.UUID, fmt: str, content: bytes, *, kind: str = kinds.INVOICE
                   ) -> StoredDocument:
    """Keep `content` as the document in `fmt` of the invoice (or credit or debit note: `kind`) `document_id`,
    unless one is kept already: then that one is returned. NotFound when there is no such document."""
    header = kinds.header(uow, kind, document_id)
    digest = hashlib.sha256(content).hexdigest()
    inserted = uow.conn.execute(
        pg_insert(bill_document)
        .values(document_id=document_id, kind=kind, format=export.check_format(fmt), account_id=header.account_id,
                created_at=uow.now(), media_type=DOCUMENT_TYPES[fmt][0],
                file_name=export.file_name(header.number, fmt), sha256=digest, content=content)
        .on_conflict_do_nothing(index_elements=["document_id", "format"])
        .returning(bill_document)
    ).first()
    if inserted is None:  # another transaction stored it first (ON CONFLICT waited for its commit): serve that
        return _stored(uow.conn.execute(_kept(document_id, fmt)).one())
    audit.record(uow, f"{kind}.documentStored", kind, document_id,
                 after={"format": fmt, "sha256": digest, "bytes": len(content)})
    return _stored(inserted)


def document(engine: sa.Engine, document_id: uuid.UUID, fmt: str, *, clock: Clock, actor: str,
             kind: str = kinds.INVOICE) -> StoredDocument:
    """The document in `fmt` of the invoice (or credit or debit note: `kind`) `document_id`: the stored one, or
    rendered now (outside any transaction) and stored. Raises NotFound for no such document (checked first, so
    an unknown id never costs a rendering), Conflict while no seller profile is set."""
    with unit_of_work(engine, actor=actor, clock=clock) as uow:
        found = stored_document(uow, document_id, fmt)
        if found is None:
            kinds.header(uow, kind, document_id)
    if found is not None:
        if found.kind != kind:  # an id of another kind: not this resource's document
            raise NotFound(kinds.RESOURCES[kind], str(document_id))
        return found
    content = export.render(engine, document_id, fmt, kind=kind)
    with unit_of_work(engine, actor=actor, clock=clock) as uow:
        return store_document(uow, document_id, fmt, content, kind=kind)
