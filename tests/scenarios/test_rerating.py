"""A tariff correction after a month was billed: the customer's September calls are rerated in October, the
difference comes as a credit line on October's invoice, September's invoice stays as issued.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT) has "Mobile Table" from 2026-09-01: 10.00 EUR a month
(in advance), voice by rate table mobile-de with 120 s included a month (tests/data/rating/mobile.yaml:
Germany zone 0.40 connect + 0.20 per started minute, 60/60, half-up to 2 places). On 2026-10-12 the operator
finds the Germany rate should have been 0.15 since forever and imports the corrected table.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from openbss.rating.rerate import rerate
from tests.integration.test_rerate import OCTOBER, SEPTEMBER, correct, customer, usage_lines, use
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

MSISDN = "+491511234567"


def test_a_tariff_correction_is_credited_on_the_next_invoice(engine, uow, clock):
    ada = customer(engine, uow, clock, MSISDN, included_voice=120)

    clock.move_to(utc(2026, 9, 15, 12))
    with uow() as u:
        use(u, MSISDN, "sep-1", utc(2026, 9, 15, 9), 150)  # bills 180 s: 120 included, 60 paid: 0.40 + 0.20 = 0.60
        use(u, MSISDN, "sep-2", utc(2026, 9, 15, 10), 30)  # bills 60 s, nothing left: 0.40 + 0.20 = 0.60
    bill(engine, clock, "2026-09", utc(2026, 10, 1, 2))
    september = invoice_of(uow, ada.id, date(2026, 9, 1))
    assert usage_lines(september) == [("Mobile Table, voice usage", D(180), D("1.20"))]  # 0.60 + 0.60
    # September 10.00 + October in advance 10.00 + 1.20 = 21.20; VAT 4.028 → 4.03; 25.23
    assert totals(september) == (D("21.20"), D("4.03"), D("25.23"))

    clock.move_to(utc(2026, 10, 12, 12))
    with uow() as u:
        use(u, MSISDN, "oct-1", utc(2026, 10, 12, 9), 240)  # bills 240: 120 included, 0.40 + 2 x 0.20 = 0.80
        correct(u, "0.15")
        sep = rerate(u, *SEPTEMBER)
        octo = rerate(u, *OCTOBER)
    # sep-1 keeps its 120 included seconds: 0.40 + 0.15 = 0.55 (-0.05); sep-2: 0.40 + 0.15 = 0.55 (-0.05)
    assert (sep.changed, sep.totals) == (2, {"EUR": D("-0.10")})
    # oct-1 keeps its 120: 0.40 + 2 x 0.15 = 0.70 (-0.10)
    assert (octo.changed, octo.totals) == (1, {"EUR": D("-0.10")})

    clock.move_to(utc(2026, 10, 20, 12))
    with uow() as u:
        use(u, MSISDN, "oct-2", utc(2026, 10, 20, 9), 60)  # rated with the correction: 0.40 + 0.15 = 0.55
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    october = invoice_of(uow, ada.id, date(2026, 10, 1))
    # usage as rated: 0.80 + 0.55 = 1.35; the three adjustments: -0.05 - 0.05 - 0.10 = -0.20
    assert usage_lines(october) == [("Mobile Table, voice usage", D(300), D("1.35")),
                                    ("Mobile Table, voice usage rerating adjustment", D(3), D("-0.20"))]
    # November in advance 10.00 + 1.35 - 0.20 = 11.15; VAT 2.1185 → 2.12; 13.27
    assert totals(october) == (D("11.15"), D("2.12"), D("13.27"))
    assert invoice_of(uow, ada.id, date(2026, 9, 1)) == september  # issued: never reopened

    with uow() as u:  # the operator runs the same rerating again by mistake: nothing new
        assert rerate(u, *SEPTEMBER).changed == rerate(u, *OCTOBER).changed == 0
    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    assert usage_lines(invoice_of(uow, ada.id, date(2026, 11, 1))) == []
