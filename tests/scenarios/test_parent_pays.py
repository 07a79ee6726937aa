"""A parent-pays consolidated invoice.

Acme (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT, 30 days to pay) has "Office" (50.00 EUR a month) and
three child accounts with "Mobile M" (30.00 a month, SMS 0.09) from 2026-10-01: Team A and Team B bill to
their parent, Team C pays its own bills. Team A sends 10 SMS in October.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.scenarios.billing_steps import bill, invoice_of, totals, utc

_keys = itertools.count(1)


def test_children_that_bill_to_their_parent_are_on_its_invoice(engine, uow, clock):
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        office = factories.offering(u, "Office", "50.00", usage={})
        mobile = factories.offering(u, "Mobile M", "30.00")
        acme = factories.account(u, "Acme", payment_terms_days=30)
        team_a = factories.account(u, "Team A", parent_id=acme.id, bill_to_parent=True)
        team_b = factories.account(u, "Team B", parent_id=acme.id, bill_to_parent=True)
        team_c = factories.account(u, "Team C", parent_id=acme.id)
        factories.subscribe(u, acme.id, office.id, "office-1")
        for n, team in enumerate((team_a, team_b, team_c), start=1):
            factories.subscribe(u, team.id, mobile.id, f"+4915100000{n}")
    assert (acme.number, team_a.number, team_b.number, team_c.number) == (
        "ACC-000001", "ACC-000002", "ACC-000003", "ACC-000004")
    clock.move_to(utc(2026, 10, 20, 9))
    with uow() as u:
        result = mediation.ingest(u, [UsageRecord("msc-1", f"r{next(_keys)}", "+49151000001", "sms",
                                                  utc(2026, 10, 20, 9), D(1)) for _ in range(10)])
        assert result.accepted == 10

    summary = bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    assert (summary.accounts, summary.invoices_created, summary.skipped) == (4, 2, 2)  # Teams A and B: none
    assert invoice_of(uow, team_a.id, date(2026, 10, 1)) is None
    assert invoice_of(uow, team_b.id, date(2026, 10, 1)) is None

    acme_bill = invoice_of(uow, acme.id, date(2026, 10, 1))
    assert [(line.description, line.net.amount) for line in acme_bill.lines] == [
        ("Office, 2026-10-01 to 2026-10-31", D("50.00")),
        ("Office, 2026-11-01 to 2026-11-30", D("50.00")),
        ("ACC-000002: Mobile M, 2026-10-01 to 2026-10-31", D("30.00")),
        ("ACC-000002: Mobile M, 2026-11-01 to 2026-11-30", D("30.00")),
        ("ACC-000002: Mobile M, sms usage", D("0.90")),  # 10 × 0.09
        ("ACC-000003: Mobile M, 2026-10-01 to 2026-10-31", D("30.00")),
        ("ACC-000003: Mobile M, 2026-11-01 to 2026-11-30", D("30.00")),
    ]
    # 100.00 + 60.90 + 60.00 = 220.90; × 0.19 = 41.971 → 41.97; 220.90 + 41.97 = 262.87
    assert totals(acme_bill) == (D("220.90"), D("41.97"), D("262.87"))
    assert acme_bill.due_date == date(2026, 12, 1)  # 1 November + Acme's 30 days

    team_c_bill = invoice_of(uow, team_c.id, date(2026, 10, 1))
    assert [line.description for line in team_c_bill.lines] == [
        "Mobile M, 2026-10-01 to 2026-10-31", "Mobile M, 2026-11-01 to 2026-11-30"]
    assert totals(team_c_bill) == (D("60.00"), D("11.40"), D("71.40"))  # 60.00 × 0.19 = 11.40
    assert team_c_bill.due_date == date(2026, 11, 15)  # the default 14 days

    # November: only December in advance for each, still consolidated.
    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))
    assert totals(invoice_of(uow, acme.id, date(2026, 11, 1))) == (
        D("110.00"), D("20.90"), D("130.90"))  # 50.00 + 30.00 + 30.00; × 0.19 = 20.90
