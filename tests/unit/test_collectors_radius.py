"""RADIUS accounting decoding rules (the protocol itself is tested against radclient in integration)."""

from datetime import UTC, datetime

import pytest
from pyrad.packet import AcctPacket

from openbss.core.errors import InvalidValue
from openbss.mediation.collectors import radius


@pytest.fixture(scope="module")
def dictionary():
    return radius.load_dictionary()


def test_the_shared_freeradius_v3_dictionaries_load_with_every_attribute_needed(dictionary):
    assert dictionary.attributes["Acct-Input-Gigawords"].code == 52  # RFC 2869 section 5.1
    # the file names 3 twice (Alive, then Interim-Update): a received 3 must read as Interim-Update
    received = packet(dictionary, Acct_Status_Type=3)
    assert received["Acct-Status-Type"] == ["Interim-Update"]


def test_octets_count_gigawords_as_wraps_of_the_32_bit_counter():
    assert radius.octets(1000, 0) == 1000
    assert radius.octets(1000, 1) == 4_294_968_296  # 2^32 + 1000
    assert radius.octets(0, 3) == 12_884_901_888  # 3 x 4,294,967,296


def packet(dictionary, **attributes):
    pkt = AcctPacket(secret=b"x", dict=dictionary)
    for name, value in attributes.items():
        pkt[name.replace("_", "-")] = value
    return AcctPacket(secret=b"x", dict=dictionary, packet=pkt.RequestPacket())


def test_accounting_facts(dictionary):
    pkt = packet(dictionary, User_Name="ada", Acct_Status_Type="Interim-Update", Acct_Session_Id="S1",
                 Acct_Session_Time=60, Acct_Input_Octets=10, Acct_Output_Octets=5, Acct_Output_Gigawords=2,
                 Event_Timestamp=1_790_000_000)
    facts = radius.accounting(pkt, "User-Name")
    assert facts.record_key == "S1:Interim-Update:60"
    assert (facts.input_octets, facts.output_octets) == (10, 2 * 2**32 + 5)
    assert facts.event_time == datetime.fromtimestamp(1_790_000_000, UTC)


def test_missing_session_id_or_service_id_is_named(dictionary):
    with pytest.raises(InvalidValue, match="Acct-Session-Id"):
        radius.accounting(packet(dictionary, User_Name="ada", Acct_Status_Type="Start"), "User-Name")
    with pytest.raises(InvalidValue, match="Calling-Station-Id"):
        radius.accounting(packet(dictionary, User_Name="ada", Acct_Status_Type="Start", Acct_Session_Id="S1"),
                          "Calling-Station-Id")


def test_datagrams_from_unknown_clients_garbage_and_non_accounting_codes_are_dropped_and_counted(dictionary):
    from openbss.core.clock import SystemClock

    collector = radius.RadiusCollector(None, {"127.0.0.1": "s"}, SystemClock(), dictionary=dictionary)
    request = AcctPacket(secret=b"s", dict=dictionary)
    request["Acct-Status-Type"] = "Start"
    assert collector.handle(request.RequestPacket(), "127.0.0.2") is None  # not a client
    assert collector.handle(b"\x04\x01\x00", "127.0.0.1") is None  # 3 bytes: no RADIUS header
    access = bytearray(request.RequestPacket())
    access[0] = 1  # Access-Request on the accounting port
    assert collector.handle(bytes(access), "127.0.0.1") is None
    assert (collector.stats.unknown_client, collector.stats.malformed) == (1, 2)


def test_accounting_on_is_answered_without_storing(dictionary):
    from openbss.core.clock import SystemClock

    collector = radius.RadiusCollector(None, {"127.0.0.1": "s"}, SystemClock(), dictionary=dictionary)
    request = AcctPacket(secret=b"s", dict=dictionary)
    request["Acct-Status-Type"] = "Accounting-On"
    raw = request.RequestPacket()
    reply = collector.handle(raw, "127.0.0.1")
    assert reply is not None and reply[0] == 5  # Accounting-Response
    assert request.VerifyReply(AcctPacket(secret=b"s", dict=dictionary, packet=reply), reply)
    assert collector.stats.no_usage == 1
