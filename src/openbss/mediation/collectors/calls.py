"""Decoding call detail records written as CSV by a switch (Asterisk `cdr_csv`, FreeSWITCH `mod_cdr_csv`).

Pure rules, no I/O beyond reading the text handed in. A switch writes one CSV line per call, without a
header, in a column order fixed by the switch (`CallLayout`). Each line becomes one of:

- a voice `UsageRecord` (answered calls: quantity = billable seconds, usage_date = answer time,
  destination = the called number without separators, when the layout names its column),
- a `Skipped` (the call was not answered: a fact, not an error, so it is reported apart),
- a `Rejection` with the line and the reason (the line cannot be read: truncated, a number that is not
  one, a negative or inconsistent duration, an unreadable time); the other lines are still decoded.

Time zone: both switches write naive local timestamps ("2010-04-02 00:26:32") in the switch's own time
zone (Asterisk's `usegmtime=no` default; FreeSWITCH's `*_stamp` variables). The collector cannot see
that zone, so it is an option (`tz`, an IANA name) that defaults to UTC: a switch that logs local time
must be collected with its zone, e.g. `tz="Europe/Berlin"`, or its calls are dated hours off.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openbss.core.errors import InvalidValue
from openbss.mediation.model import Rejection, UsageRecord

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# Visual separators people and switches put in numbers; a leading "+" is kept.
_SEPARATORS = re.compile(r"[\s\-.()/]")


@dataclass(frozen=True)
class Skipped:
    """A line that is a valid record but no usage (e.g. an unanswered call)."""

    line: int
    record_key: str
    reason: str


@dataclass(frozen=True)
class Decoded:
    records: list[tuple[int, UsageRecord]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class CallLayout:
    """Where a switch writes each fact of a call. `answered(row)` returns None for an answered call, or
    why the call is not usage. `destination` names the column of the called number, if the switch writes one."""

    columns: tuple[str, ...]
    record_key: str
    service_id: str
    answer: str
    duration: str
    billsec: str
    answered: Callable[[dict[str, str]], str | None]
    destination: str | None = None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue("tz", name, "is not an IANA time zone such as UTC or Europe/Berlin") from exc


def normalize_number(raw: str) -> str:
    """A calling number without separators: " +49 (151) 123-45 " -> "+4915112345". Names that are not
    numbers (a SIP user, a channel) are only stripped."""
    text = raw.strip()
    compact = _SEPARATORS.sub("", text)
    return compact if re.fullmatch(r"\+?\d+", compact) else text


class _Bad(Exception):
    def __init__(self, column: str, value: object, reason: str):
        self.rejection = (column, value, reason)


def _seconds(row: dict[str, str], column: str) -> int:
    raw = row[column].strip()
    try:
        value = int(raw)
    except ValueError:
        raise _Bad(column, raw, "is not a whole number of seconds") from None
    if value < 0:
        raise _Bad(column, raw, "must not be negative")
    return value


def _stamp(row: dict[str, str], column: str, tz: ZoneInfo) -> datetime:
    raw = row[column].strip()
    try:
        return datetime.strptime(raw, STAMP_FORMAT).replace(tzinfo=tz)
    except ValueError:
        raise _Bad(column, raw, f"is not a time as {STAMP_FORMAT}") from None


def _text(row: dict[str, str], column: str) -> str:
    value = row[column].strip()
    if not value:
        raise _Bad(column, row[column], "is empty")
    return value


def _record(row: dict[str, str], layout: CallLayout, source: str, tz: ZoneInfo, service_column: str):
    key = _text(row, layout.record_key)
    duration = _seconds(row, layout.duration)
    billsec = _seconds(row, layout.billsec)
    if billsec > duration:
        raise _Bad(layout.billsec, billsec, f"must not exceed {layout.duration} ({duration})")
    why_not = layout.answered(row)
    if why_not is not None:
        return Skipped(0, key, why_not)
    service_id = normalize_number(_text(row, service_column))
    answer = _stamp(row, layout.answer, tz)
    # An empty called number (some switches leave it blank on internal calls) is an unknown destination.
    destination = (normalize_number(row[layout.destination]) or None) if layout.destination else None
    return UsageRecord(source, key, service_id, "voice", answer, Decimal(billsec), destination)


def decode_calls(
    lines: Iterable[str],
    layout: CallLayout,
    *,
    source: str,
    tz: str = "UTC",
    service_column: str | None = None,
) -> Decoded:
    """Decode CSV lines (an open file or a list of strings) written in `layout`. `service_column` names
    the column that identifies the subscriber (default: the layout's calling number)."""
    zone_info = zone(tz)
    service_column = service_column or layout.service_id
    if service_column not in layout.columns:
        raise InvalidValue("service_column", service_column, f"must be one of {', '.join(layout.columns)}")
    out = Decoded()
    reader = csv.reader(lines)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return out
        except csv.Error as exc:
            out.rejected.append(Rejection(reader.line_num, "line", None, f"is not valid CSV: {exc}"))
            continue
        line = reader.line_num
        if not values or values == [""]:
            continue
        if len(values) < len(layout.columns):
            reason = f"has {len(values)} fields, {len(layout.columns)} expected (truncated?)"
            out.rejected.append(Rejection(line, "line", len(values), reason))
            continue
        row = dict(zip(layout.columns, values, strict=False))
        try:
            decoded = _record(row, layout, source, zone_info, service_column)
        except _Bad as bad:
            out.rejected.append(Rejection(line, *bad.rejection))
            continue
        if isinstance(decoded, Skipped):
            out.skipped.append(Skipped(line, decoded.record_key, decoded.reason))
        else:
            out.records.append((line, decoded))
