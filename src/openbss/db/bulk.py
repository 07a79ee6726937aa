"""Bulk writes with PostgreSQL COPY, inside the caller's transaction (a bill run batch writes thousands of rows).

`copy_rows(uow, table, rows)` streams dicts keyed by column name into `COPY table (columns) FROM STDIN`; the
columns are the keys of the first row (every row has the same keys). Values are adapted by psycopg as for any
statement (uuid, Decimal, date, aware datetime, None); JSON columns take their JSON text. COPY runs on the
unit of work's own connection, so the rows commit or roll back with everything else the use case wrote.

`update_rows(uow, table, key, rows)` updates many rows in one `UPDATE ... FROM unnest(arrays)` statement, where an
executemany would run one UPDATE per row; `insert_from_arrays(table, rows)` is the INSERT of many rows as one
`INSERT ... SELECT FROM unnest(arrays)`, to which the caller adds its ON CONFLICT clause (COPY has none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert

from openbss.db.uow import UnitOfWork


def copy_rows(uow: UnitOfWork, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor = uow.conn.connection.driver_connection.cursor()
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _given(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], sa.TableValuedAlias]:
    """The rows as a derived table `given` of one array parameter per column: one statement text whatever their
    number, so the driver parses it once."""
    columns = list(rows[0])
    arrays = [sa.bindparam(f"v_{c}", [r[c] for r in rows], type_=ARRAY(table.c[c].type)) for c in columns]
    return columns, sa.func.unnest(*arrays).table_valued(*columns).render_derived(name="given")


def insert_from_arrays(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """INSERT of `rows` (dicts with the same keys, at least one) from arrays, as a PostgreSQL insert that takes
    `on_conflict_do_nothing` / `on_conflict_do_update`."""
    columns, given = _given(table, rows)
    return insert(table).from_select(columns, sa.select(*(given.c[c] for c in columns)))


def update_rows(uow: UnitOfWork, table: sa.Table, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Set the columns named in each row (the keys of the first row, `key` among them) of the row whose `key`
    column equals the row's."""
    if not rows:
        return
    columns, given = _given(table, rows)
    uow.conn.execute(table.update().where(table.c[key] == given.c[key])
                     .values({c: given.c[c] for c in columns if c != key}))
