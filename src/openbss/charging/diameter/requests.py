"""Credit-Control-Request as the OCS reads it, and the answer it gives, as plain values (RFC 4006, TS 32.299).

`read_ccr` reads a request straight from its AVPs (wire.py's walk and value readers) into a `Ccr`: what the
answer echoes (Session-Id, request type and number) and the `ChargingRequest`: the session, the subscriber as an
openbss service id, the called party, and one `ServiceControl` per Multiple-Services-Credit-Control with its
requested and used units. `answer_bytes` writes the answer for an `Outcome` from plain AVPs. The usage type of a
service comes from the unit it is counted in (CC-Time: voice, octets: data, service-specific units: sms), or, for
a request that names no unit, from the Service-Context-Id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from diameter.message.constants import (
    AVP_AUTH_APPLICATION_ID,
    AVP_CC_INPUT_OCTETS,
    AVP_CC_OUTPUT_OCTETS,
    AVP_CC_REQUEST_NUMBER,
    AVP_CC_REQUEST_TYPE,
    AVP_CC_SERVICE_SPECIFIC_UNITS,
    AVP_CC_TIME,
    AVP_CC_TOTAL_OCTETS,
    AVP_CHECK_BALANCE_RESULT,
    AVP_ERROR_MESSAGE,
    AVP_EVENT_TIMESTAMP,
    AVP_FAILED_AVP,
    AVP_FINAL_UNIT_ACTION,
    AVP_FINAL_UNIT_INDICATION,
    AVP_GRANTED_SERVICE_UNIT,
    AVP_MULTIPLE_SERVICES_CREDIT_CONTROL,
    AVP_ORIGIN_HOST,
    AVP_ORIGIN_REALM,
    AVP_RATING_GROUP,
    AVP_REDIRECT_ADDRESS_TYPE,
    AVP_REDIRECT_SERVER,
    AVP_REDIRECT_SERVER_ADDRESS,
    AVP_REQUESTED_ACTION,
    AVP_REQUESTED_SERVICE_UNIT,
    AVP_RESULT_CODE,
    AVP_SERVICE_CONTEXT_ID,
    AVP_SESSION_ID,
    AVP_SUBSCRIPTION_ID,
    AVP_SUBSCRIPTION_ID_DATA,
    AVP_SUBSCRIPTION_ID_TYPE,
    AVP_TGPP_ADDRESS_DATA,
    AVP_TGPP_CALLED_PARTY_ADDRESS,
    AVP_USED_SERVICE_UNIT,
    AVP_VALIDITY_TIME,
)

from openbss.charging.diameter import wire
from openbss.charging.diameter.wire import FLAG_PROXIABLE, INVALID_AVP_VALUE, MISSING_AVP, Fault, Header, RawAvp

INITIAL, UPDATE, TERMINATION, EVENT = 1, 2, 3, 4
DIRECT_DEBITING, REFUND_ACCOUNT, CHECK_BALANCE, PRICE_ENQUIRY = 0, 1, 2, 3
FINAL_TERMINATE, FINAL_REDIRECT = 0, 1
REDIRECT_URL = 2
CREDIT_CONTROL_APPLICATION = 4
E164, IMSI, SIP_URI, NAI, PRIVATE = 0, 1, 2, 3, 4

# The Service-Context-Ids of TS 32.299 and the usage type a request in that context counts when it names no unit.
SERVICE_CONTEXTS = {"32251@3gpp.org": "data", "32260@3gpp.org": "voice", "32274@3gpp.org": "sms",
                    "32276@3gpp.org": "voice"}
UNIT_OF_TYPE = {"voice": "time", "data": "octets", "sms": "specific"}
TGPP = 10415


@dataclass(frozen=True)
class Units:
    """CC-Time (seconds), octets (CC-Total-Octets, or input + output) and CC-Service-Specific-Units."""

    time: int | None = None
    octets: int | None = None
    specific: int | None = None

    @property
    def usage_type(self) -> str | None:
        return "voice" if self.time is not None else "data" if self.octets is not None else \
            "sms" if self.specific is not None else None

    def of(self, usage_type: str) -> int | None:
        return getattr(self, UNIT_OF_TYPE[usage_type])


@dataclass(frozen=True)
class ServiceControl:
    rating_group: int
    requested: Units | None  # a Requested-Service-Unit, maybe empty ("the OCS decides"); None: none asked
    used: Units | None  # the Used-Service-Units reported, added up


@dataclass(frozen=True)
class ChargingRequest:
    session_id: str
    request_type: int
    request_number: int
    service_context: str
    service_id: str | None  # the subscriber as openbss names it ("+" E.164 digits, or the URI / IMSI as sent)
    destination: str | None  # digits of the called party (voice, sms), if any
    requested_action: int | None
    services: tuple[ServiceControl, ...]
    event_time: datetime | None = None


@dataclass(frozen=True)
class ServiceResult:
    rating_group: int
    result_code: int
    usage_type: str | None = None
    granted: int | None = None  # units of the usage type, in Granted-Service-Unit
    validity_time: int | None = None
    final_action: int | None = None  # FINAL_TERMINATE or FINAL_REDIRECT: these are the last units


@dataclass(frozen=True)
class Outcome:
    result_code: int
    services: tuple[ServiceResult, ...] = ()
    check_balance: int | None = None  # Check-Balance-Result: 0 enough credit, 1 no credit
    failed_avp: RawAvp | None = None
    error_message: str | None = None
    redirect_url: str | None = None  # where FINAL_REDIRECT sends the subscriber (a top-up page)


def _members(avp: RawAvp) -> Iterator[RawAvp]:
    """The base-protocol (vendor 0) members of a grouped AVP of a request that passed `wire.check`."""
    return (m for m in wire.avps(avp.data) if isinstance(m, RawAvp) and not m.vendor)


def _units(avp: RawAvp) -> Units:
    """A Requested-, Used- or Granted-Service-Unit: octets are CC-Total-Octets, or input + output."""
    time = octets = specific = None
    given: list[int] = []
    for member in _members(avp):
        if member.code == AVP_CC_TIME:
            time = wire.unsigned32(member)
        elif member.code == AVP_CC_TOTAL_OCTETS:
            octets = wire.unsigned64(member)
        elif member.code in (AVP_CC_INPUT_OCTETS, AVP_CC_OUTPUT_OCTETS):
            given.append(wire.unsigned64(member))
        elif member.code == AVP_CC_SERVICE_SPECIFIC_UNITS:
            specific = wire.unsigned64(member)
    return Units(time, sum(given) if octets is None and given else octets, specific)


def _sum(units: list[Units]) -> Units | None:
    if not units:
        return None
    add = lambda name: None if all(getattr(u, name) is None for u in units) else \
        sum(getattr(u, name) or 0 for u in units)  # noqa: E731
    return Units(add("time"), add("octets"), add("specific"))


def service_id_of(kind: int | None, data: str | None) -> str | None:
    """The subscriber as openbss's service ids name it: "+" and the digits of an E.164 number or of a tel: or
    sip: URI whose user part is a number; any other identity (IMSI, NAI, a named SIP user) as sent."""
    if not data:
        return None
    value = data.strip()
    if kind in (SIP_URI, None) or value.startswith(("sip:", "sips:", "tel:")):
        user = re.sub(r"^(sips?|tel):", "", value).split("@", 1)[0].split(";", 1)[0]
        digits = user.lstrip("+")
        return f"+{digits}" if digits.isdigit() else value
    if kind == E164:
        digits = value.lstrip("+")
        return f"+{digits}" if digits.isdigit() else value
    return value


def _destination(body: bytes) -> str | None:
    """Called-Party-Address (IMS-Information's) or an SMS Recipient-Address's Address-Data, as digits."""
    for code in (AVP_TGPP_CALLED_PARTY_ADDRESS, AVP_TGPP_ADDRESS_DATA):
        avp = wire.find(body, code, TGPP)
        if avp is not None:
            user = re.sub(r"^(sips?|tel):", "", wire.text(avp)).split("@", 1)[0].split(";", 1)[0]
            digits = re.sub(r"\D", "", user)
            if digits:
                return digits
    return None


def _service(avp: RawAvp) -> ServiceControl:
    rating_group, requested, used = 0, None, []
    for member in _members(avp):
        if member.code == AVP_RATING_GROUP:
            rating_group = wire.unsigned32(member)
        elif member.code == AVP_REQUESTED_SERVICE_UNIT and requested is None:
            requested = _units(member)
        elif member.code == AVP_USED_SERVICE_UNIT:
            used.append(_units(member))
    return ServiceControl(rating_group, requested, _sum(used))


@dataclass(frozen=True)
class Ccr:
    """A Credit-Control-Request: its header, what its answer echoes, and the request it makes (or why not)."""

    header: Header
    session_id: str
    request_type: int
    request_number: int
    request: ChargingRequest | Fault


def read_ccr(header: Header, body: bytes) -> Ccr | Fault:
    """The request in `body` (which has passed `wire.check`: lengths fit, required AVPs are present), or the fault
    of a Session-Id, CC-Request-Type or -Number that is not a value of its type (5004)."""
    first: dict[int, RawAvp] = {}
    subscriptions, services = [], []
    for avp in wire.avps(body):
        if isinstance(avp, Fault):
            return avp
        if avp.vendor:
            continue
        if avp.code == AVP_SUBSCRIPTION_ID:
            subscriptions.append(avp)
        elif avp.code == AVP_MULTIPLE_SERVICES_CREDIT_CONTROL:
            services.append(avp)
        else:
            first.setdefault(avp.code, avp)
    try:
        session_id, kind = wire.text(first[AVP_SESSION_ID]), wire.integer32(first[AVP_CC_REQUEST_TYPE])
        number = wire.unsigned32(first[AVP_CC_REQUEST_NUMBER])
    except wire.BadValue as e:
        return e.fault
    try:
        request = _request(body, session_id, kind, number, first, subscriptions, services)
    except wire.BadValue as e:
        request = e.fault
    return Ccr(header, session_id, kind, number, request)


def _request(body: bytes, session_id: str, kind: int, number: int, first: dict[int, RawAvp],
             subscriptions: list[RawAvp], services: list[RawAvp]) -> ChargingRequest | Fault:
    def value(code: int, read):
        return read(first[code]) if code in first else None

    action = value(AVP_REQUESTED_ACTION, wire.integer32)
    if kind not in (INITIAL, UPDATE, TERMINATION, EVENT):
        return Fault(INVALID_AVP_VALUE, f"CC-Request-Type={kind} must be 1 to 4", first[AVP_CC_REQUEST_TYPE])
    if kind == EVENT and action not in (None, DIRECT_DEBITING, CHECK_BALANCE):
        return Fault(INVALID_AVP_VALUE, f"Requested-Action={action}: only DIRECT_DEBITING (0) and "
                                        "CHECK_BALANCE (2) are offered", first[AVP_REQUESTED_ACTION])
    subscriber = None
    for sub in subscriptions:
        members = {m.code: m for m in _members(sub)}
        kind_of = wire.integer32(members[AVP_SUBSCRIPTION_ID_TYPE]) if AVP_SUBSCRIPTION_ID_TYPE in members else None
        data = wire.text(members[AVP_SUBSCRIPTION_ID_DATA]) if AVP_SUBSCRIPTION_ID_DATA in members else None
        subscriber = service_id_of(kind_of, data)
        if subscriber:
            break
    controls = tuple(_service(avp) for avp in services)
    if not controls and kind != TERMINATION:
        return Fault(MISSING_AVP, "Multiple-Services-Credit-Control is required (one per rating group)")
    # the called party matters where a session starts; later requests are rated as the first one was
    destination = _destination(body) if kind in (INITIAL, EVENT) else None
    return ChargingRequest(session_id, kind, number, value(AVP_SERVICE_CONTEXT_ID, wire.text) or "", subscriber,
                           destination, action, controls, value(AVP_EVENT_TIMESTAMP, wire.time))


GRANTED_UNIT_AVP = {"time": (AVP_CC_TIME, wire.u32), "octets": (AVP_CC_TOTAL_OCTETS, wire.u64),
                    "specific": (AVP_CC_SERVICE_SPECIFIC_UNITS, wire.u64)}


def _service_avp(r: ServiceResult, redirect_url: str | None) -> bytes:
    """One Multiple-Services-Credit-Control of the answer, its members in RFC 4006 8.16 order."""
    members = b""
    if r.granted is not None and r.usage_type is not None:
        code, write = GRANTED_UNIT_AVP[UNIT_OF_TYPE[r.usage_type]]
        members += wire.avp_bytes(AVP_GRANTED_SERVICE_UNIT, wire.avp_bytes(code, write(r.granted)))
    members += wire.avp_bytes(AVP_RATING_GROUP, wire.u32(r.rating_group))
    if r.validity_time is not None:
        members += wire.avp_bytes(AVP_VALIDITY_TIME, wire.u32(r.validity_time))
    members += wire.avp_bytes(AVP_RESULT_CODE, wire.u32(r.result_code))
    if r.final_action is not None:
        fui = wire.avp_bytes(AVP_FINAL_UNIT_ACTION, wire.i32(r.final_action))
        if r.final_action == FINAL_REDIRECT:
            fui += wire.avp_bytes(AVP_REDIRECT_SERVER, wire.avp_bytes(AVP_REDIRECT_ADDRESS_TYPE, wire.i32(REDIRECT_URL))
                                  + wire.avp_bytes(AVP_REDIRECT_SERVER_ADDRESS, redirect_url.encode()))
        members += wire.avp_bytes(AVP_FINAL_UNIT_INDICATION, fui)
    return wire.avp_bytes(AVP_MULTIPLE_SERVICES_CREDIT_CONTROL, members)


def answer_bytes(ccr: Ccr, outcome: Outcome, origin_host: bytes, origin_realm: bytes) -> bytes:
    """The Credit-Control-Answer to `ccr` for `outcome`, as bytes (RFC 4006 3.2 order)."""
    body = b"".join((
        wire.avp_bytes(AVP_SESSION_ID, ccr.session_id.encode()),
        wire.avp_bytes(AVP_RESULT_CODE, wire.u32(outcome.result_code)),
        wire.avp_bytes(AVP_ORIGIN_HOST, origin_host), wire.avp_bytes(AVP_ORIGIN_REALM, origin_realm),
        wire.avp_bytes(AVP_AUTH_APPLICATION_ID, wire.u32(CREDIT_CONTROL_APPLICATION)),
        wire.avp_bytes(AVP_CC_REQUEST_TYPE, wire.i32(ccr.request_type)),
        wire.avp_bytes(AVP_CC_REQUEST_NUMBER, wire.u32(ccr.request_number)),
        *(_service_avp(r, outcome.redirect_url) for r in outcome.services),
    ))
    if outcome.check_balance is not None:
        body += wire.avp_bytes(AVP_CHECK_BALANCE_RESULT, wire.i32(outcome.check_balance))
    if outcome.failed_avp is not None:
        a = outcome.failed_avp
        body += wire.avp_bytes(AVP_FAILED_AVP, wire.avp_bytes(a.code, a.data, vendor=a.vendor, flags=a.flags))
    if outcome.error_message:
        body += wire.avp_bytes(AVP_ERROR_MESSAGE, outcome.error_message[:200].encode())
    h = ccr.header
    return wire.message_bytes(h.flags & FLAG_PROXIABLE, h.command, h.application, h.hop_by_hop, h.end_to_end, body)
