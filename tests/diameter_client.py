"""An independent Diameter client for the credit-control tests: python-diameter's own Node (its capabilities
exchange, watchdog and peer state machine) as a PGW / S-CSCF / SMSC would use it, and builders of CCRs."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from diameter.message.avp.grouped import (
    MultipleServicesCreditControl,
    RequestedServiceUnit,
    SubscriptionId,
    UsedServiceUnit,
)
from diameter.message.commands.credit_control import CreditControlAnswer, CreditControlRequest
from diameter.message.constants import APP_DIAMETER_CREDIT_CONTROL_APPLICATION, E_SUBSCRIPTION_ID_TYPE_END_USER_E164
from diameter.node import Node
from diameter.node.application import SimpleThreadingApplication

OCS_HOST, OCS_REALM = "ocs.openbss.test", "openbss.test"
CONTEXT = {"voice": "32260@3gpp.org", "data": "32251@3gpp.org", "sms": "32274@3gpp.org"}
UNIT = {"voice": "cc_time", "data": "cc_total_octets", "sms": "cc_service_specific_units"}


def read_message(sock: socket.socket) -> bytes | None:
    """One whole Diameter message from a socket, or None when the peer closed the connection first."""
    head = _exactly(sock, 20)
    rest = None if head is None else _exactly(sock, int.from_bytes(head[1:4], "big") - 20)
    return None if rest is None else head + rest


def _exactly(sock: socket.socket, n: int) -> bytes | None:
    out = b""
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))
        except OSError:
            return None
        if not chunk:
            return None
        out += chunk
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_args(port: int, *extra: str) -> tuple[str, ...]:
    return ("charging", "serve", "--port", str(port), "--origin-host", OCS_HOST, "--origin-realm", OCS_REALM, *extra)


@dataclass
class Service:
    """One MSCC of a request: the rating group, units asked for and units used (of the usage type's unit)."""

    rating_group: int
    requested: int | None = None
    used: int | None = None
    ask: bool = True  # an RSU at all (empty when `requested` is None: "the OCS decides")


class Client:
    _numbers = itertools.count(1)

    def __init__(self, app: SimpleThreadingApplication, host: str):
        self.app, self.host = app, host
        self.request_numbers: dict[str, int] = {}

    def session(self, name: str) -> str:
        return f"{self.host};{next(self._numbers)};{name}"

    def request(self, session_id: str, kind: int, usage_type: str, services: list[Service], *,
                subscriber: str | None = None, requested_action: int | None = None) -> CreditControlRequest:
        number = self.request_numbers.get(session_id, -1) + 1
        self.request_numbers[session_id] = number
        r = CreditControlRequest()
        r.header.application_id = APP_DIAMETER_CREDIT_CONTROL_APPLICATION
        r.session_id = session_id
        r.origin_host, r.origin_realm = self.host.encode(), b"client.test"
        r.destination_realm = OCS_REALM.encode()
        r.auth_application_id = APP_DIAMETER_CREDIT_CONTROL_APPLICATION
        r.service_context_id = CONTEXT[usage_type]
        r.cc_request_type, r.cc_request_number = kind, number
        if requested_action is not None:
            r.requested_action = requested_action
        if subscriber is not None:
            r.subscription_id = [SubscriptionId(subscription_id_type=E_SUBSCRIPTION_ID_TYPE_END_USER_E164,
                                                subscription_id_data=subscriber.lstrip("+"))]
        unit = UNIT[usage_type]
        mscc = []
        for s in services:
            item = MultipleServicesCreditControl(rating_group=s.rating_group)
            if s.ask:
                item.requested_service_unit = RequestedServiceUnit(**({} if s.requested is None
                                                                      else {unit: s.requested}))
            if s.used is not None:
                item.used_service_unit = [UsedServiceUnit(**{unit: s.used})]
            mscc.append(item)
        if mscc:
            r.multiple_services_credit_control = mscc
        return r

    def send(self, request: CreditControlRequest) -> CreditControlAnswer:
        return self.app.send_request(request, timeout=30)


@contextmanager
def connected(port: int, host: str = "pgw.client.test") -> Iterator[Client]:
    """A Node connected to the OCS on 127.0.0.1:`port` (capabilities exchanged), stopped on the way out."""
    node = Node(host, "client.test", vendor_ids=[10415])
    node.idle_timeout = 5
    peer = node.add_peer(f"aaa://{OCS_HOST}:{port};transport=tcp", OCS_REALM, ip_addresses=["127.0.0.1"],
                         is_persistent=True, is_default=True)
    app = SimpleThreadingApplication(APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True)
    node.add_application(app, [peer])
    node.start()
    try:
        app.wait_for_ready(timeout=30)
        yield Client(app, host)
    finally:
        node.stop(wait_timeout=5, force=True)


def granted(answer: CreditControlAnswer, rating_group: int, usage_type: str) -> int | None:
    for m in answer.multiple_services_credit_control:
        if m.rating_group == rating_group:
            return None if m.granted_service_unit is None else getattr(m.granted_service_unit, UNIT[usage_type])
    raise AssertionError(f"no MSCC for rating group {rating_group} in the answer")


def mscc_result(answer: CreditControlAnswer, rating_group: int) -> int:
    return next(m.result_code for m in answer.multiple_services_credit_control if m.rating_group == rating_group)
