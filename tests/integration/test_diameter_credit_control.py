"""The Diameter credit-control server (`openbss charging serve`) driven through full sessions by an independent
Diameter client (python-diameter's Node: capabilities exchange, watchdog, its own encoding), against balances in
the test database.

Tariff (tests/factories.MOBILE_USAGE): voice 0.0020 EUR per second, SMS 0.09 EUR each, data 0.01 EUR per started
1,000,000 bytes (pro rata). Every expected balance has its arithmetic beside it.
"""

from __future__ import annotations

import socket
import struct
from datetime import UTC, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from diameter.message import Message

from openbss.charging import service as charging
from openbss.charging.diameter import wire
from openbss.charging.service import NewBucket
from openbss.charging.tables import charging_request
from tests import factories
from tests.diameter_client import Service, connected, free_port, granted, mscc_result, read_message, server_args
from tests.services import openbss_service, wait_for_port

INITIAL, UPDATE, TERMINATION, EVENT = 1, 2, 3, 4
START = datetime(2026, 10, 1, tzinfo=UTC)
MSISDN = "+4915100000001"
MB = 1_000_000


@pytest.fixture
def subscriber(uow):
    """One prepaid line; its account id."""
    with uow() as u:
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u, "Prepaid").id, MSISDN)
        return account.id


def wallet(uow, account_id, amount: str):
    with uow() as u:
        return charging.add_bucket(u, NewBucket("money", D(amount), START, account_id=account_id, currency="EUR"))


def bucket(uow, bucket_id):
    with uow() as u:
        b = charging.get_bucket(u, bucket_id)
        return b.used, b.reserved


@pytest.fixture
def ocs(engine, tmp_path):
    """The server on a free port; yields the port."""
    port = free_port()
    with openbss_service(engine, tmp_path, *server_args(port, "--validity", "120")) as service:
        wait_for_port(service, port)
        yield port


def test_a_voice_call_is_granted_reported_and_closed(uow, subscriber, ocs):
    money = wallet(uow, subscriber, "10.00")
    with connected(ocs) as client:
        s = client.session("call")
        a = client.send(client.request(s, INITIAL, "voice", [Service(1, 300)], subscriber=MSISDN))
        assert (a.result_code, mscc_result(a, 1), granted(a, 1, "voice")) == (2001, 2001, 300)
        assert a.multiple_services_credit_control[0].validity_time == 120
        assert a.multiple_services_credit_control[0].final_unit_indication is None
        assert bucket(uow, money) == (0, D("0.60"))  # 300 s x 0.0020 held
        a = client.send(client.request(s, UPDATE, "voice", [Service(1, 300, used=300)]))
        assert granted(a, 1, "voice") == 300
        assert bucket(uow, money) == (D("0.60"), D("0.60"))  # the first 300 s spent, 300 more held
        a = client.send(client.request(s, TERMINATION, "voice", [Service(1, None, used=125, ask=False)]))
        assert a.result_code == 2001
    # 300 s + 125 s = 425 s x 0.0020 = 0.85 spent; nothing left held
    assert bucket(uow, money) == (D("0.85"), 0)


def test_a_call_runs_out_of_credit_mid_session(uow, subscriber, ocs):
    money = wallet(uow, subscriber, "1.00")  # 1.00 / 0.0020 = 500 s of talk
    with connected(ocs) as client:
        s = client.session("long-call")
        a = client.send(client.request(s, INITIAL, "voice", [Service(1, 300)], subscriber=MSISDN))
        assert granted(a, 1, "voice") == 300  # 0.60 held
        a = client.send(client.request(s, UPDATE, "voice", [Service(1, 300, used=300)]))
        # 0.60 spent, 0.40 left buys 200 s: the last units, so Final-Unit-Indication TERMINATE (0)
        mscc = a.multiple_services_credit_control[0]
        assert (mscc.result_code, mscc.granted_service_unit.cc_time) == (2001, 200)
        assert mscc.final_unit_indication.final_unit_action == 0
        a = client.send(client.request(s, UPDATE, "voice", [Service(1, 300, used=200)]))
        # 200 s x 0.0020 = 0.40 spent: nothing left, DIAMETER_CREDIT_LIMIT_REACHED in the MSCC and on top
        assert (a.result_code, mscc_result(a, 1), granted(a, 1, "voice")) == (4012, 4012, None)
        a = client.send(client.request(s, TERMINATION, "voice", []))
        assert a.result_code == 2001
    assert bucket(uow, money) == (D("1.00"), 0)  # 500 s x 0.0020, all of it


def test_a_data_session_with_two_rating_groups_spends_the_allowance_first(uow, subscriber, ocs):
    allowance = None
    with uow() as u:
        allowance = charging.add_bucket(u, NewBucket("byte", D(50 * MB), START, account_id=subscriber))
    money = wallet(uow, subscriber, "5.00")
    with connected(ocs) as client:
        s = client.session("pdp")
        a = client.send(client.request(s, INITIAL, "data", [Service(10, 40 * MB), Service(20, 30 * MB)],
                                       subscriber=MSISDN))
        assert (granted(a, 10, "data"), granted(a, 20, "data")) == (40 * MB, 30 * MB)
        # rating group 10 holds 40 MB of the 50 MB allowance; group 20 the other 10 MB and 20 MB paid:
        # 20 x 0.01 = 0.20 held in money
        assert bucket(uow, allowance) == (0, 50 * MB) and bucket(uow, money) == (0, D("0.20"))
        a = client.send(client.request(s, UPDATE, "data", [Service(10, 40 * MB, used=40 * MB),
                                                           Service(20, None, used=25 * MB, ask=False)]))
        assert mscc_result(a, 10) == mscc_result(a, 20) == 2001
        # group 10 used its 40 MB of allowance, then asks 40 MB more: all paid, 40 x 0.01 = 0.40 held;
        # group 20 used 25 MB: 10 MB of allowance + 15 MB paid = 0.15, the rest of its hold (0.05) released
        assert bucket(uow, allowance) == (50 * MB, 0)
        assert bucket(uow, money) == (D("0.15"), D("0.40"))
        a = client.send(client.request(s, TERMINATION, "data", [Service(10, None, used=1_500_000, ask=False)]))
        assert a.result_code == 2001
    # group 10's last 1.5 MB x 0.01 per MB = 0.015 (rated amounts keep 6 decimals); 0.15 + 0.015 = 0.165
    assert bucket(uow, money) == (D("0.165"), 0)


def test_sms_are_charged_as_events_until_the_money_runs_out(uow, subscriber, ocs):
    money = wallet(uow, subscriber, "0.20")
    with connected(ocs) as client:
        results = []
        for n in range(3):
            a = client.send(client.request(client.session(f"sms-{n}"), EVENT, "sms", [Service(0, 1)],
                                           subscriber=MSISDN, requested_action=0))
            results.append((a.result_code, mscc_result(a, 0)))
    # 0.20 pays two SMS of 0.09 (0.18); the third would need 0.09 and 0.02 are left
    assert results == [(2001, 2001), (2001, 2001), (4012, 4012)]
    assert bucket(uow, money) == (D("0.18"), 0)


def test_check_balance_looks_without_debiting(uow, subscriber, ocs):
    money = wallet(uow, subscriber, "0.05")
    with connected(ocs) as client:
        a = client.send(client.request(client.session("look"), EVENT, "sms", [Service(0, 1)], subscriber=MSISDN,
                                       requested_action=2))
    assert (a.result_code, a.check_balance_result) == (2001, 1)  # 0.05 < 0.09: no credit for an SMS
    assert bucket(uow, money) == (0, 0)


def test_a_retransmitted_request_is_answered_again_without_a_second_debit(engine, uow, subscriber, ocs):
    money = wallet(uow, subscriber, "10.00")
    with connected(ocs) as client:
        s = client.session("dup")
        client.send(client.request(s, INITIAL, "voice", [Service(1, 60)], subscriber=MSISDN))
        update = client.request(s, UPDATE, "voice", [Service(1, 60, used=60)])
        first = client.send(update)
        update.header.is_retransmit = True
        again = client.send(update)
        assert granted(first, 1, "voice") == granted(again, 1, "voice") == 60
        assert bucket(uow, money) == (D("0.12"), D("0.12"))  # 60 s spent once (0.12), 60 s held once
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(charging_request)).scalar_one() == 2


def test_an_unknown_subscriber_is_refused_with_5030(uow, subscriber, ocs):
    with connected(ocs) as client:
        a = client.send(client.request(client.session("who"), INITIAL, "voice", [Service(1, 60)],
                                       subscriber="+4915199999999"))
    assert a.result_code == 5030


def test_a_suspended_line_is_denied_with_4010(uow, subscriber, ocs):
    from openbss.ordering import service as ordering

    wallet(uow, subscriber, "10.00")
    with uow() as u:
        [product] = ordering.products_for_account(u, subscriber)
        ordering.suspend_product(u, product.id)
    with connected(ocs) as client:
        a = client.send(client.request(client.session("barred"), INITIAL, "voice", [Service(1, 60)],
                                       subscriber=MSISDN))
    assert (a.result_code, mscc_result(a, 1)) == (4010, 4010)


# -- malformed messages, on a raw socket: the protocol's error answer, and the server keeps serving

def _raw(port: int, data: bytes) -> Message:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = read_message(sock)
        assert answer is not None, "the server closed the connection without an answer"
        return Message.from_bytes(answer)


def _avp(code: int, payload: bytes, flags: int = 0x40) -> bytes:
    body = struct.pack("!II", code, (flags << 24) | (8 + len(payload))) + payload
    return body + b"\0" * (-len(body) % 4)


def _without(data: bytes, code: int) -> bytes:
    kept = [a.raw + b"\0" * (-len(a.raw) % 4) for a in wire.avps(data[20:]) if a.code != code]
    return _with_length(data[:20] + b"".join(kept))


def _with_length(data: bytes) -> bytes:
    return data[:1] + len(data).to_bytes(3, "big") + data[4:]


def test_malformed_messages_get_the_protocols_error_answers(uow, subscriber, ocs, engine, tmp_path):
    from tests.diameter_client import Client

    wallet(uow, subscriber, "10.00")
    build = Client(None, "raw.client.test")
    good = build.request("raw;1", INITIAL, "voice", [Service(1, 60)], subscriber=MSISDN).as_bytes()
    # an unknown AVP with the M bit set: DIAMETER_AVP_UNSUPPORTED, the AVP in Failed-AVP
    a = _raw(ocs, _with_length(good + _avp(99999, b"\0\0\0\1")))
    assert a.result_code == 5001 and a.failed_avp[0].additional_avps[0].code == 99999
    # the same AVP without the M bit is ignored (RFC 6733 4.1): the request is answered
    assert _raw(ocs, _with_length(good + _avp(99999, b"\0\0\0\1", flags=0))).result_code == 2001
    # the credit-control command on application 16777238 (Gx): DIAMETER_APPLICATION_UNSUPPORTED, E bit set
    wrong_app = good[:8] + (16777238).to_bytes(4, "big") + good[12:]
    a = _raw(ocs, wrong_app)
    assert (a.result_code, a.header.is_error) == (3007, True)
    # CC-Request-Type 9: DIAMETER_INVALID_AVP_VALUE
    bad_type = build.request("raw;2", 9, "voice", [Service(1, 60)], subscriber=MSISDN).as_bytes()
    assert _raw(ocs, bad_type).result_code == 5004
    # no CC-Request-Number: DIAMETER_MISSING_AVP, naming it
    a = _raw(ocs, _without(good, 415))
    assert a.result_code == 5005 and a.failed_avp[0].additional_avps[0].code == 415
    # an AVP whose length runs past the message: DIAMETER_INVALID_AVP_LENGTH
    broken = _with_length(good + struct.pack("!II", 263, (0x40 << 24) | 200) + b"abcd")
    assert _raw(ocs, broken).result_code == 5014
    # a message length that is not a multiple of 4: DIAMETER_INVALID_MESSAGE_LENGTH, then the connection closes
    assert _raw(ocs, good[:1] + (len(good) + 2).to_bytes(3, "big") + good[4:] + b"\0\0").result_code == 5015
    # an unknown command: DIAMETER_COMMAND_UNSUPPORTED
    unknown = good[:5] + (999).to_bytes(3, "big") + good[8:]
    assert _raw(ocs, unknown).result_code == 3001
    # and the server still serves a well-formed session
    with connected(ocs) as client:
        a = client.send(client.request(client.session("after"), EVENT, "sms", [Service(0, 1)],
                                       subscriber=MSISDN, requested_action=2))
        assert a.result_code == 2001


def test_charged_usage_becomes_prepaid_usage_records_shown_in_tmf635_and_never_invoiced(uow, subscriber, ocs,
                                                                                           client):
    money = wallet(uow, subscriber, "10.00")
    with connected(ocs) as client_:
        s = client_.session("recorded-call")
        client_.send(client_.request(s, INITIAL, "voice", [Service(1, 300)], subscriber=MSISDN))
        update = client_.request(s, UPDATE, "voice", [Service(1, 300, used=300)])
        client_.send(update)
        update.header.is_retransmit = True  # the same report again: answered from storage, no second record
        client_.send(update)
        client_.send(client_.request(s, TERMINATION, "voice", [Service(1, None, used=125, ask=False)]))
    assert bucket(uow, money) == (D("0.85"), 0)  # (300 + 125) s x 0.0020
    records = client.get("/tmf-api/usageManagement/v4/usage").json()
    # one record per commit: 300 s x 0.0020 = 0.60 and 125 s x 0.0020 = 0.25, paid from the balance
    charged = sorted(D(str(c["value"])) for r in records for c in r["usageCharacteristic"]
                      if c["name"] == "quantity")
    assert charged == [125, 300]
    amounts = sorted(D(str(r["ratedProductUsage"][0]["taxExcludedRatingAmount"]["value"])) for r in records)
    assert amounts == [D("0.25"), D("0.60")]
    for r in records:
        assert r["status"] == "billed" and r["ratedProductUsage"][0]["isBilled"] is True
        assert {"name": "prepaid", "valueType": "boolean", "value": True} in r["usageCharacteristic"]
    with uow() as u:
        from openbss.mediation import service as mediation

        # nothing of it is left to bill: the balance paid it
        assert mediation.unbilled_charges(u, {subscriber: "EUR"})[subscriber] == 0


def test_a_session_that_uses_80_percent_of_a_balance_announces_the_threshold_once(uow, subscriber, ocs):
    from openbss.charging import balances
    from openbss.events.tables import outbox_event

    money = wallet(uow, subscriber, "1.00")  # 500 s of talk at 0.0020
    with connected(ocs) as client:
        s = client.session("threshold")
        client.send(client.request(s, INITIAL, "voice", [Service(1, 200)], subscriber=MSISDN))
        client.send(client.request(s, UPDATE, "voice", [Service(1, 200, used=200)]))  # 0.40 used: 40 %
        client.send(client.request(s, UPDATE, "voice", [Service(1, 100, used=200)]))  # 0.80 used: 80 %
        client.send(client.request(s, TERMINATION, "voice", [Service(1, None, used=50, ask=False)]))  # 0.90: 90 %
    assert bucket(uow, money) == (D("0.90"), 0)  # (200 + 200 + 50) s x 0.0020
    with uow() as u:
        sent = [r.payload for r in u.conn.execute(sa.select(outbox_event.c.payload).where(
            outbox_event.c.event_type == balances.THRESHOLD_EVENT))]
    assert [e["event"]["bucket"]["thresholdPercentage"] for e in sent] == [80]


HYBRID = "+4915100000002"


def test_a_hybrid_plan_spends_the_prepaid_balance_then_the_credit_limit_and_bills_the_rest(uow, ocs, client, engine,
                                                                                         clock):
    from openbss.core.money import Money
    from openbss.mediation import service as mediation

    with uow() as u:
        account = factories.account(u, "Hybrid Hal", credit_limit=Money.of("1.00", "EUR"))
        factories.subscribe(u, account.id, factories.offering(u, "Hybrid").id, HYBRID)
    money = wallet(uow, account.id, "0.20")  # 100 s prepaid at 0.0020, then up to 1.00 (500 s) on credit
    with connected(ocs) as c:
        s = c.session("hybrid-1")
        a = c.send(c.request(s, INITIAL, "voice", [Service(1, 300)], subscriber=HYBRID))
        # 300 s x 0.0020 = 0.60: 0.20 held in the wallet, 0.40 against the credit limit
        assert (a.result_code, granted(a, 1, "voice")) == (2001, 300)
        assert a.multiple_services_credit_control[0].final_unit_indication is None
        assert bucket(uow, money) == (0, D("0.20"))
        a = c.send(c.request(s, TERMINATION, "voice", [Service(1, None, used=300, ask=False)]))
        assert a.result_code == 2001
    # the wallet paid 100 s (0.20); 200 s x 0.0020 = 0.40 wait for the invoice
    assert bucket(uow, money) == (D("0.20"), 0)
    with uow() as u:
        assert mediation.unbilled_charges(u, {account.id: "EUR"})[account.id] == D("0.40")
    records = {key.split(";")[-1]: r for r in client.get("/tmf-api/usageManagement/v4/usage").json()
               for key in [next(c["value"] for c in r["usageCharacteristic"] if c["name"] == "recordKey")]}
    # one commit, two records: session/rating group/units committed before, the credit's part marked
    prepaid, postpaid = records["hybrid-1/1/0"], records["hybrid-1/1/0/postpaid"]
    assert (prepaid["status"], prepaid["ratedProductUsage"][0]["taxExcludedRatingAmount"]["value"]) == ("billed", 0.2)
    assert (postpaid["status"], postpaid["ratedProductUsage"][0]["taxExcludedRatingAmount"]["value"]) == ("rated", 0.4)
    with connected(ocs) as c:
        s = c.session("hybrid-2")
        a = c.send(c.request(s, INITIAL, "voice", [Service(1, 400)], subscriber=HYBRID))
        # credit left: 1.00 - 0.40 unbilled = 0.60, which buys 300 s: the last units (Final-Unit-Indication)
        mscc = a.multiple_services_credit_control[0]
        assert (mscc.granted_service_unit.cc_time, mscc.final_unit_indication.final_unit_action) == (300, 0)
        c.send(c.request(s, TERMINATION, "voice", [Service(1, None, used=300, ask=False)]))
        a = c.send(c.request(c.session("hybrid-3"), INITIAL, "voice", [Service(1, 60)], subscriber=HYBRID))
        assert a.result_code == 4012  # 0.20 prepaid + 1.00 credit all spent
    with uow() as u:
        assert mediation.unbilled_charges(u, {account.id: "EUR"})[account.id] == D("1.00")  # 0.40 + 300 s x 0.0020
    # the bill run invoices the credit's part (0.40 + 0.60) and never the prepaid 0.20
    from tests.scenarios.billing_steps import bill, invoice_of

    # the OCS charges at the real time: bill the account's period (Berlin time) holding now, after the sessions
    usage_date = datetime.now(ZoneInfo("Europe/Berlin"))
    period = f"{usage_date.year}-{usage_date.month:02d}"
    next_month = datetime(usage_date.year + usage_date.month // 12, usage_date.month % 12 + 1, 2, tzinfo=UTC)
    bill(engine, clock, period, next_month)
    inv = invoice_of(uow, account.id, usage_date.date().replace(day=1))
    assert sum(line.net.amount for line in inv.lines if line.kind == "usage") == D("1.00")


def test_server_processes_sharing_the_port_never_grant_more_than_the_balance(engine, uow, subscriber, tmp_path):
    import threading

    money = wallet(uow, subscriber, "1.00")  # 500 s of talk at 0.0020
    port = free_port()
    with openbss_service(engine, tmp_path, *server_args(port, "--processes", "2")) as service:
        wait_for_port(service, port)
        grants: list[int] = []
        ends: list[int] = []

        def caller(n: int) -> None:  # 4 peers, each on its own connection, 5 calls each asking 60 s
            with connected(port, host=f"pgw{n}.client.test") as c:
                sessions = [c.session(f"call-{n}-{k}") for k in range(5)]
                for s in sessions:
                    a = c.send(c.request(s, INITIAL, "voice", [Service(1, 60)], subscriber=MSISDN))
                    grants.append(granted(a, 1, "voice") or 0)
                for s in sessions:
                    a = c.send(c.request(s, TERMINATION, "voice", [Service(1, None, used=60, ask=False)]))
                    ends.append(a.result_code)

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        service.terminate()
        assert service.wait(timeout=30) == 0, service.stdout.read()
    # 20 calls ask 20 x 60 s = 1,200 s; the balance pays 500 s, granted once whatever process answered: eight
    # calls of 60 s and one of 20 s (1.00 / 0.0020 = 500 = 8 x 60 + 20), the rest refused
    assert sum(grants) == 500 and sorted(g for g in grants if g) == [20] + [60] * 8
    # every granted call ends 2001 and reports 60 s used (the refused ones' ends: 5002, no session); only what was
    # granted is paid: the whole 1.00, nothing left reserved
    assert sorted(ends) == [2001] * 9 + [5002] * 11
    assert bucket(uow, money) == (D("1.00"), 0)
    with socket.socket() as s:  # every server process is gone: nothing listens on the port any more
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
