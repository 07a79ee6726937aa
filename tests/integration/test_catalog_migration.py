"""The catalog migration keeps a foundation database's offerings and prices, and can be undone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa

from openbss.catalog import service as catalog
from openbss.core.money import Money
from openbss.db import migrate
from openbss.db.uow import unit_of_work

CREATED = datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.fixture
def foundation(admin_url, engine):
    """An empty database migrated to the foundation schema (0001) only."""
    name = f"{engine.url.database}_0001"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    eng = sa.create_engine(engine.url.set(database=name))
    migrate.upgrade(eng, "0001")
    yield eng
    eng.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_existing_tariff_survives_the_upgrade(foundation):
    offer, fee, data = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with foundation.begin() as conn:
        conn.execute(sa.text("INSERT INTO product_offering VALUES (:id, :at, 'Mobile M', NULL, 'active', 'standard')"),
                     {"id": offer, "at": CREATED})
        conn.execute(sa.text(
            "INSERT INTO product_offering_price (id, offering_id, name, kind, amount, currency, period, usage_type,"
            " unit_size) VALUES (:fee, :o, 'Monthly fee', 'recurring', 30, 'EUR', 'month', NULL, 1),"
            " (:data, :o, NULL, 'usage', 0.01, 'EUR', NULL, 'data', 1000000)"), {"fee": fee, "data": data, "o": offer})
    migrate.upgrade(foundation, "0014_tax_inclusive")  # the catalog code reads the price columns up to 0014
    with unit_of_work(foundation, actor="test") as u:
        o = catalog.get_offering(u, offer)
    assert (o.name, o.lifecycle_status, o.last_update, o.is_bundle, o.segments) == (
        "Mobile M", "active", CREATED, False, ())
    by_id = {p.id: p for p in o.prices}
    assert (by_id[fee].amount, by_id[fee].period, by_id[fee].last_update) == (Money.of("30", "EUR"), "month", CREATED)
    assert (by_id[data].usage_type, by_id[data].unit_size, by_id[data].tiers, by_id[data].included_units) == (
        "data", Decimal(1000000), (), Decimal(0))

    migrate.downgrade(foundation, "0001")
    with foundation.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM product_offering_price")).scalar() == 2
