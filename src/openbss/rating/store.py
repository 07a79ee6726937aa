"""Stored rate tables: import, versions, and the process-wide cache of loaded and compiled tables.

A rate table is stored by name in immutable versions (1, 2, ...): importing a document under a name adds a
version unless it equals the newest one (re-importing the same file adds nothing), and the newest version is
the one rating uses. Older versions stay for audit and to compare a rerating against. The document format is
in `rating.document`.

Loading a version parses its document into a `rules.RateTable` and, for the batch path, compiles it
(`vector.compile_table`, about a second for 20,000 prefixes); both are cached per process by the version's
id, which is safe because a version never changes. This module needs no other domain, so the catalog can
check a price's rate table through it.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.core.errors import InvalidValue, NotFound
from openbss.core.ids import new_id
from openbss.db.uow import UnitOfWork
from openbss.rating import document
from openbss.rating.rules import RateTable
from openbss.rating.tables import rate_table
from openbss.rating.vector import CompiledTable, compile_table

CACHE_SIZE = 16  # versions kept parsed and compiled per process


@dataclass(frozen=True)
class TableVersion:
    """One stored version of a rate table (without its document)."""

    id: uuid.UUID
    name: str
    version: int
    currency: str
    created_at: datetime


class _Cache:
    """Least recently used values by version id, shared by the threads of a process."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: uuid.UUID, make):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()  # outside the lock: compiling takes a while, and two threads compiling is harmless
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_tables = _Cache(CACHE_SIZE)
_compiled = _Cache(CACHE_SIZE)
_VERSION_COLUMNS = (rate_table.c.id, rate_table.c.name, rate_table.c.version, rate_table.c.currency,
                    rate_table.c.created_at)


def _version(row: sa.Row) -> TableVersion:
    return TableVersion(row.id, row.name, row.version, row.currency, row.created_at)


def check_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise InvalidValue(field, name, "must be a non-empty name without surrounding spaces")
    return name


def import_table(uow: UnitOfWork, name: str, table: RateTable) -> tuple[TableVersion, bool]:
    """Store `table` as the next version of `name`; (version, created). The same content as the newest
    version stores nothing and returns that version with created=False. Versions of a name are numbered
    under a lock, so two imports at once get 1 and 2, not a unique violation."""
    check_name(name)
    uow.advisory_lock("rate_table", name)
    stored = document.to_document(table)
    newest = uow.conn.execute(sa.select(*_VERSION_COLUMNS, rate_table.c.document).where(rate_table.c.name == name)
                              .order_by(rate_table.c.version.desc()).limit(1)).first()
    if newest is not None and newest.document == stored:
        return _version(newest), False
    if newest is not None and newest.currency != table.currency:
        raise InvalidValue("currency", table.currency, f"differs from {name} version {newest.version}'s "
                                                       f"{newest.currency}: the prices that name it are in that")
    version = TableVersion(new_id(), name, 1 if newest is None else newest.version + 1, table.currency, uow.now())
    uow.conn.execute(sa.insert(rate_table).values(
        id=version.id, name=name, version=version.version, currency=table.currency,
        holidays=sorted(table.holidays), document=stored, created_at=version.created_at))
    audit.record(uow, "rateTable.imported", "rateTable", version.id,
                 after={"name": name, "version": version.version, "currency": table.currency,
                        "zones": len(table.zones), "prefixes": len(table.by_prefix)})
    return version, True


def import_file(uow: UnitOfWork, path: Path, name: str | None = None) -> tuple[TableVersion, bool]:
    """Import a YAML or JSON document (`rating.document`); `name` overrides the document's own name."""
    doc_name, table, _ = document.load(path)
    chosen = name or doc_name
    if chosen is None:
        raise InvalidValue("name", None, f"is missing: {path.name} has no name; give one with --name")
    return import_table(uow, chosen, table)


def list_tables(uow: UnitOfWork) -> list[tuple[TableVersion, int]]:
    """The newest version of every table name, with its number of versions, by name."""
    counted = sa.func.count().over(partition_by=rate_table.c.name).label("versions")
    ranked = sa.select(*_VERSION_COLUMNS, counted,
                       sa.func.row_number().over(partition_by=rate_table.c.name,
                                                 order_by=rate_table.c.version.desc()).label("rank")).subquery()
    rows = uow.conn.execute(sa.select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.name)).all()
    return [(_version(r), r.versions) for r in rows]


def versions(uow: UnitOfWork, name: str) -> list[TableVersion]:
    rows = uow.conn.execute(sa.select(*_VERSION_COLUMNS).where(rate_table.c.name == name)
                            .order_by(rate_table.c.version)).all()
    return [_version(r) for r in rows]


def newest(uow: UnitOfWork, names: Iterable[str]) -> dict[str, TableVersion]:
    """The newest version of each name that has one, in one query."""
    top = (sa.select(rate_table.c.name, sa.func.max(rate_table.c.version).label("version"))
           .where(rate_table.c.name.in_(set(names))).group_by(rate_table.c.name).subquery())
    rows = uow.conn.execute(sa.select(*_VERSION_COLUMNS).join(
        top, (top.c.name == rate_table.c.name) & (top.c.version == rate_table.c.version))).all()
    return {r.name: _version(r) for r in rows}


def get_version(uow: UnitOfWork, name: str, version: int | None = None, *, field: str | None = None) -> TableVersion:
    """A version of a table (the newest when `version` is None)."""
    if version is None:
        found = newest(uow, [name]).get(name)
    else:
        found = next((v for v in versions(uow, name) if v.version == version), None)
    if found is None:
        raise NotFound("rateTable", name if version is None else f"{name} version {version}", field)
    return found


def table_currency(uow: UnitOfWork, name: str, *, field: str | None = None) -> str:
    """The currency of a table's newest version (all versions of a name keep it: `import_table`)."""
    return get_version(uow, name, field=field).currency


def load(uow: UnitOfWork, version: TableVersion) -> RateTable:
    """The version's RateTable, parsed once per process."""
    def read() -> RateTable:
        data = uow.conn.execute(sa.select(rate_table.c.document).where(rate_table.c.id == version.id)).scalar_one()
        return document.parse(data)[1]
    return _tables.get(version.id, read)


def compiled(uow: UnitOfWork, version: TableVersion) -> CompiledTable:
    """The version compiled for the batch rater, once per process."""
    return _compiled.get(version.id, lambda: compile_table(load(uow, version)))
