"""Credit-Control-Request as the OCS reads it, and the answer it gives, as plain values (RFC 4006, TS 32.299).

`read_request` turns a decoded python-diameter CreditControlRequest into a `ChargingRequest`: the session, the
request type and number, the subscriber as an openbss service id, and one `ServiceControl` per
Multiple-Services-Credit-Control with its requested and used units. `answer_bytes` writes the answer for an
`Outcome`. The usage type of a service comes from the unit it is counted in (CC-Time: voice, octets: data,
service-specific units: sms), or, for a request that names no unit, from the Service-Context-Id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from diameter.message import Avp, Message
from diameter.message._base import MessageHeader
from diameter.message.commands.credit_control import CreditControlRequest
from diameter.message.constants import (
    AVP_AUTH_APPLICATION_ID,
    AVP_CC_REQUEST_NUMBER,
    AVP_CC_REQUEST_TYPE,
    AVP_CC_SERVICE_SPECIFIC_UNITS,
    AVP_CC_TIME,
    AVP_CC_TOTAL_OCTETS,
    AVP_CHECK_BALANCE_RESULT,
    AVP_ERROR_MESSAGE,
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
    AVP_RESULT_CODE,
    AVP_SESSION_ID,
    AVP_VALIDITY_TIME,
)

from openbss.charging.diameter.wire import FLAG_PROXIABLE, INVALID_AVP_VALUE, MISSING_AVP, Fault, RawAvp

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


def _units(unit) -> Units:
    """python-diameter's Requested- and Used-Service-Unit (the requested one has no CC-Output-Octets field)."""
    octets = unit.cc_total_octets
    given = (getattr(unit, "cc_input_octets", None), getattr(unit, "cc_output_octets", None))
    if octets is None and any(v is not None for v in given):
        octets = sum(v or 0 for v in given)
    return Units(unit.cc_time, octets, unit.cc_service_specific_units)


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


def _destination(msg: Message) -> str | None:
    """Called-Party-Address (832) or an SMS Recipient-Address's Address-Data (897), as digits."""
    for code in (832, 897):
        for value in msg.find_avps((code, 10415)):
            text = value.decode() if isinstance(value, bytes) else str(value)
            user = re.sub(r"^(sips?|tel):", "", text).split("@", 1)[0].split(";", 1)[0]
            digits = re.sub(r"\D", "", user)
            if digits:
                return digits
    return None


def read_request(msg: CreditControlRequest) -> ChargingRequest | Fault:
    if msg.cc_request_type not in (INITIAL, UPDATE, TERMINATION, EVENT):
        return Fault(INVALID_AVP_VALUE, f"CC-Request-Type={msg.cc_request_type} must be 1 to 4")
    if msg.cc_request_type == EVENT and msg.requested_action not in (None, DIRECT_DEBITING, CHECK_BALANCE):
        return Fault(INVALID_AVP_VALUE, f"Requested-Action={msg.requested_action}: only DIRECT_DEBITING (0) and "
                                        "CHECK_BALANCE (2) are offered")
    subscriber = None
    for sub in msg.subscription_id or []:
        subscriber = service_id_of(sub.subscription_id_type, sub.subscription_id_data)
        if subscriber:
            break
    services = []
    for mscc in msg.multiple_services_credit_control or []:
        requested = _units(mscc.requested_service_unit) if mscc.requested_service_unit is not None else None
        used = _sum([_units(u) for u in (mscc.used_service_unit or [])])
        services.append(ServiceControl(mscc.rating_group or 0, requested, used))
    if not services and msg.cc_request_type != TERMINATION:
        return Fault(MISSING_AVP, "Multiple-Services-Credit-Control is required (one per rating group)")
    # the called party matters where a session starts; later requests are rated as the first one was
    destination = _destination(msg) if msg.cc_request_type in (INITIAL, EVENT) else None
    return ChargingRequest(msg.session_id, msg.cc_request_type, msg.cc_request_number, msg.service_context_id or "",
                           subscriber, destination, msg.requested_action, tuple(services),
                           msg.event_timestamp)


GRANTED_UNIT_AVP = {"time": AVP_CC_TIME, "octets": AVP_CC_TOTAL_OCTETS, "specific": AVP_CC_SERVICE_SPECIFIC_UNITS}


def _grouped(code: int, members: list[Avp]) -> Avp:
    avp = Avp.new(code)
    avp.value = members
    return avp


def _service_avp(r: ServiceResult, redirect_url: str | None) -> Avp:
    """One Multiple-Services-Credit-Control of the answer, its members in RFC 4006 8.16 order."""
    members = []
    if r.granted is not None and r.usage_type is not None:
        unit = GRANTED_UNIT_AVP[UNIT_OF_TYPE[r.usage_type]]
        members.append(_grouped(AVP_GRANTED_SERVICE_UNIT, [Avp.new(unit, value=r.granted)]))
    members.append(Avp.new(AVP_RATING_GROUP, value=r.rating_group))
    if r.validity_time is not None:
        members.append(Avp.new(AVP_VALIDITY_TIME, value=r.validity_time))
    members.append(Avp.new(AVP_RESULT_CODE, value=r.result_code))
    if r.final_action is not None:
        fui = [Avp.new(AVP_FINAL_UNIT_ACTION, value=r.final_action)]
        if r.final_action == FINAL_REDIRECT:
            fui.append(_grouped(AVP_REDIRECT_SERVER, [
                Avp.new(AVP_REDIRECT_ADDRESS_TYPE, value=REDIRECT_URL),
                Avp.new(AVP_REDIRECT_SERVER_ADDRESS, value=redirect_url)]))
        members.append(_grouped(AVP_FINAL_UNIT_INDICATION, fui))
    return _grouped(AVP_MULTIPLE_SERVICES_CREDIT_CONTROL, members)


def answer_bytes(msg: CreditControlRequest, outcome: Outcome, origin_host: bytes, origin_realm: bytes) -> bytes:
    """The Credit-Control-Answer to `msg` for `outcome`, as bytes (RFC 4006 3.2 order). Built from plain AVPs:
    python-diameter's attribute-driven encoder costs several times more, on the OCS's busiest path."""
    h = msg.header
    answer = Message(MessageHeader(1, 0, h.command_flags & FLAG_PROXIABLE, h.command_code, h.application_id,
                                   h.hop_by_hop_identifier, h.end_to_end_identifier))
    for avp in (Avp.new(AVP_SESSION_ID, value=msg.session_id), Avp.new(AVP_RESULT_CODE, value=outcome.result_code),
                Avp.new(AVP_ORIGIN_HOST, value=origin_host), Avp.new(AVP_ORIGIN_REALM, value=origin_realm),
                Avp.new(AVP_AUTH_APPLICATION_ID, value=CREDIT_CONTROL_APPLICATION),
                Avp.new(AVP_CC_REQUEST_TYPE, value=msg.cc_request_type),
                Avp.new(AVP_CC_REQUEST_NUMBER, value=msg.cc_request_number)):
        answer.append_avp(avp)
    for r in outcome.services:
        answer.append_avp(_service_avp(r, outcome.redirect_url))
    if outcome.check_balance is not None:
        answer.append_avp(Avp.new(AVP_CHECK_BALANCE_RESULT, value=outcome.check_balance))
    if outcome.failed_avp is not None:
        a = outcome.failed_avp
        answer.append_avp(_grouped(AVP_FAILED_AVP, [Avp(a.code, a.vendor, a.data, a.flags)]))
    if outcome.error_message:
        answer.append_avp(Avp.new(AVP_ERROR_MESSAGE, value=outcome.error_message[:200]))
    return answer.as_bytes()
