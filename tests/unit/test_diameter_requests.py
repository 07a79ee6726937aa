"""Credit-Control-Requests read straight from their AVPs: requests encoded by python-diameter (an independent
encoder) read back as the OCS sees them, and answers that python-diameter decodes field by field."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from diameter.message import Message
from diameter.message.avp.grouped import (
    ImsInformation,
    MultipleServicesCreditControl,
    RecipientAddress,
    RecipientInfo,
    RequestedServiceUnit,
    ServiceInformation,
    SmsInformation,
    UsedServiceUnit,
)

from openbss.charging.diameter import wire
from openbss.charging.diameter.requests import (
    FINAL_REDIRECT,
    Ccr,
    Outcome,
    ServiceResult,
    Units,
    answer_bytes,
    read_ccr,
)
from tests.diameter_client import Client, Service


def _read(message) -> Ccr | wire.Fault:
    data = message.as_bytes()
    return read_ccr(wire.parse_header(data[:20]), data[20:])


def test_a_data_update_with_two_rating_groups_reads_units_per_group():
    ccr = _read(Client(None, "pgw.test").request("s;1", 2, "data", [Service(1, 1000, used=500), Service(2, None, used=7)],
                                                 subscriber="+4915100000001"))
    assert (ccr.session_id, ccr.request_type, ccr.request_number) == ("s;1", 2, 0)
    r = ccr.request
    assert (r.service_id, r.service_context, r.destination) == ("+4915100000001", "32251@3gpp.org", None)
    assert [(s.rating_group, s.requested, s.used) for s in r.services] == [
        (1, Units(octets=1000), Units(octets=500)), (2, Units(), Units(octets=7))]  # an empty RSU: "you decide"


def test_input_and_output_octets_add_up_and_used_units_of_several_reports_too():
    r = Client(None, "pgw.test").request("s;2", 2, "data", [], subscriber="+4915100000001")
    r.multiple_services_credit_control = [MultipleServicesCreditControl(
        # python-diameter's Requested-Service-Unit has no CC-Output-Octets
        rating_group=9, requested_service_unit=RequestedServiceUnit(cc_input_octets=150),
        used_service_unit=[UsedServiceUnit(cc_input_octets=10, cc_output_octets=5), UsedServiceUnit(cc_total_octets=1)])]
    (service,) = _read(r).request.services
    assert (service.requested, service.used) == (Units(octets=150), Units(octets=16))  # 10 + 5 + 1


def test_the_called_party_is_read_inside_service_information_and_an_sms_recipient_too():
    voice = Client(None, "scscf.test").request("s;3", 1, "voice", [Service(1, 60)], subscriber="sip:+4930111@ims.test")
    voice.service_information = ServiceInformation(
        ims_information=ImsInformation(called_party_address="tel:+44-20-7946-0000;phone-context=ims.test"))
    voice.event_timestamp = datetime(2026, 12, 7, 10, 0, 5)
    r = _read(voice).request
    assert (r.service_id, r.destination) == ("+4930111", "442079460000")
    # python-diameter writes a naive datetime as local time; the machine's zone is UTC here, as in CI
    assert r.event_time == datetime(2026, 12, 7, 10, 0, 5, tzinfo=UTC)
    sms = Client(None, "smsc.test").request("s;4", 4, "sms", [Service(1, 1)], subscriber="+4915100000001")
    sms.service_information = ServiceInformation(sms_information=SmsInformation(recipient_info=[
        RecipientInfo(recipient_address=[RecipientAddress(address_type=1, address_data="+4917612345")])]))
    assert _read(sms).request.destination == "4917612345"


def test_a_value_of_the_wrong_size_is_a_5004_naming_the_avp():
    data = bytearray(Client(None, "pgw.test").request("s;5", 1, "voice", [Service(1, 60)],
                                                      subscriber="+4915100000001").as_bytes())
    at = 20
    for avp in wire.avps(bytes(data[20:])):
        if avp.code == 416:  # CC-Request-Type: make its Integer32 two bytes long
            struct.pack_into("!I", data, at + 4, avp.flags << 24 | 10)
            break
        at += (len(avp.raw) + 3) & ~3
    fault = read_ccr(wire.parse_header(bytes(data[:20])), bytes(data[20:]))
    assert isinstance(fault, wire.Fault)
    assert (fault.result_code, fault.failed_avp.code) == (wire.INVALID_AVP_VALUE, 416)


def test_a_request_type_out_of_range_is_answered_5004_with_the_session_echoed():
    ccr = _read(Client(None, "pgw.test").request("s;6", 7, "voice", [Service(1, 60)], subscriber="+4915100000001"))
    assert ccr.session_id == "s;6" and ccr.request.result_code == wire.INVALID_AVP_VALUE


def test_the_answer_decodes_with_python_diameter():
    ccr = _read(Client(None, "pgw.test").request("s;7", 2, "data", [Service(3, 1000, used=10)],
                                                 subscriber="+4915100000001"))
    outcome = Outcome(2001, (ServiceResult(3, 2001, "data", 400, 300, FINAL_REDIRECT),),
                      redirect_url="https://topup.example/")
    answer = Message.from_bytes(answer_bytes(ccr, outcome, b"ocs.test", b"test"))
    assert (answer.session_id, answer.result_code, answer.cc_request_type, answer.cc_request_number) == ("s;7", 2001, 2, 0)
    (mscc,) = answer.multiple_services_credit_control
    assert (mscc.rating_group, mscc.result_code, mscc.validity_time) == (3, 2001, 300)
    assert mscc.granted_service_unit.cc_total_octets == 400
    fui = mscc.final_unit_indication
    assert (fui.final_unit_action, fui.redirect_server.redirect_server_address) == (1, "https://topup.example/")
