"""Write audit records. Every mutating use case calls `record` before it returns."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.core.ids import new_id
from openbss.db.bulk import copy_rows
from openbss.db.uow import UnitOfWork


def _jsonable(image: Mapping[str, Any] | None) -> Any:
    if image is None:
        return None
    return json.loads(json.dumps(dict(image), default=str))


def record(
    uow: UnitOfWork,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    uow.conn.execute(
        sa.insert(audit_record).values(
            id=new_id(),
            created_at=uow.now(),
            actor=uow.actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=_jsonable(before),
            after=_jsonable(after),
        )
    )


def record_many(
    uow: UnitOfWork, action: str, entity_type: str, afters: Iterable[tuple[uuid.UUID, Mapping[str, Any]]]
) -> None:
    """`record` for many (entity id, after-image) pairs of one kind at once, in one COPY: a bill run batch."""
    now = uow.now()
    copy_rows(uow, audit_record, [
        {"id": new_id(), "created_at": now, "actor": uow.actor, "action": action, "entity_type": entity_type,
         "entity_id": entity_id, "before": None, "after": json.dumps(dict(after), default=str)}
        for entity_id, after in afters
    ])


def trail(uow: UnitOfWork, entity_id: uuid.UUID) -> list[dict]:
    rows = uow.conn.execute(
        sa.select(audit_record).where(audit_record.c.entity_id == entity_id).order_by(audit_record.c.id)
    )
    return [dict(r._mapping) for r in rows]
