"""Payment service provider plug-ins: what a gateway must do (collect, refund, verify a webhook) and a registry.

A gateway is any object with the `Gateway` protocol's methods, registered by name (`register`); payment methods
name the gateway holding their token. Two ship with openbss:
- "sepa": file-based SEPA Direct Debit. `collect` accepts the collection for the next pain.008 export (pending);
  nothing talks to a bank online, so there are no webhooks: returns come back as pain.002 files.
- "test": a deterministic card gateway for tests and demos that declines by rule, so failures are exercised:
  an amount ending in .13 is declined for insufficient funds, a token starting "tok_decline" is declined as
  "do not honor". Its webhooks are signed like real PSPs' (HMAC-SHA256 over "timestamp.body" in the header
  `Openbss-Signature: t=<unix seconds>,v1=<hex>`), with the secret from OPENBSS_TEST_GATEWAY_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from openbss.core.errors import DomainError, InvalidValue
from openbss.core.money import Money

SIGNATURE_HEADER = "openbss-signature"
WEBHOOK_TOLERANCE_SECONDS = 300  # a signed delivery older (or newer) than this is a replay: refused


class InvalidSignature(DomainError):
    status = 401
    code = "INVALID_SIGNATURE"
    reason = "Webhook signature does not verify"


@dataclass(frozen=True)
class CollectRequest:
    reference: uuid.UUID  # our payment id: the gateway's idempotency key for this collection
    amount: Money
    token: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    reference: uuid.UUID  # our refund id
    gateway_ref: str  # the gateway's reference of the payment being refunded
    amount: Money


@dataclass(frozen=True)
class GatewayResult:
    approved: bool
    reference: str | None  # the gateway's transaction id
    reason: str | None = None  # why it was declined: "code: text"
    pending: bool = False  # accepted, collected later (a direct debit)


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # the gateway's event id: the same delivery twice is acted on once
    type: str  # "chargeback" | "settlement" | "refund.failed" ...
    gateway_ref: str  # the gateway's transaction the event is about
    reason: str | None = None
    amount: Money | None = None


class Gateway(Protocol):
    name: str

    def collect(self, request: CollectRequest) -> GatewayResult: ...

    def refund(self, request: RefundRequest) -> GatewayResult: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookEvent: ...


_REGISTRY: dict[str, Callable[[], Gateway]] = {}


def register(name: str, factory: Callable[[], Gateway]) -> None:
    """Make a gateway available by name (a plug-in registers itself on import); the factory is called per use."""
    _REGISTRY[name] = factory


def get(name: str) -> Gateway:
    factory = _REGISTRY.get(name)
    if factory is None:
        raise InvalidValue("gateway", name, f"is not a registered payment gateway ({', '.join(sorted(_REGISTRY))})")
    return factory()


def names() -> list[str]:
    return sorted(_REGISTRY)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value a gateway sends (and the test gateway expects)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str | None, header: str | None, body: bytes, now: datetime) -> None:
    """Raise InvalidSignature unless `header` is `sign(secret, body, t)` for a t within the tolerance of `now`."""
    if not secret:
        raise InvalidSignature("no webhook secret is configured for this gateway: every delivery is refused")
    if not header:
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header {header!r} is not t=<seconds>,v1=<hex>") from None
    if abs(now.timestamp() - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidSignature(f"the delivery is signed at {timestamp}, more than "
                               f"{WEBHOOK_TOLERANCE_SECONDS} s from now: a replay")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature("the signature does not match the body")


def _parse_event(body: bytes) -> WebhookEvent:
    try:
        data: dict[str, Any] = json.loads(body)
        amount = data.get("amount")
        return WebhookEvent(
            id=str(data["id"]), type=str(data["type"]), gateway_ref=str(data["transaction"]),
            reason=data.get("reason"),
            amount=Money(Decimal(str(amount["value"])), amount["unit"]) if amount else None,
        )
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidValue("body", body[:200].decode(errors="replace"), f"is not a gateway event ({e})") from None


class TestGateway:
    """Deterministic card gateway (see module docstring): the same request always gets the same answer."""

    name = "test"
    __test__ = False  # not a pytest test class

    def __init__(self, secret: str | None = None):
        self.secret = secret if secret is not None else os.environ.get("OPENBSS_TEST_GATEWAY_SECRET")

    @staticmethod
    def _reference(kind: str, ref: uuid.UUID) -> str:
        return f"test_{kind}_" + hashlib.sha256(ref.bytes).hexdigest()[:20]

    def collect(self, request: CollectRequest) -> GatewayResult:
        if request.token.startswith("tok_decline"):
            return GatewayResult(False, None, "05: do not honor")
        if _ends_in(request.amount, "13"):
            return GatewayResult(False, None, "51: insufficient funds")
        return GatewayResult(True, self._reference("ch", request.reference))

    def refund(self, request: RefundRequest) -> GatewayResult:
        if _ends_in(request.amount, "13"):
            return GatewayResult(False, None, "51: refund declined by the issuer")
        return GatewayResult(True, self._reference("re", request.reference))

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookEvent:
        verify_signature(self.secret, headers.get(SIGNATURE_HEADER), body, now)
        return _parse_event(body)


class SepaGateway:
    """SEPA Direct Debit by file: a collection waits for the next `openbss payments sepa-export` (pain.008)."""

    name = "sepa"

    def collect(self, request: CollectRequest) -> GatewayResult:
        return GatewayResult(True, None, pending=True)

    def refund(self, request: RefundRequest) -> GatewayResult:
        # A direct debit is paid back by credit transfer, outside the debit file: the operator's bank does it.
        return GatewayResult(True, None, pending=True)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookEvent:
        raise InvalidSignature("the sepa gateway takes no webhooks: returns arrive as pain.002 files "
                               "(openbss payments sepa-returns)")


def _ends_in(amount: Money, digits: str) -> bool:
    return format(amount.amount.quantize(Decimal("0.01")), "f").endswith("." + digits)


register("test", TestGateway)
register("sepa", SepaGateway)
