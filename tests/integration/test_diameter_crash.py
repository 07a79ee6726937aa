"""The charging server killed with SIGKILL in the middle of a load, then restarted: every debit it acknowledged is
there, none twice, and the reservations of the sessions the network abandoned are released after their
Validity-Time.

Twenty voice sessions on one connection, each with its own 100.00 EUR balance; requests go out a round at a time
(one CCR-U per session, pipelined: used 10 s, asking 10 s more, at 0.0020 EUR per second). The server is killed
once some answers of round 5 have arrived, so the kill lands among requests being committed. After the restart
the client sends again, with the T flag, every request whose answer it did not see (RFC 4006's failover
behaviour): each is answered, from the stored answer when its transaction had committed before the kill. Half
the sessions then end with CCR-T, the other half are simply abandoned.
"""

from __future__ import annotations

import socket
import struct
import time
from datetime import UTC, datetime
from decimal import Decimal as D

import sqlalchemy as sa

from openbss.charging import service as charging
from openbss.charging.diameter import wire
from openbss.charging.service import NewBucket
from openbss.charging.tables import balance_bucket, charging_request
from tests import factories
from tests.diameter_client import Client, Service, free_port, read_message, server_args
from tests.services import openbss_service, wait_for_port

SESSIONS, ROUNDS = 20, 5
START = datetime(2026, 10, 1, tzinfo=UTC)


def seed(uow) -> dict[str, object]:
    with uow() as u:
        offer = factories.offering(u, "Prepaid")
        buckets = {}
        for n in range(SESSIONS):
            account = factories.account(u, f"Caller {n}")
            factories.subscribe(u, account.id, offer.id, f"+4915200000{n:03d}")
            buckets[f"+4915200000{n:03d}"] = charging.add_bucket(
                u, NewBucket("money", D("100.00"), START, account_id=account.id, currency="EUR"))
        return buckets


class RawPeer:
    """A bare Diameter connection: CER first, then requests written and answers read by hop-by-hop id."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.hop = 0
        from diameter.message.commands.capabilities_exchange import CapabilitiesExchangeRequest

        cer = CapabilitiesExchangeRequest()
        cer.origin_host, cer.origin_realm = b"crash.client.test", b"client.test"
        cer.host_ip_address, cer.vendor_id, cer.product_name, cer.auth_application_id = ["127.0.0.1"], 0, "t", [4]
        self.write(cer.as_bytes())
        assert self.read() is not None

    def write(self, data: bytes, retransmit: bool = False) -> int:
        self.hop += 1
        data = bytearray(data)
        struct.pack_into("!II", data, 12, self.hop, self.hop)
        if retransmit:
            data[4] |= wire.FLAG_RETRANSMIT
        self.sock.sendall(data)
        return self.hop

    def read(self) -> bytes | None:
        return read_message(self.sock)


def result_of(answer: bytes) -> int:
    return struct.unpack("!I", wire.top_level(answer[20:], 268).data)[0]


def test_a_killed_server_loses_no_acknowledged_debit_and_repeats_none(engine, uow, tmp_path):
    buckets = seed(uow)
    port = free_port()
    build = Client(None, "crash.client.test")
    lines = list(buckets)
    sessions = {line: build.session(line) for line in lines}
    sent: dict[str, bytes] = {}  # the last request of each session
    acknowledged: list[tuple[str, int]] = []  # (session, CC-Request-Number) of every answer received

    def request(line, kind, services):
        data = build.request(sessions[line], kind, "voice", services, subscriber=line).as_bytes()
        sent[line] = data
        return data

    with openbss_service(engine, tmp_path, *server_args(port, "--validity", "3")) as server:
        wait_for_port(server, port)
        peer = RawPeer(port)
        for line in lines:
            peer.write(request(line, 1, [Service(1, 10)]))
        for _ in lines:
            assert result_of(peer.read()) == 2001
        for rnd in range(1, ROUNDS + 1):
            hops = {peer.write(request(line, 2, [Service(1, 10, used=10)])): line for line in lines}
            if rnd == 5:  # kill it while round 5 is being committed: some answers out, some not
                time.sleep(0.15)
                server.kill()
                server.wait()
            for _ in lines:
                answer = peer.read()
                if answer is None:
                    break
                assert result_of(answer) == 2001
                session = sessions[hops[struct.unpack_from("!I", answer, 12)[0]]]
                acknowledged.append((session, build.request_numbers[session]))
            if rnd == 5:
                break
    assert len(acknowledged) >= SESSIONS * 4  # rounds 1-4 whole, round 5 as far as it got

    with engine.connect() as conn:  # every answer the client saw was durable before it was sent
        stored = set(conn.execute(sa.select(charging_request.c.session_id, charging_request.c.request_number)))
    assert set(acknowledged) <= stored

    with openbss_service(engine, tmp_path, *server_args(port, "--validity", "3")) as server:
        wait_for_port(server, port)
        peer = RawPeer(port)
        for line in lines:  # the unanswered round-5 requests, again (answered or not before the kill)
            peer.write(sent[line], retransmit=True)
        for _ in lines:
            assert result_of(peer.read()) == 2001
        for line in lines[: SESSIONS // 2]:
            peer.write(request(line, 3, [Service(1, None, used=5, ask=False)]))
        for _ in lines[: SESSIONS // 2]:
            assert result_of(peer.read()) == 2001
        # the other half never report again: their 10 s grants expire after 3 s and the server's sweep frees them
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(sa.select(sa.func.sum(balance_bucket.c.reserved))).scalar_one() == 0:
                    break
            time.sleep(0.5)

    with uow() as u:
        for i, (line, bucket_id) in enumerate(buckets.items()):
            b = charging.get_bucket(u, bucket_id)
            # rounds 1-5 each committed exactly once: 5 x 10 s x 0.0020 = 0.10; an ended session adds its last
            # 5 s (0.01); nothing is held any more
            expected = D("0.10") + (D("0.01") if i < SESSIONS // 2 else 0)
            assert (b.used, b.reserved) == (expected, 0), line
