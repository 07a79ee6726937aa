"""Statement files the tests write from the templates beside this module: what the bank would send.

`camt(entries, ...)` renders camt053.001.02.xml.j2, `mt940(entries, ...)` mt940.txt.j2; both compute the
closing balance from the opening balance and the entries, as a bank does, unless `closing` is given
(a test of a file whose balances do not add up).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import jinja2

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), undefined=jinja2.ChainableUndefined,
                          autoescape=False, keep_trailing_newline=True)
OUR_IBAN = "DE89370400440532013000"


def entry(amount: str, *, credit: bool = True, **details) -> dict:
    return {"amount": amount, "credit": credit, **details}


def _closing(opening: str, entries: list[dict], comma: bool) -> str:
    total = Decimal(opening.replace(",", "."))
    for e in entries:
        if e.get("status", "BOOK") == "BOOK":
            value = Decimal(e["amount"].replace(",", "."))
            total += value if e["credit"] else -value
    text = f"{total:.2f}"
    return text.replace(".", ",") if comma else text


def camt(entries: list[dict], *, statement_id: str = "STMT-2026-11-03", sequence: int = 42, currency: str = "EUR",
         opening: str = "1000.00", closing: str | None = None, opening_date: str = "2026-11-02",
         closing_date: str = "2026-11-03") -> bytes:
    return _ENV.get_template("camt053.001.02.xml.j2").render(
        msg_id=f"MSG-{statement_id}", created=f"{closing_date}T18:00:00+01:00", statement_id=statement_id,
        sequence=sequence, iban=OUR_IBAN, currency=currency, opening=opening,
        closing=closing or _closing(opening, entries, comma=False), opening_date=opening_date,
        closing_date=closing_date, entries=entries,
    ).encode()


def mt940(entries: list[dict], *, statement_id: str = "STMT-2026-11-03", sequence: str = "00042/001",
          currency: str = "EUR", opening: str = "1000,00", closing: str | None = None, opening_date: str = "261102",
          closing_date: str = "261103") -> bytes:
    return _ENV.get_template("mt940.txt.j2").render(
        statement_id=statement_id, account="37040044/0532013000", sequence=sequence, currency=currency,
        opening=opening, closing=closing or _closing(opening, entries, comma=True), opening_date=opening_date,
        closing_date=closing_date, entries=entries,
    ).encode()
