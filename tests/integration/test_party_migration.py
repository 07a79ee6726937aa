"""Migration 0002_party keeps a foundation database's customers: each becomes the role of an individual."""

from urllib.parse import urlsplit, urlunsplit

import psycopg
import sqlalchemy as sa

from openbss.db import migrate
from openbss.db.engine import normalize_url


def test_existing_customers_become_roles_of_individuals(admin_url):
    name = "openbss_party_migration"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    engine = sa.create_engine(normalize_url(url), poolclass=sa.NullPool)
    try:
        migrate.upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO customer (id, created_at, name, status, email) VALUES "
                "('0192f0e0-0000-7000-8000-000000000001', '2026-01-02T03:04:05Z', 'Ada', 'active', 'ada@example.org'),"
                "('0192f0e0-0000-7000-8000-000000000002', '2026-01-02T03:04:05Z', 'Bob', 'active', NULL)"))
            conn.execute(sa.text(
                "INSERT INTO billing_account (id, created_at, number, name, customer_id, currency, country, "
                "bill_cycle_day, time_zone, state) VALUES ('0192f0e0-0000-7000-8000-0000000000a1', "
                "'2026-01-02T03:04:05Z', 'ACC-000001', 'Ada main', '0192f0e0-0000-7000-8000-000000000001', 'EUR', "
                "'DE', 1, 'Europe/Berlin', 'active')"))
        migrate.upgrade(engine, "0002_party")
        with engine.connect() as conn:
            customers = conn.execute(sa.text(
                "SELECT c.name, c.party_id = c.id, p.kind, p.full_name, c.contact_medium, c.valid_from = c.created_at "
                "FROM customer c JOIN party p ON p.id = c.party_id ORDER BY c.id")).all()
            account = conn.execute(sa.text(
                "SELECT state, payment_terms_days, bill_to_parent, updated_at = created_at FROM billing_account")).one()
        assert customers == [
            ("Ada", True, "Individual", "Ada", [{"mediumType": "email", "characteristic": {"emailAddress":
                                                                                           "ada@example.org"}}], True),
            ("Bob", True, "Individual", "Bob", [], True),
        ]
        assert tuple(account) == ("active", 14, False, True)
        migrate.downgrade(engine, "0001")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name, email FROM customer ORDER BY id")).all() == [
                ("Ada", "ada@example.org"), ("Bob", None)]
    finally:
        engine.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
