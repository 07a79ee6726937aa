"""Taxes as code: VAT/GST rates per (country, tax category) with their history, the jurisdictions, and the
place-of-supply rules that pick the country and category an invoice is taxed in. Pure: no I/O.

Rates. Rates change by law on a known date, so each entry lists (valid_from, rate) and the rate that applies is
the latest one that started on or before the tax point (the invoice's issue date). Keeping the history lets an
invoice for an old period be re-derived exactly, and temporary cuts (DE 2020, IE 2020-21, LU 2023) are plain
entries. Rates are fractions (0.19 for 19 %). "reduced" is the member state's first reduced rate in the
European Commission's list (some states have two or three; a second one would be a category of its own).
The categories "zero", "exempt", "reverseCharge" and "outOfScope" are 0 everywhere; any other country or
category with no entry is an InvalidValue, so a bill run reports that account instead of guessing a rate.

Source of the rates: European Commission, "VAT rates applied in the Member States of the European Union"
(taxation-customs.ec.europa.eu, situation at 1 January 2025), with the changes enacted for 2025-2026
(EE 24 % from 2025-07-01, RO 21 %/11 % from 2025-08-01, SK 23 %/19 % from 2025-01-01, FI 25.5 % from
2024-09-01 and 13.5 % from 2026-01-01); GB: HMRC VAT rates; CH: ESTV MWST-Saetze 2024; NO: Skatteetaten.

Place of supply (`place_of_supply`), for telecommunications, broadcasting and electronic services:
- A tax-exempt account (TMF666 taxExemption): every line "exempt" (E), filed under the account's country.
- Business to business (the account has a VAT id; its prefix says where the buyer is established, EL = GR):
  in the seller's own member state, normal VAT of that state; in another EU member state, reverse charge
  (Directive 2006/112/EC art. 44 and 196): category "reverseCharge" (EN 16931 AE) at 0 %, the buyer accounts
  for the VAT; the "zero" and "exempt" categories stay as they are (there is no VAT to reverse). A VAT id
  of Northern Ireland (XI) counts as GB: the XI scheme covers goods only.
- Business to consumer (no VAT id): the customer's country (art. 58, since 2015 for these services: the
  operator declares other member states' VAT through the One-Stop Shop), at that country's rate.
- Outside the EU (GB since 2021, CH, NO, US, ...): the supply is outside the scope of EU VAT (art. 59).
  Where this table has rates for the customer's country, the operator is taken to be registered there
  (GB, CH and NO make foreign suppliers of digital services to consumers register) and charges that rate;
  otherwise the lines are "outOfScope" (EN 16931 O, "Not subject to VAT"), filed under the customer's
  country. A business outside the EU cannot be told from a consumer here (a VAT id is an EU one), so it is
  taxed as a consumer.
- No seller profile yet (the seller's country unknown): every supply is treated as domestic to the
  customer, i.e. taxed at the customer's country's rate, as before place-of-supply rules existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from openbss.core.errors import InvalidValue

# What an offering may say (catalog) ...
OFFERING_CATEGORIES = ("standard", "reduced", "zero", "exempt")
# ... and what a line may end up in once the place of supply is known.
REVERSE_CHARGE = "reverseCharge"
OUT_OF_SCOPE = "outOfScope"
EXEMPT = "exempt"
TAX_CATEGORIES = (*OFFERING_CATEGORIES, REVERSE_CHARGE, OUT_OF_SCOPE)
ZERO_RATED = ("zero", EXEMPT, REVERSE_CHARGE, OUT_OF_SCOPE)

EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
# VAT id prefixes that are not the ISO 3166 code of the country (Greece; Northern Ireland for services).
_VAT_PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}


@dataclass(frozen=True)
class TaxRate:
    valid_from: date
    rate: Decimal


def _rates(*history: tuple[date, str]) -> tuple[TaxRate, ...]:
    return tuple(TaxRate(d, Decimal(r)) for d, r in history)


def _since(year: int, rate: str) -> tuple[TaxRate, ...]:
    return _rates((date(year, 1, 1), rate))


RATES: dict[tuple[str, str], tuple[TaxRate, ...]] = {
    ("AT", "standard"): _since(1984, "0.20"),
    ("AT", "reduced"): _since(1984, "0.10"),
    ("BE", "standard"): _since(1996, "0.21"),
    ("BE", "reduced"): _since(1996, "0.06"),
    ("BG", "standard"): _since(2007, "0.20"),
    ("BG", "reduced"): _since(2011, "0.09"),
    ("CY", "standard"): _rates((date(2014, 1, 13), "0.19")),
    ("CY", "reduced"): _since(2014, "0.09"),
    ("CZ", "standard"): _since(2013, "0.21"),
    # The 15 % and 10 % rates merged into 12 % on 2024-01-01.
    ("CZ", "reduced"): _rates((date(2015, 1, 1), "0.15"), (date(2024, 1, 1), "0.12")),
    # The German COVID cut of the second half of 2020.
    ("DE", "standard"): _rates((date(2007, 1, 1), "0.19"), (date(2020, 7, 1), "0.16"), (date(2021, 1, 1), "0.19")),
    ("DE", "reduced"): _rates((date(1983, 7, 1), "0.07"), (date(2020, 7, 1), "0.05"), (date(2021, 1, 1), "0.07")),
    ("DK", "standard"): _since(1992, "0.25"),  # Denmark has no reduced rate
    ("EE", "standard"): _rates((date(2009, 7, 1), "0.20"), (date(2024, 1, 1), "0.22"), (date(2025, 7, 1), "0.24")),
    ("EE", "reduced"): _rates((date(2009, 1, 1), "0.09")),
    ("ES", "standard"): _rates((date(2012, 9, 1), "0.21")),
    ("ES", "reduced"): _rates((date(2012, 9, 1), "0.10")),
    ("FI", "standard"): _rates((date(2013, 1, 1), "0.24"), (date(2024, 9, 1), "0.255")),
    ("FI", "reduced"): _rates((date(2013, 1, 1), "0.14"), (date(2026, 1, 1), "0.135")),
    ("FR", "standard"): _since(2014, "0.20"),
    ("FR", "reduced"): _since(2014, "0.055"),
    ("GR", "standard"): _rates((date(2016, 6, 1), "0.24")),
    ("GR", "reduced"): _rates((date(2016, 6, 1), "0.13")),
    ("HR", "standard"): _rates((date(2012, 3, 1), "0.25")),
    ("HR", "reduced"): _since(2014, "0.13"),
    ("HU", "standard"): _since(2012, "0.27"),
    ("HU", "reduced"): _since(2009, "0.18"),
    # The Irish temporary 21 % from September 2020 to February 2021.
    ("IE", "standard"): _rates((date(2012, 1, 1), "0.23"), (date(2020, 9, 1), "0.21"), (date(2021, 3, 1), "0.23")),
    ("IE", "reduced"): _since(2003, "0.135"),
    ("IT", "standard"): _rates((date(2013, 10, 1), "0.22")),
    ("IT", "reduced"): _rates((date(2013, 10, 1), "0.10")),
    ("LT", "standard"): _rates((date(2009, 9, 1), "0.21")),
    ("LT", "reduced"): _since(2009, "0.09"),
    # The Luxembourg cut of 2023.
    ("LU", "standard"): _rates((date(2015, 1, 1), "0.17"), (date(2023, 1, 1), "0.16"), (date(2024, 1, 1), "0.17")),
    ("LU", "reduced"): _rates((date(2015, 1, 1), "0.08"), (date(2023, 1, 1), "0.07"), (date(2024, 1, 1), "0.08")),
    ("LV", "standard"): _rates((date(2011, 7, 1), "0.21")),
    ("LV", "reduced"): _since(2011, "0.12"),
    ("MT", "standard"): _since(2004, "0.18"),
    ("MT", "reduced"): _since(2011, "0.07"),
    ("NL", "standard"): _rates((date(2012, 10, 1), "0.21")),
    ("NL", "reduced"): _since(2019, "0.09"),
    ("PL", "standard"): _since(2011, "0.23"),
    ("PL", "reduced"): _since(2011, "0.08"),
    ("PT", "standard"): _since(2011, "0.23"),
    ("PT", "reduced"): _since(2011, "0.13"),
    # Romania's 2025 reform: 19 % -> 21 %, the 9 % and 5 % rates merged into 11 %.
    ("RO", "standard"): _rates((date(2017, 1, 1), "0.19"), (date(2025, 8, 1), "0.21")),
    ("RO", "reduced"): _rates((date(2016, 1, 1), "0.09"), (date(2025, 8, 1), "0.11")),
    ("SE", "standard"): _rates((date(1990, 7, 1), "0.25")),
    ("SE", "reduced"): _since(1992, "0.12"),
    ("SI", "standard"): _rates((date(2013, 7, 1), "0.22")),
    ("SI", "reduced"): _rates((date(2013, 7, 1), "0.095")),
    ("SK", "standard"): _rates((date(2011, 1, 1), "0.20"), (date(2025, 1, 1), "0.23")),
    ("SK", "reduced"): _rates((date(2011, 1, 1), "0.10"), (date(2025, 1, 1), "0.19")),
    # Outside the EU: jurisdictions where an EU operator registers to sell digital services to consumers.
    ("GB", "standard"): _rates((date(2011, 1, 4), "0.20")),
    ("GB", "reduced"): _rates((date(1997, 9, 1), "0.05")),
    ("CH", "standard"): _rates((date(2018, 1, 1), "0.077"), (date(2024, 1, 1), "0.081")),
    ("CH", "reduced"): _rates((date(2018, 1, 1), "0.025"), (date(2024, 1, 1), "0.026")),
    ("NO", "standard"): _since(2005, "0.25"),
    ("NO", "reduced"): _since(2012, "0.15"),
}


@dataclass(frozen=True)
class Jurisdiction:
    """A country taxing consumption: what its tax is called on documents and whether it is in the EU VAT area."""

    country: str
    tax_name: str  # VAT, MWST, MVA, GST, ...
    eu: bool


# Names of the tax where they are not "VAT" (what an invoice of that country prints).
_TAX_NAMES = {"CH": "MWST", "NO": "MVA", "AU": "GST", "NZ": "GST", "SG": "GST", "IN": "GST", "CA": "GST"}


def jurisdiction(country: str) -> Jurisdiction | None:
    """The jurisdiction of a country that openbss has rates for, None for one it does not tax in."""
    if not any(c == country for c, _ in RATES):
        return None
    return Jurisdiction(country, _TAX_NAMES.get(country, "VAT"), country in EU_MEMBER_STATES)


@lru_cache(maxsize=4096)  # RATES is fixed data: every line of a bill run asks again for the same few rates
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


@dataclass(frozen=True)
class Supply:
    """Where an invoice's supplies are taxed: `country` (the jurisdiction the tax report files it under) and
    `rule`: "domestic", "destination" (B2C in the customer's country), "reverseCharge", "outOfScope", "exempt"."""

    country: str
    rule: str

    def category(self, offering_category: str) -> str:
        """The tax category of a line whose offering says `offering_category`, under this supply's rule."""
        if self.rule == "exempt":
            return EXEMPT
        if self.rule == OUT_OF_SCOPE:
            return OUT_OF_SCOPE  # EN 16931 (BR-O-11): an "O" invoice has no other category
        if self.rule == REVERSE_CHARGE and offering_category in ("standard", "reduced"):
            return REVERSE_CHARGE
        return offering_category


def vat_id_country(vat_id: str) -> str:
    """The country (ISO 3166) a compact EU VAT id (DE136695976, EL094259216) belongs to."""
    prefix = vat_id[:2].upper()
    return _VAT_PREFIX_COUNTRY.get(prefix, prefix)


def place_of_supply(seller_country: str | None, buyer_country: str, buyer_vat_id: str | None,
                    exempt: bool = False) -> Supply:
    """Where and how the services of a seller established in `seller_country` to the account are taxed
    (see the module docstring for the rules)."""
    if exempt:
        return Supply(buyer_country, "exempt")
    if seller_country is None:
        return Supply(buyer_country, "domestic")
    if buyer_vat_id:
        established = vat_id_country(buyer_vat_id)
        if established == seller_country:
            return Supply(seller_country, "domestic")
        if established in EU_MEMBER_STATES and seller_country in EU_MEMBER_STATES:
            return Supply(established, REVERSE_CHARGE)
    if buyer_country == seller_country:
        return Supply(buyer_country, "domestic")
    if buyer_country in EU_MEMBER_STATES or jurisdiction(buyer_country) is not None:
        return Supply(buyer_country, "destination")
    return Supply(buyer_country, OUT_OF_SCOPE)
