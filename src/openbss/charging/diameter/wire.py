"""Diameter framing and the checks RFC 6733 asks of a message before any application reads it.

A message is a 20-byte header (version 1, a 24-bit length covering the whole message, flags, a 24-bit command
code, the application id and the hop-by-hop and end-to-end identifiers) followed by AVPs, each padded to 4 bytes.
`check` walks the AVPs itself, before python-diameter decodes them, so that a bad length, a mandatory AVP no
dictionary knows, or a missing or wrong value gets the protocol's answer (RFC 6733 7.1.5, RFC 4006 9.) naming the
AVP at fault, instead of an exception. Pure: bytes in, a verdict out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

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
        if issubclass(entry["type"], AvpGrouped):
            fault = _walk(avp.data, None)
            if fault is not None:
                return fault
    return None


def top_level(body: bytes, code: int) -> RawAvp | None:
    return next((a for a in avps(body) if isinstance(a, RawAvp) and a.code == code and a.vendor == 0), None)


def with_ids(answer: bytes, hop_by_hop: int, end_to_end: int) -> bytes:
    """A stored answer re-addressed to a retransmitted request (its identifiers)."""
    return answer[:12] + struct.pack("!II", hop_by_hop, end_to_end) + answer[20:]
