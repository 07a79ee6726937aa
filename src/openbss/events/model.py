"""Hub listeners and event delivery (TMF688, TMF630 part 2): pure rules, no I/O.

Listeners register a callback per API with an optional `query` naming the event types they want.
Each delivery is signed Stripe-style so a receiver can check who sent it and refuse replays, and a
failed delivery is retried with capped exponential back-off and jitter until it is given up.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from openbss.core.errors import InvalidValue
from openbss.core.events import EVENT_TYPE, ResourceEvent

MAX_CALLBACK_LENGTH = 2048
SECRET_LENGTHS = (16, 256)
SIGNATURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Listener:
    id: uuid.UUID
    api: str
    callback: str
    query: str | None
    event_types: tuple[str, ...] | None  # from `query`; None: every event of the API
    secret: str  # the HMAC key shared with the receiver; shown once, at registration
    created_at: datetime


def api_of(base_path: str) -> str:
    """The API name events carry, from a TMF base path: /tmf-api/customerManagement/v4 -> customerManagement."""
    parts = base_path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "tmf-api":
        raise ValueError(f"base path {base_path!r} is not /tmf-api/<api>/<version>")
    return parts[1]


def check_callback(url: object) -> str:
    """A callback is an absolute http(s) URL with a host; the worker POSTs to {callback}/listener/<event>."""
    if not isinstance(url, str) or not url or len(url) > MAX_CALLBACK_LENGTH:
        raise InvalidValue("callback", url, f"must be an http(s) URL of at most {MAX_CALLBACK_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidValue("callback", url, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue("callback", url, "must be an absolute http:// or https:// URL with a host")
    if parts.fragment or parts.query:
        raise InvalidValue("callback", url, "must not have a query or fragment: event paths are appended to it")
    return url.rstrip("/")


def parse_query(query: str | None) -> tuple[str, ...] | None:
    """The event types a TMF688 `query` selects: `eventType=A` or `eventType=A,B` (also `eventType=A&eventType=B`,
    spaces allowed around `=` and `,`). An empty query selects every event; any other filter is refused rather
    than ignored, so a listener never receives events it asked not to get."""
    if query is None or not query.strip():
        return None
    types: list[str] = []
    for clause in query.split("&"):
        name, sep, values = clause.partition("=")
        if not sep or name.strip() != "eventType":
            raise InvalidValue("query", query, "may only filter on eventType, e.g. 'eventType=CustomerCreateEvent'")
        for value in values.split(","):
            value = value.strip()
            if not EVENT_TYPE.fullmatch(value):
                raise InvalidValue("query", query, f"names {value!r}, which is not an event type like "
                                                   "'CustomerCreateEvent'")
            if value not in types:
                types.append(value)
    return tuple(types)


def check_secret(secret: object) -> str:
    low, high = SECRET_LENGTHS
    if not isinstance(secret, str) or not (low <= len(secret) <= high) or not secret.isascii() \
            or not secret.isprintable():
        raise InvalidValue("secret", "***", f"must be {low} to {high} printable ASCII characters")
    return secret


def listener_path(event_type: str) -> str:
    """TMF v4 client listener path: CustomerCreateEvent -> /listener/customerCreateEvent."""
    return "/listener/" + event_type[:1].lower() + event_type[1:]


def envelope(event: ResourceEvent, event_id: uuid.UUID, event_time: str, resource: dict[str, Any]) -> dict[str, Any]:
    """The TMF688 notification a listener receives: the resource as it committed, under its type's name."""
    body: dict[str, Any] = {
        "eventId": str(event_id),
        "eventTime": event_time,
        "eventType": event.event_type,
        "domain": event.api,
    }
    if event.correlation_id is not None:
        body["correlationId"] = event.correlation_id
    body["event"] = {event.resource_type: resource}
    return body


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`X-OpenBSS-Signature` value: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.

    Signing the timestamp with the body lets a receiver refuse a captured request replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, now: datetime,
                     tolerance: timedelta = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does: the HMAC matches (in constant time) and the timestamp is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), f"t={timestamp},v1={fields.get('v1', '')}")


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential back-off with "equal jitter": after the n-th failed attempt wait between half and all
    of min(cap, base * 2^(n-1)), so receivers coming back up are not hit by every worker at the same instant."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 16  # about 7 hours of retries with the defaults, then the delivery is "failed"

    def delay(self, failed_attempts: int, jitter: float) -> timedelta:
        """`jitter` is a number in [0, 1] (random in production, fixed in tests)."""
        if failed_attempts < 1 or not 0 <= jitter <= 1:
            raise ValueError(f"failed_attempts={failed_attempts} must be >= 1 and jitter={jitter} in [0, 1]")
        full = min(self.cap, self.base * 2 ** (failed_attempts - 1))
        return full / 2 + full / 2 * jitter


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt leads to: delivered, retried at `next_attempt_at`, or given up ("failed")."""

    status: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None


def outcome(policy: RetryPolicy, attempts_before: int, now: datetime, error: str | None, jitter: float) -> Outcome:
    attempts = attempts_before + 1
    if error is None:
        return Outcome("delivered", attempts, None, None)
    if attempts >= policy.max_attempts:
        return Outcome("failed", attempts, None, error)
    return Outcome("pending", attempts, now + policy.delay(attempts, jitter), error)
