"""Use cases for TMF670 payment methods: add, read, change, remove; the account's preferred (default) one.
Never commits."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.party import service as party
from openbss.payments import gateways
from openbss.payments.methods import ACTIVE, INACTIVE, PaymentMethod, check_details
from openbss.payments.tables import payment, payment_method

METHOD_API = "paymentMethods"
METHOD_FILTERS = ("accountId", "@type", "status", "isPreferred")


@dataclass(frozen=True)
class NewMethod:
    account_id: uuid.UUID
    kind: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)
    is_preferred: bool = False
    description: str | None = None
    gateway: str | None = None


def create_method(uow: UnitOfWork, new: NewMethod) -> PaymentMethod:
    """Store a payment method of the account; `is_preferred` makes it the account's default (the old one stops
    being it). A card names the gateway holding its token; a direct debit mandate uses the "sepa" gateway."""
    account = party.get_billing_account(uow, new.account_id, field="account.id")
    if not new.name.strip():
        raise InvalidValue("name", new.name, "must not be empty")
    details = check_details(new.kind, new.details, uow.now().date())
    gateway = new.gateway
    if new.kind == "tokenizedCard":
        gateways.get(gateway or "")  # refuses an unknown gateway, naming the registered ones
    elif new.kind == "directDebit":
        gateway = "sepa"
    elif gateway is not None:
        raise InvalidValue("gateway", gateway, f"applies to tokenizedCard methods only, not {new.kind}")
    uow.advisory_lock("account", account.id)
    if new.kind == "directDebit" and uow.conn.execute(
            sa.select(payment_method.c.id).where(payment_method.c.mandate_id == details["mandateId"])).first():
        raise Conflict(f"mandateId={details['mandateId']!r} is already registered")
    if new.is_preferred:
        _unprefer(uow, account.id)
    now = uow.now()
    m = PaymentMethod(id=new_id(), account_id=account.id, kind=new.kind, name=new.name, is_preferred=new.is_preferred,
                      status=ACTIVE, status_date=now, created_at=now, details=details, description=new.description,
                      gateway=gateway)
    uow.conn.execute(sa.insert(payment_method).values(**_row(m)))
    audit.record(uow, "paymentMethod.created", "paymentMethod", m.id, after=_audit(m))
    uow.emit(ResourceEvent.created(METHOD_API, "paymentMethod", m.id))
    return m


def update_method(uow: UnitOfWork, method_id: uuid.UUID, changes: dict[str, Any]) -> PaymentMethod:
    """Change name, description, isPreferred, status (active/inactive) and statusReason; the kind and its details
    are what was authorized (a new card or mandate is a new method)."""
    before = _locked(uow, method_id)
    allowed = {"name", "description", "is_preferred", "status", "status_reason"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidValue(sorted(unknown)[0], changes[sorted(unknown)[0]],
                           "cannot be changed: add a new payment method instead")
    if "status" in changes and changes["status"] not in (ACTIVE, INACTIVE):
        raise InvalidValue("status", changes["status"], "must be active or inactive")
    after = replace(before, **changes)
    if after.status != before.status:
        after = replace(after, status_date=uow.now())
    if after.status == INACTIVE and after.is_preferred:
        after = replace(after, is_preferred=False)  # an unusable method cannot be the default
    if after.is_preferred and not before.is_preferred:
        _unprefer(uow, after.account_id)
    uow.conn.execute(sa.update(payment_method).where(payment_method.c.id == method_id).values(**_row(after)))
    audit.record(uow, "paymentMethod.changed", "paymentMethod", method_id, before=_audit(before), after=_audit(after))
    event = ResourceEvent.state_changed if after.status != before.status else ResourceEvent.attribute_changed
    uow.emit(event(METHOD_API, "paymentMethod", method_id))
    return after


def delete_method(uow: UnitOfWork, method_id: uuid.UUID) -> None:
    before = _locked(uow, method_id)
    if uow.conn.execute(sa.select(payment.c.id).where(payment.c.payment_method_id == method_id).limit(1)).first():
        raise Conflict(f"payment method {method_id} has paid: payments keep naming it; set its status inactive")
    uow.conn.execute(sa.delete(payment_method).where(payment_method.c.id == method_id))
    audit.record(uow, "paymentMethod.deleted", "paymentMethod", method_id, before=_audit(before))
    uow.emit(ResourceEvent.deleted(METHOD_API, "paymentMethod", method_id, last=before))


def get_method(uow: UnitOfWork, method_id: uuid.UUID, field: str | None = None) -> PaymentMethod:
    row = uow.conn.execute(sa.select(payment_method).where(payment_method.c.id == method_id)).first()
    if row is None:
        raise NotFound("paymentMethod", str(method_id), field=field)
    return _method(row)


def list_methods(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[PaymentMethod], int]:
    conditions = []
    if "accountId" in filters:
        conditions.append(payment_method.c.account_id == parse_id(filters["accountId"], "accountId"))
    if "@type" in filters:
        conditions.append(payment_method.c.type == filters["@type"])
    if "status" in filters:
        conditions.append(payment_method.c.status == filters["status"])
    if "isPreferred" in filters:
        conditions.append(payment_method.c.is_preferred.is_(filters["isPreferred"] == "true"))
    rows, total = paged(uow.conn, sa.select(payment_method).where(*conditions), offset, limit, payment_method.c.id)
    return [_method(r) for r in rows], total


def preferred_methods(uow: UnitOfWork, kind: str | None = None) -> dict[uuid.UUID, PaymentMethod]:
    """Each account's active default method (of `kind`, when given), by account."""
    stmt = sa.select(payment_method).where(payment_method.c.is_preferred, payment_method.c.status == ACTIVE)
    if kind is not None:
        stmt = stmt.where(payment_method.c.type == kind)
    return {m.account_id: m for m in map(_method, uow.conn.execute(stmt))}


def deactivate(uow: UnitOfWork, method_id: uuid.UUID, reason: str) -> PaymentMethod:
    """Stop using a method (a revoked mandate, a closed account); it stays as the record of what paid."""
    return update_method(uow, method_id, {"status": INACTIVE, "status_reason": reason})


def _locked(uow: UnitOfWork, method_id: uuid.UUID) -> PaymentMethod:
    m = get_method(uow, method_id)
    uow.advisory_lock("account", m.account_id)
    return _method(uow.conn.execute(
        sa.select(payment_method).where(payment_method.c.id == method_id).with_for_update()).one())


def _unprefer(uow: UnitOfWork, account_id: uuid.UUID) -> None:
    uow.conn.execute(sa.update(payment_method).where(payment_method.c.account_id == account_id,
                                                     payment_method.c.is_preferred).values(is_preferred=False))


def _row(m: PaymentMethod) -> dict[str, Any]:
    return {"id": m.id, "created_at": m.created_at, "account_id": m.account_id, "type": m.kind, "name": m.name,
            "description": m.description, "is_preferred": m.is_preferred, "status": m.status,
            "status_reason": m.status_reason, "status_date": m.status_date, "mandate_id": m.mandate_id,
            "gateway": m.gateway, "details": m.details}


def _audit(m: PaymentMethod) -> dict[str, Any]:
    # The token is the gateway's secret handle on the card: it stays out of the audit trail.
    out = asdict(m)
    out["details"] = {k: v for k, v in m.details.items() if k != "token"}
    return out


def _method(row: sa.Row) -> PaymentMethod:
    return PaymentMethod(id=row.id, account_id=row.account_id, kind=row.type, name=row.name,
                         is_preferred=row.is_preferred, status=row.status, status_date=row.status_date,
                         created_at=row.created_at, details=dict(row.details), description=row.description,
                         status_reason=row.status_reason, gateway=row.gateway)
