"""`openbss ledger verify`: the journal balances, its chain is intact, and it agrees with the documents.

Checks, in this order, stopping at nothing (every discrepancy is listed; the CLI names the first):
1. balance: per currency, debits == credits;
2. chain: every entry's hash recomputed (ledger.service.chain_break);
3. receivable: per billing account, AR in the journal == the document arithmetic, read through the owning
   domains' service functions (never their tables):
       issued invoices' gross + debit notes' gross - credit notes' gross
       - money received net of refunds, reversals, chargebacks and returns (payments.service.net_received)
       - amounts written off (dunning.service.written_off, per invoice or debit note)
   A customer's credit balance (over-payment, credit note on a paid invoice) sits in AR as a negative amount
   (payments/model.py's decision), so AR alone is compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from openbss.billing import correction_service as corrections
from openbss.billing import service as billing
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.dunning import service as dunning
from openbss.ledger import service as ledger
from openbss.party import service as party
from openbss.payments import service as payments

PAGE = 1000


@dataclass(frozen=True)
class Discrepancy:
    check: str  # "balance" | "chain" | "receivable"
    subject: str  # the currency, the journal, or the billing account
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: expected {self.expected}, found {self.found}"


@dataclass
class Verification:
    accounts: int = 0  # billing accounts whose receivable was compared
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def every(uow: UnitOfWork, list_fn: Callable) -> Iterable:
    """Every item of a paged service list function `list_fn(uow, filters, offset, limit)`."""
    offset, total = 0, 1
    while offset < total:
        page, total = list_fn(uow, {}, offset, PAGE)
        yield from page
        offset += len(page)
        if not page:
            return


def _add(into: dict[uuid.UUID, Money], account_id: uuid.UUID, amount: Money) -> None:
    into[account_id] = into[account_id] + amount if account_id in into else amount


def document_receivables(uow: UnitOfWork) -> dict[uuid.UUID, Money]:
    """Per billing account, what its documents say it owes (negative: a credit it holds); see the docstring."""
    expected: dict[uuid.UUID, Money] = {}
    receivables: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}  # invoice or debit note -> (account, currency)
    # Issued invoices only (list_invoices leaves drafts out): a draft is not a receivable yet.
    for doc in (*every(uow, billing.list_invoices), *every(uow, corrections.list_debit_notes)):
        _add(expected, doc.account_id, doc.gross_total)
        receivables[doc.id] = (doc.account_id, doc.currency)
    for note in every(uow, corrections.list_credit_notes):
        _add(expected, note.account_id, -note.gross_total)
    for account_id, received in payments.net_received(uow).items():
        _add(expected, account_id, -received)
    for document_id, amount in written_off(uow, list(receivables)).items():
        account_id, currency = receivables[document_id]
        _add(expected, account_id, -Money(amount, currency))
    return expected


def written_off(uow: UnitOfWork, document_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """{invoice or debit note: the amount collections wrote off}, asked in chunks."""
    result: dict[uuid.UUID, Decimal] = {}
    for i in range(0, len(document_ids), PAGE):
        result.update(dunning.written_off(uow, document_ids[i:i + PAGE]))
    return result


def _account_name(uow: UnitOfWork, account_id: uuid.UUID) -> str:
    return f"billing account {party.get_billing_account(uow, account_id).number} ({account_id})"


def verify(uow: UnitOfWork) -> Verification:
    result = Verification()
    for currency, (debits, credits) in ledger.currency_totals(uow).items():
        if debits != credits:
            result.discrepancies.append(Discrepancy("balance", f"journal in {currency}",
                                                    f"debits = credits = {Money(credits, currency)}",
                                                    f"debits {Money(debits, currency)}"))
    broken = ledger.chain_break(uow)
    if broken is not None:
        result.discrepancies.append(Discrepancy("chain", "journal hash chain", "an intact chain", broken))
    expected, found = document_receivables(uow), ledger.ar_balances(uow)
    named = sorted((_account_name(uow, a), a) for a in expected.keys() | found.keys())
    result.accounts = len(named)
    for name, account_id in named:
        want, have = expected.get(account_id), found.get(account_id)
        currency = (want or have).currency
        want, have = want or Money.zero(currency), have or Money.zero(currency)
        if want.currency != have.currency or want.amount != have.amount:
            result.discrepancies.append(Discrepancy("receivable", name, f"AR {want} (its documents)",
                                                    f"AR {have} (the journal)"))
    return result
