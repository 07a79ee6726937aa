"""The receivables journal: pure double-entry types, the chart of accounts, the balance invariant, the hash
chain and the revenue schedule of charges billed in advance.

Every entry balances (debits == credits) by construction. Entries are chained: each stored entry
carries the hash of its predecessor and a SHA-256 over a canonical form of itself, so changing any
stored amount, account or date is visible to `verify_chain` without trusting the database.

Chart of accounts (`CHART_OF_ACCOUNTS`): each account has a code, a name, a type (asset, liability, revenue,
expense) and its normal side; the journal stores an account as "code name" (the constants below), so the
stored text reads on its own in an export. Revenue is split per product line of the charge: recurring
charges, usage and fees (late and reminder fees) each have their own account. The catalog's categories are
optional and the offerings of a bundle span several, so a charge's kind is the product line every invoice
line has (decision recorded in docs/ledger.md).

Revenue recognition (docs/ledger.md): a recurring charge (and its discounts and proration credits) covers
service days [service_start, service_end). The part of its net for days not yet over when the invoice is
posted goes to DEFERRED_REVENUE; each day's share moves to revenue once the day is over
(`DeferredLine.unearned_after`). Shares are cumulative: what is earned through day D is
round(net x days served / days), so the daily amounts add up to the net to the cent.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from openbss.core.errors import InvalidValue
from openbss.core.money import Money, check_currency

ASSET, LIABILITY, REVENUE, EXPENSE = "asset", "liability", "revenue", "expense"
DEBIT, CREDIT = "debit", "credit"


@dataclass(frozen=True)
class GlAccount:
    """An account of the chart: `key` ("code name") is how journal lines name it."""

    code: str
    name: str
    type: str  # ASSET | LIABILITY | REVENUE | EXPENSE
    normal: str  # DEBIT | CREDIT: the side its balance normally sits on

    @property
    def key(self) -> str:
        return f"{self.code} {self.name}"


CHART_OF_ACCOUNTS = (
    GlAccount("1000", "Bank", ASSET, DEBIT),
    # Collected by direct debit or a card gateway, not yet on the bank statement.
    GlAccount("1010", "Payments in transit", ASSET, DEBIT),
    GlAccount("1100", "Accounts receivable", ASSET, DEBIT),
    GlAccount("2100", "Customer credit", LIABILITY, CREDIT),
    GlAccount("2200", "VAT payable", LIABILITY, CREDIT),
    GlAccount("2300", "Deferred revenue", LIABILITY, CREDIT),
    GlAccount("4000", "Revenue: recurring charges", REVENUE, CREDIT),
    GlAccount("4100", "Revenue: usage charges", REVENUE, CREDIT),
    GlAccount("4200", "Revenue: fees", REVENUE, CREDIT),  # late fees, reminder fees
    GlAccount("6900", "Bad debt expense", EXPENSE, DEBIT),
)
ACCOUNTS = {a.key: a for a in CHART_OF_ACCOUNTS}
(BANK, IN_TRANSIT, AR, CUSTOMER_CREDIT, VAT, DEFERRED_REVENUE, REVENUE_RECURRING, REVENUE_USAGE, REVENUE_FEES,
 BAD_DEBT) = CHART = tuple(ACCOUNTS)

GENESIS_HASH = "0" * 64


def _amount_text(value: Decimal) -> str:
    # NUMERIC(20,6) reads back as 12.500000; the hash must not depend on trailing zeros.
    return format(value.normalize(), "f") if value else "0"


@dataclass(frozen=True)
class JournalLine:
    gl_account: str
    debit: Decimal
    credit: Decimal

    def __post_init__(self) -> None:
        if self.gl_account not in CHART:
            raise InvalidValue("gl_account", self.gl_account, f"is not in the chart of accounts {CHART}")
        for side in ("debit", "credit"):
            value = getattr(self, side)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise InvalidValue(side, value, "must be a finite non-negative Decimal")
        if (self.debit > 0) == (self.credit > 0):
            raise InvalidValue(
                "lines", (self.gl_account, self.debit, self.credit), "must have exactly one side greater than zero"
            )


@dataclass(frozen=True)
class JournalEntry:
    source_type: str
    source_id: uuid.UUID
    account_id: uuid.UUID
    currency: str
    posted_at: datetime
    description: str
    lines: tuple[JournalLine, ...]

    def __post_init__(self) -> None:
        check_currency(self.currency)
        if self.posted_at.tzinfo is None:
            raise InvalidValue("posted_at", self.posted_at, "must be timezone-aware")
        object.__setattr__(self, "lines", tuple(self.lines))
        debits, credits = self.totals()
        if debits != credits:
            raise InvalidValue("lines", f"debits {debits} != credits {credits}", "do not balance")

    def totals(self) -> tuple[Decimal, Decimal]:
        return sum((l.debit for l in self.lines), Decimal(0)), sum((l.credit for l in self.lines), Decimal(0))

    def facts(self) -> dict:
        """What the entry says about money, independent of storage: the basis of the hash and of re-post checks."""
        return {
            "source": [self.source_type, str(self.source_id)],
            "account": str(self.account_id),
            "currency": self.currency,
            "lines": sorted(
                [l.gl_account, _amount_text(l.debit), _amount_text(l.credit)] for l in self.lines
            ),
        }


@dataclass(frozen=True)
class PostedEntry:
    """A journal entry as stored: its place in the chain and its hash."""

    id: uuid.UUID
    seq: int
    prev_hash: str
    hash: str
    entry: JournalEntry


def entry_hash(prev_hash: str, entry: JournalEntry) -> str:
    canonical = {
        **entry.facts(),
        "prev": prev_hash,
        "posted_at": entry.posted_at.astimezone(UTC).isoformat(),
        "description": entry.description,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _lines(*pairs: tuple[str, Decimal, Decimal]) -> tuple[JournalLine, ...]:
    # A zero line says nothing and would break the one-side-positive rule: leave it out.
    return tuple(JournalLine(a, d, c) for a, d, c in pairs if d or c)


def _credit(gl_account: str, amount: Decimal) -> tuple[str, Decimal, Decimal]:
    """A signed credit: an invoice whose credits outweigh its charges in one revenue account (a downgrade
    credit larger than the new charges) reduces that revenue, which is a debit."""
    return gl_account, max(-amount, Decimal(0)), max(amount, Decimal(0))


# The allocation of a charge over its days is internal to the ledger, never shown to a customer: one fixed
# mode, so the posting of an invoice and every later recognition run split a charge identically.
RECOGNITION_ROUNDING = "half_up"


@dataclass(frozen=True)
class DeferredLine:
    """A charge for service days [service_start, service_end) (dates in the account's zone; `net` signed:
    negative for a discount or a credit, and on a credit note for what it gives back)."""

    line_id: uuid.UUID
    net: Decimal
    service_start: date
    service_end: date

    def __post_init__(self) -> None:
        if self.service_end <= self.service_start:
            raise InvalidValue("service_end", self.service_end, f"must be after service_start {self.service_start}")

    def earned_through(self, day: date, currency: str) -> Decimal:
        """The share of the net for the service days up to and including `day`."""
        days = (self.service_end - self.service_start).days
        served = min(max((day - self.service_start).days + 1, 0), days)
        return Money(self.net * served / days, currency).rounded(RECOGNITION_ROUNDING).amount

    def unearned_after(self, day: date, currency: str) -> Decimal:
        """What is still deferred once `day` is over: the share of the days after it."""
        return self.net - self.earned_through(day, currency)


def _posting_day(posted_at: datetime, time_zone: str) -> date:
    return posted_at.astimezone(ZoneInfo(time_zone)).date()


def _deferred_at(lines: tuple[DeferredLine, ...], posted_at: datetime, time_zone: str, currency: str) -> Decimal:
    """The part of `lines` for days not over yet when posted: days before the posting's local date are earned."""
    yesterday = _posting_day(posted_at, time_zone) - timedelta(days=1)
    return sum((line.unearned_after(yesterday, currency) for line in lines), Decimal(0))


def _still_running(lines: tuple[DeferredLine, ...], posted_at: datetime, time_zone: str,
                   sign: int = 1) -> tuple[DeferredLine, ...]:
    """The lines with days not over at posting (the others were earned in full), signed as they change what is
    left to recognize."""
    day = _posting_day(posted_at, time_zone)
    return tuple(DeferredLine(l.line_id, sign * l.net, l.service_start, l.service_end)
                 for l in lines if l.service_end > day)


class _Deferring:
    """What an invoice and a note posting share: their `deferred` lines, the part of them not earned at posting."""

    deferred: tuple[DeferredLine, ...]
    posted_at: datetime
    time_zone: str
    currency: str

    def __post_init__(self) -> None:
        lines = tuple(self.deferred)
        for line in lines:
            if not isinstance(line, DeferredLine):
                raise InvalidValue("deferred", line, "must be DeferredLine values")
        object.__setattr__(self, "deferred", lines)

    def deferred_amount(self) -> Decimal:
        return _deferred_at(self.deferred, self.posted_at, self.time_zone, self.currency)


@dataclass(frozen=True)
class InvoicePosting(_Deferring):
    """An issued invoice's entry: AR debited with the gross; revenue per product line and VAT credited; the
    part of `deferred` (recurring-side lines with service days, included in `recurring_net`) for days not over
    at `posted_at` (in the account's `time_zone`) credited to DEFERRED_REVENUE instead of revenue."""

    invoice_id: uuid.UUID
    account_id: uuid.UUID
    number: str
    posted_at: datetime
    currency: str
    recurring_net: Decimal
    usage_net: Decimal
    tax: Decimal
    gross: Decimal
    deferred: tuple[DeferredLine, ...] = ()
    time_zone: str = "UTC"

    def schedule(self) -> tuple[DeferredLine, ...]:
        """The lines the recognition runs still have days of (the ledger keeps them: ledger.tables)."""
        return _still_running(self.deferred, self.posted_at, self.time_zone)

    def entry(self) -> JournalEntry:
        return JournalEntry(
            source_type="invoice",
            source_id=self.invoice_id,
            account_id=self.account_id,
            currency=self.currency,
            posted_at=self.posted_at,
            description=f"Invoice {self.number}",
            lines=_lines(*_sale(self.gross, self.recurring_net, self.usage_net, self.tax, self.deferred_amount())),
        )


def _sale(gross: Decimal, recurring_net: Decimal, usage_net: Decimal, tax: Decimal,
          deferred: Decimal = Decimal(0)) -> list[tuple[str, Decimal, Decimal]]:
    """(account, debit, credit) of a sale: AR debited with the gross, each revenue account, deferred revenue (the
    part of the recurring net for days still to come) and VAT credited."""
    return [(AR, gross, Decimal(0)), _credit(REVENUE_RECURRING, recurring_net - deferred),
            _credit(DEFERRED_REVENUE, deferred), _credit(REVENUE_USAGE, usage_net), _credit(VAT, tax)]


@dataclass(frozen=True)
class CorrectionPosting(_Deferring):
    """A correction of an issued invoice, posted on its own (source type `kind`, the document's id).

    A debit note ("debitNote") is posted like an invoice: AR debited with the gross, revenue and VAT credited.
    A credit note ("creditNote") is the reverse of the invoice posting for the credited amounts: revenue and
    VAT debited, AR credited with the gross (when the invoice was already paid, AR goes negative: a credit
    the customer holds). `deferred` are the credited recurring-side lines with the service days of the lines
    they credit (nets positive, as on the note): the part for days not over yet comes out of DEFERRED_REVENUE,
    the rest out of revenue, so the invoice's schedule less the note's is what remains to recognize."""

    kind: str  # "creditNote" | "debitNote"
    note_id: uuid.UUID
    account_id: uuid.UUID
    number: str
    posted_at: datetime
    currency: str
    recurring_net: Decimal
    usage_net: Decimal
    tax: Decimal
    gross: Decimal
    deferred: tuple[DeferredLine, ...] = ()
    time_zone: str = "UTC"

    def schedule(self) -> tuple[DeferredLine, ...]:
        """What the note changes in what is left to recognize: a credit note's lines count negative."""
        return _still_running(self.deferred, self.posted_at, self.time_zone, -1 if self.kind == "creditNote" else 1)

    def entry(self) -> JournalEntry:
        if self.kind not in ("creditNote", "debitNote"):
            raise InvalidValue("kind", self.kind, "must be creditNote or debitNote")
        pairs = _sale(self.gross, self.recurring_net, self.usage_net, self.tax, self.deferred_amount())
        if self.kind == "creditNote":
            pairs = [(account, credit, debit) for account, debit, credit in pairs]
        label = "Credit note" if self.kind == "creditNote" else "Debit note"
        return JournalEntry(
            source_type=self.kind,
            source_id=self.note_id,
            account_id=self.account_id,
            currency=self.currency,
            posted_at=self.posted_at,
            description=f"{label} {self.number}",
            lines=_lines(*pairs),
        )


@dataclass(frozen=True)
class PaymentPosting:
    payment_id: uuid.UUID
    account_id: uuid.UUID
    posted_at: datetime
    currency: str
    amount: Decimal

    def entry(self) -> JournalEntry:
        # The whole amount leaves AR, allocated or not: an overpayment is a credit balance the customer holds.
        zero = Decimal(0)
        return JournalEntry(
            source_type="payment",
            source_id=self.payment_id,
            account_id=self.account_id,
            currency=self.currency,
            posted_at=self.posted_at,
            description=f"Payment {self.payment_id}",
            lines=_lines((BANK, self.amount, zero), (AR, zero, self.amount)),
        )


@dataclass(frozen=True)
class TrialBalance:
    per_currency: dict[str, tuple[Decimal, Decimal]]
    balanced: bool
    chain_ok: bool


@dataclass(frozen=True)
class Recognition:
    """Revenue of one billing account moved from DEFERRED_REVENUE to revenue by the run through `through`
    (`amount` negative when a later correction took back more than was left deferred: revenue returns to
    deferred). `run` numbers the entries of one account and day, so a run repeated after new documents adds
    an entry instead of clashing with the first."""

    account_id: uuid.UUID
    currency: str
    through: date
    run: int
    amount: Decimal
    posted_at: datetime

    def entry(self) -> JournalEntry:
        key = f"openbss:recognition:{self.account_id}:{self.currency}:{self.through.isoformat()}:{self.run}"
        return JournalEntry(
            source_type="recognition",
            source_id=uuid.uuid5(uuid.NAMESPACE_URL, key),
            account_id=self.account_id,
            currency=self.currency,
            posted_at=self.posted_at,
            description=f"Revenue recognized through {self.through.isoformat()}",
            lines=_lines((DEFERRED_REVENUE, max(self.amount, Decimal(0)), max(-self.amount, Decimal(0))),
                         _credit(REVENUE_RECURRING, self.amount)),
        )
