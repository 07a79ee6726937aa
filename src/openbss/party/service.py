"""Use cases for parties, customers and accounts. Each takes a UnitOfWork and never commits.

Updates take `changes`: a mapping of the model's field names to new values (what a merge-patch sets); the
service applies them, checks the whole resulting object and writes it, so a PATCH is held to the same rules
as a create.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing.cycle_change import check_cycle_change
from openbss.billing.periods import cycle_of
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.numbering import next_number
from openbss.db.query import among, paged
from openbss.db.uow import UnitOfWork
from openbss.events import service as events
from openbss.ledger import service as ledger
from openbss.party.model import (
    DEFAULT_PAYMENT_TERMS_DAYS,
    BillingAccount,
    Customer,
    Party,
    PartyRef,
    check_account,
    check_birth_date,
    check_characteristics,
    check_contact_media,
    check_customer_status,
    check_name,
    check_parent,
    check_party_kind,
    check_party_status,
    check_time_zone,
    check_vat_id,
    erased_characteristics,
    erased_media,
    pseudonym,
)
from openbss.party.tables import account_document, billing_account, customer, party

# The APIs' base-path names, as TMF688 events name them (TMF632, TMF629, TMF666).
PARTY_API = "party"
CUSTOMER_API = "customerManagement"
ACCOUNT_API = "accountManagement"

PARTY_FILTERS = {
    "id": party.c.id, "status": party.c.status, "givenName": party.c.given_name,
    "familyName": party.c.family_name, "fullName": party.c.full_name, "name": party.c.name,
    "tradingName": party.c.trading_name, "organizationType": party.c.organization_type,
}
CUSTOMER_FILTERS = {"id": customer.c.id, "name": customer.c.name, "status": customer.c.status,
                    "segment": customer.c.segment}
ACCOUNT_FILTERS = {
    "id": billing_account.c.id,
    "name": billing_account.c.name,
    "state": billing_account.c.state,
    "currency": billing_account.c.currency,
    "number": billing_account.c.number,
    "customerId": billing_account.c.customer_id,
    "parentId": billing_account.c.parent_id,
}
DOCUMENT_FILTERS = {"id": account_document.c.id, "name": account_document.c.name}
# Filter values arrive as text; these columns hold ids.
_ID_FILTERS = {"id", "customerId", "parentId"}

# Fields of personal data: never copied into the (immutable) audit trail, so an erasure leaves none behind.
# The trail records who changed which of them, and when.
PERSONAL_FIELDS = frozenset({
    "given_name", "family_name", "middle_name", "full_name", "title", "birth_date", "name", "trading_name",
    "contact_medium", "characteristic", "external_reference", "attributes", "customer_name", "party",
    "related_party", "email", "vat_id",
})


def _conditions(columns: Mapping[str, sa.ColumnElement], filters: Mapping[str, str]) -> list:
    return [columns[k] == (parse_id(v, k) if k in _ID_FILTERS else v) for k, v in filters.items()]


def _image(obj: Any) -> dict[str, Any]:
    values = asdict(obj) if dataclasses.is_dataclass(obj) else dict(obj)
    return {k: v for k, v in values.items() if k not in PERSONAL_FIELDS}


def _changed(before: Any, after: Any) -> list[str]:
    """The fields an update changed (the timestamp it always sets aside)."""
    return sorted(f.name for f in dataclasses.fields(before)
                  if f.name != "updated_at" and getattr(before, f.name) != getattr(after, f.name))


def _audit(uow: UnitOfWork, action: str, kind: str, entity_id: uuid.UUID, before: Any = None, after: Any = None):
    changed = None if before is None or after is None else _changed(before, after)
    after_image = None if after is None else {**_image(after), **({"changed": changed} if changed else {})}
    audit.record(uow, action, kind, entity_id, before=None if before is None else _image(before), after=after_image)


def _emit_update(uow: UnitOfWork, api: str, resource_type: str, before: Any, after: Any, state: str) -> None:
    """A state change event when the `state` field moved, else an attribute change; nothing for an update that
    changed nothing (listeners would re-read an unchanged resource)."""
    changed = _changed(before, after)
    if changed:
        event = ResourceEvent.state_changed if state in changed else ResourceEvent.attribute_changed
        uow.emit(event(api, resource_type, after.id))


def _apply(current: Any, changes: Mapping[str, Any], uow: UnitOfWork) -> Any:
    unknown = set(changes) - {f.name for f in dataclasses.fields(current)}
    if unknown:  # a programming error in a caller, not bad client input
        raise TypeError(f"unknown fields {sorted(unknown)}")
    return replace(current, **changes, updated_at=uow.now())


# ---- parties (TMF632) ----------------------------------------------------------------------------------------

def _check_party(p: Party, uow: UnitOfWork) -> Party:
    check_party_kind(p.kind, "@type")
    check_party_status(p.kind, p.status)
    check_birth_date(p.birth_date, uow.now().date())
    check_contact_media(p.contact_medium)
    check_characteristics(p.characteristic, "partyCharacteristic")
    if not p.display_name.strip():
        required = "tradingName" if p.kind == "Organization" else "givenName and familyName, or fullName"
        raise InvalidValue(required, None, f"an {p.kind} needs a name")
    return p


def create_party(uow: UnitOfWork, kind: str, values: Mapping[str, Any]) -> Party:
    """`values`: Party fields other than id, kind and timestamps."""
    now = uow.now()
    p = _check_party(Party(id=new_id(), kind=check_party_kind(kind, "@type"),
                           **{"status": "initialized", **values}, created_at=now, updated_at=now), uow)
    uow.conn.execute(sa.insert(party).values(**asdict(p)))
    _audit(uow, f"{p.kind.lower()}.created", p.kind.lower(), p.id, after=p)
    uow.emit(ResourceEvent.created(PARTY_API, p.kind.lower(), p.id))
    return p


def get_party(uow: UnitOfWork, party_id: uuid.UUID, kind: str | None = None, *, field: str | None = None,
              lock: bool = False) -> Party:
    stmt = sa.select(party).where(party.c.id == party_id)
    row = uow.conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound((kind or "party").lower(), str(party_id), field)
    return Party(**row._mapping)


def list_parties(uow: UnitOfWork, kind: str, filters: dict[str, str], offset: int, limit: int):
    stmt = sa.select(party).where(party.c.kind == kind, *_conditions(PARTY_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, party.c.id)
    return [Party(**r._mapping) for r in rows], total


def update_party(uow: UnitOfWork, party_id: uuid.UUID, kind: str, changes: Mapping[str, Any]) -> Party:
    before = get_party(uow, party_id, kind, lock=True)
    if before.erased_at is not None:
        raise Conflict(f"{kind.lower()} {party_id} was erased on {before.erased_at.date()}; it cannot be changed")
    after = _check_party(_apply(before, changes, uow), uow)
    uow.conn.execute(sa.update(party).where(party.c.id == party_id).values(**asdict(after)))
    _audit(uow, f"{kind.lower()}.updated", kind.lower(), party_id, before, after)
    _emit_update(uow, PARTY_API, kind.lower(), before, after, "status")
    return after


def delete_party(uow: UnitOfWork, party_id: uuid.UUID, kind: str) -> None:
    before = get_party(uow, party_id, kind, lock=True)
    roles = uow.conn.execute(sa.select(customer.c.id).where(customer.c.party_id == party_id)
                             .order_by(customer.c.id)).scalars().all()
    if roles:
        raise Conflict(f"{kind.lower()} {party_id} is the engaged party of customer(s) "
                       f"{', '.join(map(str, roles))}; delete those first")
    uow.conn.execute(sa.delete(party).where(party.c.id == party_id))
    _audit(uow, f"{kind.lower()}.deleted", kind.lower(), party_id, before=before)
    uow.emit(ResourceEvent.deleted(PARTY_API, kind.lower(), party_id, last=before))


def resolve_party(uow: UnitOfWork, ident: str, referred_type: str, field: str) -> PartyRef:
    """A party reference in a request. openbss's parties have UUID ids, so a UUID must name one held here (of the
    referred type); any other id names a party in another party register and is kept as given."""
    check_party_kind(referred_type, f"{field}.@referredType")
    try:
        party_id = uuid.UUID(ident)
    except ValueError:
        return PartyRef(id=ident, referred_type=referred_type)
    p = get_party(uow, party_id, field=f"{field}.id")
    if p.kind != referred_type:
        raise InvalidValue(f"{field}.@referredType", referred_type, f"but party {party_id} is an {p.kind}")
    return PartyRef(id=str(p.id), referred_type=p.kind, name=p.display_name, local=True)


# ---- customers (TMF629) --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str | None = None
    status: str = "active"
    party: PartyRef | None = None  # None: an individual of the customer's name is created as the engaged party
    status_reason: str | None = None
    segment: str | None = None
    contact_medium: list[dict[str, Any]] = field(default_factory=list)
    characteristic: list[dict[str, Any]] = field(default_factory=list)
    related_party: list[dict[str, Any]] = field(default_factory=list)
    valid_from: datetime | None = None  # None: from now
    valid_to: datetime | None = None


_PARTY_NAME = sa.case(
    (party.c.kind == "Organization", sa.func.coalesce(party.c.trading_name, party.c.name)),
    else_=sa.func.coalesce(party.c.full_name, sa.func.concat_ws(" ", party.c.given_name, party.c.family_name)),
)
_CUSTOMER_ROW = sa.select(customer, party.c.kind.label("party_kind"), _PARTY_NAME.label("party_name")).outerjoin(
    party, party.c.id == customer.c.party_id
)
_CUSTOMER_COLUMNS = [c.name for c in customer.columns if c.name not in ("party_id", "party_ref")]


def _customer(row: sa.Row) -> Customer:
    m = row._mapping
    if m["party_id"] is not None:
        ref = PartyRef(id=str(m["party_id"]), referred_type=m["party_kind"], name=m["party_name"], local=True)
    else:
        ref = PartyRef(**m["party_ref"])
    return Customer(**{k: m[k] for k in _CUSTOMER_COLUMNS}, party=ref)


def _customer_row(c: Customer) -> dict[str, Any]:
    row = {k: getattr(c, k) for k in _CUSTOMER_COLUMNS}
    local = c.party is not None and c.party.local
    row["party_id"] = uuid.UUID(c.party.id) if local else None
    row["party_ref"] = None if local else asdict(c.party)
    return row


def _check_customer(c: Customer) -> Customer:
    check_name(c.name)
    check_customer_status(c.status)
    check_contact_media(c.contact_medium)
    check_characteristics(c.characteristic, "characteristic")
    if c.valid_to is not None and c.valid_from is not None and c.valid_to < c.valid_from:
        raise InvalidValue("validFor.endDateTime", c.valid_to.isoformat(), "is before validFor.startDateTime")
    return c


def create_customer(uow: UnitOfWork, new: NewCustomer) -> Customer:
    media = list(new.contact_medium)
    if new.email is not None:
        media.append({"mediumType": "email", "characteristic": {"emailAddress": new.email}})
    name = check_name(new.name)
    ref = new.party
    if ref is None:
        # Callers that only know a name (the demo, older API clients) still get a real party behind the role.
        individual = create_party(uow, "Individual", {"full_name": name})
        ref = PartyRef(id=str(individual.id), referred_type="Individual", name=individual.display_name, local=True)
    now = uow.now()
    c = _check_customer(Customer(
        id=new_id(), name=name, status=new.status,
        created_at=now, updated_at=now, party=ref, status_reason=new.status_reason, segment=new.segment,
        contact_medium=media, characteristic=list(new.characteristic), related_party=list(new.related_party),
        valid_from=new.valid_from or now, valid_to=new.valid_to,
    ))
    uow.conn.execute(sa.insert(customer).values(**_customer_row(c)))
    _audit(uow, "customer.created", "customer", c.id, after=c)
    uow.emit(ResourceEvent.created(CUSTOMER_API, "customer", c.id))
    return c


def get_customer(uow: UnitOfWork, customer_id: uuid.UUID, *, field: str | None = None) -> Customer:
    row = uow.conn.execute(_CUSTOMER_ROW.where(customer.c.id == customer_id)).first()
    if row is None:
        raise NotFound("customer", str(customer_id), field)
    return _customer(row)


def customer_segments(uow: UnitOfWork, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The segment of many customers in one query (a bill run batch reads it for loyalty discounts)."""
    rows = uow.conn.execute(sa.select(customer.c.id, customer.c.segment).where(customer.c.id.in_(set(customer_ids))))
    return {r.id: r.segment for r in rows}


def list_customers(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int) -> tuple[list[Customer], int]:
    rows, total = paged(uow.conn, _CUSTOMER_ROW.where(*_conditions(CUSTOMER_FILTERS, filters)), offset, limit,
                        customer.c.id)
    return [_customer(r) for r in rows], total


def update_customer(uow: UnitOfWork, customer_id: uuid.UUID, changes: Mapping[str, Any]) -> Customer:
    uow.conn.execute(sa.select(customer.c.id).where(customer.c.id == customer_id).with_for_update())
    before = get_customer(uow, customer_id)
    after = _check_customer(_apply(before, changes, uow))
    uow.conn.execute(sa.update(customer).where(customer.c.id == customer_id).values(**_customer_row(after)))
    _audit(uow, "customer.updated", "customer", customer_id, before, after)
    _emit_update(uow, CUSTOMER_API, "customer", before, after, "status")
    return get_customer(uow, customer_id)


def delete_customer(uow: UnitOfWork, customer_id: uuid.UUID) -> None:
    before = get_customer(uow, customer_id)
    accounts = uow.conn.execute(sa.select(billing_account.c.number).where(billing_account.c.customer_id == customer_id)
                                .order_by(billing_account.c.number)).scalars().all()
    if accounts:
        raise Conflict(f"customer {customer_id} has billing account(s) {', '.join(accounts)}; "
                       "close and reassign them, or keep the customer")
    uow.conn.execute(sa.delete(customer).where(customer.c.id == customer_id))
    _audit(uow, "customer.deleted", "customer", customer_id, before=before)
    uow.emit(ResourceEvent.deleted(CUSTOMER_API, "customer", customer_id, last=before))


# ---- billing accounts (TMF666) -------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewBillingAccount:
    customer_id: uuid.UUID | None
    name: str
    currency: str | None = None
    country: str | None = None
    bill_cycle_day: int = 1
    time_zone: str = "UTC"
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    credit_limit: Money | None = None
    vat_id: str | None = None
    tax_exemption: list[dict[str, Any]] = field(default_factory=list)
    parent_id: uuid.UUID | None = None
    bill_to_parent: bool = False
    related_party: list[dict[str, Any]] = field(default_factory=list)  # owners held elsewhere, contacts...
    description: str | None = None
    bill_frequency: str = "month"
    cycle_alignment: str = "calendar"
    cycle_anchor: date | None = None  # None: the month the account is created in (its zone's)
    grace_days: int = 0


# An account row joined with its customer's name.
_ACCOUNT_ROW = sa.select(billing_account, customer.c.name.label("customer_name")).outerjoin(
    customer, customer.c.id == billing_account.c.customer_id
)
_ACCOUNT_COLUMNS = [c.name for c in billing_account.columns]


def _account(row: sa.Row) -> BillingAccount:
    m = dict(row._mapping)
    if m["credit_limit"] is not None:
        m["credit_limit"] = Money(m["credit_limit"].normalize(), m["currency"])
    return BillingAccount(**m)


def _account_row(a: BillingAccount) -> dict[str, Any]:
    row = {k: getattr(a, k) for k in _ACCOUNT_COLUMNS}
    row["credit_limit"] = None if a.credit_limit is None else a.credit_limit.amount
    return row


def _lock_hierarchy(uow: UnitOfWork) -> None:
    # Two concurrent re-parentings (A under B, B under A) could each pass the cycle check alone; hierarchy changes
    # are rare, so they are serialized on one lock.
    uow.advisory_lock("account_hierarchy", 0)


def _ancestors(uow: UnitOfWork, account_id: uuid.UUID) -> list[BillingAccount]:
    """The chain above an account, nearest first (stops if the stored chain ever loops)."""
    chain: list[BillingAccount] = []
    current = get_billing_account(uow, account_id)
    while current.parent_id is not None and all(a.id != current.parent_id for a in chain):
        current = get_billing_account(uow, current.parent_id)
        chain.append(current)
    return chain


def _check_hierarchy(uow: UnitOfWork, account: BillingAccount) -> None:
    if account.parent_id is None:
        return
    parent = get_billing_account(uow, account.parent_id, field="accountRelationship.account.id")
    check_parent(account, parent, _ancestors(uow, parent.id))


def _month_of(at: datetime, time_zone: str) -> date:
    return at.astimezone(ZoneInfo(check_time_zone(time_zone))).date().replace(day=1)


def create_billing_account(uow: UnitOfWork, new: NewBillingAccount) -> BillingAccount:
    owner = get_customer(uow, new.customer_id, field="relatedParty.id") if new.customer_id is not None else None
    now = uow.now()
    anchor = new.cycle_anchor if new.cycle_anchor is not None else _month_of(now, new.time_zone)
    account = check_account(BillingAccount(
        id=new_id(), number="", name=check_name(new.name), customer_id=new.customer_id,
        currency=new.currency, country=new.country, bill_cycle_day=new.bill_cycle_day, time_zone=new.time_zone,
        state="active" if new.currency and new.country else "pending", created_at=now, updated_at=now,
        customer_name=None if owner is None else owner.name, payment_terms_days=new.payment_terms_days,
        credit_limit=new.credit_limit, vat_id=check_vat_id(new.vat_id), tax_exemption=list(new.tax_exemption),
        parent_id=new.parent_id, parent_since=now if new.parent_id else None, bill_to_parent=new.bill_to_parent,
        related_party=list(new.related_party), description=new.description, bill_frequency=new.bill_frequency,
        cycle_alignment=new.cycle_alignment, cycle_anchor=anchor, grace_days=new.grace_days,
    ))
    if account.parent_id is not None:
        _lock_hierarchy(uow)
        _check_hierarchy(uow, account)
    # The number is taken last, so a refused account never consumes one.
    account = replace(account, number=f"ACC-{next_number(uow, 'account'):06d}")
    uow.conn.execute(sa.insert(billing_account).values(**_account_row(account)))
    _audit(uow, "billingAccount.created", "billingAccount", account.id, after=account)
    uow.emit(ResourceEvent.created(ACCOUNT_API, "billingAccount", account.id))
    _emit_relatives(uow, {account.parent_id})
    return account


def get_billing_account(uow: UnitOfWork, account_id: uuid.UUID, *, field: str | None = None) -> BillingAccount:
    row = uow.conn.execute(_ACCOUNT_ROW.where(billing_account.c.id == account_id)).first()
    if row is None:
        raise NotFound("billingAccount", str(account_id), field)
    return _account(row)


def billing_accounts(uow: UnitOfWork, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, BillingAccount]:
    """Many accounts by id, in one query."""
    rows = uow.conn.execute(_ACCOUNT_ROW.where(among(billing_account.c.id, set(account_ids))))
    return {r.id: _account(r) for r in rows}


def list_billing_accounts(
    uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
) -> tuple[list[BillingAccount], int]:
    stmt = _ACCOUNT_ROW.where(*_conditions(ACCOUNT_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, billing_account.c.id)
    return [_account(r) for r in rows], total


@dataclass(frozen=True)
class BillingAccountView:
    """A billing account as TMF666 shows it: with its receivable balance, which the ledger keeps (None: nothing
    posted yet), and its place in a hierarchy."""

    account: BillingAccount
    receivable: Money | None
    parent: BillingAccount | None
    children: tuple[BillingAccount, ...]


def billing_account_views(uow: UnitOfWork, accounts: list[BillingAccount]) -> list[BillingAccountView]:
    """Views of many accounts in three queries (balances, children, parents), in the order given."""
    balances = ledger.ar_balances(uow, [a.id for a in accounts])
    children = accounts_children(uow, [a.id for a in accounts])
    parents = billing_accounts(uow, [a.parent_id for a in accounts if a.parent_id])
    return [BillingAccountView(a, balances.get(a.id), parents.get(a.parent_id), tuple(children.get(a.id, ())))
            for a in accounts]


def _emit_relatives(uow: UnitOfWork, parent_ids: set[uuid.UUID | None]) -> None:
    """A parent shows its children (accountRelationship): gaining or losing one changes it too."""
    for parent_id in sorted(p for p in parent_ids if p is not None):
        uow.emit(ResourceEvent.attribute_changed(ACCOUNT_API, "billingAccount", parent_id))


def get_billing_account_view(uow: UnitOfWork, account_id: uuid.UUID) -> BillingAccountView:
    return billing_account_views(uow, [get_billing_account(uow, account_id)])[0]


# Once an account is billed, these would move or re-denominate periods already invoiced.
_FIXED_ONCE_ACTIVE = {"currency": "currency", "bill_cycle_day": "billCycleDay", "time_zone": "timeZone"}


def update_billing_account(uow: UnitOfWork, account_id: uuid.UUID, changes: Mapping[str, Any]) -> BillingAccount:
    uow.conn.execute(sa.select(billing_account.c.id).where(billing_account.c.id == account_id).with_for_update())
    before = get_billing_account(uow, account_id)
    if before.state != "pending":
        for name, api_name in _FIXED_ONCE_ACTIVE.items():
            if name in changes and changes[name] != getattr(before, name):
                raise Conflict(f"{api_name} of billing account {before.number} cannot change: it is {before.state} "
                               "(only a pending account's may)")
    if "vat_id" in changes:
        changes = {**changes, "vat_id": check_vat_id(changes["vat_id"])}
    if "customer_id" in changes and changes["customer_id"] != before.customer_id:
        owner = None if changes["customer_id"] is None else get_customer(uow, changes["customer_id"],
                                                                          field="relatedParty.id")
        changes = {**changes, "customer_name": None if owner is None else owner.name}
    if "parent_id" in changes and changes["parent_id"] != before.parent_id:
        changes = {**changes, "parent_since": uow.now() if changes["parent_id"] else None}
    after = check_account(_apply(before, changes, uow))
    if before.state != "pending":
        # A new frequency or alignment starts where the invoiced periods end (billing.cycle_change).
        check_cycle_change(uow, before.id, before.number, cycle_of(before), cycle_of(after))
    if after.parent_id is not None and (after.parent_id != before.parent_id or after.bill_to_parent):
        _lock_hierarchy(uow)
        _check_hierarchy(uow, after)
    uow.conn.execute(sa.update(billing_account).where(billing_account.c.id == account_id)
                     .values(**_account_row(after)))
    _audit(uow, "billingAccount.updated", "billingAccount", account_id, before, after)
    _emit_update(uow, ACCOUNT_API, "billingAccount", before, after, "state")
    if after.parent_id != before.parent_id:
        _emit_relatives(uow, {before.parent_id, after.parent_id})
    return after


def delete_billing_account(uow: UnitOfWork, account_id: uuid.UUID) -> None:
    before = get_billing_account(uow, account_id)
    if before.state != "pending":
        raise Conflict(f"billing account {before.number} is {before.state}: an account that could be billed keeps "
                       "its history; set its state to closed instead")
    children = account_children(uow, account_id)
    if children:
        raise Conflict(f"billing account {before.number} is the parent of {', '.join(c.number for c in children)}")
    last = billing_account_views(uow, [before])[0]
    uow.conn.execute(sa.delete(billing_account).where(billing_account.c.id == account_id))
    _audit(uow, "billingAccount.deleted", "billingAccount", account_id, before=before)
    uow.emit(ResourceEvent.deleted(ACCOUNT_API, "billingAccount", account_id, last=last))
    _emit_relatives(uow, {before.parent_id})


def account_children(uow: UnitOfWork, account_id: uuid.UUID) -> list[BillingAccount]:
    """The accounts directly below one, in creation order."""
    rows = uow.conn.execute(_ACCOUNT_ROW.where(billing_account.c.parent_id == account_id).order_by(billing_account.c.id))
    return [_account(r) for r in rows]


def accounts_children(uow: UnitOfWork, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[BillingAccount]]:
    """Children of many accounts in one query (lists of accounts show their relationships)."""
    rows = uow.conn.execute(_ACCOUNT_ROW.where(billing_account.c.parent_id.in_(set(account_ids)))
                            .order_by(billing_account.c.id))
    result: dict[uuid.UUID, list[BillingAccount]] = {}
    for r in rows:
        result.setdefault(r.parent_id, []).append(_account(r))
    return result


def invoice_account_for(uow: UnitOfWork, account_id: uuid.UUID) -> uuid.UUID:
    """The account whose invoice carries this account's charges: up the "parent pays" links to the first account
    that pays its own bills."""
    account = get_billing_account(uow, account_id)
    seen = {account.id}
    while account.bill_to_parent and account.parent_id not in seen:
        account = get_billing_account(uow, account.parent_id)
        seen.add(account.id)
    return account.id


def account_currencies(uow: UnitOfWork, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The billing currency of each account, in one query (bulk usage rating)."""
    rows = uow.conn.execute(
        sa.select(billing_account.c.id, billing_account.c.currency).where(among(billing_account.c.id, set(account_ids)))
    )
    return {r.id: r.currency for r in rows}


def active_billing_account_ids(uow: UnitOfWork) -> list[uuid.UUID]:
    """Every account a bill run visits, in id order (the order locks are taken in)."""
    return list(
        uow.conn.execute(
            sa.select(billing_account.c.id).where(billing_account.c.state == "active").order_by(billing_account.c.id)
        ).scalars()
    )


# ---- other TMF666 resources, kept as documents ---------------------------------------------------------------

@dataclass(frozen=True)
class AccountDocument:
    id: uuid.UUID
    kind: str
    name: str
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def create_document(uow: UnitOfWork, kind: str, body: Mapping[str, Any]) -> AccountDocument:
    now = uow.now()
    doc = AccountDocument(new_id(), kind, check_name(body.get("name")), dict(body), now, now)
    uow.conn.execute(sa.insert(account_document).values(**asdict(doc)))
    _audit(uow, f"{kind}.created", kind, doc.id, after=doc)
    return doc


def get_document(uow: UnitOfWork, kind: str, doc_id: uuid.UUID) -> AccountDocument:
    row = uow.conn.execute(sa.select(account_document).where(account_document.c.id == doc_id,
                                                             account_document.c.kind == kind)).first()
    if row is None:
        raise NotFound(kind, str(doc_id))
    return AccountDocument(**row._mapping)


def list_documents(uow: UnitOfWork, kind: str, filters: dict[str, str], offset: int, limit: int):
    stmt = sa.select(account_document).where(account_document.c.kind == kind, *_conditions(DOCUMENT_FILTERS, filters))
    rows, total = paged(uow.conn, stmt, offset, limit, account_document.c.id)
    return [AccountDocument(**r._mapping) for r in rows], total


def update_document(uow: UnitOfWork, kind: str, doc_id: uuid.UUID, body: Mapping[str, Any]) -> AccountDocument:
    before = get_document(uow, kind, doc_id)
    after = replace(before, name=check_name(body.get("name")), body=dict(body), updated_at=uow.now())
    uow.conn.execute(sa.update(account_document).where(account_document.c.id == doc_id)
                     .values(name=after.name, body=after.body, updated_at=after.updated_at))
    _audit(uow, f"{kind}.updated", kind, doc_id, before, after)
    return after


def delete_document(uow: UnitOfWork, kind: str, doc_id: uuid.UUID) -> None:
    before = get_document(uow, kind, doc_id)
    uow.conn.execute(sa.delete(account_document).where(account_document.c.id == doc_id))
    _audit(uow, f"{kind}.deleted", kind, doc_id, before=before)


# ---- GDPR ----------------------------------------------------------------------------------------------------

def _roles(uow: UnitOfWork, party_id: uuid.UUID) -> list[Customer]:
    return [_customer(r) for r in uow.conn.execute(_CUSTOMER_ROW.where(customer.c.party_id == party_id)
                                                   .order_by(customer.c.id))]


def _accounts_of(uow: UnitOfWork, customer_ids: list[uuid.UUID]) -> list[BillingAccount]:
    rows = uow.conn.execute(_ACCOUNT_ROW.where(billing_account.c.customer_id.in_(customer_ids))
                            .order_by(billing_account.c.id))
    return [_account(r) for r in rows]


def roles_and_accounts(uow: UnitOfWork, party_id: uuid.UUID) -> tuple[list[Customer], list[BillingAccount]]:
    """The customer roles a party plays and their billing accounts: what a GDPR request reaches besides it."""
    roles = _roles(uow, party_id)
    return roles, _accounts_of(uow, [c.id for c in roles])


def _plain(value: Any) -> Any:
    """JSON-ready: ids, dates and Decimals as strings, Money as amount and currency."""
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def export_party_data(uow: UnitOfWork, party_id: uuid.UUID) -> dict[str, Any]:
    """Everything held about one party (GDPR art. 15/20): the party, its customer roles and their accounts."""
    p = get_party(uow, party_id)
    roles, accounts = roles_and_accounts(uow, party_id)
    _audit(uow, f"{p.kind.lower()}.exported", p.kind.lower(), party_id)
    return {
        "exportedAt": _plain(uow.now()),
        "party": _plain(p),
        "customers": [_plain(c) for c in roles],
        "billingAccounts": [_plain(a) for a in accounts],
    }


def erase_party(uow: UnitOfWork, party_id: uuid.UUID) -> Party:
    """Pseudonymize one party's personal data (GDPR art. 17) where the law lets it go: names, birth date, contact
    media, characteristics, the customer roles' names and contacts, and the names of its billing accounts. Ids,
    accounts and every financial record stay (tax law keeps invoices for years). Idempotent: erasing again
    changes nothing and records nothing."""
    before = get_party(uow, party_id, lock=True)
    if before.erased_at is not None:
        return before
    stand_in = pseudonym(party_id)
    names = dict.fromkeys(("given_name", "family_name", "middle_name", "full_name", "title", "birth_date", "name",
                           "trading_name"))
    names.update({"full_name": stand_in} if before.kind == "Individual" else {"trading_name": stand_in, "name": stand_in})
    after = replace(
        before, **names,
        contact_medium=erased_media(before.contact_medium, stand_in),
        characteristic=erased_characteristics(before.characteristic, stand_in),
        external_reference=[], attributes={}, erased_at=uow.now(), updated_at=uow.now(),
    )
    uow.conn.execute(sa.update(party).where(party.c.id == party_id).values(**asdict(after)))
    roles, accounts = roles_and_accounts(uow, party_id)
    for c in roles:
        uow.conn.execute(sa.update(customer).where(customer.c.id == c.id).values(
            name=stand_in, contact_medium=erased_media(c.contact_medium, stand_in),
            characteristic=erased_characteristics(c.characteristic, stand_in), related_party=[],
            updated_at=uow.now()))
    if accounts:
        uow.conn.execute(sa.update(billing_account).where(billing_account.c.id.in_([a.id for a in accounts]))
                         .values(name=stand_in, updated_at=uow.now()))
    _audit(uow, f"{before.kind.lower()}.erased", before.kind.lower(), party_id, before, after)
    events.redact_history(uow, [party_id, *(c.id for c in roles), *(a.id for a in accounts)])
    # Listeners holding copies of the names (CRM, data warehouse) hear of each pseudonymized resource, so they
    # can erase theirs too.
    uow.emit(ResourceEvent.attribute_changed(PARTY_API, before.kind.lower(), party_id))
    for c in roles:
        uow.emit(ResourceEvent.attribute_changed(CUSTOMER_API, "customer", c.id))
    for a in accounts:
        uow.emit(ResourceEvent.attribute_changed(ACCOUNT_API, "billingAccount", a.id))
    return after
