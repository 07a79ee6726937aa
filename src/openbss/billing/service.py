"""Use cases for invoices and bill runs. Each takes a UnitOfWork and never commits (the bill run opens its own).

`bill_account` is the dispatcher around the pure generator (`billing.model.generate`): it locks the
account (`advisory_lock("account", id)`: billing and payments of one account are serialized), returns
the invoice of that period if one exists (the bill run is safe to run twice: UNIQUE(account_id,
period_start) backs this up), loads, for the account and every account it pays for ("parent pays",
`bill_to_parent` children, recursively), products, their events, offerings, the customer's segment and
the unbilled usage it claims for the new invoice id, plus the lines already billed for those products,
calls the generator and saves the result as a draft, which it issues at once (billing/issue.py: number, dates,
ledger, e-mail, event), recorded as approved by the acting user. An account that bills to its parent gets no
invoice of its own. The invoice number (gapless per issue year, INV-2026-000001) is taken only when an invoice
is issued; with no lines, no invoice and no number. A period is billed only once it has closed in the account's
zone. A bill run drafts first and issues after review (billing/billrun.py, docs/billrun.md).

Drafts and approved invoices (billing.lifecycle) are the operator's: `get_invoice`, `list_invoices` and the line
queries (TMF678 customerBill, appliedCustomerBillingRate) show issued invoices only unless `drafts=True`, and a
payment or credit never settles a draft.

An issued invoice is never updated except `amount_paid` (the amount settled) and `state` ("sent" ->
"partiallyPaid" -> "settled"), by `apply_payment` and by `apply_credit` (a credit note, billing.correction_service). Issuing emits CustomerBillCreateEvent, a payment that moves the state
CustomerBillStateChangeEvent (TMF678 names, through the outbox).

"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.billing import tax
from openbss.billing.holds import held_amounts, state_is, with_hold_state
from openbss.billing.lifecycle import DRAFT_STATES, ISSUED_STATES
from openbss.billing.model import (
    OPEN_STATES,
    BilledLine,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    InvoiceTax,
    OpenInvoice,
    Subscriptions,
    generate,
)
from openbss.billing.periods import BillPeriod, check_closed, cycle_of, due_period, events_horizon
from openbss.billing.tables import debit_note, invoice, invoice_line, invoice_tax
from openbss.catalog import service as catalog
from openbss.core.clock import Clock
from openbss.core.errors import Conflict, InvalidValue, NotFound
from openbss.core.events import ResourceEvent
from openbss.core.ids import new_id, parse_id
from openbss.core.money import Money
from openbss.db.query import paged
from openbss.db.uow import UnitOfWork
from openbss.mediation import service as mediation
from openbss.ordering import service as ordering
from openbss.party import service as party
from openbss.party.model import BillingAccount
from openbss.seller import service as seller_service

BILL_API = "customerBillManagement"  # the TMF678 base path's name, as TMF688 events name the API
INVOICE_FILTERS = {"state": invoice.c.state}
LINE_FILTERS = {"type": invoice_line.c.kind}


@dataclass
class BillRunSummary:
    """What a bill run did; net/tax/gross per currency cover every invoice of the period (created or
    found), so running the same period again reports the same figures."""

    period: str
    accounts: int = 0
    run_id: uuid.UUID | None = None
    state: str | None = None  # the bill run's: draft, approved, issued, discarded
    invoices_created: int = 0
    invoices_existing: int = 0
    skipped: int = 0
    errors: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    net: dict[str, Money] = field(default_factory=dict)
    tax: dict[str, Money] = field(default_factory=dict)
    gross: dict[str, Money] = field(default_factory=dict)

    def add(self, inv: Invoice) -> None:
        for totals, amount in ((self.net, inv.net_total), (self.tax, inv.tax_total), (self.gross, inv.gross_total)):
            totals[inv.currency] = totals.get(inv.currency, Money.zero(inv.currency)) + amount


def _line(row: sa.Row) -> InvoiceLine:
    m = row._mapping
    return InvoiceLine(
        id=m["id"], line_no=m["line_no"], kind=m["kind"], description=m["description"], product_id=m["product_id"],
        offering_id=m["offering_id"], usage_type=m["usage_type"], quantity=m["quantity"], unit=m["unit"],
        service_start=m["service_start"], service_end=m["service_end"], net=Money(m["net_amount"], m["currency"]),
        tax_category=m["tax_category"], tax_rate=m["tax_rate"], reverses_id=m["reverses_id"],
        component_id=m["component_id"],
    )


def _tax(row: sa.Row, currency: str) -> InvoiceTax:
    taxable, tax_amount = Money(row.taxable_amount, currency), Money(row.tax_amount, currency)
    return InvoiceTax(row.tax_category, row.tax_rate, taxable, tax_amount, row.country)


def _invoice(row: sa.Row, lines: tuple[InvoiceLine, ...] = (), taxes: tuple[InvoiceTax, ...] = ()) -> Invoice:
    m = row._mapping
    cur = m["currency"]
    return Invoice(
        id=m["id"], number=m["number"], account_id=m["account_id"], period_start=m["period_start"],
        period_end=m["period_end"], issue_date=m["issue_date"], due_date=m["due_date"], time_zone=m["time_zone"],
        currency=cur, net_total=Money(m["net_total"], cur), tax_total=Money(m["tax_total"], cur),
        gross_total=Money(m["gross_total"], cur), amount_paid=Money(m["amount_paid"], cur), state=m["state"],
        created_at=m["created_at"], lines=lines, taxes=taxes,
    )


def _with_taxes(uow: UnitOfWork, rows: list[sa.Row]) -> list[Invoice]:
    """Invoice headers with their VAT breakdown, loaded in one query for a whole page."""
    by_invoice: dict[uuid.UUID, list[sa.Row]] = {}
    if rows:
        stmt = (
            sa.select(invoice_tax)
            .where(invoice_tax.c.invoice_id.in_([r.id for r in rows]))
            .order_by(invoice_tax.c.tax_category, invoice_tax.c.tax_rate)
        )
        for t in uow.conn.execute(stmt):
            by_invoice.setdefault(t.invoice_id, []).append(t)
    return [_invoice(r, taxes=tuple(_tax(t, r.currency) for t in by_invoice.get(r.id, []))) for r in rows]


def _visible(drafts: bool) -> list:
    return [] if drafts else [invoice.c.state.in_(ISSUED_STATES)]


def get_invoice(uow: UnitOfWork, invoice_id: uuid.UUID, *, field: str | None = None, drafts: bool = False) -> Invoice:
    """An issued invoice (with `drafts`, also a draft or approved one) with its lines and VAT breakdown."""
    row = uow.conn.execute(sa.select(invoice).where(invoice.c.id == invoice_id, *_visible(drafts))).first()
    if row is None:
        raise NotFound("customerBill", str(invoice_id), field)
    lines = uow.conn.execute(
        sa.select(invoice_line).where(invoice_line.c.invoice_id == invoice_id).order_by(invoice_line.c.line_no)
    )
    taxes = uow.conn.execute(
        sa.select(invoice_tax).where(invoice_tax.c.invoice_id == invoice_id)
        .order_by(invoice_tax.c.tax_category, invoice_tax.c.tax_rate)
    )
    inv = _invoice(row, tuple(_line(r) for r in lines), tuple(_tax(t, row.currency) for t in taxes))
    return with_hold_state(uow, [inv])[0]  # "onHold" while a bill hold is open (billing.holds)


def list_invoices(uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int, *,
                  drafts: bool = False) -> tuple[list[Invoice], int]:
    """Issued invoice headers (with `drafts`, also drafts and approved ones) with their VAT breakdown (no lines),
    filtered by id, state (as reported: "onHold" while a bill hold is open, billing.holds) and billingAccountId."""
    conditions = [state_is(v) for k, v in filters.items() if k == "state"] + _visible(drafts)
    if "id" in filters:
        conditions.append(invoice.c.id == parse_id(filters["id"], "id"))
    if "billingAccountId" in filters:
        conditions.append(invoice.c.account_id == parse_id(filters["billingAccountId"], "billingAccountId"))
    rows, total_count = paged(uow.conn, sa.select(invoice).where(*conditions), offset, limit, invoice.c.id)
    return with_hold_state(uow, _with_taxes(uow, rows)), total_count


def _of_issued() -> sa.ColumnElement[bool]:
    return invoice_line.c.invoice_id.in_(sa.select(invoice.c.id).where(*_visible(False)))


def _billed_lines(uow: UnitOfWork, rows: list[sa.Row]) -> list[BilledLine]:
    ids = {r.invoice_id for r in rows}
    headers = {r.id: r for r in uow.conn.execute(sa.select(invoice).where(invoice.c.id.in_(ids)))} if ids else {}
    return [BilledLine(_invoice(headers[r.invoice_id]), _line(r)) for r in rows]


def list_invoice_lines(
    uow: UnitOfWork, filters: dict[str, str], offset: int, limit: int
) -> tuple[list[BilledLine], int]:
    """Lines of issued invoices (TMF678 appliedCustomerBillingRate), filtered by id, bill.id and type."""
    conditions = [LINE_FILTERS[k] == v for k, v in filters.items() if k in LINE_FILTERS] + [_of_issued()]
    if "id" in filters:
        conditions.append(invoice_line.c.id == parse_id(filters["id"], "id"))
    if "bill.id" in filters:
        conditions.append(invoice_line.c.invoice_id == parse_id(filters["bill.id"], "bill.id"))
    # Line ids are UUIDv7 written in line order, so id order is invoice order then line order.
    rows, total_count = paged(uow.conn, sa.select(invoice_line).where(*conditions), offset, limit, invoice_line.c.id)
    return _billed_lines(uow, rows), total_count


def get_invoice_line(uow: UnitOfWork, line_id: uuid.UUID) -> BilledLine:
    rows = uow.conn.execute(sa.select(invoice_line).where(invoice_line.c.id == line_id, _of_issued())).all()
    if not rows:
        raise NotFound("appliedCustomerBillingRate", str(line_id))
    return _billed_lines(uow, rows)[0]


def _find(uow: UnitOfWork, account_id: uuid.UUID, period_start) -> Invoice | None:
    row = uow.conn.execute(
        sa.select(invoice.c.id).where(invoice.c.account_id == account_id, invoice.c.period_start == period_start)
    ).first()
    return None if row is None else get_invoice(uow, row.id, drafts=True)


def _existing_lines(uow: UnitOfWork, product_ids: list[uuid.UUID]) -> list[InvoiceLine]:
    """Lines already billed for these products, on whichever invoice (a child's sit on its payer's)."""
    rows = uow.conn.execute(
        sa.select(invoice_line).where(invoice_line.c.product_id.in_(product_ids), invoice_line.c.kind != "usage")
        .order_by(invoice_line.c.id)
    )
    return [_line(r) for r in rows]


def _paid_for(uow: UnitOfWork, account_id: uuid.UUID) -> list[BillingAccount]:
    """The accounts whose charges go on this account's invoice: children that bill to their parent, and
    theirs, depth first in creation order (the party domain refuses cyclic hierarchies)."""
    result = []
    for child in party.account_children(uow, account_id):
        if child.bill_to_parent:
            result += [child, *_paid_for(uow, child.id)]
    return result


def _subscriptions(uow: UnitOfWork, account: BillingAccount, period: BillPeriod,
                   invoice_id: uuid.UUID) -> Subscriptions:
    """What the generator needs about one account for `period`'s invoice (events up to the end of the longest
    term it may bill in advance, `events_horizon`); its usage dated before the period's end is claimed for
    `invoice_id`."""
    products = ordering.products_for_account(uow, account.id)
    events = ordering.product_events(uow, account.id, events_horizon(period))
    wanted = {p.offering_id for p in products} | {e.offering_id for e in events} | {
        e.from_offering_id for e in events if e.from_offering_id is not None}
    offerings = {}
    while wanted:
        offering_id = wanted.pop()
        offerings[offering_id] = catalog.get_offering(uow, offering_id)
        wanted |= set(offerings[offering_id].bundled_offering_ids) - offerings.keys()
    segment = party.get_customer(uow, account.customer_id).segment if account.customer_id else None
    usage = mediation.claim_unbilled_usage(uow, account.id, period.end_at, invoice_id)
    return Subscriptions(account, products, offerings, events, usage, segment)


def _drafted(invoice_id: uuid.UUID, draft: InvoiceDraft, now: datetime) -> Invoice:
    """The generator's draft as a draft invoice: no number yet, dated provisionally (issuing dates it again)."""
    return Invoice(
        id=invoice_id, number=None, account_id=draft.account_id,
        period_start=draft.period.start, period_end=draft.period.end, issue_date=draft.issue_date,
        due_date=draft.due_date, time_zone=draft.period.time_zone, currency=draft.currency,
        net_total=draft.net_total, tax_total=draft.tax_total, gross_total=draft.gross_total,
        amount_paid=Money.zero(draft.currency), state="draft", created_at=now,
        lines=draft.lines, taxes=draft.taxes,
    )


def _invoice_row(inv: Invoice, bill_run_id: uuid.UUID | None = None) -> dict:
    return {"bill_run_id": bill_run_id,
        "id": inv.id, "number": inv.number, "account_id": inv.account_id, "period_start": inv.period_start,
        "period_end": inv.period_end, "issue_date": inv.issue_date, "due_date": inv.due_date,
        "time_zone": inv.time_zone, "currency": inv.currency, "net_total": inv.net_total.amount,
        "tax_total": inv.tax_total.amount, "gross_total": inv.gross_total.amount,
        "amount_paid": inv.amount_paid.amount, "state": inv.state, "created_at": inv.created_at,
    }


def _line_rows(inv: Invoice) -> list[dict]:
    return [
        {
            "id": line.id, "invoice_id": inv.id, "account_id": inv.account_id, "line_no": line.line_no,
            "kind": line.kind, "description": line.description, "product_id": line.product_id,
            "offering_id": line.offering_id, "usage_type": line.usage_type, "quantity": line.quantity,
            "unit": line.unit, "service_start": line.service_start, "service_end": line.service_end,
            "net_amount": line.net.amount, "tax_category": line.tax_category, "tax_rate": line.tax_rate,
            "currency": inv.currency, "reverses_id": line.reverses_id, "component_id": line.component_id,
        }
        for line in inv.lines
    ]


def _tax_rows(inv: Invoice) -> list[dict]:
    return [
        {"invoice_id": inv.id, "account_id": inv.account_id, "tax_category": t.tax_category, "tax_rate": t.tax_rate,
         "taxable_amount": t.taxable.amount, "tax_amount": t.tax.amount, "country": t.country}
        for t in inv.taxes
    ]


def _save(uow: UnitOfWork, invoice_id: uuid.UUID, draft: InvoiceDraft) -> Invoice:
    inv = _drafted(invoice_id, draft, uow.now())
    uow.conn.execute(sa.insert(invoice).values(**_invoice_row(inv)))
    uow.conn.execute(sa.insert(invoice_line), _line_rows(inv))
    uow.conn.execute(sa.insert(invoice_tax), _tax_rows(inv))
    return inv


def _issued_image(inv: Invoice, period: str, approved_by: str) -> dict:
    """The after-image of the "invoice.issued" audit record."""
    return {
        "number": inv.number, "approvedBy": approved_by, "accountId": inv.account_id, "period": period, "currency": inv.currency,
        "net": inv.net_total.amount, "tax": inv.tax_total.amount, "gross": inv.gross_total.amount,
        "lines": len(inv.lines),
    }


def _bill(uow: UnitOfWork, account_id: uuid.UUID, period: str) -> tuple[str, Invoice | None]:
    """("created" | "existing" | "nothing" | "notDue", the invoice)."""
    uow.advisory_lock("account", account_id)
    account = party.get_billing_account(uow, account_id)
    bill_period = due_period(period, cycle_of(account))
    if bill_period is None:
        return "notDue", None  # no period of the account's cycle (quarterly, yearly) starts in that month
    existing = _find(uow, account_id, bill_period.start)
    if existing is not None:
        return "existing", existing
    check_closed(period, account.number, bill_period, account.grace_days, uow.now())  # closed, grace passed
    if account.bill_to_parent:
        return "nothing", None  # its charges are on the invoice of the account that pays for it
    invoice_id = new_id()
    payer = _subscriptions(uow, account, bill_period, invoice_id)
    children = [_subscriptions(uow, c, bill_period, invoice_id) for c in _paid_for(uow, account_id)]
    existing = _existing_lines(uow, [p.id for s in (payer, *children) for p in s.products])
    seller = seller_service.find_seller(uow)  # its country decides reverse charge (billing.tax.place_of_supply)
    draft = generate(payer, bill_period, existing, tax.rate, uow.rounding, children,
                     seller_country=seller.address.country if seller else None)
    if draft is None:
        return "nothing", None
    # Imported here: issuing builds on this module's helpers.
    from openbss.billing.issue import issue_invoices

    inv = _save(uow, invoice_id, draft)
    (issued,) = issue_invoices(uow, [inv.id], approved_by=uow.actor)  # approved by whoever bills it
    return "created", replace(issued, lines=inv.lines)


def bill_account(uow: UnitOfWork, account_id: uuid.UUID, period: str) -> Invoice | None:
    """The account's invoice for the bill cycle period starting in `period` (YYYY-MM): the existing one
    if that period was billed already, a new one, or None when there is nothing to bill (also for an
    account that bills to its parent: its charges are on the parent's invoice)."""
    return _bill(uow, account_id, period)[1]


def run_bill_run(
    engine: sa.Engine, period: str, *, clock: Clock, rounding: str,
    on_progress: Callable[[int, int], None] | None = None, **options,
) -> BillRunSummary:
    """Bill every active account for `period` and issue the invoices at once, approved by the acting "billrun"
    (`billing.billrun.run_bill_run`: `workers`, `batch`, `issue` options); `on_progress(done, total)`."""
    # Imported here: the batch modules build on this one's helpers.
    from openbss.billing.billrun import run_bill_run as run

    return run(engine, period, clock=clock, rounding=rounding, on_progress=on_progress, **options)


def open_invoices(uow: UnitOfWork, account_id: uuid.UUID) -> list[OpenInvoice]:
    """Unpaid invoices and debit notes of the account, oldest first, locked FOR UPDATE until the transaction ends.

    `remaining` is what is collectible: what is left to pay less what open disputes hold out of collections
    (billing.disputes; never below zero), so payment allocation and dunning leave a disputed amount alone.
    A credit note applied to an invoice has already lowered what is left to pay (`apply_credit`)."""
    found = []
    for table in (invoice, debit_note):
        found += uow.conn.execute(
            sa.select(table.c.id, table.c.number, table.c.issue_date, table.c.currency, table.c.gross_total,
                      table.c.amount_paid)
            .where(table.c.account_id == account_id, table.c.state.in_(OPEN_STATES))
            .order_by(table.c.id)
            .with_for_update()
        ).all()
    held = held_amounts(uow, [r.id for r in found])
    result = []
    for r in sorted(found, key=lambda r: (r.issue_date, r.id)):
        left = max(r.gross_total - r.amount_paid - held.get(r.id, 0), 0)
        result.append(OpenInvoice(r.id, r.number, r.issue_date, Money(r.gross_total, r.currency),
                                  Money(left, r.currency)))
    return result


def _receivable(uow: UnitOfWork, document_id: uuid.UUID) -> tuple[sa.Table, str, sa.Row]:
    """The invoice or debit note row with this id, locked FOR UPDATE."""
    for table, kind in ((invoice, "invoice"), (debit_note, "debitNote")):
        # A draft is not owed yet: nothing settles it.
        row = uow.conn.execute(sa.select(table).where(table.c.id == document_id, table.c.state.notin_(DRAFT_STATES))
                               .with_for_update()).first()
        if row is not None:
            return table, kind, row
    raise NotFound("customerBill", str(document_id))


def _settle(uow: UnitOfWork, document_id: uuid.UUID, amount: Money, what: str) -> None:
    """Settle `amount` of an invoice or debit note (`what`: "payment" or "credit"); only amount_paid (the amount
    settled, by payments and credit notes) and state change, as the immutability triggers allow."""
    table, kind, row = _receivable(uow, document_id)
    paid_before, gross = Money(row.amount_paid, row.currency), Money(row.gross_total, row.currency)
    if amount.currency != row.currency:
        raise InvalidValue("amount.unit", amount.currency, f"does not match invoice {row.number} in {row.currency}")
    if amount.amount <= 0:
        raise InvalidValue("amount.value", amount.amount, "must be greater than 0")
    if amount > gross - paid_before:
        raise Conflict(f"{what} of {amount} exceeds the {gross - paid_before} remaining on invoice {row.number}")
    paid = paid_before + amount
    state = "settled" if paid == gross else "partiallyPaid"
    uow.conn.execute(sa.update(table).where(table.c.id == document_id).values(amount_paid=paid.amount, state=state))
    if state != row.state and kind == "invoice":
        uow.emit(ResourceEvent.state_changed(BILL_API, "customerBill", document_id))
    audit.record(
        uow, f"{kind}.{what}Applied", kind, document_id,
        before={"amountPaid": paid_before.amount, "state": row.state},
        after={"amountPaid": paid.amount, "state": state},
    )


def apply_payment(uow: UnitOfWork, invoice_id: uuid.UUID, amount: Money) -> None:
    """Record `amount` paid against the invoice or debit note; only amount_paid and state change."""
    _settle(uow, invoice_id, amount, "payment")


def apply_credit(uow: UnitOfWork, invoice_id: uuid.UUID, amount: Money) -> None:
    """Settle `amount` of the invoice with a credit note (billing.correction_service): like a payment, it lowers
    what is left to pay (amount_paid is the amount settled, by payments and credit notes alike)."""
    _settle(uow, invoice_id, amount, "credit")
