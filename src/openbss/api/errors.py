"""The one place domain errors become TM Forum Error JSON (TMF630: code, reason, message, status)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openbss.core.errors import DomainError, NotFound


def tmf_error(status: int, code: str, reason: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"@type": "Error", "code": code, "reason": reason, "message": message, "status": str(status)},
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "body"
        if err.get("type") == "json_invalid":
            parts.append(f"request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})")
        elif err.get("type") == "missing":
            parts.append(f"{field} is required")
        else:
            parts.append(f"{field}={err.get('input')!r}: {err.get('msg')}")
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        # A reference inside a request body that points nowhere is a functional error (422); an
        # unknown resource in the path is a plain 404.
        if isinstance(exc, NotFound) and exc.field is not None:
            return tmf_error(422, "INVALID_REFERENCE", "Referenced resource not found", exc.message)
        return tmf_error(exc.status, exc.code, exc.reason, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return tmf_error(400, "INVALID_BODY", "Invalid request", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return tmf_error(exc.status_code, "HTTP_ERROR", str(exc.detail), str(exc.detail))
