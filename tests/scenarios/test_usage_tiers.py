"""Usage priced on the bill period's totals: an allowance with graduated tiers, volume tiers, 60-second blocks.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) has two products from 2026-10-01:

- "Flex" (15.00 EUR a month): data with 1 GB (1,000,000,000 bytes) included per bill period, then graduated
  per MB (1,000,000 bytes): the first 5 GB at 0.01, the next 15 GB at 0.005, above 20 GB at 0.002 (tiers count
  what is left after the allowance); voice at 0.10 per started 60-second block of the period's total seconds;
  SMS at 0.09 each (per unit, no allowance: the sum of the rated records, as before).
- "Data Volume" (5.00 EUR a month): data per MB at the price of the tier the period's total reaches, every MB:
  0.008 up to 10 GB, 0.004 above.

Rating prices each record per unit at the tariff's first price (the "from" price); the invoice re-prices each
period's total and rounds the line once. Usage that arrives after its period was billed counts with the
period it is billed in.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

from openbss.catalog import service as catalog
from openbss.catalog.model import Tier
from openbss.catalog.service import NewOffering, NewPrice
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.amounts import eur
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

GB = 1_000_000_000
MB = D(1_000_000)
_keys = itertools.count(1)


def use(u, service_id: str, usage_type: str, at, quantity: int) -> D:
    """Ingest one record; returns its rated charge."""
    record = UsageRecord("msc-1", f"r{next(_keys)}", service_id, usage_type, at, D(quantity))
    assert mediation.ingest(u, [record]).accepted == 1
    return mediation.find_usage(u, "msc-1", record.record_key).charge.amount


def usage_lines(inv):
    return [(line.description, line.quantity, line.net.amount) for line in inv.lines if line.kind == "usage"]


def test_allowance_graduated_volume_and_block_prices_on_period_totals(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        flex = catalog.create_offering(u, NewOffering(name="Flex", prices=[
            NewPrice(kind="recurring", amount=eur("15.00"), period="month"),
            NewPrice(kind="usage", amount=eur("0.01"), usage_type="data", unit_size=MB, usage_model="graduated",
                     included_units=D(GB), tiers=(Tier(D(0), D(5 * GB), D("0.01")),
                                                  Tier(D(5 * GB), D(20 * GB), D("0.005")),
                                                  Tier(D(20 * GB), None, D("0.002")))),
            NewPrice(kind="usage", amount=eur("0.10"), usage_type="voice", unit_size=D(60), usage_model="block"),
            NewPrice(kind="usage", amount=eur("0.09"), usage_type="sms"),
        ]))
        volume = catalog.create_offering(u, NewOffering(name="Data Volume", prices=[
            NewPrice(kind="recurring", amount=eur("5.00"), period="month"),
            NewPrice(kind="usage", amount=eur("0.008"), usage_type="data", unit_size=MB, usage_model="volume",
                     tiers=(Tier(D(0), D(10 * GB), D("0.008")), Tier(D(10 * GB), None, D("0.004")))),
        ]))
        ada = factories.account(u)
        factories.subscribe(u, ada.id, flex.id, "+491511111111")
    clock.move_to(utc(2026, 10, 1, 9, 5))
    with uow() as u:
        factories.subscribe(u, ada.id, volume.id, "+491512222222")

    clock.move_to(utc(2026, 10, 31, 12))
    with uow() as u:
        rated = [use(u, "+491511111111", "data", utc(2026, 10, 5, 10), 2_500_000_000),
                 use(u, "+491511111111", "data", utc(2026, 10, 20, 10), 4_250_000_000)]
        # Rating charges each record per MB at the first tier's 0.01: 2,500 × 0.01 and 4,250 × 0.01
        assert rated == [D("25.000000"), D("42.500000")]
        for seconds in (61, 30, 125):  # 216 s of calls
            use(u, "+491511111111", "voice", utc(2026, 10, 6, 10), seconds)
        for _ in range(3):
            use(u, "+491511111111", "sms", utc(2026, 10, 7, 10), 1)
        use(u, "+491512222222", "data", utc(2026, 10, 8, 10), 12 * GB)

    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    assert [line.net.amount for line in october.lines if line.kind == "recurring"] == [
        D("15.00"), D("15.00"), D("5.00"), D("5.00"),  # October and November (in advance) of each product
    ]
    assert usage_lines(october) == [
        # 6,750,000,000 bytes, 1 GB included: 5,750 MB left; graduated: 5,000 × 0.01 + 750 × 0.005
        # = 50.00 + 3.75 = 53.75 (not the 67.50 the records were rated at)
        ("Flex, data usage (1000000000 bytes included)", D("6750000000"), D("53.75")),
        ("Flex, sms usage", D("3"), D("0.27")),  # per unit, no allowance: 3 × 0.09, the rated sum
        # 61 + 30 + 125 = 216 s: 4 started 60-second blocks (216 / 60 = 3.6) × 0.10 = 0.40
        ("Flex, voice usage", D("216"), D("0.40")),
        # 12,000 MB reaches the second tier (above 10 GB): all 12,000 × 0.004 = 48.00
        ("Data Volume, data usage", D("12000000000"), D("48.00")),
    ]
    # 15 + 15 + 5 + 5 + 53.75 + 0.27 + 0.40 + 48.00 = 142.42; × 0.19 = 27.0598 → 27.06; 169.48
    assert totals(october) == (D("142.42"), D("27.06"), D("169.48"))

    clock.move_to(utc(2026, 11, 3, 12))
    with uow() as u:
        # Late: an October session that reaches mediation after October was billed.
        use(u, "+491511111111", "data", utc(2026, 10, 30, 10), GB)
    clock.move_to(utc(2026, 11, 30, 12))  # November's usage comes in as it happens, never ahead of the clock
    with uow() as u:
        use(u, "+491511111111", "data", utc(2026, 11, 10, 10), 21 * GB)
        use(u, "+491511111111", "voice", utc(2026, 11, 11, 10), 60)
        use(u, "+491512222222", "data", utc(2026, 11, 12, 10), 4 * GB)

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    november = invoice_of(uow, ada.id, date(2026, 11, 1))
    assert usage_lines(november) == [
        # The allowance starts afresh; the late 1 GB counts with November's 21 GB: 22 GB less 1 GB included =
        # 21,000 MB: 5,000 × 0.01 + 15,000 × 0.005 + 1,000 × 0.002 = 50.00 + 75.00 + 2.00 = 127.00
        ("Flex, data usage (with late usage from before 2026-11-01) (1000000000 bytes included)",
         D("22000000000"), D("127.00")),
        ("Flex, voice usage", D("60"), D("0.10")),  # exactly one block
        # 4,000 MB stays in the first tier: 4,000 × 0.008 = 32.00
        ("Data Volume, data usage", D("4000000000"), D("32.00")),
    ]
    # December in advance 15.00 + 5.00, usage 127.00 + 0.10 + 32.00: 179.10; × 0.19 = 34.029 → 34.03; 213.13
    assert totals(november) == (D("179.10"), D("34.03"), D("213.13"))
