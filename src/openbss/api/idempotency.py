"""`Idempotency-Key` on create endpoints: the key is stored with the response in the same transaction.

A retry with the same key and the same body gets the first response back (nothing is done twice); the
same key with a different body is a 409, because it is a client bug that would otherwise lose data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from openbss.api.deps import Ctx
from openbss.api.tables import idempotency_key
from openbss.api.tmf import created
from openbss.core.errors import Conflict, InvalidValue
from openbss.db.uow import UnitOfWork

MAX_KEY_LENGTH = 255


def create(ctx: Ctx, body: BaseModel, make: Callable[[UnitOfWork], dict[str, Any]]) -> JSONResponse:
    key = ctx.request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise InvalidValue("Idempotency-Key", key, f"must be 1 to {MAX_KEY_LENGTH} characters")
    request_hash = hashlib.sha256(
        f"{ctx.request.method} {ctx.request.url.path} {body.model_dump_json()}".encode()
    ).hexdigest()
    with ctx.uow() as uow:
        if key is not None:
            uow.advisory_lock("idempotency", f"{ctx.principal.name}:{key}")
            row = uow.conn.execute(
                sa.select(idempotency_key).where(
                    idempotency_key.c.principal == ctx.principal.name, idempotency_key.c.key == key
                )
            ).first()
            if row is not None:
                if row.request_hash != request_hash:
                    raise Conflict(f"Idempotency-Key={key!r} was already used with a different request")
                return JSONResponse(row.response, status_code=row.status, headers={"Idempotent-Replayed": "true"})
        item = make(uow)
        if key is not None:
            uow.conn.execute(
                sa.insert(idempotency_key).values(
                    principal=ctx.principal.name,
                    key=key,
                    created_at=uow.now(),
                    request_hash=request_hash,
                    status=201,
                    response=json.loads(json.dumps(item, default=str)),
                )
            )
    return created(item)
