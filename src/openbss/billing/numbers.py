"""Document numbers: one gapless series per document type and issue year, taken when the document is issued.

| document    | number            | series (db.numbering) |
|-------------|-------------------|-----------------------|
| invoice     | INV-2026-000001   | invoice-2026          |
| credit note | CN-2026-000001    | creditNote-2026       |
| debit note  | DN-2026-000001    | debitNote-2026        |

The year is the issue date's (the date printed on the document, in the account's zone). A number is
taken inside the transaction that writes the issued document (`db.numbering.next_number` locks the
series row until commit), so only a committed, issued document consumes one: a transaction that rolls
back gives its number back to the next issuer, and documents that are not issued (a draft, a bill run
with nothing to bill) never take one. The invoice series keeps the name it always had, so numbering
continues where existing databases left it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from openbss.db.numbering import next_number, next_numbers
from openbss.db.uow import UnitOfWork

# document type -> (number prefix, series name prefix)
SERIES = {"invoice": ("INV", "invoice"), "creditNote": ("CN", "creditNote"), "debitNote": ("DN", "debitNote")}


def issue_number(uow: UnitOfWork, document: str, issue_date: date) -> str:
    """The next number of `document`'s series for the year of `issue_date`, e.g. CN-2026-000007."""
    prefix, series = SERIES[document]
    year = issue_date.year
    return f"{prefix}-{year}-{next_number(uow, f'{series}-{year}'):06d}"


def issue_numbers(uow: UnitOfWork, document: str, issue_dates: Sequence[date]) -> list[str]:
    """Numbers for many documents at once, in the order given: one block per issue year (a bill run batch)."""
    prefix, series = SERIES[document]
    years = sorted({d.year for d in issue_dates})
    blocks = {y: iter(next_numbers(uow, f"{series}-{y}", sum(d.year == y for d in issue_dates))) for y in years}
    return [f"{prefix}-{d.year}-{next(blocks[d.year]):06d}" for d in issue_dates]
