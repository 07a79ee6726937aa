"""Collections (dunning): plans of steps after the due date, cases per overdue account, promises to pay. Pure.

A plan belongs to a customer segment (None: every segment without a plan of its own) and a currency, and lists
steps at +N days after the due date of the oldest overdue document of the case: a reminder e-mail, a late fee (a
debit note), suspending the account's products, terminating them, a hand-over to a collection agency, a write-off.

A case's age is counted in days from that due date, less the days it was paused (an open promise to pay, or nothing
collectible overdue but disputed amounts held): a pause stops the clock, so a customer whose promise breaks on day
20 meets the next step as many days after resuming as were left before the pause. Each step is taken once per case.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openbss.core.errors import InvalidValue
from openbss.core.money import Money, total
from openbss.ledger.model import AR, BAD_DEBT, JournalEntry, JournalLine

REMINDER, LATE_FEE, SUSPEND, TERMINATE, WRITE_OFF, COLLECTION_AGENCY = (
    "reminder", "lateFee", "suspend", "terminate", "writeOff", "collectionAgency")
ACTIONS = (REMINDER, LATE_FEE, SUSPEND, TERMINATE, WRITE_OFF, COLLECTION_AGENCY)
CASE_STATES = ("active", "paused", "closed")
PAUSE_REASONS = ("dispute", "promise")
CLOSE_REASONS = ("paid", "writtenOff")
PROMISE_STATES = ("open", "kept", "broken")
MAX_STEP_DAY = 3650  # ten years after the due date: anything later is a typo
FEE_TAX_CATEGORIES = ("standard", "reduced", "zero", "exempt")


@dataclass(frozen=True)
class DunningStep:
    day: int  # days after the due date of the case's oldest overdue document
    action: str
    fee: Money | None = None  # lateFee: the net amount of the debit note
    tax_category: str = "standard"  # lateFee: VAT treatment of the fee (operators differ: damages or a service)


@dataclass(frozen=True)
class DunningPlan:
    id: uuid.UUID
    name: str
    segment: str | None
    currency: str
    active: bool
    created_at: datetime
    steps: tuple[DunningStep, ...]


def check_name(value: object, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidValue(field, value, "must be a non-empty text of at most 200 characters")
    return value.strip()


def check_steps(steps: Sequence[DunningStep], currency: str, field: str = "step") -> tuple[DunningStep, ...]:
    """Steps in the order they are taken: days never decrease, nothing after a write-off (it closes the case)."""
    if not steps:
        raise InvalidValue(field, [], "must have at least one step")
    previous = 0
    for i, step in enumerate(steps):
        at = f"{field}[{i}]"
        if isinstance(step.day, bool) or not isinstance(step.day, int) or not 0 <= step.day <= MAX_STEP_DAY:
            raise InvalidValue(f"{at}.day", step.day, f"must be a whole number of days from 0 to {MAX_STEP_DAY}")
        if step.day < previous:
            raise InvalidValue(f"{at}.day", step.day, f"comes before the previous step's day {previous}; "
                                                      "list the steps in the order they are taken")
        previous = step.day
        if step.action not in ACTIONS:
            raise InvalidValue(f"{at}.action", step.action, f"must be one of {', '.join(ACTIONS)}")
        if step.action == LATE_FEE:
            _check_fee(step, currency, at)
        elif step.fee is not None:
            raise InvalidValue(f"{at}.fee", str(step.fee), f"is only for a {LATE_FEE} step")
        if step.action == WRITE_OFF and i != len(steps) - 1:
            raise InvalidValue(f"{at}.action", step.action, "must be the last step: a write-off closes the case")
    return tuple(steps)


def _check_fee(step: DunningStep, currency: str, at: str) -> None:
    if step.fee is None:
        raise InvalidValue(f"{at}.fee", None, f"is required for a {LATE_FEE} step")
    if step.fee.currency != currency:
        raise InvalidValue(f"{at}.fee.unit", step.fee.currency, f"must be the plan's currency {currency}")
    if step.fee.amount <= 0:
        raise InvalidValue(f"{at}.fee.value", step.fee.amount, "must be greater than 0")
    if step.fee.rounded() != step.fee:
        raise InvalidValue(f"{at}.fee.value", step.fee.amount, f"has more decimals than {currency} allows")
    if step.tax_category not in FEE_TAX_CATEGORIES:
        raise InvalidValue(f"{at}.taxCategory", step.tax_category, f"must be one of {', '.join(FEE_TAX_CATEGORIES)}")


@dataclass(frozen=True)
class OverdueItem:
    """An unpaid invoice or debit note past its due date, as collections sees it."""

    document_id: uuid.UUID
    number: str
    invoice_id: uuid.UUID  # the invoice itself, or the invoice a debit note adds to (a late fee is charged on it)
    due_date: date
    collectible: Money  # left to pay, less what open disputes hold and what dunning wrote off
    held: Money  # held out of collections by open disputes


@dataclass(frozen=True)
class Exposure:
    currency: str
    items: tuple[OverdueItem, ...]  # oldest due first

    @property
    def collectible(self) -> Money:
        return total((i.collectible for i in self.items), self.currency)

    @property
    def held(self) -> Money:
        return total((i.held for i in self.items), self.currency)

    @property
    def collectible_items(self) -> tuple[OverdueItem, ...]:
        return tuple(i for i in self.items if i.collectible.amount > 0)

    def outstanding(self, document_ids: Iterable[uuid.UUID]) -> Money:
        """Collectible plus held on these documents (a document no longer overdue and open counts zero)."""
        wanted = set(document_ids)
        return total((i.collectible + i.held for i in self.items if i.document_id in wanted), self.currency)


def assess(exposure: Exposure, promise_open: bool) -> tuple[str, str | None]:
    """(case state, pause or close reason) for what the account has overdue today."""
    if exposure.collectible.is_zero() and exposure.held.is_zero():
        return "closed", "paid"
    if promise_open:
        return "paused", "promise"
    if exposure.collectible.is_zero():
        return "paused", "dispute"
    return "active", None


def age(anchor: date, today: date, paused_days: int, paused_since: date | None) -> int:
    """Days the case has run: since the anchor due date, less every day it was paused."""
    pausing = (today - paused_since).days if paused_since is not None else 0
    return (today - anchor).days - paused_days - pausing


def due_steps(steps: Sequence[DunningStep], taken: set[int], case_age: int) -> list[tuple[int, DunningStep]]:
    """(step number from 1, step) of every step due at `case_age` not taken yet, in plan order."""
    return [(n, s) for n, s in enumerate(steps, start=1) if n not in taken and s.day <= case_age]


@dataclass(frozen=True)
class Promise:
    id: uuid.UUID
    case_id: uuid.UUID
    account_id: uuid.UUID
    amount: Money
    promised_on: date  # the last day the customer said they would pay by
    baseline: Money  # outstanding on `documents` when the promise was made
    documents: tuple[uuid.UUID, ...]
    state: str
    created_at: datetime
    resolved_on: date | None = None


def promise_outcome(promise: Promise, outstanding_now: Money, today: date) -> str:
    """kept once the documents' outstanding has fallen by the amount promised; broken when the date passed first."""
    if outstanding_now <= promise.baseline - promise.amount:
        return "kept"
    return "broken" if today > promise.promised_on else "open"


@dataclass(frozen=True)
class WriteOffPosting:
    """Bad debt: the receivable written off leaves AR and is expensed (debit bad debt, credit AR, the gross)."""

    action_id: uuid.UUID
    account_id: uuid.UUID
    posted_at: datetime
    amount: Money
    numbers: tuple[str, ...]

    def entry(self) -> JournalEntry:
        zero = Decimal(0)
        return JournalEntry(
            source_type="writeOff", source_id=self.action_id, account_id=self.account_id,
            currency=self.amount.currency, posted_at=self.posted_at,
            description=f"Write-off {', '.join(self.numbers)}",
            lines=(JournalLine(BAD_DEBT, self.amount.amount, zero), JournalLine(AR, zero, self.amount.amount)),
        )


HANDOVER_COLUMNS = ("handed_over_on", "case_id", "account_number", "customer_name", "currency", "amount_overdue",
                    "oldest_due_date", "documents")


def handover_csv(rows: Iterable[Sequence[object]]) -> str:
    """The collection agency's file: a header, then one row per case handed over (HANDOVER_COLUMNS)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HANDOVER_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
