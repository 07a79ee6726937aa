"""Gapless per-series numbers for human-facing identifiers (invoice INV-2026-000001, account ACC-000042).

A row per series is locked FOR UPDATE and incremented inside the caller's transaction, so a number
is consumed only if the document that takes it commits: no gaps, no duplicates, even under concurrency.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from openbss.db.metadata import metadata
from openbss.db.uow import UnitOfWork

number_series = sa.Table(
    "number_series",
    metadata,
    sa.Column("series", sa.Text, primary_key=True),
    sa.Column("last_value", sa.BigInteger, nullable=False),
)


def next_number(uow: UnitOfWork, series: str) -> int:
    uow.conn.execute(insert(number_series).values(series=series, last_value=0).on_conflict_do_nothing())
    return uow.conn.execute(
        sa.update(number_series)
        .where(number_series.c.series == series)
        .values(last_value=number_series.c.last_value + 1)
        .returning(number_series.c.last_value)
    ).scalar_one()


def next_numbers(uow: UnitOfWork, series: str, n: int) -> range:
    """A block of `n` consecutive numbers of the series in one statement (a bill run batch numbers its invoices
    at once); gapless like `next_number`: the block is consumed only if the caller's transaction commits."""
    if n <= 0:
        return range(0)
    uow.conn.execute(insert(number_series).values(series=series, last_value=0).on_conflict_do_nothing())
    last = uow.conn.execute(
        sa.update(number_series)
        .where(number_series.c.series == series)
        .values(last_value=number_series.c.last_value + n)
        .returning(number_series.c.last_value)
    ).scalar_one()
    return range(last - n + 1, last + 1)
