"""`openbss ledger export`: the demo's ledger (built by the demo's own code through the services, then a
recognition run) as a general-ledger CSV and as a beancount file that bean-check accepts."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from openbss import demo as sample
from openbss.cli import app
from openbss.ledger import recognition
from openbss.ledger import service as ledger
from openbss.ledger.export import CSV_COLUMNS, beancount_account
from openbss.ledger.model import AR, DEFERRED_REVENUE
from openbss.ledger.verify import verify

BEAN_CHECK = str(Path(sys.executable).parent / "bean-check")


@pytest.fixture
def demo_ledger(engine, uow, tmp_path):
    sample.run(engine, Console(file=io.StringIO()), customers=6, seed=7, period="2026-09", home=tmp_path / "home",
               rounding="half_up")
    with uow() as u:
        assert recognition.recognize(u, date(2026, 10, 15)).entries > 0  # October billed in advance, half earned
        assert verify(u).ok
        return sum(len(p.entry.lines) for p in ledger.entries(u))


def bean_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([BEAN_CHECK, str(path)], capture_output=True, text=True, timeout=120)


def test_the_demo_ledger_exports_as_a_beancount_file_bean_check_accepts(demo_ledger, run_cli, tmp_path):
    out = tmp_path / "ledger.beancount"
    result = run_cli(app, ["ledger", "export", "--format", "beancount", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"({demo_ledger} lines)" in result.output
    text = out.read_text()
    assert f"open {beancount_account(AR)}" in text and "Assets:1100-AccountsReceivable" in text
    assert f"open {beancount_account(DEFERRED_REVENUE)}" in text and "Liabilities:2300-DeferredRevenue" in text
    assert "Revenue recognized through 2026-10-15" in text
    check = bean_check(out)
    assert check.returncode == 0 and check.stdout == "" and check.stderr == "", check.stdout + check.stderr

    # The check can fail: one amount changed by a cent no longer balances.
    broken = tmp_path / "broken.beancount"
    first_amount = next(line for line in text.splitlines() if line.startswith("  Assets:1100"))
    amount, currency = first_amount.split()[1:]
    broken.write_text(text.replace(first_amount, f"  Assets:1100-AccountsReceivable  "
                                                 f"{Decimal(amount) + Decimal('0.01')} {currency}", 1))
    assert bean_check(broken).returncode != 0


def test_the_general_ledger_csv_has_one_row_per_line_and_balances(demo_ledger, run_cli, tmp_path):
    out = tmp_path / "gl.csv"
    result = run_cli(app, ["ledger", "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == demo_ledger
    totals = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        totals[row["currency"]][0] += Decimal(row["debit"])
        totals[row["currency"]][1] += Decimal(row["credit"])
        assert (Decimal(row["debit"]) == 0) != (Decimal(row["credit"]) == 0)
    assert all(d == c for d, c in totals.values()) and totals
    first = rows[0]
    assert (first["seq"], first["source_type"], first["account_code"]) == ("1", "invoice", "1100")
    assert first["billing_account_number"] and first["date"].startswith("2026-10-01")
    assert first["debit"].count(".") == 1 and len(first["debit"].split(".")[1]) == 2  # EUR: two decimals


def test_an_unknown_format_is_refused(run_cli, tmp_path):
    result = run_cli(app, ["ledger", "export", "--format", "xlsx", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "'xlsx' is not one of csv, beancount" in result.output
