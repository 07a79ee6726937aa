"""UUIDv7 identifiers: time-ordered, so primary-key indexes stay append-mostly."""

from __future__ import annotations

import uuid

from uuid6 import uuid7

from openbss.core.errors import InvalidValue


def new_id() -> uuid.UUID:
    return uuid7()


def parse_id(value: object, field: str = "id") -> uuid.UUID:
    """Parse an id given by a client; a malformed one is an InvalidValue naming the field."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidValue(field, value, "is not a valid id") from None
