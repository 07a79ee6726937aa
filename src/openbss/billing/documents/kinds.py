"""Which bill document: an issued invoice, credit note or debit note, named by its kind and id.

Every format (PDF, UBL, CII, Factur-X), the stored documents, the downloads and the e-mails handle the three
alike, through the one `InvoiceDocument` each of them reads as (`document_for`): an invoice from
`context.document_of`, a note from `correction_service` (the note shaped as an invoice, the corrected
invoice's seller and buyer, and a reference to that invoice, BG-3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from openbss.billing import correction_service
from openbss.billing.documents.context import KIND_OF_TYPE, InvoiceDocument, document_of
from openbss.billing.tables import credit_note, debit_note, invoice
from openbss.core.errors import InvalidValue, NotFound
from openbss.db.uow import UnitOfWork

INVOICE, CREDIT_NOTE, DEBIT_NOTE = KINDS = tuple(KIND_OF_TYPE.values())
TABLES = {INVOICE: invoice, CREDIT_NOTE: credit_note, DEBIT_NOTE: debit_note}
RESOURCES = {INVOICE: "customerBill", CREDIT_NOTE: "creditNote", DEBIT_NOTE: "debitNote"}  # TMF678 names


@dataclass(frozen=True)
class Header:
    kind: str
    id: uuid.UUID
    number: str
    account_id: uuid.UUID


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidValue("kind", kind, f"must be one of {', '.join(KINDS)}")
    return kind


def header(uow: UnitOfWork, kind: str, document_id: uuid.UUID) -> Header:
    """The document's number and account; NotFound (as the API names the resource) when there is none."""
    table = TABLES[check_kind(kind)]
    row = uow.conn.execute(sa.select(table.c.number, table.c.account_id).where(table.c.id == document_id)).first()
    if row is None:
        raise NotFound(RESOURCES[kind], str(document_id))
    return Header(kind, document_id, row.number, row.account_id)


def document_for(uow: UnitOfWork, kind: str, document_id: uuid.UUID) -> InvoiceDocument:
    """The EN 16931 document of an issued invoice (380), credit note (381) or debit note (383)."""
    if check_kind(kind) == INVOICE:
        return document_of(uow, document_id)
    if kind == CREDIT_NOTE:
        return correction_service.credit_note_document(uow, document_id)
    return correction_service.debit_note_document(uow, document_id)
