"""Bank statement routes (openbss resources beside TMF676, not part of it): parse, call the service, shape.

POST /bankStatement takes the file itself as the body (camt.053 XML or MT940 text; `?format=` overrides
the detection, `?fileName=` names it in the history) and answers 201 with what was imported and how each
line was matched. The same file or statement again is a 409 that says when it was imported first.
GET /bankStatementLine?status=unmatched is the agent's queue; POST .../{id}/assign and .../{id}/dismiss
work it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource, list_resources
from openbss.api.tmf import one_response, path_id
from openbss.core.errors import InvalidValue
from openbss.reconciliation import service
from openbss.reconciliation.schemas import PAYMENT_BASE, AssignIn, DismissIn, import_out, line_out, statement_out

router = APIRouter(prefix=PAYMENT_BASE, tags=["Bank statements (openbss, beside TMF676)"])
routers = [router]


@router.post(
    "/bankStatement", status_code=201, summary="Import a camt.053 or MT940 bank statement file (body: the file)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/xml": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}},
)
async def import_bank_statement(request: Request, format: str | None = None, fileName: str | None = None,  # noqa: N803
                                c: Ctx = Depends(ctx)):
    content = await request.body()
    if not content.strip():
        raise InvalidValue("body", "", "must be a camt.053 or MT940 statement file")

    def work():
        with c.uow() as uow:
            return import_out(service.import_statement(uow, content, file_name=fileName, format=format), c.base_url)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


@router.get("/bankStatement", summary="List imported bank statements")
def list_statements(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_statements, service.STATEMENT_FILTERS, statement_out)


@router.get("/bankStatement/{statement_id}", summary="Retrieve an imported bank statement")
def get_statement(statement_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_statement, statement_id, "bankStatement", statement_out)


@router.get("/bankStatementLine", summary="List bank statement lines (status=unmatched: the agent's queue)")
def list_lines(c: Ctx = Depends(ctx)):
    return list_resources(c, service.list_lines, service.LINE_FILTERS, line_out)


@router.get("/bankStatementLine/{line_id}", summary="Retrieve a bank statement line")
def get_line(line_id: str, c: Ctx = Depends(ctx)):
    return get_resource(c, service.get_line, line_id, "bankStatementLine", line_out)


@router.post("/bankStatementLine/{line_id}/assign", summary="Record an unmatched line as a payment of a bill or account")
def assign_line(line_id: str, body: AssignIn, c: Ctx = Depends(ctx)):
    invoice_id, account_id = body.ids()
    with c.uow() as uow:
        line = service.assign_line(uow, path_id(line_id, "bankStatementLine"), invoice_id=invoice_id,
                                   account_id=account_id)
    return one_response(c.request, line_out(line, c.base_url))


@router.post("/bankStatementLine/{line_id}/dismiss", summary="Mark an unmatched line as not ours")
def dismiss_line(line_id: str, body: DismissIn, c: Ctx = Depends(ctx)):
    with c.uow() as uow:
        line = service.dismiss_line(uow, path_id(line_id, "bankStatementLine"), body.note)
    return one_response(c.request, line_out(line, c.base_url))
