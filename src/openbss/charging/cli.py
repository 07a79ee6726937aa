"""`openbss voucher ...`: prepaid vouchers from the terminal (docs/charging.md, "Balances, top-ups, vouchers").

- `voucher generate --count N --amount 10.00 --currency EUR --valid-until YYYY-MM-DD --out FILE`: a batch of N
  vouchers; their PINs are written once, to FILE (CSV: batch, serial, pin, amount, currency, valid_until; created
  with mode 0600, never overwritten). The database keeps only salted hashes: a lost file cannot be re-made.
- `voucher redeem --pin PIN --account ACCOUNT_ID [--bucket BUCKET_ID]`: top up the account with the voucher.
- `voucher batches`: each batch with how many of its vouchers are still available.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from openbss.terminal import run_in_transaction

voucher_app = typer.Typer(help="Prepaid vouchers: generate batches (PINs written once), redeem, list batches.",
                          no_args_is_help=True)


@voucher_app.command("generate")
def generate(
    count: int = typer.Option(..., min=1, help="how many vouchers"),
    amount: str = typer.Option(..., help="each voucher's value, e.g. 10.00"),
    currency: str = typer.Option(..., help="ISO 4217 code, e.g. EUR"),
    valid_until: str = typer.Option(..., help="YYYY-MM-DD: redeemable through this day (UTC)"),
    out: Path = typer.Option(..., help="CSV file the PINs are written to (must not exist)"),
    description: str = typer.Option(None, help="what the batch is for (a campaign, a reseller)"),
) -> None:
    """Generate a batch of vouchers and write their PINs, once, to --out."""
    from openbss.charging import vouchers
    from openbss.core.money import Money

    try:
        until = date.fromisoformat(valid_until)
    except ValueError:
        raise typer.BadParameter(f"{valid_until!r} is not a date YYYY-MM-DD", param_hint="--valid-until") from None
    if out.exists():
        raise typer.BadParameter(f"{out} exists; PINs are written once, to a new file", param_hint="--out")
    # The PINs go to a private temporary file first and get their name only once the batch committed: a failed
    # commit leaves no file of PINs that do not exist, and a failed write leaves no batch whose PINs are lost.
    tmp = out.with_name(f".{out.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", newline="") as f, Progress(transient=True) as bar:
            task = bar.add_task("generating", total=count)

            def work(uow):
                batch = vouchers.generate(uow, count, Money.of(amount, currency, "--amount"), until, description,
                                          progress=lambda n: bar.advance(task, n))
                w = csv.writer(f)
                w.writerow(["batch", "serial", "pin", "amount", "currency", "valid_until"])
                for serial, pin in batch.pins:
                    w.writerow([batch.id, serial, vouchers.format_pin(pin), batch.value.amount, batch.value.currency,
                                until.isoformat()])
                f.flush()
                os.fsync(f.fileno())
                return batch

            batch = run_in_transaction(work)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    typer.echo(f"batch {batch.id}: {count} vouchers of {batch.value} valid until {until}; PINs in {out}")


@voucher_app.command("redeem")
def redeem(
    pin: str = typer.Option(..., prompt=True, hide_input=True, help="the voucher's PIN"),
    account: str = typer.Option(..., help="the billing account to top up"),
    bucket: str = typer.Option(None, help="the money bucket to credit (default: a new bucket)"),
) -> None:
    """Top up an account with a voucher."""
    from openbss.charging import balances
    from openbss.core.ids import parse_id

    def work(uow):
        return balances.topup(uow, balances.NewTopup(
            account_id=parse_id(account, "--account"), bucket_id=parse_id(bucket, "--bucket") if bucket else None,
            voucher_pin=pin, channel="cli"))

    t = run_in_transaction(work)
    typer.echo(f"topped up {balances.shown(t.amount, t.unit, t.currency)} {t.currency} into bucket {t.bucket_id} "
               f"(top-up {t.id})")


@voucher_app.command("batches")
def batches() -> None:
    """Every batch: value, deadline, vouchers available and redeemed."""
    from openbss.charging import vouchers

    table = Table("batch", "value", "valid until", "available", "redeemed", "description", title="voucher batches")
    for b in run_in_transaction(vouchers.batches):
        table.add_row(str(b.id), str(b.value), b.valid_until.isoformat(), str(b.available), str(b.redeemed),
                      b.description or "")
    Console().print(table)
