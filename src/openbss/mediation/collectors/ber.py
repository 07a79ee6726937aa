"""Decoding 3GPP TS 32.298 charging data records for packet data (PGW-CDRs, BER) into data usage.

Pure rules, no I/O beyond the bytes handed in. The ASN.1 is `pgw_cdr.asn` beside this file (the subset
of TS 32.298 Release 15 that billing reads, with the standard's tags), decoded with asn1tools.

File layout, either of:
- BER records one after the other, as a P-GW or CGF writes them when no file header is configured;
  such a file starts with a record's context-specific tag (0xBF 0x4F for a PGW-CDR [79]);
- a TS 32.297 CDR file: a file header (file length, header length, release, timestamps, CDR count...,
  skipped as a whole by its header length), then for each CDR a CDR header (2 octets of CDR length,
  release/version, data record format/TS number, and a release extension octet when the release
  identifier is 7) before the BER record. A CDR whose data record format is not BER is rejected.
Records use the definite length form (X.690 8.1.3); the indefinite form is not used in CDR files.

Each record becomes one of (`line` is the record's 1-based index in the file):
- a `data` UsageRecord: service_id = servedMSISDN ("+" and the E.164 digits when its nature of
  address is international, else the digits); usage_date = recordOpeningTime with the node's UTC
  offset; quantity = uplink + downlink octets of all service data containers (listOfServiceData,
  flow based charging) or, in a record without them, of all traffic volume containers
  (listOfTrafficVolumes): never both, since they count the same octets twice;
  record_key = `<p-GWAddress or nodeID>:<chargingID>:<recordSequenceNumber or 0>:<localSequenceNumber
  or 0>`, so the partial records of one long session (one chargingID, rising recordSequenceNumber)
  are separate increments and a record delivered twice is stored once;
- a `Skipped` (a valid record that is no usage to bill): a PGW-CDR with no volume, or another kind of
  GPRSRecord (an SGW-CDR [78] counts the same octets as the PGW-CDR of the session);
- a `Rejection` with the reason: the record cannot be decoded (value: the hex of its first octets), or
  a field billing needs is missing or wrong (field and value named). The other records are still read.

BER carries lengths, so a record that cannot be decoded is passed over and reading resumes at the
next one. When the framing itself breaks (a length running past the end of the file, a truncated
header), the rest of the file is one rejection naming its byte offset: `frames()` tiles the file
with records and that rest, so nothing is lost without a trace.

A subscriber without servedMSISDN is rejected rather than billed by IMSI: subscriptions are ordered
by MSISDN, and an IMSI in the same service_id namespace could match another service's id.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import asn1tools

from openbss.mediation.collectors.calls import Decoded, Skipped
from openbss.mediation.model import Rejection, UsageRecord

SCHEMA = Path(__file__).with_name("pgw_cdr.asn")
MODULE = "PGW-CDR-Subset"
PGW_RECORD = 79  # the GPRSRecord CHOICE tag of a PGW-CDR
PGW_RECORD_TYPE = 85  # its recordType value
INTERNATIONAL = 1  # nature of address of an international (E.164) number, TS 29.002 AddressString
SHOWN_OCTETS = 16  # how much of an unreadable record a rejection shows
# The other alternatives of GPRSRecord in TS 32.298 Release 15: valid records, not billed here.
OTHER_GPRS_RECORDS = {
    20: "sgsnPDPRecord", 22: "sgsnMMRecord", 23: "sgsnSMORecord", 24: "sgsnSMTRecord",
    25: "sgsnMTLCSRecord", 26: "sgsnMOLCSRecord", 27: "sgsnNILCSRecord", 76: "sgsnMBMSRecord",
    77: "ggsnMBMSRecord", 78: "sGWRecord", 86: "gwMBMSRecord", 92: "tDFRecord", 95: "iPERecord",
    96: "ePDGRecord", 97: "tWAGRecord",
}  # fmt: skip
# TS 32.297 6.1.1: the fixed part of the file header up to and including the two length fields of
# the (possibly empty) CDR routeing filter and private extension.
FILE_HEADER_MIN = 52
BER_FORMAT = 1  # "data record format" of a CDR header

CONTEXT = 2  # tag class bits of a context-specific tag


class _Broken(Exception):
    """The bytes at an offset are not a whole TLV."""


class _Bad(Exception):
    def __init__(self, field: str, value: object, reason: str):
        self.rejection = (field, value, reason)


class Tlv(NamedTuple):
    """One BER tag-length-value (X.690 8.1): where its tag, contents and end lie in the data."""

    tag_class: int
    constructed: bool
    number: int
    start: int
    tag_end: int
    contents: int
    end: int


def _tlv(data: bytes, offset: int, limit: int) -> Tlv:
    """The TLV at `offset`, which must end by `limit`; _Broken when it does not."""
    if offset >= limit:
        raise _Broken("no tag")
    first = data[offset]
    number, at = first & 0x1F, offset + 1
    if number == 0x1F:  # high tag number form: base-128 digits, the last without bit 8
        # X.690 8.1.2.4.2: no leading zero digit, and only for numbers from 31. asn1tools matches tags
        # by their octets, so a tag spelt otherwise would not be recognised: refuse it here.
        if at < limit and data[at] == 0x80:
            raise _Broken("a tag number with a leading zero digit")
        number = 0
        while True:
            if at >= limit or at - offset > 4:
                raise _Broken("a tag number that does not end")
            number = number << 7 | data[at] & 0x7F
            at += 1
            if not data[at - 1] & 0x80:
                break
        if number < 0x1F:
            raise _Broken(f"tag number {number} in the high tag number form")
    if at >= limit:
        raise _Broken("a tag without length")
    tag_end = at
    size, at = data[at], at + 1
    if size == 0x80:
        raise _Broken("an indefinite length, which CDR files do not use")
    if size & 0x80:
        count = size & 0x7F
        if count > 4 or at + count > limit:
            raise _Broken("a length field that does not fit")
        size, at = int.from_bytes(data[at : at + count], "big"), at + count
    if at + size > limit:
        raise _Broken(f"a length of {size} octets running past the end ({limit - at} left)")
    return Tlv(first >> 6, bool(first & 0x20), number, offset, tag_end, at, at + size)


def _encode(tag: bytes, contents: bytes) -> bytes:
    size = len(contents)
    if size < 0x80:
        return tag + bytes([size]) + contents
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return tag + bytes([0x80 | len(octets)]) + octets + contents


# -- the schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Schema:
    """The compiled ASN.1 and, per constructed type, the tag numbers of the members it declares."""

    compiled: Any
    record_tags: frozenset[int]
    container_tags: dict[int, frozenset[int]]  # list member tag -> its elements' member tags


@cache
def schema() -> _Schema:
    parsed = asn1tools.parse_files(str(SCHEMA))
    types = parsed[MODULE]["types"]

    def tags(name: str) -> frozenset[int]:
        return frozenset(m["tag"]["number"] for m in types[name]["members"] if m is not None)

    members = {m["name"]: m["tag"]["number"] for m in types["PGWRecord"]["members"] if m is not None}
    return _Schema(
        compiled=asn1tools.compile_dict(parsed, "ber"),
        record_tags=tags("PGWRecord"),
        container_tags={
            members["listOfServiceData"]: tags("ChangeOfServiceCondition"),
            members["listOfTrafficVolumes"]: tags("ChangeOfCharCondition"),
        },
    )


def _known_members(data: bytes, outer: Tlv, known: frozenset[int], containers: dict[int, frozenset[int]]) -> bytes:
    """`outer` re-encoded with only the members whose tag the schema declares (and so, for the
    container lists, each container likewise). asn1tools stops reading a SET or SEQUENCE at the
    first member it does not know, silently dropping the members after it; real records carry many
    members billing does not read (and vendors add their own), so they are dropped first."""
    kept = bytearray()
    at = outer.contents
    while at < outer.end:
        member = _tlv(data, at, outer.end)
        if member.tag_class == CONTEXT and member.number in known:
            if member.number in containers and member.constructed:
                kept += _known_list(data, member, containers[member.number])
            else:
                kept += data[member.start : member.end]
        at = member.end
    return _encode(data[outer.start : outer.tag_end], bytes(kept))


def _known_list(data: bytes, member: Tlv, known: frozenset[int]) -> bytes:
    elements = bytearray()
    at = member.contents
    while at < member.end:
        element = _tlv(data, at, member.end)
        elements += _known_members(data, element, known, {}) if element.constructed else data[at : element.end]
        at = element.end
    return _encode(data[member.start : member.tag_end], bytes(elements))


# -- framing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """The octets data[start:end] of the file: a record (`body`), or what could not be read as one
    (`problem`). `index` is 1-based. When framing breaks, the last frame runs to the end of the file."""

    index: int
    start: int
    end: int
    body: bytes | None
    problem: str | None = None


def frames(data: bytes) -> Iterator[Frame]:
    """The records of a CDR file, in order, tiling it from the end of any TS 32.297 file header to
    its end."""
    if not data:
        return
    if data[0] & 0xE0 == 0xA0:  # a context-specific constructed tag: a record, no file header
        yield from _ber_frames(data)
        return
    header = int.from_bytes(data[4:8], "big") if len(data) >= 8 else 0
    if not FILE_HEADER_MIN <= header <= len(data):
        yield Frame(1, 0, len(data), None, f"the file starts with neither a CDR (a tag such as [79]) nor a "
                                           f"TS 32.297 file header (header length {header})")  # fmt: skip
        return
    yield from _cdr_file_frames(data, header)


def _ber_frames(data: bytes) -> Iterator[Frame]:
    at, index = 0, 0
    while at < len(data):
        index += 1
        try:
            end = _tlv(data, at, len(data)).end
        except _Broken as exc:
            yield _rest(index, data, at, str(exc))
            return
        yield Frame(index, at, end, data[at:end])
        at = end


def _cdr_file_frames(data: bytes, at: int) -> Iterator[Frame]:
    index = 0
    while at < len(data):
        index += 1
        if at + 4 > len(data):
            yield _rest(index, data, at, "a CDR header cut short")
            return
        length, release, record_format = int.from_bytes(data[at : at + 2], "big"), data[at + 2] >> 5, data[at + 3] >> 5
        body = at + (5 if release == 7 else 4)  # release 7 means "see the release extension octet"
        if body + length > len(data):
            yield _rest(index, data, at, f"a CDR header announcing {length} octets, {max(len(data) - body, 0)} left")
            return
        if record_format != BER_FORMAT:
            yield Frame(index, at, body + length, None, f"data record format {record_format} is not BER ({BER_FORMAT})")
        else:
            yield Frame(index, at, body + length, data[body : body + length])
        at = body + length


def _rest(index: int, data: bytes, at: int, why: str) -> Frame:
    return Frame(index, at, len(data), None, f"{why} at byte offset {at}: the rest of the file "
                                             f"({len(data) - at} octets) cannot be read as records")  # fmt: skip


# -- one record -------------------------------------------------------------------------------------


def _hex(body: bytes) -> str:
    shown = body[:SHOWN_OCTETS].hex()
    return shown + "..." if len(body) > SHOWN_OCTETS else shown


def _record(body: bytes, source: str) -> UsageRecord | Skipped:
    try:
        outer = _tlv(body, 0, len(body))
    except _Broken as exc:
        raise _Bad("record", _hex(body), f"is not a BER record: {exc}") from None
    if outer.end != len(body):
        raise _Bad("record", _hex(body), f"has {len(body) - outer.end} octets after its end")
    if outer.tag_class != CONTEXT or not outer.constructed:
        raise _Bad("record", _hex(body), "does not start with a GPRSRecord tag (context-specific, constructed)")
    if outer.number != PGW_RECORD:
        if outer.number in OTHER_GPRS_RECORDS:
            name = OTHER_GPRS_RECORDS[outer.number]
            return Skipped(0, "", f"{name} [{outer.number}] is not billed: data is billed from pGWRecord [79]")
        raise _Bad("record", _hex(body), f"tag [{outer.number}] is not a GPRSRecord of TS 32.298")
    s = schema()
    try:
        known = _known_members(body, outer, s.record_tags, s.container_tags)
        _, fields = s.compiled.decode("GPRSRecord", known)
    except _Broken as exc:
        raise _Bad("record", _hex(body), f"has a member that is not a BER TLV: {exc}") from None
    except Exception as exc:  # asn1tools raises DecodeError, but also ValueError, UnicodeDecodeError... on garbage
        raise _Bad("record", _hex(body), f"cannot be decoded: {exc}") from None
    return _usage(fields, source)


def _usage(r: dict[str, Any], source: str) -> UsageRecord | Skipped:
    if r["recordType"] != PGW_RECORD_TYPE:
        raise _Bad("recordType", r["recordType"], f"is not pGWRecord ({PGW_RECORD_TYPE})")
    gateway = _address(r["p-GWAddress"]) if "p-GWAddress" in r else r.get("nodeID")
    if not gateway:
        raise _Bad("p-GWAddress", None, "is missing, and so is nodeID: nothing names the gateway for the key")
    key = f"{gateway}:{r['chargingID']}:{r.get('recordSequenceNumber', 0)}:{r.get('localSequenceNumber', 0)}"
    if "servedMSISDN" not in r:
        imsi = f" (servedIMSI {_imsi(r['servedIMSI'])})" if "servedIMSI" in r else ""
        raise _Bad("servedMSISDN", None, f"is missing{imsi}: the record cannot be matched to a subscription")
    service_id = msisdn(r["servedMSISDN"])
    opened = timestamp("recordOpeningTime", r["recordOpeningTime"])
    octets = _volume(r)
    if octets == 0:
        return Skipped(0, key, "no data volume (0 octets uplink and downlink)")
    return UsageRecord(source, key, service_id, "data", opened, Decimal(octets))


def _volume(r: dict[str, Any]) -> int:
    if "listOfServiceData" in r:
        name, up, down, containers = "listOfServiceData", "datavolumeFBCUplink", "datavolumeFBCDownlink", \
            r["listOfServiceData"]  # fmt: skip
    else:
        name, up, down, containers = "listOfTrafficVolumes", "dataVolumeGPRSUplink", "dataVolumeGPRSDownlink", \
            r.get("listOfTrafficVolumes", [])  # fmt: skip
    total = 0
    for i, container in enumerate(containers, start=1):
        for direction in (up, down):
            octets = container.get(direction, 0)
            if octets < 0:
                raise _Bad(f"{name}[{i}].{direction}", octets, "must not be negative")
            total += octets
    return total


def _address(choice: tuple[str, Any]) -> str:
    """An IPAddress CHOICE as text: the binary forms are nested CHOICEs of their own."""
    kind, value = choice
    while isinstance(value, tuple):
        kind, value = value
    if isinstance(value, str):
        return value
    try:
        return str(ipaddress.IPv4Address(value) if kind == "iPBinV4Address" else ipaddress.IPv6Address(value))
    except ValueError:
        raise _Bad("p-GWAddress", value.hex(), f"is not an {kind}") from None


def tbcd(raw: bytes) -> str:
    """TBCD digits (TS 29.002): two a octet, the first in the low nibble; an F nibble fills the last
    octet of an odd count. ValueError for any other non-digit."""
    nibbles = [n for octet in raw for n in (octet & 0x0F, octet >> 4)]
    if nibbles and nibbles[-1] == 0xF:
        nibbles.pop()
    wrong = [n for n in nibbles if n > 9]
    if wrong:
        raise ValueError(f"nibble {wrong[0]:X} is not a digit")
    return "".join(map(str, nibbles))


def msisdn(raw: bytes) -> str:
    """An ISDN-AddressString as a service id: "+" and the digits when its nature of address is
    international, as subscriptions are ordered; the bare digits otherwise."""
    try:
        digits = tbcd(raw[1:])
    except ValueError as exc:
        raise _Bad("servedMSISDN", raw.hex(), f"is not TBCD: {exc}") from None
    if not digits:
        raise _Bad("servedMSISDN", raw.hex(), "has no digits")
    return f"+{digits}" if (raw[0] >> 4) & 0x7 == INTERNATIONAL else digits


def _imsi(raw: bytes) -> str:
    try:
        return tbcd(raw)
    except ValueError:
        return raw.hex()


def timestamp(field: str, raw: bytes) -> datetime:
    """A TS 32.298 TimeStamp (YYMMDDhhmmss in BCD, "+" or "-", the offset's hhmm in BCD) as an aware
    datetime in the node's offset. YY is 20YY: charging records are from this century."""
    digits, sign = raw[:6].hex() + raw[7:9].hex(), raw[6:7]
    if len(raw) != 9 or not digits.isdigit() or sign not in (b"+", b"-"):
        raise _Bad(field, raw.hex(), "is not YYMMDDhhmmss, a sign and hhmm in BCD")
    yy, mo, dd, hh, mi, ss, off_h, off_m = (int(digits[i : i + 2]) for i in range(0, 16, 2))
    try:
        offset = timezone((1 if sign == b"+" else -1) * timedelta(hours=off_h, minutes=off_m))
        return datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=offset)
    except ValueError as exc:
        raise _Bad(field, raw.hex(), f"is not a time: {exc}") from None


# -- the file -------------------------------------------------------------------------------------


def decode(data: bytes, *, source: str = "pgw") -> Decoded:
    """Decode a CDR file (plain BER records or a TS 32.297 file) into data usage, skipped records
    and rejections, each with its record's 1-based index in the file."""
    out = Decoded()
    for frame in frames(data):
        if frame.body is None:
            out.rejected.append(Rejection(frame.index, "record", _hex(data[frame.start : frame.end]), frame.problem))
            continue
        try:
            decoded = _record(frame.body, source)
        except _Bad as bad:
            out.rejected.append(Rejection(frame.index, *bad.rejection))
            continue
        if isinstance(decoded, Skipped):
            out.skipped.append(Skipped(frame.index, decoded.record_key, decoded.reason))
        else:
            out.records.append((frame.index, decoded))
    return out
