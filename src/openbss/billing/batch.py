"""Batched drafting: `bill_accounts` drafts the invoices of a batch of accounts for one period in ONE transaction,
set-based. Issuing them (numbers, ledger, e-mail, events) is a later step of the bill run (billing/issue.py).

The outcome per account is the one `service.bill_account` would give, less the issuing (tests/integration/
test_billrun_batch.py bills the same accounts both ways and compares every invoice); only the number of
statements differs:

1. the accounts' advisory locks, taken in sorted key order in one statement (two batches never deadlock);
2. one query each for the accounts, their existing invoices of the period, the children they pay for (one per
   level of the hierarchy), products, product events, customer segments and lines already billed; offerings
   come from a cache kept for the whole run;
3. the usage of every account claimed for its invoice in one UPDATE ... RETURNING
   (`mediation.claim_unbilled_usage_for_accounts`);
4. the pure generator per account: an account whose generation fails (no VAT rate for its country...) is
   reported with the message the per-account path gives, and the usage claimed for it is given back;
5. the draft invoices (of the bill run given, no number yet), lines and VAT rows by COPY.

A database error fails the whole batch (its transaction rolls back); the bill run then bills that batch's
accounts one transaction each (`billrun`), so one bad account never blocks the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from openbss.billing import tax
from openbss.billing.model import Invoice, InvoiceDraft, InvoiceLine, Subscriptions, generate
from openbss.billing.periods import BillPeriod, closing_problem, cycle_of, due_period, events_horizon
from openbss.billing.service import _drafted, _invoice_row, _line, _line_rows, _tax_rows, _with_taxes
from openbss.billing.tables import invoice, invoice_line, invoice_tax
from openbss.catalog import service as catalog
from openbss.catalog.model import ProductOffering
from openbss.core.errors import DomainError, NotFound
from openbss.core.ids import new_id
from openbss.db.bulk import copy_rows
from openbss.db.uow import UnitOfWork
from openbss.mediation import service as mediation
from openbss.ordering import service as ordering
from openbss.party import service as party
from openbss.party.model import BillingAccount
from openbss.seller import service as seller_service

# The keys `UnitOfWork.advisory_lock("account", id)` takes, for many accounts in the order of the array.
_LOCK_ACCOUNTS = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) k")


@dataclass(frozen=True)
class Outcome:
    """What billing one account did: status "created" | "existing" | "nothing" | "notDue" (no period of its cycle
    starts in the month) | "error" (with `error`).
    An existing invoice is given with its header and VAT breakdown, without lines."""

    account_id: uuid.UUID
    status: str
    invoice: Invoice | None = None
    error: str | None = None


def _message(e: Exception) -> str:
    return e.message if isinstance(e, DomainError) else f"{type(e).__name__}: {e}"


def _paid_for(uow: UnitOfWork, payer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[BillingAccount]]:
    """`service._paid_for` of many payers: one query per level of the hierarchy, same depth-first order."""
    children: dict[uuid.UUID, list[BillingAccount]] = {}
    level = payer_ids
    while level:
        found = party.accounts_children(uow, level)
        paying = {parent: [c for c in kids if c.bill_to_parent] for parent, kids in found.items()}
        children.update({parent: kids for parent, kids in paying.items() if kids})
        level = [c.id for kids in paying.values() for c in kids]

    def below(account_id: uuid.UUID) -> list[BillingAccount]:
        return [a for c in children.get(account_id, []) for a in (c, *below(c.id))]

    return {payer: below(payer) for payer in payer_ids}


def _offerings(uow: UnitOfWork, wanted: set[uuid.UUID], cache: dict[uuid.UUID, ProductOffering]
               ) -> dict[uuid.UUID, ProductOffering]:
    """The offerings wanted and those they bundle, read once per run (`cache`)."""
    result: dict[uuid.UUID, ProductOffering] = {}
    while wanted:
        offering_id = wanted.pop()
        if offering_id not in cache:
            cache[offering_id] = catalog.get_offering(uow, offering_id)
        result[offering_id] = cache[offering_id]
        wanted |= set(result[offering_id].bundled_offering_ids) - result.keys()
    return result


def _billed_lines(uow: UnitOfWork, product_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[InvoiceLine]]:
    """Lines already billed per product (`service._existing_lines`), in id order."""
    found: dict[uuid.UUID, list[InvoiceLine]] = {}
    if product_ids:
        rows = uow.conn.execute(
            sa.select(invoice_line).where(invoice_line.c.product_id.in_(product_ids), invoice_line.c.kind != "usage")
            .order_by(invoice_line.c.id)
        )
        for r in rows:
            found.setdefault(r.product_id, []).append(_line(r))
    return found


def _existing(uow: UnitOfWork, periods: dict[uuid.UUID, BillPeriod]) -> dict[uuid.UUID, Invoice]:
    if not periods:
        return {}
    keys = [(a, p.start) for a, p in periods.items()]
    rows = uow.conn.execute(sa.select(invoice).where(sa.tuple_(invoice.c.account_id, invoice.c.period_start).in_(keys)))
    return {inv.account_id: inv for inv in _with_taxes(uow, rows.all())}


def bill_accounts(
    uow: UnitOfWork, account_ids: Sequence[uuid.UUID], period: str,
    offerings: dict[uuid.UUID, ProductOffering] | None = None, bill_run_id: uuid.UUID | None = None,
) -> list[Outcome]:
    """Draft the invoices of `account_ids` for `period` (YYYY-MM) in this unit of work, as part of the bill run
    `bill_run_id`; one outcome per account, in the order given (an invoice found is "existing", drafted or
    issued). `offerings` is a cache the caller may keep across batches of one run."""
    cache = {} if offerings is None else offerings
    uow.conn.execute(_LOCK_ACCOUNTS, {"keys": sorted(f"account:{a}" for a in set(account_ids))})
    accounts = party.billing_accounts(uow, account_ids)
    outcomes: dict[uuid.UUID, Outcome] = {}
    periods: dict[uuid.UUID, BillPeriod] = {}
    for account_id in account_ids:
        account = accounts.get(account_id)
        try:
            if account is None:
                raise NotFound("billingAccount", str(account_id))
            bill_period = due_period(period, cycle_of(account))
            if bill_period is None:  # no period of its cycle (quarterly, yearly) starts in that month
                outcomes[account_id] = Outcome(account_id, "notDue")
            else:
                periods[account_id] = bill_period
        except DomainError as e:
            outcomes[account_id] = Outcome(account_id, "error", error=e.message)
    existing = _existing(uow, periods)
    payers: list[uuid.UUID] = []
    for account_id, bill_period in periods.items():
        account = accounts[account_id]
        if account_id in existing:
            outcomes[account_id] = Outcome(account_id, "existing", existing[account_id])
        elif (problem := closing_problem(period, account.number, bill_period, account.grace_days, uow.now())):
            outcomes[account_id] = Outcome(account_id, "error", error=problem)  # not closed or within grace
        elif account.bill_to_parent:
            outcomes[account_id] = Outcome(account_id, "nothing")  # its charges are on its payer's invoice
        else:
            payers.append(account_id)
    created = _bill_payers(uow, [accounts[p] for p in payers], periods, cache, bill_run_id)
    outcomes.update(created)
    return [outcomes[a] for a in account_ids]


def _bill_payers(uow: UnitOfWork, payers: list[BillingAccount], periods: dict[uuid.UUID, BillPeriod],
                 cache: dict[uuid.UUID, ProductOffering], bill_run_id: uuid.UUID | None) -> dict[uuid.UUID, Outcome]:
    if not payers:
        return {}
    children = _paid_for(uow, [p.id for p in payers])
    invoice_ids = {p.id: new_id() for p in payers}
    # Every account whose charges go on a payer's invoice, with that payer.
    payer_of = {a.id: p for p in payers for a in (p, *children[p.id])}
    everyone = {a.id: a for p in payers for a in (p, *children[p.id])}
    products = ordering.products_for_accounts(uow, everyone)
    events = ordering.product_events_for_accounts(
        uow, {a: events_horizon(periods[p.id]) for a, p in payer_of.items()})
    segments = party.customer_segments(uow, {a.customer_id for a in everyone.values() if a.customer_id})
    claims = {a: (periods[p.id].end_at, invoice_ids[p.id]) for a, p in payer_of.items()}
    usage = mediation.claim_unbilled_usage_for_accounts(uow, claims)
    billed = _billed_lines(uow, {pr.id for found in products.values() for pr in found})
    seller = seller_service.find_seller(uow)  # its country decides reverse charge (billing.tax.place_of_supply)

    def subscriptions(account: BillingAccount) -> Subscriptions:
        own, own_events = products.get(account.id, []), events.get(account.id, [])
        wanted = {pr.offering_id for pr in own} | {e.offering_id for e in own_events} | {
            e.from_offering_id for e in own_events if e.from_offering_id is not None}
        return Subscriptions(account, own, _offerings(uow, wanted, cache), own_events, usage.get(account.id, []),
                             segments.get(account.customer_id) if account.customer_id else None)

    outcomes: dict[uuid.UUID, Outcome] = {}
    drafts: list[tuple[uuid.UUID, InvoiceDraft]] = []
    for payer in payers:
        try:
            payer_subs = subscriptions(payer)
            child_subs = [subscriptions(c) for c in children[payer.id]]
            lines = sorted((line for s in (payer_subs, *child_subs) for pr in s.products
                            for line in billed.get(pr.id, [])), key=lambda line: line.id)
            draft = generate(payer_subs, periods[payer.id], lines, tax.rate, uow.rounding, child_subs,
                             seller_country=seller.address.country if seller else None)
        except Exception as e:  # noqa: BLE001 - one broken account must not stop the batch; it is reported
            outcomes[payer.id] = Outcome(payer.id, "error", error=_message(e))
            continue
        if draft is None:
            outcomes[payer.id] = Outcome(payer.id, "nothing")
        else:
            drafts.append((payer.id, draft))
    failed = {invoice_ids[a] for a, o in outcomes.items() if o.status == "error"}
    mediation.release_usage_claims(uow, failed)
    mediation.record_usage_claims(uow, {a: c for a, c in claims.items() if c[1] not in failed}, usage)
    now = uow.now()
    written = [_drafted(invoice_ids[a], d, now) for a, d in drafts]
    copy_rows(uow, invoice, [_invoice_row(inv, bill_run_id) for inv in written])
    copy_rows(uow, invoice_line, [row for inv in written for row in _line_rows(inv)])
    copy_rows(uow, invoice_tax, [row for inv in written for row in _tax_rows(inv)])
    for inv in written:
        outcomes[inv.account_id] = Outcome(inv.account_id, "created", inv)
    return outcomes
