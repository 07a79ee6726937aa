"""A RADIUS accounting server (RFC 2866) that stores data usage, built on pyrad.

Per Accounting-Request, in order:

1. The sender's IP must be a configured client (`clients`: IP -> shared secret); otherwise the packet is
   dropped and counted (`stats.unknown_client`).
2. The Request Authenticator must verify with that client's secret (MD5 over the packet and the secret,
   RFC 2866 section 3); otherwise the packet is dropped and counted (`stats.bad_authenticator`), never
   stored and never answered, as the RFC requires.
3. Start, Interim-Update and Stop become one `data` usage record each, through
   `mediation.service.ingest_lines` (so rating, subscriptions and dedupe are the usual ones):
   - service_id: `User-Name` (or another attribute, e.g. `Calling-Station-Id`: `service_attribute`);
   - record_key: `<Acct-Session-Id>:<status>:<Acct-Session-Time>`, so each interim is its own record and
     a retransmission (same key) is stored once;
   - quantity: the bytes since the session's previous stored record. NAS counters are totals since the
     session started; octets = Acct-Input-Octets + Acct-Input-Gigawords x 2^32 plus the same for
     output (RFC 2869 section 5.1/5.2: Gigawords count the 32-bit counter's wraps). The last counters
     per session are kept in the `radius_session` table, updated in the same transaction as the usage;
   - usage_date: `Event-Timestamp` when sent, else the server clock less `Acct-Delay-Time`.
   A record older than the session's last one (a late interim, by Acct-Session-Time) adds nothing (its
   bytes are in the later total) and is answered (`stats.stale`). Accounting-On/Off are answered and
   not stored.
4. The Accounting-Response is sent only after that transaction has committed; a failed commit sends
   nothing, so the NAS retransmits.

A request that verifies but cannot be usage (a missing Acct-Session-Id or service id, no subscription
for the user, counters that went backwards) is answered, since retrying cannot fix it, and reported in
`stats.rejected` and the log with its reason. Those rejections are not yet persisted (follow-up).

Sessions are keyed by (source, Acct-Session-Id): NASes that share a source must not reuse session ids
(RFC 2866 asks them to be unique per NAS; give each NAS its own `source` when in doubt).

The dictionaries are FreeRADIUS v3 files (`load_dictionary`; by default those of shared/conformance,
a deployment passes its own directory, e.g. /usr/share/freeradius). Packets are handled one at a time on one
socket thread; run more collectors on more ports for more throughput (the database serializes each
session with an advisory lock, so two collectors may share sessions safely).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from pyrad.dictionary import Dictionary
from pyrad.packet import AccountingRequest, AcctPacket
from sqlalchemy.dialects.postgresql import insert

from openbss.core.clock import Clock
from openbss.core.errors import InvalidValue
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.mediation.collectors.tables import radius_session
from openbss.mediation.model import Problem, Rejection, UsageRecord
from openbss.mediation.service import find_usage, ingest_lines

log = logging.getLogger("openbss.mediation.radius")

GIGAWORD = 2**32
DICTIONARY_FILES = ("dictionary.rfc2865", "dictionary.rfc2866", "dictionary.rfc2869")
# shared/ lies beside the work tree; deployments pass their own directory.
DEFAULT_DICTIONARY_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "conformance" / "cdr" / "radius"
REQUIRED_ATTRIBUTES = (
    "User-Name", "Calling-Station-Id", "Acct-Status-Type", "Acct-Session-Id", "Acct-Session-Time",
    "Acct-Input-Octets", "Acct-Output-Octets", "Acct-Input-Gigawords", "Acct-Output-Gigawords",
    "Acct-Delay-Time", "Event-Timestamp",
)  # fmt: skip
USAGE_STATUSES = ("Start", "Interim-Update", "Stop")
NO_USAGE_STATUSES = ("Accounting-On", "Accounting-Off")


def load_dictionary(directory: Path = DEFAULT_DICTIONARY_DIR) -> Dictionary:
    """The RADIUS dictionary from FreeRADIUS v3 files (RFC 2865, 2866, 2869), read unchanged.

    pyrad 2.6 reads this layout as it is; the one thing it cannot represent is the `vsa` data type of
    Vendor-Specific (26), which it skips with a warning, and accounting needs no vendor attributes.
    The attributes this collector reads are checked here, so a file pyrad misreads fails at start-up."""
    dictionary = Dictionary(*(str(directory / name) for name in DICTIONARY_FILES))
    missing = [a for a in REQUIRED_ATTRIBUTES if a not in dictionary.attributes]
    if missing:
        raise InvalidValue("dictionary", str(directory), f"lacks the attribute(s) {', '.join(missing)}")
    return dictionary


@dataclass
class Stats:
    """What the collector did with each datagram since it started."""

    unknown_client: int = 0
    bad_authenticator: int = 0
    malformed: int = 0
    stored: int = 0
    duplicates: int = 0
    stale: int = 0
    no_usage: int = 0
    failed: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class Accounting:
    """The facts of one verified Accounting-Request."""

    status: str
    session_id: str
    service_id: str
    session_time: int
    input_octets: int
    output_octets: int
    event_time: datetime | None
    delay: int

    @property
    def record_key(self) -> str:
        return f"{self.session_id}:{self.status}:{self.session_time}"


def _one(pkt: AcctPacket, name: str, default=None):
    values = pkt.get(name)
    return values[0] if values else default


def octets(low: int, gigawords: int) -> int:
    """A 64-bit byte count from a 32-bit counter and its wraps (RFC 2869 Acct-*-Gigawords)."""
    return gigawords * GIGAWORD + low


def accounting(pkt: AcctPacket, service_attribute: str) -> Accounting:
    """The packet's facts; InvalidValue naming the attribute when one needed is missing."""
    status = _one(pkt, "Acct-Status-Type")
    if status is None:
        raise InvalidValue("Acct-Status-Type", None, "is missing")
    status = str(status)
    session_id = _one(pkt, "Acct-Session-Id", "")
    service_id = _one(pkt, service_attribute, "")
    if status in USAGE_STATUSES:
        if not session_id:
            raise InvalidValue("Acct-Session-Id", session_id, "is missing")
        if not service_id:
            raise InvalidValue(service_attribute, service_id, "is missing")
    stamp = _one(pkt, "Event-Timestamp")
    if isinstance(stamp, int):  # pyrad decodes `date` as seconds since the epoch
        stamp = datetime.fromtimestamp(stamp, UTC)
    return Accounting(
        status=status,
        session_id=session_id,
        service_id=service_id,
        session_time=_one(pkt, "Acct-Session-Time", 0),
        input_octets=octets(_one(pkt, "Acct-Input-Octets", 0), _one(pkt, "Acct-Input-Gigawords", 0)),
        output_octets=octets(_one(pkt, "Acct-Output-Octets", 0), _one(pkt, "Acct-Output-Gigawords", 0)),
        event_time=stamp,
        delay=_one(pkt, "Acct-Delay-Time", 0),
    )


class RadiusCollector:
    """Decodes, verifies and stores Accounting-Requests; `handle` is the whole protocol for one datagram,
    `start`/`stop` run it on a UDP socket in a thread."""

    def __init__(
        self,
        engine: sa.Engine,
        clients: Mapping[str, str | bytes],
        clock: Clock,
        *,
        dictionary: Dictionary | None = None,
        source: str = "radius",
        service_attribute: str = "User-Name",
        actor: str = "radius-collector",
    ):
        self.engine = engine
        self.clients = {ip: s.encode() if isinstance(s, str) else s for ip, s in clients.items()}
        self.clock = clock
        self.dictionary = dictionary or load_dictionary()
        if service_attribute not in self.dictionary.attributes:
            raise InvalidValue("service_attribute", service_attribute, "is not a RADIUS attribute of the dictionary")
        self.source = source
        self.service_attribute = service_attribute
        self.actor = actor
        self.stats = Stats()
        self._received = 0
        self.address: tuple[str, int] | None = None  # where start() listens
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- one datagram -----------------------------------------------------------------------------------

    def handle(self, data: bytes, client_ip: str) -> bytes | None:
        """The Accounting-Response to send for a datagram, or None to drop it silently."""
        self._received += 1
        secret = self.clients.get(client_ip)
        if secret is None:
            self.stats.unknown_client += 1
            log.warning("radius: dropped a datagram from unknown client %s", client_ip)
            return None
        try:
            pkt = AcctPacket(secret=secret, dict=self.dictionary, packet=data)
        except Exception as exc:  # pyrad raises PacketError, KeyError, struct.error... on garbage
            self.stats.malformed += 1
            log.warning("radius: dropped a malformed datagram from %s: %s", client_ip, exc)
            return None
        if pkt.code != AccountingRequest:
            self.stats.malformed += 1
            log.warning("radius: dropped a packet of code %s from %s on the accounting port", pkt.code, client_ip)
            return None
        if not pkt.VerifyAcctRequest():
            self.stats.bad_authenticator += 1
            log.warning("radius: dropped a request from %s whose authenticator does not verify", client_ip)
            return None
        try:
            facts = accounting(pkt, self.service_attribute)
        except InvalidValue as exc:
            problem = Problem.of(exc)
            self._reject([Rejection.of(self._received, problem)])
            return pkt.CreateReply().ReplyPacket()
        if facts.status not in USAGE_STATUSES:
            self.stats.no_usage += 1
            return pkt.CreateReply().ReplyPacket()
        try:
            with unit_of_work(self.engine, actor=self.actor, clock=self.clock) as uow:
                outcome, rejected = self._store(uow, facts)
        except Exception:
            # Not committed: no answer, so the NAS retransmits.
            self.stats.failed += 1
            log.exception("radius: storing session %s failed", facts.session_id)
            return None
        # Counted once committed, so the figures never include a rolled-back record.
        if outcome != "rejected":
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        self._reject(rejected)
        return pkt.CreateReply().ReplyPacket()

    def _reject(self, rejected: list[Rejection]) -> None:
        for r in rejected:
            self.stats.rejected.append(r)
            log.warning("radius: request %d not stored: %s=%r %s", r.line, r.field, r.value, r.reason)

    def _store(self, uow: UnitOfWork, facts: Accounting) -> tuple[str, list[Rejection]]:
        """Store the record and the session's new counters; returns the outcome (a `Stats` counter name,
        or "rejected") and the rejections."""
        uow.advisory_lock("radius-session", f"{self.source}:{facts.session_id}")
        if find_usage(uow, self.source, facts.record_key) is not None:
            return "duplicates", []
        last = uow.conn.execute(
            sa.select(radius_session).where(
                radius_session.c.source == self.source, radius_session.c.session_id == facts.session_id
            )
        ).first()
        before_in, before_out = (0, 0) if last is None else (int(last.input_octets), int(last.output_octets))
        if last is not None and facts.session_time < last.session_time:
            return "stale", []
        delta_in, delta_out = facts.input_octets - before_in, facts.output_octets - before_out
        if delta_in < 0 or delta_out < 0:
            name, value = ("Acct-Input-Octets", facts.input_octets) if delta_in < 0 else (
                "Acct-Output-Octets", facts.output_octets)
            return "rejected", [Rejection(self._received, name, value, "is less than the session's previous record")]
        at = facts.event_time or (uow.now() - timedelta(seconds=facts.delay))
        record = UsageRecord(self.source, facts.record_key, facts.service_id, "data", at, Decimal(delta_in + delta_out))
        result = ingest_lines(uow, [(self._received, record)])
        if result.rejected:
            return "rejected", result.rejected
        if not result.accepted:  # stored meanwhile under the same key
            return "duplicates", []
        state = {
            "service_id": facts.service_id,
            "session_time": facts.session_time,
            "input_octets": facts.input_octets,
            "output_octets": facts.output_octets,
            "updated_at": uow.now(),
        }
        uow.conn.execute(
            insert(radius_session)
            .values(source=self.source, session_id=facts.session_id, **state)
            .on_conflict_do_update(index_elements=["source", "session_id"], set_=state)
        )
        return "stored", []

    # -- the socket ----------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on (host, port) in a thread; port 0 picks a free port. Returns the bound address."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.2)  # how often the loop looks at the stop flag
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="radius-collector", daemon=True)
        self._thread.start()
        self.address = self._sock.getsockname()
        return self.address

    def _loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                data, (ip, port) = self._sock.recvfrom(4096)  # RFC 2865: a packet is at most 4096 octets
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.handle(data, ip)
            if reply is not None:
                self._sock.sendto(reply, (ip, port))

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._thread = None


def serve_radius(
    engine: sa.Engine, host: str, port: int, clients: Mapping[str, str | bytes], clock: Clock, **options
) -> None:
    """Run a RADIUS accounting collector on (host, port) until interrupted (Ctrl-C). `options` are
    RadiusCollector's (dictionary, source, service_attribute, actor)."""
    collector = RadiusCollector(engine, clients, clock, **options)
    bound = collector.start(host, port)
    log.info("radius: accounting collector listening on %s:%d", *bound)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        collector.stop()
