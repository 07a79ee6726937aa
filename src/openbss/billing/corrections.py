"""Credit notes and debit notes: pure types and rules, no I/O (issue 5: issued invoices never change).

Rules:

- A credit note corrects one issued invoice, line by line: for each chosen line either a quantity (the
  line's net pro rata, net x quantity / line quantity, rounded once to the currency's minor units) or an
  amount (net, already in minor units). Never more than what is still uncredited on that line: earlier
  credit notes count. Only lines that charged something (net > 0) can be credited: a discount or a credit
  line is already a reduction. A full credit note is every line for its whole uncredited net.
- Amounts on a credit note are positive (EN 16931 document type 381: the amounts credited). VAT follows
  the credited line (its category and rate, i.e. the invoice's tax point) and is computed per (category,
  rate) group of the credited nets, rounded once per group, as the invoice does it (`vat_breakdown`), so a
  full credit note reproduces the invoice's VAT exactly; partial ones each round their own groups.
- A debit note charges more on an issued invoice (a missed charge): lines with a description, a net
  amount, a tax category, optionally a quantity and unit and the product it charges; VAT at the rate of
  the debit note's own issue date (its tax point) in the account's country, every line "exempt" for a
  tax-exempt account as on invoices. Posted and collected like an invoice (EN 16931 document type 383).
- A dispute holds an amount out of collections: the gross (net + VAT per group) of the disputed line
  amounts, computed as the credit note that would settle it in full.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openbss.billing.model import Invoice, InvoiceLine, InvoiceTax, vat_breakdown
from openbss.billing.tax import Supply
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money, total

NOTE_STATES = ("sent", "partiallyPaid", "settled")  # a debit note is collected like an invoice
DISPUTE_STATES = ("open", "resolved", "rejected")
RAISED_BY = ("customer", "agent")


@dataclass(frozen=True)
class LineCredit:
    """What to credit on one invoice line: a quantity or a net amount (exactly one of them)."""

    line_id: uuid.UUID
    quantity: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class DebitItem:
    description: str
    amount: Decimal  # net
    tax_category: str
    quantity: Decimal = Decimal(1)
    unit: str = "each"
    product_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NoteLine:
    """A line of a credit or debit note; a credit note's names the invoice line it credits."""

    id: uuid.UUID
    line_no: int
    description: str
    quantity: Decimal
    unit: str
    net: Money
    tax_category: str
    tax_rate: Decimal
    invoice_line_id: uuid.UUID | None = None
    kind: str = "recurring"  # the credited line's kind: it chooses the revenue account the credit reverses
    product_id: uuid.UUID | None = None
    service_start: date | None = None
    service_end: date | None = None


@dataclass(frozen=True)
class Totals:
    taxes: tuple[InvoiceTax, ...]
    net: Money
    tax: Money
    gross: Money


@dataclass(frozen=True)
class CreditNote:
    id: uuid.UUID
    number: str
    account_id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str
    issue_date: date
    time_zone: str
    currency: str
    reason: str
    net_total: Money
    tax_total: Money
    gross_total: Money
    applied: Money  # the part that reduced the invoice's open amount; the rest is a credit on the account
    created_at: datetime
    lines: tuple[NoteLine, ...] = ()
    taxes: tuple[InvoiceTax, ...] = ()
    dispute_id: uuid.UUID | None = None
    idempotency_key: str | None = None

    @property
    def account_credit(self) -> Money:
        """What the customer holds as a credit balance from this note (the invoice was already paid)."""
        return self.gross_total - self.applied


@dataclass(frozen=True)
class DebitNote:
    id: uuid.UUID
    number: str
    account_id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str
    issue_date: date
    due_date: date
    time_zone: str
    currency: str
    reason: str
    net_total: Money
    tax_total: Money
    gross_total: Money
    amount_paid: Money
    state: str
    created_at: datetime
    lines: tuple[NoteLine, ...] = ()
    taxes: tuple[InvoiceTax, ...] = ()

    @property
    def remaining(self) -> Money:
        return self.gross_total - self.amount_paid


@dataclass(frozen=True)
class DisputeLine:
    invoice_line_id: uuid.UUID
    amount: Money  # net disputed on the line


@dataclass(frozen=True)
class Dispute:
    id: uuid.UUID
    account_id: uuid.UUID
    invoice_id: uuid.UUID
    state: str
    raised_by: str
    reason: str
    held: Money  # gross held out of collections while open
    created_at: datetime
    lines: tuple[DisputeLine, ...] = ()
    resolved_at: datetime | None = None
    resolution: str | None = None
    credit_note_id: uuid.UUID | None = None


def check_reason(reason: str, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise InvalidValue(field, reason, "must say why (a non-empty text)")
    return reason.strip()


def _minor(amount: Decimal, currency: str, field: str) -> Money:
    money = Money(amount, currency)
    if money.rounded() != money:
        raise InvalidValue(field, amount, f"has more decimals than {currency} has")
    return money


def uncredited(lines: Sequence[InvoiceLine], credited: Mapping[uuid.UUID, Money], currency: str
               ) -> dict[uuid.UUID, Money]:
    """Per invoice line, the net still open to credit: its net less what credit notes already credited."""
    return {line.id: line.net - credited.get(line.id, Money.zero(currency)) for line in lines}


def credit_lines(invoice: Invoice, requests: Sequence[LineCredit], open_nets: Mapping[uuid.UUID, Money],
                 rounding: str, field: str = "lines") -> tuple[NoteLine, ...]:
    """The credit note lines for `requests` against `invoice` (see the module docstring for the rules);
    `open_nets` is what each line still has to credit (`uncredited`, less what open disputes hold when the
    caller wants that)."""
    if not requests:
        raise InvalidValue(field, [], "must name at least one invoice line to credit")
    by_id = {line.id: line for line in invoice.lines}
    seen: set[uuid.UUID] = set()
    result = []
    for i, r in enumerate(requests):
        at = f"{field}[{i}]"
        line = by_id.get(r.line_id)
        if line is None:
            raise InvalidValue(f"{at}.lineId", str(r.line_id), f"is not a line of invoice {invoice.number}")
        if r.line_id in seen:
            raise InvalidValue(f"{at}.lineId", str(r.line_id), "is named twice")
        seen.add(r.line_id)
        if line.net.amount <= 0:
            raise InvalidValue(f"{at}.lineId", str(r.line_id), f"line {line.line_no} charged {line.net}: "
                               "only a charge can be credited")
        if (r.quantity is None) == (r.amount is None):
            raise InvalidValue(at, {"quantity": r.quantity, "amount": r.amount}, "give a quantity or an amount")
        if r.quantity is not None:
            if not 0 < r.quantity <= abs(line.quantity):
                raise InvalidValue(f"{at}.quantity", r.quantity, f"must be above 0 and at most the line's "
                                   f"{line.quantity.normalize():f}")
            net, quantity = (line.net * (r.quantity / abs(line.quantity))).rounded(rounding), r.quantity
        else:
            net = _minor(r.amount, invoice.currency, f"{at}.amount")
            quantity = line.quantity if net == line.net else Decimal(1)
        left = open_nets[line.id]
        if net.amount <= 0:
            raise InvalidValue(f"{at}.amount" if r.amount is not None else f"{at}.quantity",
                               r.amount if r.amount is not None else r.quantity, "credits nothing")
        if net > left:
            raise InvalidValue(f"{at}.amount" if r.amount is not None else f"{at}.quantity",
                               r.amount if r.amount is not None else r.quantity,
                               f"credits {net} but only {left} of line {line.line_no} is left to credit")
        result.append(NoteLine(
            id=new_id(), line_no=len(result) + 1, description=f"Credit: {line.description}", quantity=quantity,
            unit=line.unit if quantity == line.quantity else "each", net=net, tax_category=line.tax_category,
            tax_rate=line.tax_rate, invoice_line_id=line.id, kind=line.kind, product_id=line.product_id,
            service_start=line.service_start, service_end=line.service_end,
        ))
    return tuple(result)


def full_credit(invoice: Invoice, open_nets: Mapping[uuid.UUID, Money]) -> list[LineCredit]:
    """Every charge line of the invoice for all it still has to credit."""
    return [LineCredit(line.id, amount=open_nets[line.id].amount)
            for line in invoice.lines if line.net.amount > 0 and open_nets[line.id].amount > 0]


def debit_lines(items: Sequence[DebitItem], currency: str, supply: Supply, issue_date: date,
                tax_rates: Callable[[str, str, date], Decimal], field: str = "lines") -> tuple[NoteLine, ...]:
    """The lines of a debit note, taxed where and how the invoice's supply is (`billing.tax.place_of_supply`:
    a reverse-charge customer's debit note is reverse charged too)."""
    if not items:
        raise InvalidValue(field, [], "must have at least one line")
    result = []
    for i, item in enumerate(items):
        at = f"{field}[{i}]"
        description = check_reason(item.description, f"{at}.description")
        net = _minor(item.amount, currency, f"{at}.amount")
        if net.amount <= 0:
            raise InvalidValue(f"{at}.amount", item.amount, "must be greater than 0 (a reduction is a credit note)")
        if item.quantity <= 0:
            raise InvalidValue(f"{at}.quantity", item.quantity, "must be greater than 0")
        category = supply.category(item.tax_category)
        rate = tax_rates(supply.country, category, issue_date)
        result.append(NoteLine(
            id=new_id(), line_no=i + 1, description=description, quantity=item.quantity, unit=item.unit, net=net,
            tax_category=category, tax_rate=rate, product_id=item.product_id,
        ))
    return tuple(result)


def totals(lines: Sequence[NoteLine], currency: str, rounding: str) -> Totals:
    """EN 16931 totals: VAT per (category, rate) group rounded once, gross = net + VAT."""
    # vat_breakdown reads only tax_category, tax_rate and net, which note lines have as invoice lines do.
    taxes = vat_breakdown(lines, currency, rounding)  # type: ignore[arg-type]
    net = total((line.net for line in lines), currency)
    tax = total((t.tax for t in taxes), currency)
    return Totals(taxes, net, tax, net + tax)


def revenue_split(lines: Sequence[NoteLine], currency: str) -> tuple[Money, Money]:
    """(recurring-side net, usage net): the ledger's two revenue accounts, as invoices are posted."""
    usage = total((line.net for line in lines if line.kind == "usage"), currency)
    return total((line.net for line in lines), currency) - usage, usage


def check_raised_by(value: str) -> str:
    if value not in RAISED_BY:
        raise InvalidValue("raisedBy", value, f"must be one of {', '.join(RAISED_BY)}")
    return value
