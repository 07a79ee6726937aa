"""API keys: `obk_<prefix>_<secret>`. Only a SHA-256 of the secret is stored.

A key carries 256 bits of randomness, so a fast hash is sound here (argon2 is for low-entropy
passwords); the prefix finds the row without scanning, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.auth.model import Principal, Role
from openbss.auth.tables import api_key
from openbss.core.errors import Conflict, InvalidValue, Unauthorized
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(uow: UnitOfWork, name: str, role: str) -> str:
    """Create a key and return its plain text, which is shown once and never stored."""
    try:
        role_ = Role(role)
    except ValueError:
        raise InvalidValue("role", role, f"must be one of {', '.join(r.value for r in Role)}") from None
    if not name or not name.strip():
        raise InvalidValue("name", name, "must not be empty")
    if uow.conn.execute(sa.select(api_key.c.id).where(api_key.c.name == name)).first():
        raise Conflict(f"name={name!r}: an API key with this name exists")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key_id = new_id()
    uow.conn.execute(
        sa.insert(api_key).values(
            id=key_id, created_at=uow.now(), name=name, role=role_.value, prefix=prefix, secret_hash=_digest(secret)
        )
    )
    audit.record(uow, "apikey.created", "apiKey", key_id, after={"name": name, "role": role_.value})
    return f"obk_{prefix}_{secret}"


def authenticate(uow: UnitOfWork, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "obk":
        raise Unauthorized("the API key is malformed")
    row = uow.conn.execute(
        sa.select(api_key).where(api_key.c.prefix == parts[1], api_key.c.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(parts[2])):
        raise Unauthorized("the API key is unknown or revoked")
    return Principal(row.name, Role(row.role))
