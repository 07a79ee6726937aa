"""The final bill of a terminated account, on demand (`openbss invoice final --account NUMBER [--at DATE]`).

`final_bill(uow, account_id, at)` bills an account whose subscriptions have all ended without waiting for its
cycle to close: everything up to the termination date, on one invoice issued today.

- The termination date is `at` (a local date) or, without it, the day the last subscription ended (its local
  end date: the first day it was not charged). It may not be in the future, and every subscription of the
  account (and of the accounts it pays for, "parent pays") must have ended by then: otherwise the request is
  refused with a Conflict naming each subscription still active (service id and product id), since a final
  bill would otherwise bill in advance days that are then credited again. Cancel them first.
- The invoice is the one for the account's cycle period the termination falls in (the period holding the
  day before it), cut at the termination: its period is [period start, termination). So the regular bill run
  of that period finds the account billed ("existing": UNIQUE(account, period start)). Recurring charges
  already billed in advance for days after the end come back as credit lines, usage up to the end is billed
  (every unbilled record dated before the cycle period's end), the commitment is prorated to the days the
  products lived (billing.commitment). When that period's invoice was issued already (a termination at the
  end of a billed period), the final bill is the next period's, which then carries just the credits.
- It is drafted and issued at once, like `bill_account` (billing.issue: number, issue date = today in the
  account's zone, ledger, e-mail, event, audit). With nothing left to bill it returns None.
- The account stays active: payments and late usage still find it (late usage goes on the invoice of a later
  regular run), and the operator closes it (TMF666 state "closed") when its balance is settled.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

from openbss.billing import service, tax
from openbss.billing.generator import generate
from openbss.billing.model import Invoice
from openbss.billing.periods import BillPeriod, cycle_containing, cycle_of, local_date
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork
from openbss.ordering import service as ordering
from openbss.ordering.model import Product
from openbss.party import service as party
from openbss.party.model import BillingAccount
from openbss.seller import service as seller_service


def _termination(account: BillingAccount, products: list[Product], at: date | None, today: date) -> date:
    """The termination date, once every product has ended by it."""
    if not products:
        raise Conflict(f"billing account {account.number} has no subscriptions to bill a final time")
    tz = account.time_zone
    ended = [local_date(p.end_at, tz) for p in products if p.end_at is not None]
    termination = at if at is not None else (max(ended) if len(ended) == len(products) else today)
    if termination > today:
        raise InvalidValue("at", termination.isoformat(), f"is after today ({today.isoformat()}) in {tz}: a final "
                           "bill is made once the account has ended")
    live = [p for p in products if p.end_at is None or local_date(p.end_at, tz) > termination]
    if live:
        named = ", ".join(f"{p.service_id} (product {p.id}, {p.status})" for p in live)
        raise Conflict(f"billing account {account.number} cannot get its final bill as of {termination.isoformat()}: "
                       f"subscriptions still active: {named}; cancel them first")
    return termination


def _final_period(uow: UnitOfWork, account: BillingAccount, termination: date) -> BillPeriod:
    """The first cycle period not invoiced yet among the one the termination falls in and the next."""
    period = cycle_containing(termination - timedelta(days=1), cycle_of(account))
    for candidate in (period, period.next()):
        if service._find(uow, account.id, candidate.start) is None:
            return candidate
    raise Conflict(f"billing account {account.number} is invoiced up to {period.next().end.isoformat()}, past its "
                   f"termination on {termination.isoformat()}: there is nothing left for a final bill")


def final_bill(uow: UnitOfWork, account_id: uuid.UUID, at: date | None = None) -> Invoice | None:
    """Issue the final bill of an account whose subscriptions have all ended (see the module docstring); None
    when there is nothing left to bill."""
    uow.advisory_lock("account", account_id)  # as bill_account: billing and payments of one account serialized
    account = party.get_billing_account(uow, account_id)
    if account.bill_to_parent:
        raise Conflict(f"billing account {account.number} bills to its parent: its charges go on the parent's "
                       "invoice, so the final bill is the parent's")
    accounts = [account, *service._paid_for(uow, account_id)]
    products = [p for a in accounts for p in ordering.products_for_account(uow, a.id)]
    termination = _termination(account, products, at, local_date(uow.now(), account.time_zone))
    period = _final_period(uow, account, termination)
    invoice_id = new_id()
    payer = service._subscriptions(uow, account, period, invoice_id)
    children = [service._subscriptions(uow, c, period, invoice_id) for c in accounts[1:]]
    existing = service._existing_lines(uow, [p.id for s in (payer, *children) for p in s.products])
    seller = seller_service.find_seller(uow)
    draft = generate(payer, period, existing, tax.rate, uow.rounding, children,
                     seller_country=seller.address.country if seller else None)
    if draft is None:
        return None
    cut = min(max(termination, period.start + timedelta(days=1)), period.end)
    draft = replace(draft, period=BillPeriod(period.start, cut, period.time_zone))
    inv = service._save(uow, invoice_id, draft)
    # Imported here, as bill_account does: issuing builds on billing.service's helpers.
    from openbss.billing.issue import issue_invoices

    (issued,) = issue_invoices(uow, [inv.id], approved_by=uow.actor)
    return replace(issued, lines=inv.lines)
