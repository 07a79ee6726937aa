"""Hub listeners, the outbox sink and the delivery bookkeeping. Each function takes a UnitOfWork and never commits.

Emitting: a use case calls `uow.emit(ResourceEvent(...))`. Before the transaction commits, `write_outbox`
(installed as a before-commit hook) renders each event's TMF688 payload from the resource as it stands in
that transaction and writes one `outbox_event` row plus one `event_delivery` row per matching listener.
A rolled-back change therefore leaves no event, and a committed one cannot lose its event.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.audit import service as audit
from openbss.core.errors import Conflict, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork, on_before_commit
from openbss.events.model import Listener, Outcome, check_callback, check_secret, envelope, parse_query
from openbss.events.tables import event_delivery, hub_listener, outbox_event

# Workers LISTEN on this channel; the sink NOTIFYs it, and PostgreSQL delivers the notice only on commit.
CHANNEL = "openbss_outbox"


@dataclass(frozen=True)
class Resource:
    """How the sink reads and shapes one resource type: `get(uow, id)` and `shape(obj, base_url) -> TMF dict`."""

    get: Callable[[UnitOfWork, uuid.UUID], Any]
    shape: Callable[[Any, str], dict[str, Any]]


@dataclass
class _Sink:
    resources: dict[tuple[str, str], Resource]
    base_url: str | None = None


_sink = _Sink({})


def register_resource(api: str, resource_type: str, get: Callable[[UnitOfWork, uuid.UUID], Any],
                      shape: Callable[[Any, str], dict[str, Any]]) -> None:
    """Tell the sink how to render events about `resource_type` of `api` (the API layer does this at start-up)."""
    _sink.resources[(api, resource_type)] = Resource(get, shape)


def install_sink(base_url: str) -> None:
    """Write emitted events to the outbox from now on; hrefs in payloads start with `base_url`. Idempotent."""
    _sink.base_url = base_url.rstrip("/")
    on_before_commit(write_outbox)


def write_outbox(uow: UnitOfWork) -> None:
    """The transaction's events as outbox rows and their fan-out to matching listeners: two statements per
    commit, whatever the number of events (a bill run batch emits one per invoice)."""
    events = uow.take_events()
    if not events:
        return
    now = uow.now()
    rows = [_row(uow, event, now) for event in events]
    uow.conn.execute(sa.insert(outbox_event), rows)
    e = sa.func.unnest(
        sa.bindparam("ids", [r["id"] for r in rows], type_=ARRAY(outbox_event.c.id.type)),
        sa.bindparam("apis", [r["api"] for r in rows], type_=ARRAY(sa.Text)),
        sa.bindparam("types", [r["event_type"] for r in rows], type_=ARRAY(sa.Text)),
    ).table_valued("id", "api", "event_type").render_derived()
    at = sa.literal(now, event_delivery.c.created_at.type)
    matching = sa.select(e.c.id, hub_listener.c.id, at, sa.literal("pending"), sa.literal(0), at).join(
        hub_listener, sa.and_(hub_listener.c.api == e.c.api, sa.or_(
            hub_listener.c.event_types.is_(None), e.c.event_type == sa.any_(hub_listener.c.event_types))))
    uow.conn.execute(sa.insert(event_delivery).from_select(
        ["event_id", "listener_id", "created_at", "status", "attempts", "next_attempt_at"], matching
    ))
    uow.conn.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))


def _row(uow: UnitOfWork, event: ResourceEvent, now: datetime) -> dict[str, Any]:
    resource = _sink.resources.get((event.api, event.resource_type))
    if resource is None:
        raise LookupError(f"no resource {event.resource_type!r} of API {event.api!r} is registered with the "
                          f"events sink; cannot render {event.event_type} (see openbss.api.events)")
    current = event.last if event.last is not None else resource.get(uow, event.resource_id)
    event_id = new_id()
    payload = envelope(event, event_id, now.isoformat().replace("+00:00", "Z"),
                       resource.shape(current, _sink.base_url))
    return {"id": event_id, "created_at": now, "api": event.api, "resource_type": event.resource_type,
            "resource_id": event.resource_id, "event_type": event.event_type, "payload": payload}


# --- hub listeners -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewListener:
    api: str
    callback: str
    query: str | None = None
    secret: str | None = None  # None: one is generated (and shown once, in the registration's response)


def register_listener(uow: UnitOfWork, new: NewListener) -> Listener:
    listener = Listener(
        id=new_id(),
        api=new.api,
        callback=check_callback(new.callback),
        query=new.query.strip() if new.query and new.query.strip() else None,
        event_types=parse_query(new.query),
        secret=secrets.token_hex(32) if new.secret is None else check_secret(new.secret),
        created_at=uow.now(),
    )
    # ON CONFLICT instead of look-then-insert: two concurrent registrations of one callback cannot both win.
    inserted = uow.conn.execute(
        pg_insert(hub_listener)
        .values(id=listener.id, created_at=listener.created_at, api=listener.api, callback=listener.callback,
                query=listener.query, secret=listener.secret,
                event_types=None if listener.event_types is None else list(listener.event_types))
        .on_conflict_do_nothing(index_elements=["api", "callback"])
        .returning(hub_listener.c.id)
    ).first()
    if inserted is None:
        existing = uow.conn.execute(sa.select(hub_listener.c.id).where(
            hub_listener.c.api == listener.api, hub_listener.c.callback == listener.callback)).scalar_one()
        raise Conflict(f"callback={listener.callback!r} is already registered for {listener.api} events "
                       f"as listener {existing}; delete it first to change its query")
    audit.record(uow, "hubListener.created", "hubListener", listener.id, after=_image(listener))
    return listener


def get_listener(uow: UnitOfWork, api: str, listener_id: uuid.UUID) -> Listener:
    row = uow.conn.execute(
        sa.select(hub_listener).where(hub_listener.c.id == listener_id, hub_listener.c.api == api)
    ).first()
    if row is None:
        raise NotFound("hub listener", str(listener_id))
    r = row._mapping
    return Listener(id=r["id"], api=r["api"], callback=r["callback"], query=r["query"],
                    event_types=None if r["event_types"] is None else tuple(r["event_types"]),
                    secret=r["secret"], created_at=r["created_at"])


def delete_listener(uow: UnitOfWork, api: str, listener_id: uuid.UUID) -> None:
    """Unregister: deliveries still pending for this listener are dropped with it (ON DELETE CASCADE)."""
    listener = get_listener(uow, api, listener_id)
    uow.conn.execute(sa.delete(hub_listener).where(hub_listener.c.id == listener.id))
    audit.record(uow, "hubListener.deleted", "hubListener", listener.id, before=_image(listener))


def _image(listener: Listener) -> dict[str, Any]:
    # The secret never goes into the audit trail.
    return {"api": listener.api, "callback": listener.callback, "query": listener.query}


# --- deliveries (the worker's side) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DueDelivery:
    event_id: uuid.UUID
    listener_id: uuid.UUID
    attempts: int
    callback: str
    secret: str
    event_type: str
    payload: dict[str, Any]


def claim_due(uow: UnitOfWork, now: datetime) -> DueDelivery | None:
    """Lock the next delivery that is due. SKIP LOCKED lets any number of workers, on any number of machines,
    claim different deliveries; the row stays locked until the caller's transaction records the outcome."""
    row = uow.conn.execute(
        sa.select(event_delivery.c.event_id, event_delivery.c.listener_id, event_delivery.c.attempts,
                  hub_listener.c.callback, hub_listener.c.secret, outbox_event.c.event_type, outbox_event.c.payload)
        .join(hub_listener, hub_listener.c.id == event_delivery.c.listener_id)
        .join(outbox_event, outbox_event.c.id == event_delivery.c.event_id)
        .where(event_delivery.c.status == "pending", event_delivery.c.next_attempt_at <= now)
        .order_by(event_delivery.c.next_attempt_at)
        .limit(1)
        .with_for_update(of=event_delivery, skip_locked=True)
    ).first()
    return None if row is None else DueDelivery(**row._mapping)


def record_outcome(uow: UnitOfWork, delivery: DueDelivery, result: Outcome) -> None:
    uow.conn.execute(
        sa.update(event_delivery)
        .where(event_delivery.c.event_id == delivery.event_id, event_delivery.c.listener_id == delivery.listener_id)
        .values(status=result.status, attempts=result.attempts, next_attempt_at=result.next_attempt_at,
                last_attempt_at=uow.now(), last_error=result.error,
                delivered_at=uow.now() if result.status == "delivered" else None)
    )


def redact_history(uow: UnitOfWork, resource_ids: Iterable[uuid.UUID]) -> int:
    """Strip the representations from the stored notifications about these resources (GDPR erasure): the
    outbox would otherwise keep, and might still deliver, the personal data just erased. What stays is the
    event's identity (eventId, eventTime, eventType); returns how many notifications were redacted."""
    ids = list(resource_ids)
    if not ids:
        return 0
    payload = outbox_event.c.payload
    return uow.conn.execute(
        sa.update(outbox_event)
        .where(outbox_event.c.resource_id.in_(ids))
        .values(payload=sa.func.json_build_object(
            "eventId", payload["eventId"], "eventTime", payload["eventTime"], "eventType", payload["eventType"],
            "redacted", True))
    ).rowcount
