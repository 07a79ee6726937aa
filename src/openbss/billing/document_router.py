"""TMF678 bill document download: an issued invoice's, credit note's or debit note's document as a file.

    GET {base}/customerBill/{id}/document.pdf | .ubl.xml | .cii.xml | .facturx.pdf
    GET {base}/creditNote/{id}/document.{same extensions}
    GET {base}/debitNote/{id}/document.{same extensions}

TMF678 v4 has no credit-note resource and no document download of its own: the customerBill routes extend the
bill with its documents (its `billDocument` references point here), and the note routes sit under the
extension resources `creditNote` / `debitNote` (billing.router) the same way, so a note's documents are found
where the note is. The bytes are the document's stored rendering (`billing.bill_documents`: rendered at the
first request or e-mail, then kept), so every download of one document is the same file. Its SHA-256 is a
strong ETag; a request with a matching If-None-Match gets 304 Not Modified, and caches may keep it for good
(an issued document never changes). Any authenticated role may download, readers included (it is a GET).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from openbss.api.deps import Ctx, ctx
from openbss.api.tmf import path_id
from openbss.billing import bill_documents
from openbss.billing.documents import kinds
from openbss.billing.documents.export import EXTENSIONS
from openbss.billing.schemas import BILL_BASE
from openbss.core.errors import NotFound

router = APIRouter(prefix=BILL_BASE, tags=["TMF678 Customer Bill"])
CACHE_CONTROL = "private, max-age=31536000, immutable"
_NAMES = ", ".join("document." + e for e in EXTENSIONS.values())


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _download(c: Ctx, kind: str, document_id: str, extension: str) -> Response:
    fmt = bill_documents.FORMAT_OF_EXTENSION.get(extension)
    if fmt is None:
        raise NotFound("billDocument", f"document.{extension}")
    doc = bill_documents.document(c.engine, path_id(document_id, kinds.RESOURCES[kind]), fmt, clock=c.clock,
                                  actor=c.principal.actor, kind=kind)
    etag = f'"{doc.sha256}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(c.request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{doc.file_name}"'
    return Response(doc.content, media_type=doc.media_type, headers=headers)


@router.get("/customerBill/{bill_id}/document.{extension}", response_class=Response,
            summary=f"Download a customer bill's document ({_NAMES})")
def download_bill_document(bill_id: str, extension: str, c: Ctx = Depends(ctx)) -> Response:
    return _download(c, kinds.INVOICE, bill_id, extension)


@router.get("/creditNote/{note_id}/document.{extension}", response_class=Response,
            summary=f"Download a credit note's document ({_NAMES})")
def download_credit_note_document(note_id: str, extension: str, c: Ctx = Depends(ctx)) -> Response:
    return _download(c, kinds.CREDIT_NOTE, note_id, extension)


@router.get("/debitNote/{note_id}/document.{extension}", response_class=Response,
            summary=f"Download a debit note's document ({_NAMES})")
def download_debit_note_document(note_id: str, extension: str, c: Ctx = Depends(ctx)) -> Response:
    return _download(c, kinds.DEBIT_NOTE, note_id, extension)
