"""The Diameter base protocol's own exchanges (RFC 6733 5.): capabilities, watchdog, disconnect; and the error
answer any request gets when it cannot be processed (the E bit for protocol errors, 3xxx)."""

from __future__ import annotations

from diameter.message import Avp, Message
from diameter.message._base import MessageHeader
from diameter.message.avp.grouped import VendorSpecificApplicationId
from diameter.message.constants import (
    AVP_ERROR_MESSAGE,
    AVP_FAILED_AVP,
    AVP_ORIGIN_HOST,
    AVP_ORIGIN_REALM,
    AVP_RESULT_CODE,
    AVP_SESSION_ID,
)

from openbss import __version__
from openbss.charging.diameter import wire
from openbss.charging.diameter.requests import CREDIT_CONTROL_APPLICATION
from openbss.charging.diameter.wire import Fault, Header

CAPABILITIES_EXCHANGE, DEVICE_WATCHDOG, DISCONNECT_PEER, CREDIT_CONTROL = 257, 280, 282, 272
RELAY = 0xFFFFFFFF
TGPP = 10415
NO_COMMON_APPLICATION = 5010


def capabilities_answer(cer: Message, origin_host: bytes, origin_realm: bytes, address: str) -> bytes:
    """CEA: we speak the credit-control application (4), plainly and as 3GPP's (vendor 10415); a peer that
    offers neither (nor relay) gets DIAMETER_NO_COMMON_APPLICATION."""
    offered = set(cer.auth_application_id or []) | {v.auth_application_id for v in
                                                   (cer.vendor_specific_application_id or [])}
    cea = cer.to_answer()
    cea.result_code = wire.SUCCESS if offered & {CREDIT_CONTROL_APPLICATION, RELAY} else NO_COMMON_APPLICATION
    cea.origin_host, cea.origin_realm = origin_host, origin_realm
    cea.host_ip_address = [address]
    cea.vendor_id = 0
    cea.product_name = "openbss"
    cea.firmware_revision = int("".join(c for c in __version__ if c.isdigit()) or 0)
    cea.supported_vendor_id = [TGPP]
    cea.auth_application_id = [CREDIT_CONTROL_APPLICATION]
    cea.vendor_specific_application_id = [VendorSpecificApplicationId(vendor_id=TGPP,
                                                                      auth_application_id=CREDIT_CONTROL_APPLICATION)]
    return cea.as_bytes()


def simple_answer(request: Message, origin_host: bytes, origin_realm: bytes) -> bytes:
    """DWA or DPA: success, who we are."""
    answer = request.to_answer()
    answer.result_code = wire.SUCCESS
    answer.origin_host, answer.origin_realm = origin_host, origin_realm
    return answer.as_bytes()


def error_answer(header: Header, body: bytes, fault: Fault, origin_host: bytes, origin_realm: bytes) -> bytes:
    """The answer to a request that cannot be processed, built from its raw header (its AVPs may not decode):
    Session-Id when it has one, Result-Code, Origin-Host and -Realm, Error-Message, Failed-AVP. Protocol errors
    (3xxx) set the E bit (RFC 6733 7.2)."""
    flags = (header.flags & wire.FLAG_PROXIABLE) | (wire.FLAG_ERROR if 3000 <= fault.result_code < 4000 else 0)
    answer = Message(MessageHeader(1, 0, flags, header.command, header.application, header.hop_by_hop,
                                   header.end_to_end))
    session = _session_id(body)
    if session is not None:
        answer.append_avp(Avp.new(AVP_SESSION_ID, value=session))
    answer.append_avp(Avp.new(AVP_RESULT_CODE, value=fault.result_code))
    answer.append_avp(Avp.new(AVP_ORIGIN_HOST, value=origin_host))
    answer.append_avp(Avp.new(AVP_ORIGIN_REALM, value=origin_realm))
    answer.append_avp(Avp.new(AVP_ERROR_MESSAGE, value=fault.message[:200]))
    if fault.failed_avp is not None:
        a = fault.failed_avp
        failed = Avp.new(AVP_FAILED_AVP)
        failed.value = [Avp(a.code, a.vendor, a.data, a.flags)]
        answer.append_avp(failed)
    return answer.as_bytes()


def _session_id(body: bytes) -> str | None:
    avp = wire.top_level(body, AVP_SESSION_ID)
    try:
        return None if avp is None else wire.text(avp)
    except wire.BadValue:
        return None
