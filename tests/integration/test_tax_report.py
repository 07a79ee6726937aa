"""The tax report per period and jurisdiction (billing.tax_report, `openbss report tax`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from openbss.billing import service as billing
from openbss.billing.tax_report import tax_report
from openbss.cli import app
from openbss.seller import service as seller
from tests import factories
from tests.einvoicing import SELLER_FIELDS


def _billed_october(engine, uow, clock):
    """Four accounts on Mobile M (30.00 a month): October + November in advance = 60.00 net each."""
    clock.move_to(datetime(2026, 10, 1, 9, tzinfo=UTC))
    with uow() as u:
        seller.set_seller(u, SELLER_FIELDS)  # a German seller
        offering = factories.offering(u)
        accounts = [
            factories.account(u, "Dupont SA", country="FR", time_zone="Europe/Paris", vat_id="FR40303265045"),
            factories.account(u, "Marie Curie", country="FR", time_zone="Europe/Paris"),
            factories.account(u, "Ada Lovelace"),
            factories.account(u, "Grace Hopper", currency="EUR", country="US", time_zone="America/New_York"),
        ]
        for n, acc in enumerate(accounts):
            factories.subscribe(u, acc.id, offering.id, f"+4915100000{n:03d}")
    clock.move_to(datetime(2026, 11, 2, 12, tzinfo=UTC))
    summary = billing.run_bill_run(engine, "2026-10", clock=clock, rounding="half_up")
    assert (summary.invoices_created, summary.errors) == (4, [])


def test_report_per_jurisdiction_category_and_rate(engine, uow, clock):
    _billed_october(engine, uow, clock)
    with uow() as u:
        rows = tax_report(u, "2026-11")  # the invoices are issued on 2026-11-01 (Ada's) and 11-01 local elsewhere
        assert tax_report(u, "2026-10") == []
        french = tax_report(u, "2026-11", "FR")
    figures = [(r.country, r.tax_name, r.tax_category, r.tax_rate, r.taxable.amount, r.tax.amount, r.invoices)
               for r in rows]
    assert figures == [
        ("DE", "VAT", "standard", Decimal("0.19"), Decimal("60.00"), Decimal("11.40"), 1),  # 60.00 × 0.19
        ("FR", "VAT", "reverseCharge", Decimal(0), Decimal("60.00"), Decimal("0.00"), 1),  # the buyer accounts for it
        ("FR", "VAT", "standard", Decimal("0.2"), Decimal("60.00"), Decimal("12.00"), 1),  # 60.00 × 0.20
        ("US", "-", "outOfScope", Decimal(0), Decimal("60.00"), Decimal("0.00"), 1),  # export of services
    ]
    assert [(r.country, r.tax_category) for r in french] == [("FR", "reverseCharge"), ("FR", "standard")]
    assert all(r.credit_notes == r.debit_notes == 0 for r in rows)


def test_cli_prints_csv_and_a_table(engine, uow, clock, run_cli):
    _billed_october(engine, uow, clock)
    result = run_cli(app, ["report", "tax", "--period", "2026-11", "--country", "fr", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "country,tax,category,rate,currency,taxable,tax_amount,invoices,credit_notes,debit_notes",
        "FR,VAT,reverseCharge,0,EUR,60.00,0.00,1,0,0",
        "FR,VAT,standard,20,EUR,60.00,12.00,1,0,0",
    ]
    table = run_cli(app, ["report", "tax", "--period", "2026-11"], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "reverseCharge" in table.output and "11.40" in table.output
    bad = run_cli(app, ["report", "tax", "--period", "2026-13"])
    assert bad.exit_code == 2 and "2026-13" in bad.output
