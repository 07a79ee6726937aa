"""The one SQLAlchemy MetaData every domain's tables.py registers into, and shared column helpers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from openbss.core.ids import new_id

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Rated amounts keep 6 decimals; document amounts are stored already rounded in the same type.
MONEY = sa.Numeric(20, 6)
QUANTITY = sa.Numeric(24, 6)


def id_column() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, default=new_id)


def uuid_ref(name: str, target: str | None = None, *, nullable: bool = False, index: bool = False) -> sa.Column:
    """A UUID column, with a foreign key when `target` ("table.column") is in the same domain."""
    args = [sa.ForeignKey(target)] if target else []
    return sa.Column(name, UUID(as_uuid=True), *args, nullable=nullable, index=index)


def created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)
