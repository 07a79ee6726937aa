"""VAT rates as code: a table keyed by (country, tax category) with each rate's history.

Rates change by law on a known date, so each entry lists (valid_from, rate) and the rate that applies
is the latest one that started on or before the tax point (the invoice's issue date). Keeping the
history lets an invoice for an old period be re-derived exactly, and temporary cuts (DE 2020, IE
2020-21) are plain entries. Rates are fractions (0.19 for 19 %). The categories "zero" and "exempt"
are 0 in every country; any other country or category with no entry is an InvalidValue, so a bill
run reports that account instead of guessing a rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openbss.core.errors import InvalidValue

TAX_CATEGORIES = ("standard", "reduced", "zero", "exempt")
ZERO_RATED = ("zero", "exempt")


@dataclass(frozen=True)
class TaxRate:
    valid_from: date
    rate: Decimal


def _rates(*history: tuple[date, str]) -> tuple[TaxRate, ...]:
    return tuple(TaxRate(d, Decimal(r)) for d, r in history)


RATES: dict[tuple[str, str], tuple[TaxRate, ...]] = {
    # The German COVID cut of the second half of 2020.
    ("DE", "standard"): _rates((date(2007, 1, 1), "0.19"), (date(2020, 7, 1), "0.16"), (date(2021, 1, 1), "0.19")),
    ("DE", "reduced"): _rates((date(1983, 7, 1), "0.07"), (date(2020, 7, 1), "0.05"), (date(2021, 1, 1), "0.07")),
    ("FR", "standard"): _rates((date(2014, 1, 1), "0.20")),
    ("FR", "reduced"): _rates((date(2014, 1, 1), "0.055")),
    ("GB", "standard"): _rates((date(2011, 1, 4), "0.20")),
    ("GB", "reduced"): _rates((date(1997, 9, 1), "0.05")),
    ("NL", "standard"): _rates((date(2012, 10, 1), "0.21")),
    ("NL", "reduced"): _rates((date(2019, 1, 1), "0.09")),
    ("ES", "standard"): _rates((date(2012, 9, 1), "0.21")),
    ("ES", "reduced"): _rates((date(2012, 9, 1), "0.10")),
    ("IT", "standard"): _rates((date(2013, 10, 1), "0.22")),
    ("IT", "reduced"): _rates((date(2013, 10, 1), "0.10")),
    ("AT", "standard"): _rates((date(1984, 1, 1), "0.20")),
    ("AT", "reduced"): _rates((date(1984, 1, 1), "0.10")),
    ("BE", "standard"): _rates((date(1996, 1, 1), "0.21")),
    ("BE", "reduced"): _rates((date(1996, 1, 1), "0.06")),
    # The Irish temporary 21 % from September 2020 to February 2021.
    ("IE", "standard"): _rates((date(2012, 1, 1), "0.23"), (date(2020, 9, 1), "0.21"), (date(2021, 3, 1), "0.23")),
    ("IE", "reduced"): _rates((date(2003, 1, 1), "0.135")),
    ("PL", "standard"): _rates((date(2011, 1, 1), "0.23")),
    ("PL", "reduced"): _rates((date(2011, 1, 1), "0.08")),
    ("SE", "standard"): _rates((date(1990, 7, 1), "0.25")),
    ("SE", "reduced"): _rates((date(1992, 1, 1), "0.12")),
}


def rate(country: str, category: str, on: date) -> Decimal:
    """The VAT rate for a tax category in a country at the tax point `on`."""
    if category in ZERO_RATED:
        return Decimal(0)
    if category not in TAX_CATEGORIES:
        raise InvalidValue("taxCategory", category, f"is not one of {', '.join(TAX_CATEGORIES)}")
    history = RATES.get((country, category))
    if history is None:
        raise InvalidValue("country", country, f"has no {category!r} VAT rate configured")
    applicable = [r for r in history if r.valid_from <= on]
    if not applicable:
        raise InvalidValue("country", country, f"has no {category!r} VAT rate on {on.isoformat()}")
    return max(applicable, key=lambda r: r.valid_from).rate
