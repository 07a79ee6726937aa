"""Rate table documents: the YAML or JSON form a tariff is written in, read into a `rules.RateTable`.

A document (YAML, or the same structure as JSON; `docs/rating.md` has a full example):

    name: mobile-eu                  # the table's name (optional when the importer names it)
    currency: EUR                    # ISO 4217: the currency every price below is in
    holidays: [2026-12-25, 2026-12-26]   # local dates the holiday bands apply on
    prefixFile: prefixes.csv         # optional: a CSV "prefix,zone" (header line first), relative to this file
    zones:
      - name: Germany
        prefixes: ["49"]             # E.164 digits without "+"; the longest matching prefix picks the zone
        rates:
          - usageType: voice         # voice (seconds), sms (messages), data (bytes)
            price: "0.10"            # per `unit` units of quantity, at most 6 decimals
            unit: 60                 # default 60
            first: 60                # charging increments: the first `first` units, then every started
            next: 60                 #   `next` (60/60 per started minute, 30/6, 1/1 per second)
            connectFee: "0.05"       # default 0
            minimum: "0.01"          # default 0
            rounding: half_up        # up, down or half_up (default)
            places: 4                # decimals of the charge, 0 to 6 (default 6)
            validFor: {startDateTime: 2026-01-01T00:00:00Z, endDateTime: 2027-01-01T00:00:00Z}
            bands:                   # the first band that applies gives the price, else `price`
              - {name: holiday, price: "0.02", holidays: true}
              - {name: peak, price: "0.20", start: "08:00", end: "18:00", days: [mon, tue, wed, thu, fri]}
              - {name: weekend, price: "0.03", days: [sat, sun]}

A band's `start` and `end` are local times of the account's zone ("HH:MM" or "HH:MM:SS"; `end` absent or
"24:00": midnight); `days` default to every day. The prefix file adds each row's prefix to the zone it
names, which must be declared under `zones` (with or without prefixes of its own), so a 20,000-prefix
numbering plan stays a CSV while its few zones' rates stay readable YAML.

Every problem is an InvalidValue naming its path in the document, e.g. `zones[3].rates[0].price`, or the
line of the prefix file, e.g. `prefixes.csv:12`.
"""

from __future__ import annotations

import csv
import json
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from openbss.core.errors import InvalidValue
from openbss.core.money import check_currency
from openbss.rating.rules import MAX_NUMBER_DIGITS, Band, Rate, RateTable, Zone

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class _Doc(BaseModel):
    # Unknown keys are refused: a misspelt `conectFee` must not silently price calls without the fee.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ValidFor(_Doc):
    start: AwareDatetime | None = Field(None, alias="startDateTime")
    end: AwareDatetime | None = Field(None, alias="endDateTime")


class BandDoc(_Doc):
    name: str
    price: Decimal
    start: time = time(0)
    end: time | Literal["24:00"] | None = None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(DAYS)
    holidays: bool = False


class RateDoc(_Doc):
    usage_type: str = Field(alias="usageType")
    price: Decimal
    unit: int = 60
    first: int = 60
    next: int = 60
    connect_fee: Decimal = Field(Decimal(0), alias="connectFee")
    minimum: Decimal = Decimal(0)
    rounding: str = "half_up"
    places: int = 6
    valid_for: ValidFor = Field(default_factory=ValidFor, alias="validFor")
    bands: list[BandDoc] = []


class ZoneDoc(_Doc):
    name: str = Field(min_length=1)
    prefixes: list[str] = []
    rates: list[RateDoc] = []


class TableDoc(_Doc):
    name: str | None = None
    currency: str
    holidays: list[date] = []
    prefix_file: str | None = Field(None, alias="prefixFile")
    zones: list[ZoneDoc] = Field(min_length=1)


def path_of(loc: tuple[Any, ...]) -> str:
    """('zones', 3, 'rates', 0, 'price') -> 'zones[3].rates[0].price'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _within(path: str, make):
    """Build a rules object, naming `path` + the rule's field in the problem (band.end -> bands[0].end)."""
    try:
        return make()
    except InvalidValue as e:
        raise InvalidValue(f"{path}.{e.field.removeprefix('band.')}", e.value,
                           e.message.removeprefix(f"{e.field}={e.value!r} ")) from None


def _band(b: BandDoc, path: str) -> Band:
    end = None if b.end in (None, "24:00") else b.end
    return _within(path, lambda: Band(b.name, b.price, start=b.start, end=end,
                                      days=frozenset(DAYS[d] for d in b.days), holidays=b.holidays))


def _rate(r: RateDoc, path: str) -> Rate:
    bands = tuple(_band(b, f"{path}.bands[{k}]") for k, b in enumerate(r.bands))
    return _within(path, lambda: Rate(
        r.usage_type, r.price, unit=r.unit, first=r.first, next=r.next, connect_fee=r.connect_fee,
        minimum=r.minimum, rounding=r.rounding, places=r.places, bands=bands, valid_from=r.valid_for.start,
        valid_to=r.valid_for.end))


def read_prefix_file(path: Path) -> list[tuple[str, str, str]]:
    """(prefix, zone name, where) per data row of a "prefix,zone" CSV; `where` is file:line for problems."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not {"prefix", "zone"} <= set(reader.fieldnames or []):
            raise InvalidValue(f"{path.name}:1", ",".join(reader.fieldnames or []), "must name the columns prefix,zone")
        for row in reader:
            rows.append(((row["prefix"] or "").strip(), (row["zone"] or "").strip(), f"{path.name}:{reader.line_num}"))
    return rows


def parse(data: Any, base_dir: Path | None = None) -> tuple[str | None, RateTable]:
    """A document (already loaded from YAML or JSON) as (its name, the RateTable); `base_dir` is where a
    `prefixFile` is looked up."""
    try:
        doc = TableDoc.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise InvalidValue(path_of(first["loc"]) or "document", first.get("input"), first["msg"]) from None
    check_currency(doc.currency, "currency")
    prefixes = {i: list(z.prefixes) for i, z in enumerate(doc.zones)}
    where = {(i, k): f"zones[{i}].prefixes[{k}]" for i, z in enumerate(doc.zones) for k in range(len(z.prefixes))}
    if doc.prefix_file is not None:
        by_name = {z.name: i for i, z in enumerate(doc.zones)}
        for prefix, zone, line in read_prefix_file((base_dir or Path.cwd()) / doc.prefix_file):
            if zone not in by_name:
                raise InvalidValue(line, zone, "names no zone declared under zones")
            i = by_name[zone]
            where[(i, len(prefixes[i]))] = line
            prefixes[i].append(prefix)
    seen: dict[str, str] = {}
    for (i, k), path in where.items():
        prefix = prefixes[i][k]
        if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= MAX_NUMBER_DIGITS):
            raise InvalidValue(path, prefix, f"must be 1 to {MAX_NUMBER_DIGITS} digits (E.164 without '+')")
        if prefix in seen:
            raise InvalidValue(path, prefix, f"is also the prefix at {seen[prefix]}: a prefix reaches one zone")
        seen[prefix] = path
    zones = []
    for i, z in enumerate(doc.zones):
        rates = tuple(_rate(r, f"zones[{i}].rates[{j}]") for j, r in enumerate(z.rates))
        zones.append(_within(f"zones[{i}]", lambda z=z, i=i, rates=rates: Zone(z.name, tuple(prefixes[i]), rates)))
    return doc.name, RateTable(doc.currency, tuple(zones), frozenset(doc.holidays))


def load(path: Path) -> tuple[str | None, RateTable, dict[str, Any]]:
    """Read a YAML or JSON rate table file (by its suffix: .json is JSON, anything else YAML): its name, the
    table, and the document as stored (the prefix file folded into the zones' prefixes)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InvalidValue("document", path.name, f"is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                                                  f"{e}") from None
    name, table = parse(data, path.parent)
    return name, table, to_document(table)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def to_document(table: RateTable) -> dict[str, Any]:
    """The stored form of a table (JSON-able, `parse` reads it back): zones with all their prefixes."""
    days = {v: k for k, v in DAYS.items()}

    def band(b: Band) -> dict[str, Any]:
        out = {"name": b.name, "price": _num(b.price), "start": b.start.isoformat(), "holidays": b.holidays,
               "days": [days[d] for d in sorted(b.days)]}
        return out | ({"end": b.end.isoformat()} if b.end is not None else {})

    def rate(r: Rate) -> dict[str, Any]:
        valid = {k: v.isoformat() for k, v in (("startDateTime", r.valid_from), ("endDateTime", r.valid_to)) if v}
        return {"usageType": r.usage_type, "price": _num(r.price), "unit": r.unit, "first": r.first, "next": r.next,
                "connectFee": _num(r.connect_fee), "minimum": _num(r.minimum), "rounding": r.rounding,
                "places": r.places, "validFor": valid, "bands": [band(b) for b in r.bands]}

    return {"currency": table.currency, "holidays": [d.isoformat() for d in sorted(table.holidays)],
            "zones": [{"name": z.name, "prefixes": list(z.prefixes), "rates": [rate(r) for r in z.rates]}
                      for z in table.zones]}
