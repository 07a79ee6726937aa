"""Small shared query helpers: list endpoints' pages, batch look-ups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY


def paged(conn: sa.Connection, stmt: sa.Select, offset: int, limit: int, order_by: Any) -> tuple[list[sa.Row], int]:
    """Rows of one page and the total count of the unpaged selection."""
    total = conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = conn.execute(stmt.order_by(order_by).offset(offset).limit(limit)).all()
    return rows, total


def among(column: sa.ColumnElement, values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """`column = ANY(:array)`: one parameter whatever the number of values, so the statement's text (and the
    driver's parsed and prepared form of it) is the same for every batch, unlike an IN list of N parameters."""
    return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
