"""Prepaid vouchers (scratch cards): batches generated with secret PINs, redeemed once as a top-up's means of payment.

A PIN is 16 random decimal digits (about 53 bits: guessing one among a million live vouchers takes ~10^10 tries on
average). Only sha256(batch salt || PIN) is stored; the PINs leave the system once, in the file `openbss voucher
generate` writes. Redemption hashes the PIN with the salt of every batch still redeemable (a handful of sha256s)
and looks the hashes up through the unique index, then locks the voucher row: of two concurrent redemptions of one
PIN the second waits, sees it redeemed and is refused, and `balance_topup.voucher_id` is unique besides. Whatever
is wrong with a PIN (unknown, expired, used, of another currency) the answer is the same "not a valid voucher",
so the API tells a guesser nothing about which PINs exist.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.charging.tables import voucher, voucher_batch
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money, minor_units
from openbss.db.bulk import copy_rows
from openbss.db.uow import UnitOfWork

PIN_DIGITS = 16
MAX_BATCH = 1_000_000
MASKED = "***"  # what an error shows instead of a PIN


# ---- pure rules ----------------------------------------------------------------------------------------------

def new_pin(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"


def normalize_pin(pin: object) -> str | None:
    """The PIN's digits as typed with spaces or dashes ("1234 5678-..."), or None when it cannot be a PIN."""
    if not isinstance(pin, str):
        return None
    digits = pin.replace(" ", "").replace("-", "")
    return digits if len(digits) == PIN_DIGITS and digits.isascii() and digits.isdigit() else None


def pin_hash(salt: str, pin: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + pin.encode()).hexdigest()


def format_pin(pin: str) -> str:
    """Grouped by four for printing: 1234 5678 9012 3456."""
    return " ".join(pin[i:i + 4] for i in range(0, len(pin), 4))


def not_a_voucher() -> InvalidValue:
    return InvalidValue("voucher", MASKED, "is not a valid voucher (unknown, expired, already used, or not "
                                          "for this balance)")


def check_value(value: Money) -> Money:
    if value.amount <= 0:
        raise InvalidValue("amount", value.amount, "must be positive")
    if -value.amount.as_tuple().exponent > minor_units(value.currency):
        raise InvalidValue("amount", value.amount, f"has more decimals than {value.currency} has minor units")
    return value


# ---- use cases -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Batch:
    id: uuid.UUID
    value: Money
    count: int
    valid_until: date
    pins: list[tuple[int, str]]  # (serial, PIN): shown once, never stored


def generate(uow: UnitOfWork, count: int, value: Money, valid_until: date, description: str | None = None,
             progress: Callable[[int], None] | None = None) -> Batch:
    """A batch of `count` vouchers worth `value`, redeemable through `valid_until` (UTC). Returns the PINs, which
    the caller writes out once: the database keeps only their salted hashes."""
    if not 0 < count <= MAX_BATCH:
        raise InvalidValue("count", count, f"must be 1 to {MAX_BATCH}")
    check_value(value)
    if valid_until < uow.now().date():
        raise InvalidValue("validUntil", valid_until.isoformat(), "is in the past")
    batch_id, salt = new_id(), secrets.token_hex(16)
    uow.conn.execute(voucher_batch.insert().values(
        id=batch_id, salt=salt, amount=value.amount, currency=value.currency, count=count, valid_until=valid_until,
        description=description, created_at=uow.now()))
    pins: dict[str, int] = {}
    while len(pins) < count:
        pin = new_pin()
        if pin not in pins:
            pins[pin] = len(pins) + 1
            if progress is not None:
                progress(1)
    copy_rows(uow, voucher, [{"id": new_id(), "batch_id": batch_id, "serial": serial, "pin_hash": pin_hash(salt, pin),
                              "status": "available"} for pin, serial in pins.items()])
    audit.record(uow, "voucherBatch.created", "voucherBatch", batch_id, after={
        "count": count, "amount": value.amount, "currency": value.currency, "validUntil": valid_until,
        "description": description})
    return Batch(batch_id, value, count, valid_until, [(serial, pin) for pin, serial in pins.items()])


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    batch_id: uuid.UUID
    serial: int
    value: Money


def claim(uow: UnitOfWork, pin: object) -> Claimed:
    """Mark the voucher of this PIN redeemed (in the caller's transaction) and return what it is worth; the same
    InvalidValue("voucher") for every PIN that cannot be redeemed now."""
    digits = normalize_pin(pin)
    if digits is None:
        raise not_a_voucher()
    today = uow.now().date()
    batches = uow.conn.execute(sa.select(voucher_batch.c.id, voucher_batch.c.salt)
                               .where(voucher_batch.c.valid_until >= today)).all()
    if not batches:
        raise not_a_voucher()
    hashes = [pin_hash(b.salt, digits) for b in batches]
    v, vb = voucher, voucher_batch
    row = uow.conn.execute(
        sa.select(v.c.id, v.c.batch_id, v.c.serial, v.c.status, vb.c.amount, vb.c.currency, vb.c.valid_until)
        .join(vb, vb.c.id == v.c.batch_id)
        .where(v.c.pin_hash.in_(hashes)).limit(1).with_for_update(of=v)
    ).one_or_none()
    # Read after the lock: a concurrent redemption that committed meanwhile shows here as 'redeemed'.
    if row is None or row.status != "available" or row.valid_until < today:
        raise not_a_voucher()
    uow.conn.execute(v.update().where(v.c.id == row.id).values(status="redeemed", redeemed_at=uow.now()))
    audit.record(uow, "voucher.redeemed", "voucher", row.id, before={"status": "available"},
                 after={"status": "redeemed", "batchId": row.batch_id, "serial": row.serial})
    return Claimed(row.id, row.batch_id, row.serial, Money(Decimal(row.amount).normalize(), row.currency))


@dataclass(frozen=True)
class BatchSummary:
    id: uuid.UUID
    value: Money
    valid_until: date
    description: str | None
    available: int
    redeemed: int


def batches(uow: UnitOfWork) -> list[BatchSummary]:
    vb, v = voucher_batch, voucher
    rows = uow.conn.execute(
        sa.select(vb.c.id, vb.c.amount, vb.c.currency, vb.c.valid_until, vb.c.description,
                  sa.func.count().filter(v.c.status == "available").label("available"),
                  sa.func.count().filter(v.c.status == "redeemed").label("redeemed"))
        .join(v, v.c.batch_id == vb.c.id).group_by(vb.c.id).order_by(vb.c.id)).all()
    return [BatchSummary(r.id, Money(Decimal(r.amount).normalize(), r.currency), r.valid_until, r.description,
                         r.available, r.redeemed) for r in rows]
