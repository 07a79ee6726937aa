"""Small shared query helpers for list endpoints."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def paged(conn: sa.Connection, stmt: sa.Select, offset: int, limit: int, order_by: Any) -> tuple[list[sa.Row], int]:
    """Rows of one page and the total count of the unpaged selection."""
    total = conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = conn.execute(stmt.order_by(order_by).offset(offset).limit(limit)).all()
    return rows, total
