"""File formats a collector reads, by name: each turns a whole file's bytes into a `Decoded`.

| name         | what                                                               | options |
|--------------|--------------------------------------------------------------------|---------|
| `asterisk`   | Asterisk `cdr_csv` Master.csv (see `asterisk`)                      | `tz`    |
| `freeswitch` | FreeSWITCH `mod_cdr_csv`, default template (see `freeswitch`)       | `tz`    |
| `csv`        | the generic usage CSV with a header (format in `mediation.service`) |         |
| `ber`        | 3GPP TS 32.298 PGW-CDRs in BER, bare or in TS 32.297 files (see `ber`) |      |

Text formats are UTF-8 (a BOM is allowed); a file that is not is refused whole (UnicodeDecodeError), since
guessing an encoding would mis-read numbers silently. A rejection's `line` numbers a unit of the file: a
line of a text format, a record of `ber`; `FileDecoder.raw_lines` hands that unit to the quarantine as
text (the line itself; a BER record in hex, so it can be decoded again once the cause is fixed).

`tz` is the switch's IANA zone for formats whose timestamps are naive local times; the other formats'
times carry their own UTC offset (csv, ber), so a `tz` given for them is refused rather than silently
ignored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from openbss.core.errors import InvalidValue
from openbss.mediation.collectors import asterisk, freeswitch
from openbss.mediation.collectors.calls import Decoded, zone
from openbss.mediation.model import Problem, Rejection
from openbss.mediation.service import CSV_COLUMNS, parse_row


def _text(data: bytes) -> io.StringIO:
    # newline="" as csv wants: quoted fields may hold line breaks, \r\n and \n both end a line.
    return io.StringIO(data.decode("utf-8-sig"), newline="")


def _asterisk(source: str, tz: str | None) -> Callable[[bytes], Decoded]:
    return lambda data: asterisk.decode(_text(data), source=source, tz=tz or "UTC")


def _freeswitch(source: str, tz: str | None) -> Callable[[bytes], Decoded]:
    return lambda data: freeswitch.decode(_text(data), source=source, tz=tz or "UTC")


def decode_csv(data: bytes, *, source: str) -> Decoded:
    """The generic usage CSV: each row a record, or a rejection naming its column (header is line 1)."""
    reader = csv.DictReader(_text(data))
    missing = [c for c in CSV_COLUMNS.values() if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidValue("header", ",".join(reader.fieldnames or []), f"lacks the column(s) {', '.join(missing)}")
    out = Decoded()
    for row in reader:
        parsed = parse_row(row, source)
        if isinstance(parsed, Problem):
            out.rejected.append(Rejection(reader.line_num, parsed.field, parsed.value, parsed.reason))
        else:
            out.records.append((reader.line_num, parsed))
    return out


def _csv(source: str, tz: str | None) -> Callable[[bytes], Decoded]:
    return lambda data: decode_csv(data, source=source)


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig", errors="replace").splitlines()


# BER: imported when used (asn1tools compiles its schema), so the text formats do not pay for it.
def _ber(source: str, tz: str | None) -> Callable[[bytes], Decoded]:
    def decode(data: bytes) -> Decoded:
        from openbss.mediation.collectors import ber

        return ber.decode(data, source=source)

    return decode


def _ber_records(data: bytes) -> list[str]:
    from openbss.mediation.collectors import ber

    return [data[f.start : f.end].hex() for f in ber.frames(data)]


@dataclass(frozen=True)
class FileFormat:
    name: str
    source: str  # the records' source when the collector names none
    build: Callable[[str, str | None], Callable[[bytes], Decoded]]  # (source, tz) -> decoder
    units: Callable[[bytes], list[str]]  # the file's lines (or records) as text; rejection line n is units[n - 1]
    zoned: bool  # timestamps are naive local times of the switch: takes `tz`


FORMATS = {
    f.name: f
    for f in (
        FileFormat("asterisk", asterisk.SOURCE, _asterisk, _lines, zoned=True),
        FileFormat("freeswitch", freeswitch.SOURCE, _freeswitch, _lines, zoned=True),
        FileFormat("csv", "csv", _csv, _lines, zoned=False),
        FileFormat("ber", "pgw", _ber, _ber_records, zoned=False),  # P-GW CDRs, as ber.decode names them
    )
}


@dataclass(frozen=True)
class FileDecoder:
    """A format bound to its options: `decoder(data)` decodes a file, `source` names where records come from."""

    format: FileFormat
    source: str
    decode: Callable[[bytes], Decoded]

    def __call__(self, data: bytes) -> Decoded:
        return self.decode(data)

    def raw_lines(self, data: bytes, rejected: list[Rejection]) -> list[tuple[Rejection, str]]:
        """Each rejection with the text of its line or record (a CSV record spanning lines gives its last
        line); "" for a line the file does not have."""
        units = self.format.units(data) if rejected else []
        return [(r, units[r.line - 1] if 0 < r.line <= len(units) else "") for r in rejected]


def decoder(name: str, *, source: str | None = None, tz: str | None = None) -> FileDecoder:
    """The decoder of format `name`; `source` defaults to the format's (asterisk, freeswitch, csv, pgw)."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise InvalidValue("format", name, f"must be one of {', '.join(FORMATS)}")
    if tz is not None and not fmt.zoned:
        zoned = ", ".join(f.name for f in FORMATS.values() if f.zoned)
        raise InvalidValue("tz", tz, f"applies only to {zoned}: {name} times carry their own offset")
    if tz is not None:
        zone(tz)  # an unknown zone is refused before any file is read
    if source is not None and not source.strip():
        raise InvalidValue("source", source, "must not be empty")
    source = source or fmt.source
    return FileDecoder(fmt, source, fmt.build(source, tz))
