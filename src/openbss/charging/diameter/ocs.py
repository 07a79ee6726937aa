"""The credit-control use case behind the Diameter server: one Credit-Control-Request, one transaction's work.

INITIAL reserves each rating group's requested units (the OCS's default quota when the request names no
amount); UPDATE commits the used units the network reports and reserves again; TERMINATION commits the last
used units and closes every reservation of the session; EVENT debits at once (DIRECT_DEBITING: an SMS) or only
looks (CHECK_BALANCE). A grant smaller than what was asked carries Final-Unit-Indication: these are the last
units (TERMINATE, or REDIRECT to a top-up page for data when one is configured).

`answer_batch` also makes each request idempotent: the answer's bytes are stored under (Session-Id,
CC-Request-Number) in the same transaction as the debit, so a retransmission (T flag) or a repeat after a crash
gets the stored answer and nothing is charged twice (RFC 4006 5.1: duplicate detection). Stored answers are kept
for `OcsConfig.keep_answers` (a day), far longer than a peer retransmits or a crashed peer repeats, and then
forgotten (`forget_answers`): at thousands of requests a second, keeping them all would grow without bound.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from openbss.charging import balances
from openbss.charging import service as charging
from openbss.charging.diameter import wire
from openbss.charging.diameter.requests import (
    CHECK_BALANCE,
    EVENT,
    FINAL_REDIRECT,
    FINAL_TERMINATE,
    INITIAL,
    SERVICE_CONTEXTS,
    TERMINATION,
    Ccr,
    ChargingRequest,
    Outcome,
    ServiceControl,
    ServiceResult,
    answer_bytes,
)
from openbss.charging.model import CREDIT_LIMIT_REACHED, RATING_FAILED, SERVICE_DENIED, USER_UNKNOWN
from openbss.charging.service import Batch, Grant, ReserveRequest
from openbss.charging.tables import charging_request
from openbss.db.bulk import copy_rows
from openbss.db.uow import UnitOfWork
from openbss.rating.service import Prices

log = logging.getLogger("openbss.charging.diameter")
SESSION_LOCKS = sa.text(
    "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended('ccr:' || s, 0) AS k "
    "FROM unnest(CAST(:sids AS text[])) AS s ORDER BY k) AS keys")

REFUSALS = {CREDIT_LIMIT_REACHED: wire.CREDIT_LIMIT_REACHED, SERVICE_DENIED: wire.END_USER_SERVICE_DENIED,
            RATING_FAILED: wire.RATING_FAILED, USER_UNKNOWN: wire.USER_UNKNOWN}


@dataclass(frozen=True)
class OcsConfig:
    origin_host: str = "ocs.openbss.local"
    origin_realm: str = "openbss.local"
    validity_time: int = 300  # seconds a grant stays reserved unless reported (Validity-Time)
    # What is granted when a Requested-Service-Unit names no amount.
    default_quota: dict[str, int] = field(default_factory=lambda: {"voice": 300, "data": 10_000_000, "sms": 1})
    redirect_url: str | None = None  # data sessions out of credit are redirected here (a top-up page)
    keep_answers: timedelta = timedelta(days=1)  # stored answers older than this are forgotten


def answer_batch(uow: UnitOfWork, messages: Sequence[Ccr], config: OcsConfig,
                 prices: Prices | None = None) -> list[bytes]:
    """The answers' bytes for a batch of requests, in order: stored ones for requests already answered, else new
    ones, stored. The balances and reservations the batch can touch are loaded once and written back once; a
    request that fails is undone alone and answered 5012 (UNABLE_TO_COMPLY), the others keep their effects."""
    host, realm = config.origin_host.encode(), config.origin_realm.encode()
    t = charging_request
    keys = sorted({(m.session_id, m.request_number) for m in messages})
    # Server processes sharing the port (--processes) may get one session's requests at once (a retransmission
    # through another peer): each session is worked by one transaction at a time, locks taken in one order.
    uow.conn.execute(SESSION_LOCKS, {"sids": sorted({s for s, _ in keys})})
    asked = sa.func.unnest(sa.bindparam("sids", [s for s, _ in keys], type_=ARRAY(sa.Text)),
                           sa.bindparam("nums", [n for _, n in keys], type_=ARRAY(sa.BigInteger))
                           ).table_valued("s", "n").render_derived(name="asked")
    stored = dict(((r.session_id, r.request_number), r.answer) for r in uow.conn.execute(
        sa.select(t.c.session_id, t.c.request_number, t.c.answer).join_from(
            t, asked, sa.and_(t.c.session_id == asked.c.s, t.c.request_number == asked.c.n))))
    requests = [None if (m.session_id, m.request_number) in stored else m.request for m in messages]
    fresh = [r for r in requests if isinstance(r, ChargingRequest)]
    batch = charging.load_state(uow, uow.now(), sessions={r.session_id for r in fresh},
                                service_ids={r.service_id for r in fresh if r.service_id is not None}, prices=prices)
    answers: list[bytes] = []
    rows: list[dict] = []
    for msg, request in zip(messages, requests, strict=True):
        key = (msg.session_id, msg.request_number)
        if key in stored:  # answered before (or earlier in this batch): the same answer, charged nothing more
            answers.append(wire.with_ids(stored[key], msg.header.hop_by_hop, msg.header.end_to_end))
            continue
        if isinstance(request, wire.Fault):  # nothing happened: a repeat is judged again
            outcome = Outcome(request.result_code, failed_avp=request.failed_avp, error_message=request.message)
            answers.append(answer_bytes(msg, outcome, host, realm))
            continue
        try:
            with batch.state.savepoint():
                outcome = credit_control(uow, request, config, batch)
        except Exception as e:  # one request's failure is its own: the others commit
            log.exception("credit-control request %s failed", request.session_id)
            answers.append(answer_bytes(msg, Outcome(wire.UNABLE_TO_COMPLY, error_message=(
                f"{type(e).__name__}: {e}")[:200]), host, realm))
            continue
        data = stored[key] = answer_bytes(msg, outcome, host, realm)
        answers.append(data)
        rows.append(dict(session_id=request.session_id, request_number=request.request_number,
                         request_type=request.request_type, result_code=outcome.result_code, answer=data,
                         answered_at=uow.now()))
    charging.save_state(uow, batch)
    copy_rows(uow, t, rows)
    state = batch.state
    crossed = [i for i in state.changed_buckets if balances.thresholds_reached(state.buckets[i].amount, state.buckets[i].used)
               != balances.thresholds_reached(state.loaded[i].amount, state.loaded[i].used)]
    if crossed:  # a use threshold was reached (80 %, 100 %): announced once, through the outbox
        balances.notify_thresholds(uow, crossed)
    return answers


FORGET_CHUNK = 5_000  # stored answers deleted in one transaction


def forget_answers(uow: UnitOfWork, before: datetime, limit: int = FORGET_CHUNK) -> int:
    """Delete up to `limit` stored answers given before `before` (oldest first, a bounded transaction); how many.
    A repeat of one of them would be answered afresh, so `before` stays far behind any retransmission."""
    t = charging_request
    # SKIP LOCKED: the server processes sharing a port sweep at the same time; each takes other rows.
    old = (sa.select(t.c.session_id, t.c.request_number).where(t.c.answered_at < before)
           .order_by(t.c.answered_at).limit(limit).with_for_update(skip_locked=True))
    return uow.conn.execute(t.delete().where(sa.tuple_(t.c.session_id, t.c.request_number).in_(old))).rowcount


def credit_control(uow: UnitOfWork, req: ChargingRequest, config: OcsConfig, batch: Batch) -> Outcome:
    if req.request_type in (INITIAL, EVENT):
        if req.service_id is None:
            return Outcome(wire.MISSING_AVP, error_message="Subscription-Id is required",
                           failed_avp=wire.RawAvp(443, 0, wire.AVP_MANDATORY, b"", b""))
        subscriber = (req.service_id, req.destination)
    else:
        subscriber = charging.session_subscriber(batch, req.session_id)
        if subscriber is None:
            if req.request_type == TERMINATION and not any(_reported(s) for s in req.services):
                return Outcome(wire.SUCCESS)  # the end of a session whose start was refused: nothing to close
            return Outcome(wire.UNKNOWN_SESSION_ID, error_message=f"Session-Id={req.session_id!r} is not open")
    if req.request_type == EVENT:
        results = [_event(uow, req, s, subscriber, config, batch) for s in req.services]
    else:
        results = [_session(uow, req, s, subscriber, config, batch) for s in req.services]
        if req.request_type == TERMINATION:
            for rating_group in charging.open_rating_groups(batch, req.session_id):
                charging.commit(uow, req.session_id, rating_group, 0, final=True, batch=batch)
    if any(r.result_code == wire.USER_UNKNOWN for r in results):
        return Outcome(wire.USER_UNKNOWN, error_message=f"no active subscription has service id {subscriber[0]!r}")
    check = None
    if req.request_type == EVENT and req.requested_action == CHECK_BALANCE:
        check = 0 if all(r.result_code == wire.SUCCESS for r in results) else 1
        results = [ServiceResult(r.rating_group, wire.SUCCESS) for r in results]
    return Outcome(_overall(results), tuple(results), check_balance=check, redirect_url=config.redirect_url)


def _overall(results: list[ServiceResult]) -> int:
    """DIAMETER_SUCCESS when any rating group succeeded (each MSCC carries its own code); the common failure
    when every one failed the same way, so a client that reads only the top level stops the service."""
    codes = {r.result_code for r in results}
    if not results or wire.SUCCESS in codes:
        return wire.SUCCESS
    return codes.pop() if len(codes) == 1 else wire.SUCCESS


def _reported(s: ServiceControl) -> bool:
    return s.used is not None and any(v for v in (s.used.time, s.used.octets, s.used.specific))


def _usage_type(req: ChargingRequest, s: ServiceControl) -> str | None:
    for units in (s.requested, s.used):
        if units is not None and units.usage_type is not None:
            return units.usage_type
    return SERVICE_CONTEXTS.get(req.service_context)


def _reserve(uow: UnitOfWork, req: ChargingRequest, s: ServiceControl, usage_type: str, wanted: int,
             subscriber: tuple[str, str | None], config: OcsConfig, batch: Batch) -> tuple[Grant, ServiceResult]:
    grant = charging.reserve(uow, ReserveRequest(req.session_id, s.rating_group, subscriber[0], usage_type, wanted,
                                                 uow.now(), config.validity_time, subscriber[1]), batch)
    if grant.refusal is not None:
        return grant, ServiceResult(s.rating_group, REFUSALS[grant.refusal], usage_type)
    final = None
    if grant.granted < wanted:
        final = FINAL_REDIRECT if usage_type == "data" and config.redirect_url else FINAL_TERMINATE
    return grant, ServiceResult(s.rating_group, wire.SUCCESS, usage_type, grant.granted, config.validity_time, final)


def _session(uow: UnitOfWork, req: ChargingRequest, s: ServiceControl, subscriber: tuple[str, str | None],
             config: OcsConfig, batch: Batch) -> ServiceResult:
    usage_type = _usage_type(req, s)
    if usage_type is None:
        return ServiceResult(s.rating_group, wire.RATING_FAILED)
    open_units = charging.open_grant(batch, req.session_id, s.rating_group)
    final = req.request_type == TERMINATION
    if open_units is not None and (s.used is not None or s.requested is not None or final):
        # what was used since the last report; a new request without a report gives the open grant back
        used = (s.used.of(usage_type) or 0) if s.used is not None else 0
        charging.commit(uow, req.session_id, s.rating_group, used, final=final, batch=batch)
    elif s.used is not None and req.request_type != INITIAL:
        return ServiceResult(s.rating_group, wire.UNKNOWN_SESSION_ID, usage_type)
    if final or s.requested is None:
        return ServiceResult(s.rating_group, wire.SUCCESS, usage_type)
    wanted = s.requested.of(usage_type) or config.default_quota[usage_type]
    return _reserve(uow, req, s, usage_type, wanted, subscriber, config, batch)[1]


def _event(uow: UnitOfWork, req: ChargingRequest, s: ServiceControl, subscriber: tuple[str, str | None],
           config: OcsConfig, batch: Batch) -> ServiceResult:
    """One-shot charging (RFC 4006 6.3): debit the whole event or nothing, or check that it could be paid."""
    usage_type = _usage_type(req, s)
    if usage_type is None:
        return ServiceResult(s.rating_group, wire.RATING_FAILED)
    units = s.requested or s.used
    wanted = (units.of(usage_type) if units is not None else None) or config.default_quota[usage_type]
    grant, result = _reserve(uow, req, s, usage_type, wanted, subscriber, config, batch)
    if grant.refusal is not None:
        return result
    whole = grant.granted == wanted
    debit = whole and req.requested_action != CHECK_BALANCE
    charging.commit(uow, req.session_id, s.rating_group, wanted if debit else 0, final=True, batch=batch)
    if not whole:
        return ServiceResult(s.rating_group, wire.CREDIT_LIMIT_REACHED, usage_type)
    return ServiceResult(s.rating_group, wire.SUCCESS, usage_type, wanted)
