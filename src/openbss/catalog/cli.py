"""`openbss catalog import FILE` / `openbss catalog export [FILE]`: the product catalog as code (YAML)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from openbss.catalog.io import export_yaml, import_yaml
from openbss.db.engine import migrated_engine

catalog_app = typer.Typer(help="The product catalog as code (YAML).", no_args_is_help=True)
console = Console()



@catalog_app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="catalog YAML file"),
) -> None:
    """Add the specifications and offerings of a YAML file to the catalog: all of them, or, if any is wrong,
    none (each problem is printed with its line, path and value; exit status 1)."""
    from openbss.db.uow import unit_of_work

    with unit_of_work(migrated_engine(), actor="cli") as uow:
        report = import_yaml(uow, file)
    for p in report.problems:
        console.print(str(p), markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        console.print(f"{file}: {len(report.problems)} problem(s); nothing imported", markup=False,
                      highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"imported {report.specifications} specification(s), {report.offerings} offering(s) with "
                  f"{report.prices} price(s) from {file}", markup=False, highlight=False, soft_wrap=True)


@catalog_app.command("export")
def export_file(
    file: Path = typer.Argument(None, dir_okay=False, help="where to write the YAML (default: standard output)"),
) -> None:
    """Write the whole catalog as YAML, in the form `openbss catalog import` reads."""
    from openbss.db.uow import unit_of_work

    with unit_of_work(migrated_engine(), actor="cli") as uow:
        text = export_yaml(uow)
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"catalog written to {file}", markup=False, highlight=False, soft_wrap=True)


@catalog_app.command("experiment")
def experiment(name: str = typer.Argument(..., help="the pricing experiment's name")) -> None:
    """Uptake of a pricing experiment: orders per offer variant and each variant's share."""
    from rich.table import Table

    from openbss.catalog.service import experiment_uptake
    from openbss.core.errors import NotFound
    from openbss.db.uow import unit_of_work

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            uptake = experiment_uptake(uow, name)
    except NotFound as e:
        console.print(f"error: {e.message}", markup=False)
        raise typer.Exit(1) from None
    table = Table(title=f"experiment {name}: {uptake['orders']} order(s)")
    for column in ("variant", "offering", "segment", "orders", "share"):
        table.add_column(column, justify="right" if column in ("orders", "share") else "left")
    for variant, v in uptake["variants"].items():
        table.add_row(variant, v["offering"], v["segment"] or "all", str(v["orders"]), f"{v['share'] * 100:.1f} %")
    console.print(table)
