"""Read SWIFT MT940 customer statements with the `mt-940` package (every opt-in fix of 5.x switched on).

The package does not say where in the file a field failed, so the lines of the tags are noted first and
an error is reported at the tag it names. A file may hold several statements (one per `:20:`); each must
carry its account (`:25:`), statement number (`:28C:`) and balances (`:60F/M:`, `:62F/M:`), and its
opening balance plus its lines must give its closing balance.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import mt940

from openbss.core.money import Money
from openbss.reconciliation.model import (
    CREDIT,
    DEBIT,
    MalformedStatement,
    ParsedStatement,
    StatementLine,
    check_amount,
    check_balances,
)

_TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<value>.*)$")
_REQUIRED = {"transaction_reference": ":20:", "account_identification": ":25:", "statement_number": ":28C:"}


def _decode(content: bytes) -> str:
    # SWIFT's character set is a subset of ASCII; banks' files are UTF-8 or ISO 8859-1 (never fails).
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _tags(text: str) -> list[tuple[int, str, str]]:
    """(line number, tag, first line of its value) of every tag in the file."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        m = _TAG.match(line.strip())
        if m:
            found.append((number, m["tag"], m["value"]))
    return found


def _failed_tag(tags: list[tuple[int, str, str]], error: RuntimeError) -> MalformedStatement:
    tag, value = (error.args[1], error.args[2]) if len(error.args) >= 3 else (None, None)
    tag_id = str(getattr(tag, "id", "?"))
    first = (value or "").splitlines()[0].strip() if value else ""
    line = next((n for n, t, v in tags if t.startswith(tag_id) and v.strip() == first), None)
    return MalformedStatement(line, f":{tag_id}:", first, "does not have the MT940 format of the field")


def parse_mt940(content: bytes) -> list[ParsedStatement]:
    text = _decode(content).replace("\r\n", "\n")
    tags = _tags(text)
    if not any(t == "20" for _, t, _ in tags):
        raise MalformedStatement(1, ":20:", None, "is missing: no MT940 statement in the file")
    try:
        blocks = mt940.parse_statements(text, options=mt940.Options.all())
    except RuntimeError as e:
        raise _failed_tag(tags, e) from None
    except (ValueError, InvalidOperation, KeyError, TypeError) as e:
        raise MalformedStatement(None, "MT940", str(e), "cannot be read as an MT940 statement") from None
    starts = [n for n, t, _ in tags if t == "20"]
    return [_statement(block, start, [n for n, t, _ in tags if t == "61" and n > start and
                                      (i + 1 == len(starts) or n < starts[i + 1])])
            for i, (block, start) in enumerate(zip(blocks, starts, strict=True))]


def _balance(block, name: str, line: int) -> Money | None:
    bal = block.data.get(f"final_{name}") or block.data.get(f"intermediate_{name}")
    if bal is None:
        return None
    return check_amount(bal.amount.amount, bal.amount.currency, line, f":{'60' if 'opening' in name else '62'}:")


def _statement(block, start: int, line_numbers: list[int]) -> ParsedStatement:
    data = block.data
    for key, tag in _REQUIRED.items():
        if not data.get(key):
            raise MalformedStatement(start, tag, None, "is missing from the statement starting here")
    opening, closing = _balance(block, "opening_balance", start), _balance(block, "closing_balance", start)
    if opening is None or closing is None:
        raise MalformedStatement(start, ":60F:" if opening is None else ":62F:", None,
                                 "is missing from the statement starting here")
    lines = tuple(_line(t, i + 1, line_numbers[i] if i < len(line_numbers) else start, opening.currency)
                  for i, t in enumerate(block))
    parsed = ParsedStatement(
        format="mt940",
        statement_ref=data["transaction_reference"],
        account=data["account_identification"],
        sequence=f"{data['statement_number']}/{data.get('sequence_number') or '1'}",
        currency=opening.currency,
        opening=opening,
        closing=closing,
        created_at=None,
        lines=lines,
    )
    check_balances(parsed, start, ":62F:")
    return parsed


def _plain(value: date | None) -> date | None:
    # mt-940 hands out its own date subclass; stored and compared as a plain date.
    return None if value is None else date(value.year, value.month, value.day)


def _line(t, line_no: int, source_line: int, currency: str) -> StatementLine:
    d = t.data
    mark = (d.get("status") or "").upper()
    signed: Decimal = d["amount"].amount
    amount = check_amount(abs(signed), d.get("currency") or currency, source_line, ":61:")
    customer_ref = d.get("customer_reference")
    texts = [d.get("purpose") or d.get("transaction_details"),
             None if customer_ref in (None, "", "NONREF") else customer_ref]
    return StatementLine(
        line_no=line_no,
        direction=CREDIT if signed > 0 else DEBIT,
        amount=amount,
        booked=True,  # MT940 reports booked movements only (MT942 is the interim report)
        reversal=mark.startswith("R"),
        booking_date=_plain(d.get("entry_date")),
        value_date=_plain(d.get("date")),
        bank_ref=d.get("bank_reference") or None,
        end_to_end_id=d.get("end_to_end_reference"),
        creditor_ref=None,
        remittance="\n".join(x.strip() for x in texts if x and x.strip()) or None,
        counterparty_name=d.get("applicant_name"),
        counterparty_iban=d.get("applicant_iban"),
        bank_code=d.get("transaction_code") or d.get("id"),
        return_reason=None,
        source_line=source_line,
    )
