"""The receivables journal: pure double-entry types, the balance invariant and the hash chain.

Every entry balances (debits == credits) by construction. Entries are chained: each stored entry
carries the hash of its predecessor and a SHA-256 over a canonical form of itself, so changing any
stored amount, account or date is visible to `verify_chain` without trusting the database.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from openbss.core.errors import InvalidValue
from openbss.core.money import check_currency

BANK = "1000 Bank"
AR = "1100 Accounts receivable"
VAT = "2200 VAT payable"
REVENUE_RECURRING = "4000 Revenue: recurring charges"
REVENUE_USAGE = "4100 Revenue: usage charges"
CHART = (BANK, AR, VAT, REVENUE_RECURRING, REVENUE_USAGE)

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


@dataclass(frozen=True)
class InvoicePosting:
    invoice_id: uuid.UUID
    account_id: uuid.UUID
    number: str
    posted_at: datetime
    currency: str
    recurring_net: Decimal
    usage_net: Decimal
    tax: Decimal
    gross: Decimal

    def entry(self) -> JournalEntry:
        return JournalEntry(
            source_type="invoice",
            source_id=self.invoice_id,
            account_id=self.account_id,
            currency=self.currency,
            posted_at=self.posted_at,
            description=f"Invoice {self.number}",
            lines=_lines(*_sale(self.gross, self.recurring_net, self.usage_net, self.tax)),
        )


def _sale(gross: Decimal, recurring_net: Decimal, usage_net: Decimal, tax: Decimal) -> list[tuple[str, Decimal, Decimal]]:
    """(account, debit, credit) of a sale: AR debited with the gross, each revenue account and VAT credited."""
    return [(AR, gross, Decimal(0)), _credit(REVENUE_RECURRING, recurring_net), _credit(REVENUE_USAGE, usage_net),
            _credit(VAT, tax)]


@dataclass(frozen=True)
class CorrectionPosting:
    """A correction of an issued invoice, posted on its own (source type `kind`, the document's id).

    A debit note ("debitNote") is posted like an invoice: AR debited with the gross, revenue and VAT credited.
    A credit note ("creditNote") is the reverse of the invoice posting for the credited amounts: revenue and
    VAT debited, AR credited with the gross (when the invoice was already paid, AR goes negative: a credit
    the customer holds)."""

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

    def entry(self) -> JournalEntry:
        if self.kind not in ("creditNote", "debitNote"):
            raise InvalidValue("kind", self.kind, "must be creditNote or debitNote")
        pairs = _sale(self.gross, self.recurring_net, self.usage_net, self.tax)
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
