"""Migration 0002_ordering on a database that already holds foundation orders: nothing is lost, public item ids
stay what they were, and the existing subscriptions get the events billing will read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa

from openbss.db import migrate
from openbss.db.engine import normalize_url
from openbss.db.uow import unit_of_work
from openbss.ordering import service as ordering

ACCOUNT, OFFERING, ORDER, ITEM = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
LIVE, ENDED = uuid.UUID(int=5), uuid.UUID(int=6)
T0, T1 = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 20, tzinfo=UTC)


@pytest.fixture
def old_database(admin_url):
    name = f"openbss_migration_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    engine = sa.create_engine(normalize_url(url), poolclass=sa.NullPool)
    yield engine
    engine.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_existing_orders_and_products_survive(old_database):
    migrate.upgrade(old_database, "0001")
    with old_database.begin() as conn:
        conn.execute(sa.text("INSERT INTO product_order VALUES (:o, :t, :a, 'completed', NULL, :t)"),
                     {"o": ORDER, "a": ACCOUNT, "t": T0})
        for pid, status, end in ((LIVE, "active", None), (ENDED, "terminated", T1)):
            conn.execute(sa.text("INSERT INTO product VALUES (:p, :t, :a, :f, :o, :s, :st, :t, :e)"),
                         {"p": pid, "t": T0, "a": ACCOUNT, "f": OFFERING, "o": ORDER, "s": f"+49{pid.int}",
                          "st": status, "e": end})
        conn.execute(sa.text("INSERT INTO product_order_item VALUES (:i, :o, :a, 'add', :f, '+495', :p)"),
                     {"i": ITEM, "o": ORDER, "a": ACCOUNT, "f": OFFERING, "p": LIVE})
    migrate.upgrade(old_database, "heads")

    with unit_of_work(old_database) as u:
        order = ordering.get_order(u, ORDER)
        (item,) = order.items
        assert (order.state, item.label, item.state, item.product_id) == ("completed", str(ITEM), "completed", LIVE)
        assert [(p.id, p.status, p.end_at, p.term, p.related_party) for p in order.products] == [
            (LIVE, "active", None, None, ()), (ENDED, "terminated", T1, None, ())]
        events = ordering.product_events(u, ACCOUNT, datetime(2030, 1, 1, tzinfo=UTC))
    assert [(e.product_id, e.kind, e.at) for e in events] in (
        [(LIVE, "activated", T0), (ENDED, "activated", T0), (ENDED, "cancelled", T1)],
        [(ENDED, "activated", T0), (LIVE, "activated", T0), (ENDED, "cancelled", T1)],
    )
