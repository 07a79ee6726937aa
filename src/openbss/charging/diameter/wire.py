"""Diameter framing, the checks RFC 6733 asks of a message before any application reads it, and AVP values.

A message is a 20-byte header (version 1, a 24-bit length covering the whole message, flags, a 24-bit command
code, the application id and the hop-by-hop and end-to-end identifiers) followed by AVPs, each padded to 4 bytes.
`check` walks the AVPs itself, before anything decodes them, so that a bad length, a mandatory AVP no dictionary
knows, or a missing or wrong value gets the protocol's answer (RFC 6733 7.1.5, RFC 4006 9.) naming the AVP at
fault, instead of an exception. The value readers (`unsigned32`, `text`, ...) raise `BadValue` carrying that
answer; `avp_bytes` and `message_bytes` write. Credit-control requests and answers, the OCS's busiest path, are read and
written with these (python-diameter's object mapping costs several times more); python-diameter keeps the
dictionary of AVPs and the base protocol's rarer exchanges. Pure: bytes in, bytes or a verdict out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from diameter.message.avp.avp import AvpGrouped, get_avp_dictionary_entry

HEADER = 20
AUTH_APPLICATION_ID, VENDOR_SPECIFIC_APPLICATION_ID = 258, 260
MAX_MESSAGE = 1 << 20  # a credit-control request is a few hundred bytes; beyond this a peer is broken or hostile

FLAG_REQUEST, FLAG_PROXIABLE, FLAG_ERROR, FLAG_RETRANSMIT = 0x80, 0x40, 0x20, 0x10
AVP_VENDOR, AVP_MANDATORY = 0x80, 0x40

# Result codes (RFC 6733 7.1, RFC 4006 9.).
SUCCESS = 2001
COMMAND_UNSUPPORTED = 3001
UNABLE_TO_DELIVER = 3002
APPLICATION_UNSUPPORTED = 3007
INVALID_HDR_BITS = 3008
INVALID_AVP_BITS = 3009
END_USER_SERVICE_DENIED = 4010
CREDIT_LIMIT_REACHED = 4012
AVP_UNSUPPORTED = 5001
UNKNOWN_SESSION_ID = 5002
INVALID_AVP_VALUE = 5004
MISSING_AVP = 5005
UNABLE_TO_COMPLY = 5012
INVALID_AVP_LENGTH = 5014
INVALID_MESSAGE_LENGTH = 5015
USER_UNKNOWN = 5030
RATING_FAILED = 5031


@dataclass(frozen=True)
class Header:
    version: int
    length: int
    flags: int
    command: int
    application: int
    hop_by_hop: int
    end_to_end: int

    @property
    def is_request(self) -> bool:
        return bool(self.flags & FLAG_REQUEST)

    @property
    def is_retransmit(self) -> bool:
        return bool(self.flags & FLAG_RETRANSMIT)


@dataclass(frozen=True)
class RawAvp:
    code: int
    vendor: int
    flags: int
    data: bytes  # the payload, without header or padding
    raw: bytes  # the whole AVP as received, padding excluded

    @property
    def mandatory(self) -> bool:
        return bool(self.flags & AVP_MANDATORY)


@dataclass(frozen=True)
class Fault:
    """Why a message is refused: the result code, what to say, and the AVP at fault (for Failed-AVP)."""

    result_code: int
    message: str
    failed_avp: RawAvp | None = None


def parse_header(data: bytes) -> Header:
    word0, word1, application, hop, end = struct.unpack("!IIIII", data[:HEADER])
    return Header(word0 >> 24, word0 & 0xFFFFFF, word1 >> 24, word1 & 0xFFFFFF, application, hop, end)


def frame_fault(header: Header) -> Fault | None:
    """A header whose length cannot frame a message: the connection cannot be read past it."""
    if header.version != 1:
        return Fault(INVALID_HDR_BITS, f"version={header.version} is not Diameter version 1")
    if header.length < HEADER or header.length % 4 or header.length > MAX_MESSAGE:
        return Fault(INVALID_MESSAGE_LENGTH, f"message length={header.length} must be a multiple of 4 between "
                                             f"{HEADER} and {MAX_MESSAGE}")
    return None


def avps(body: bytes) -> Iterator[RawAvp | Fault]:
    """The AVPs of a body (a message's after its header, or a grouped AVP's payload), or a Fault where a length
    does not fit."""
    at = 0
    while at < len(body):
        if len(body) - at < 8:
            yield Fault(INVALID_AVP_LENGTH, f"{len(body) - at} bytes left at offset {at}: too short for an AVP")
            return
        code, word = struct.unpack_from("!II", body, at)
        flags, length = word >> 24, word & 0xFFFFFF
        head = 12 if flags & AVP_VENDOR else 8
        if length < head or at + length > len(body):
            yield Fault(INVALID_AVP_LENGTH, f"AVP {code} length={length} does not fit",
                        RawAvp(code, 0, flags & ~AVP_VENDOR, b"", b""))
            return
        vendor = struct.unpack_from("!I", body, at + 8)[0] if flags & AVP_VENDOR else 0
        yield RawAvp(code, vendor, flags, body[at + head:at + length], body[at:at + length])
        at += (length + 3) & ~3


def check(body: bytes, required: tuple[int, ...]) -> Fault | None:
    """A request body's first fault: an AVP whose length does not fit (at any depth of grouping), a mandatory AVP
    no dictionary knows (5001), or a required AVP missing (5005)."""
    present = set()
    fault = _walk(body, present)
    if fault is not None:
        return fault
    if AUTH_APPLICATION_ID in required and VENDOR_SPECIFIC_APPLICATION_ID in present:
        present.add(AUTH_APPLICATION_ID)  # Kamailio's ims_charging names the application only there
    for code in required:
        if code not in present:
            return Fault(MISSING_AVP, f"AVP {code} is required", RawAvp(code, 0, AVP_MANDATORY, b"", b""))
    return None


def _walk(body: bytes, present: set[int] | None) -> Fault | None:
    for avp in avps(body):
        if isinstance(avp, Fault):
            return avp
        if present is not None and avp.vendor == 0:
            present.add(avp.code)
        entry = get_avp_dictionary_entry(avp.code, avp.vendor)
        if entry is None:
            if avp.mandatory:
                return Fault(AVP_UNSUPPORTED, f"AVP {avp.code} (vendor {avp.vendor}) is mandatory and unknown",
                             avp)
            continue
        if _grouped(entry):
            fault = _walk(avp.data, None)
            if fault is not None:
                return fault
    return None


def _grouped(entry: dict | None) -> bool:
    """Whether a dictionary entry (`get_avp_dictionary_entry`) is of a grouped AVP."""
    return entry is not None and issubclass(entry["type"], AvpGrouped)


def find(body: bytes, code: int, vendor: int) -> RawAvp | None:
    """The first AVP `code` of `vendor` at any depth of grouping, depth first (a Called-Party-Address lies in
    Service-Information / IMS-Information). `body` has passed `check`."""
    for avp in avps(body):
        if isinstance(avp, Fault):
            return None
        if avp.code == code and avp.vendor == vendor:
            return avp
        if _grouped(get_avp_dictionary_entry(avp.code, avp.vendor)) and (
                inner := find(avp.data, code, vendor)) is not None:
            return inner
    return None


def top_level(body: bytes, code: int) -> RawAvp | None:
    return next((a for a in avps(body) if isinstance(a, RawAvp) and a.code == code and a.vendor == 0), None)


def with_ids(answer: bytes, hop_by_hop: int, end_to_end: int) -> bytes:
    """A stored answer re-addressed to a retransmitted request (its identifiers)."""
    return answer[:12] + struct.pack("!II", hop_by_hop, end_to_end) + answer[20:]


# --------------------------------------------------------------------------------------------- AVP values


class BadValue(Exception):
    """An AVP whose payload is not a value of its type: answered 5004 (DIAMETER_INVALID_AVP_VALUE) naming it."""

    def __init__(self, avp: RawAvp, expected: str) -> None:
        super().__init__(f"AVP {avp.code} is not {expected}")
        self.fault = Fault(INVALID_AVP_VALUE, f"AVP {avp.code} is not {expected}", avp)


def _number(avp: RawAvp, layout: str, size: int, expected: str) -> int:
    if len(avp.data) != size:
        raise BadValue(avp, expected)
    return struct.unpack(layout, avp.data)[0]


def unsigned32(avp: RawAvp) -> int:
    return _number(avp, "!I", 4, "an Unsigned32")


def unsigned64(avp: RawAvp) -> int:
    return _number(avp, "!Q", 8, "an Unsigned64")


def integer32(avp: RawAvp) -> int:
    """Integer32, and Enumerated, which is one."""
    return _number(avp, "!i", 4, "an Integer32")


def text(avp: RawAvp) -> str:
    """UTF8String, and DiameterIdentity, which is ASCII."""
    try:
        return avp.data.decode()
    except UnicodeDecodeError:
        raise BadValue(avp, "UTF-8 text") from None


_NTP_ERA_0 = datetime(1900, 1, 1, tzinfo=UTC)
_NTP_ERA_1 = datetime(2036, 2, 7, 6, 28, 16, tzinfo=UTC)


def time(avp: RawAvp) -> datetime:
    """Time: NTP seconds; with the most significant bit clear they count from 2036-02-07 06:28:16 UTC (RFC 2030)."""
    seconds = _number(avp, "!I", 4, "a Time")
    return (_NTP_ERA_0 if seconds & 0x80000000 else _NTP_ERA_1) + timedelta(seconds=seconds)


def avp_bytes(code: int, data: bytes, *, vendor: int = 0, flags: int | None = None) -> bytes:
    """An AVP's bytes, padded to 4: its header (code, flags, length, the vendor id when there is one) and `data`.
    The M bit is set (every AVP the OCS writes is one the peer must understand) unless `flags` are given as
    received (a Failed-AVP echoes them)."""
    if flags is None:
        flags = AVP_MANDATORY | (AVP_VENDOR if vendor else 0)
    head = struct.pack("!II", code, flags << 24 | (12 if flags & AVP_VENDOR else 8) + len(data))
    if flags & AVP_VENDOR:
        head += struct.pack("!I", vendor)
    return head + data + b"\0" * (-len(data) % 4)


def u32(value: int) -> bytes:
    return struct.pack("!I", value)


def u64(value: int) -> bytes:
    return struct.pack("!Q", value)


def i32(value: int) -> bytes:
    return struct.pack("!i", value)


def message_bytes(flags: int, command: int, application: int, hop_by_hop: int, end_to_end: int, body: bytes) -> bytes:
    """A message's bytes: its header and `body` (AVPs)."""
    return struct.pack("!IIIII", 1 << 24 | HEADER + len(body), flags << 24 | command, application, hop_by_hop,
                       end_to_end) + body
