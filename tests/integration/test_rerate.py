"""Rerating on a real database: a tariff correction after September was billed, adjustments per record (never an
edit of the usage), idempotent reruns, the adjustment billed as a credit line on the next invoice, allowance
units kept without touching buckets, totals-priced records left to billing, dry runs and the CLI.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) has "Mobile Table" from 2026-09-01: 10.00 EUR a month,
voice by rate table mobile-de (tests/data/rating/mobile.yaml: Germany zone 0.40 connect + 0.20 per started
minute, 60/60, half-up to 2 places), SMS 0.09 with 10 included a month (re-priced on the period's total by
billing), data 0.01 EUR per 1,000,000 bytes per unit. The correction: Germany voice 0.20 → 0.15 a minute."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.core.errors import InvalidValue
from openbss.core.money import Money
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from openbss.rating import document, store
from openbss.rating.cli import rating_app
from openbss.rating.rerate import rerate
from openbss.rating.service import buckets_of
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

TABLE = Path(__file__).resolve().parents[1] / "data" / "rating" / "mobile.yaml"
SEPTEMBER = (utc(2026, 8, 31, 22), utc(2026, 9, 30, 22))  # Berlin's September in UTC
OCTOBER = (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))


def tariff(u, included_voice=0):
    store.import_file(u, TABLE)
    return create_offering(u, NewOffering(name="Mobile Table", prices=[
        NewPrice(kind="recurring", amount=Money.of("10.00", "EUR"), period="month"),
        NewPrice(kind="usage", amount=Money.of("0.20", "EUR"), usage_type="voice", unit_size=D(60),
                 rate_table="mobile-de", included_units=D(included_voice)),
        NewPrice(kind="usage", amount=Money.of("0.09", "EUR"), usage_type="sms", included_units=D(10)),
        NewPrice(kind="usage", amount=Money.of("0.01", "EUR"), usage_type="data", unit_size=D(1_000_000)),
    ]))


def correct(u, price="0.15"):
    """Import the corrected tariff: a new version of mobile-de with Germany voice at `price` a minute."""
    data = document.to_document(store.load(u, store.get_version(u, "mobile-de")))
    data["zones"][0]["rates"][0]["price"] = price
    version, created = store.import_table(u, "mobile-de", document.parse(data)[1])
    assert created


def use(u, msisdn, key, at, quantity, usage_type="voice", destination="4930123456"):
    result = mediation.ingest(u, [UsageRecord("msc-1", key, msisdn, usage_type, at, D(quantity), destination)])
    assert result.accepted == 1, result
    return mediation.find_usage(u, "msc-1", key)


def customer(engine, uow, clock, msisdn="+491511234567", included_voice=0, name="Ada Lovelace"):
    clock.move_to(utc(2026, 8, 31, 22))  # midnight in Berlin
    with uow() as u:
        acc = factories.account(u, name=name)
        offer = tariff(u, included_voice)
        factories.subscribe(u, acc.id, offer.id, msisdn)
    return acc


def usage_lines(inv):
    return [(line.description, line.quantity, line.net.amount) for line in inv.lines if line.kind == "usage"]


def adjustments(u, usage):
    return [(a.old_charge.amount, a.new_charge.amount, a.amount.amount, a.status)
            for a in mediation.usage_adjustments(u, usage.id)]


def test_a_correction_after_billing_is_credited_on_the_next_invoice(engine, uow, clock):
    ada = customer(engine, uow, clock)
    clock.move_to(utc(2026, 9, 20, 12))
    with uow() as u:
        a = use(u, "+491511234567", "a", utc(2026, 9, 20, 10), 90)  # 120 s: 0.40 + 2 x 0.20 = 0.80
        b = use(u, "+491511234567", "b", utc(2026, 9, 20, 11), 60)  # 60 s: 0.40 + 0.20 = 0.60
        use(u, "+491511234567", "sms", utc(2026, 9, 20, 11, 30), 1, "sms")  # priced on the period's total
        use(u, "+491511234567", "data", utc(2026, 9, 20, 9), 2_000_000, "data", None)  # 2 x 0.01 = 0.02
    bill(engine, clock, "2026-09", utc(2026, 10, 1, 2))
    september = invoice_of(uow, ada.id, date(2026, 9, 1))
    assert usage_lines(september) == [("Mobile Table, data usage", D(2_000_000), D("0.02")),
                                      ("Mobile Table, sms usage (10 messages included)", D(1), D("0")),
                                      ("Mobile Table, voice usage", D(150), D("1.40"))]  # 0.80 + 0.60

    clock.move_to(utc(2026, 10, 5, 12))
    with uow() as u:
        c = use(u, "+491511234567", "c", utc(2026, 10, 5, 10), 120)  # 0.40 + 2 x 0.20 = 0.80, not billed yet
        correct(u)
        result = rerate(u, *SEPTEMBER)
    # a: 0.40 + 2 x 0.15 = 0.70 (-0.10); b: 0.40 + 0.15 = 0.55 (-0.05); data unchanged; sms left to billing
    assert (result.examined, result.changed, result.unchanged, result.priced_on_totals, result.failed) == (
        4, 2, 1, 1, 0)
    assert result.totals == {"EUR": D("-0.15")}
    with uow() as u:
        assert adjustments(u, a) == [(D("0.80"), D("0.70"), D("-0.10"), "rated")]
        assert adjustments(u, b) == [(D("0.60"), D("0.55"), D("-0.05"), "rated")]
        stored = mediation.get_usage(u, a.id)  # the billed usage row is as it was
        assert (stored.charge.amount, stored.price_id, stored.status) == (D("0.80"), a.price_id, "billed")
        again = rerate(u, *SEPTEMBER)
    # The second run finds each record already at its new charge: 0.80 - 0.10 = 0.70
    assert (again.changed, again.unchanged, again.totals) == (0, 3, {})
    with uow() as u:
        october_run = rerate(u, *OCTOBER)  # unbilled usage: c 0.40 + 2 x 0.15 = 0.70 (-0.10)
        assert adjustments(u, c) == [(D("0.80"), D("0.70"), D("-0.10"), "rated")]
    assert (october_run.changed, october_run.totals) == (1, {"EUR": D("-0.10")})

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    # c's usage line as rated (0.80); the adjustments of a, b and c on their own line: -0.10 - 0.05 - 0.10
    assert usage_lines(october) == [("Mobile Table, voice usage", D(120), D("0.80")),
                                    ("Mobile Table, voice usage rerating adjustment", D(3), D("-0.25"))]
    # November in advance 10.00 + 0.80 - 0.25 = 10.55; VAT 10.55 x 0.19 = 2.0045 → 2.00; 12.55
    assert totals(october) == (D("10.55"), D("2.00"), D("12.55"))
    assert invoice_of(uow, ada.id, date(2026, 9, 1)) == september  # the issued invoice is untouched
    with uow() as u:
        assert [x[3] for x in adjustments(u, a) + adjustments(u, c)] == ["billed", "billed"]
    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))  # nothing is billed twice
    assert usage_lines(invoice_of(uow, ada.id, date(2026, 11, 1))) == []


def test_allowance_units_are_kept_and_buckets_left_alone(engine, uow, clock):
    ada = customer(engine, uow, clock, included_voice=120)
    clock.move_to(utc(2026, 10, 10, 12))
    with uow() as u:
        a = use(u, "+491511234567", "a", utc(2026, 10, 10, 10), 200)  # bills 240: 120 covered, 0.40 + 2 x 0.20
        b = use(u, "+491511234567", "b", utc(2026, 10, 10, 11), 60)  # bucket empty: 0.40 + 0.20 = 0.60
        product_id = a.product_id
        before = buckets_of(u, "product", product_id)
    assert (a.charge.amount, a.allowance_used, b.charge.amount, b.allowance_used) == (D("0.80"), 120, D("0.60"), 0)
    with uow() as u:
        correct(u)
        dry = rerate(u, *OCTOBER, dry_run=True)
        assert (dry.run_id, adjustments(u, a)) == (None, [])  # a dry run stores nothing
        result = rerate(u, *OCTOBER, account_id=ada.id)
        # a keeps its 120 covered units: 0.40 + 2 x 0.15 = 0.70; b: 0.40 + 0.15 = 0.55
        assert adjustments(u, a) == [(D("0.80"), D("0.70"), D("-0.10"), "rated")]
        assert adjustments(u, b) == [(D("0.60"), D("0.55"), D("-0.05"), "rated")]
        assert buckets_of(u, "product", product_id) == before  # no unit drawn or given back
    assert (dry.changed, dry.totals) == (result.changed, result.totals) == (2, {"EUR": D("-0.15")})


def test_one_account_only_and_records_that_no_longer_rate(engine, uow, clock):
    ada = customer(engine, uow, clock)
    with uow() as u:
        bob = factories.account(u, name="Bob")
        factories.subscribe(u, bob.id, tariff(u).id, "+491511234568")
    clock.move_to(utc(2026, 9, 20, 12))
    with uow() as u:
        use(u, "+491511234567", "ada", utc(2026, 9, 20, 10), 60)
        use(u, "+491511234568", "bob", utc(2026, 9, 20, 10), 60)
        use(u, "+491511234567", "paris", utc(2026, 9, 20, 11), 60, destination="33123456")  # France 0.50
        correct(u)
        data = document.to_document(store.load(u, store.get_version(u, "mobile-de")))
        data["zones"][2]["prefixes"] = []  # France is no longer reachable by its prefix
        store.import_table(u, "mobile-de", document.parse(data)[1])
        result = rerate(u, *SEPTEMBER, account_id=ada.id)
    # ada's call: 0.55 - 0.60 = -0.05; the Paris call matches no zone now: counted failed, its charge kept
    assert (result.examined, result.changed, result.failed, result.totals) == (2, 1, 1, {"EUR": D("-0.05")})
    assert result.problems[0][1].field == "destination"


def test_bad_ranges_are_refused():
    with pytest.raises(InvalidValue) as err:
        rerate(None, utc(2026, 10, 1), utc(2026, 9, 1))  # checked before any database work
    assert err.value.field == "to"


def test_the_cli_rerates_with_a_summary(engine, uow, clock, run_cli):
    customer(engine, uow, clock)
    clock.move_to(utc(2026, 9, 20, 12))
    with uow() as u:
        use(u, "+491511234567", "a", utc(2026, 9, 20, 10), 90)
        use(u, "+491511234567", "sms", utc(2026, 9, 20, 11, 30), 1, "sms")
        correct(u)
    dry = run_cli(rating_app, ["rerate", "--from", "2026-08-31T22:00:00Z", "--to", "2026-10-01", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "total difference EUR" in dry.output and "-0.100000" in dry.output
    done = run_cli(rating_app, ["rerate", "--from", "2026-09-01", "--to", "2026-10-01"])
    assert done.exit_code == 0, done.output
    assert "re-priced on period totals at billing: not rerated" in done.output
    again = run_cli(rating_app, ["rerate", "--from", "2026-09-01", "--to", "2026-10-01"])
    assert "total difference" not in again.output  # nothing new the second time
    bad = run_cli(rating_app, ["rerate", "--from", "2026-09-01T00:00", "--to", "2026-10-01"])
    assert bad.exit_code == 2 and "offset" in bad.output
