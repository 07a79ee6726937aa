"""Receiving a payment through a stored payment method (a card charged at its gateway), and acting on the gateway's
signed webhooks (chargebacks, settlements). Never commits.

The gateway is called inside the caller's transaction, before the payment row is written: a decline is recorded as
a "failed" payment (the trace of the attempt, nothing allocated or posted), an approval as a payment in transit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from openbss.core.errors import InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork
from openbss.party import service as party
from openbss.payments import gateways, method_service, refunds, service
from openbss.payments.methods import PAYMENT_METHOD_OF_KIND
from openbss.payments.model import STATUS_FAILED, Payment, check_amount
from openbss.payments.tables import gateway_event, payment


def receive(uow: UnitOfWork, new: service.NewPayment) -> Payment:
    """Record a payment; one naming a stored card (`payment_method_id`) is first charged at the card's gateway."""
    if new.payment_method_id is None:
        return service.record_payment(uow, new)
    m = method_service.get_method(uow, new.payment_method_id, field="paymentMethod.id")
    if m.account_id != new.account_id:
        raise InvalidValue("paymentMethod.id", str(m.id), f"is not a payment method of account {new.account_id}")
    if not m.usable:
        raise InvalidValue("paymentMethod.id", str(m.id), f"is {m.status}: {m.status_reason or 'not usable'}")
    if m.kind not in PAYMENT_METHOD_OF_KIND:
        raise InvalidValue("paymentMethod.id", str(m.id), f"is a {m.kind}, which cannot pay a bill yet")
    if m.kind == "directDebit":
        raise InvalidValue("paymentMethod.id", str(m.id),
                           "is a direct debit mandate: its collections are made by `openbss payments sepa-export`")
    new = replace(new, method=PAYMENT_METHOD_OF_KIND[m.kind])
    if m.kind != "tokenizedCard":
        return service.record_payment(uow, new)
    if new.idempotency_key is not None:  # a retried charge must not charge the card twice
        existing = service.existing_by_key(uow, new.idempotency_key, new.account_id, new.amount)
        if existing is not None:
            return existing
    account = party.get_billing_account(uow, new.account_id, field="account.id")
    amount = check_amount(new.amount, account.currency)
    payment_id = new_id()
    result = gateways.get(m.gateway or "").collect(
        gateways.CollectRequest(payment_id, amount, m.details["token"], new.idempotency_key))
    if not result.approved:
        return service.record_payment(uow, new, status=STATUS_FAILED, gateway=m.gateway, status_reason=result.reason,
                                      payment_id=payment_id)
    return service.record_payment(uow, replace(new, external_ref=result.reference), in_transit=True,
                                  gateway=m.gateway, payment_id=payment_id)


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    type: str
    payment: Payment | None
    duplicate: bool  # this delivery was acted on before: nothing changed now


def handle_webhook(uow: UnitOfWork, gateway_name: str, headers: Mapping[str, str], body: bytes) -> WebhookOutcome:
    """Verify a gateway's signed delivery and act on it once: "chargeback" takes the payment back (bills reopen),
    "settlement" moves it from in transit to the bank; other types are recorded and otherwise ignored."""
    gw = gateways.get(gateway_name)
    event = gw.verify_webhook(headers, body, uow.now())
    row = uow.conn.execute(
        sa.select(payment.c.id).where(payment.c.gateway == gateway_name, payment.c.external_ref == event.gateway_ref)
    ).first()
    if row is None:
        raise NotFound("payment", event.gateway_ref, field="transaction")
    inserted = uow.conn.execute(
        pg_insert(gateway_event).values(gateway=gateway_name, event_id=event.id, created_at=uow.now(), type=event.type,
                                        payment_id=row.id)
        .on_conflict_do_nothing().returning(gateway_event.c.event_id)
    ).first()
    if inserted is None:
        return WebhookOutcome(event.id, event.type, service.get_payment(uow, row.id), duplicate=True)
    if event.type == "chargeback":
        p = refunds.undo(uow, row.id, "chargeback", reason=event.reason)
    elif event.type == "settlement":
        p = refunds.settle(uow, row.id)
    else:
        p = service.get_payment(uow, row.id)
    return WebhookOutcome(event.id, event.type, p, duplicate=False)
