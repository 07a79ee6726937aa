"""`openbss seller show` and `openbss seller set --name ... --country ... --vat-id ... [...]`: the operator's
identity as the seller on its invoices. `set` changes only the options given; an empty value ("") clears an
optional field. Exit code 1 when the profile is refused (the message names the field and the value)."""

from __future__ import annotations

import typer
from rich.console import Console

from openbss.db.engine import migrated_engine
from openbss.terminal import figures

seller_app = typer.Typer(help="The seller profile printed on every invoice (EN 16931 seller).", no_args_is_help=True)
console = Console()



def _print(profile) -> None:
    a, e = profile.address, profile.electronic_address
    console.print(figures("seller", [
        ("name", profile.name), ("trading name", profile.trading_name or ""),
        ("address", ", ".join(p for p in (a.street, a.additional, a.post_code, a.city, a.subdivision, a.country) if p)),
        ("VAT id", profile.vat_id), ("registration id", profile.registration_id or ""),
        ("IBAN", profile.iban or ""), ("BIC", profile.bic or ""),
        ("electronic address", f"{e.scheme}:{e.identifier}" if e else ""),
        ("contact", ", ".join(p for p in (profile.contact_name, profile.contact_phone, profile.contact_email) if p)), ("invoice note", profile.invoice_note or ""),
    ]))


@seller_app.command("show")
def show() -> None:
    """Print the seller profile (exit 1 when none is set)."""
    from openbss.core.errors import DomainError
    from openbss.db.uow import unit_of_work
    from openbss.seller import service

    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            profile = service.get_seller(uow)
    except DomainError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(1) from None
    _print(profile)


@seller_app.command("set")
def set_(
    name: str = typer.Option(None, help="registered legal name (BT-27)"),
    trading_name: str = typer.Option(None, help="trading name (BT-28)"),
    street: str = typer.Option(None), additional: str = typer.Option(None, help="second address line"),
    city: str = typer.Option(None), post_code: str = typer.Option(None),
    subdivision: str = typer.Option(None, help="region, state or province"),
    country: str = typer.Option(None, help="ISO 3166-1 alpha-2 (BT-40)"),
    vat_id: str = typer.Option(None, help="VAT identifier with its country prefix (BT-31)"),
    registration_id: str = typer.Option(None, help="company register number (BT-30)"),
    iban: str = typer.Option(None, help="account invoices are paid to (BT-84)"),
    bic: str = typer.Option(None, help="BIC of that account (BT-86)"),
    electronic_address_scheme: str = typer.Option(None, help="EAS code of the electronic address, e.g. 0088, 9930"),
    electronic_address: str = typer.Option(None, help="electronic address, e.g. a Peppol participant id (BT-34)"),
    contact_name: str = typer.Option(None, help="the seller contact point (BT-41)"),
    contact_phone: str = typer.Option(None, help="contact telephone (BT-42)"),
    contact_email: str = typer.Option(None), invoice_note: str = typer.Option(None, help="note on every invoice"),
) -> None:
    """Create or change the seller profile."""
    from openbss.core.errors import DomainError
    from openbss.db.uow import unit_of_work
    from openbss.seller import service

    given = {k: (v or None) for k, v in locals().items() if k in service.SETTABLE and v is not None}
    try:
        with unit_of_work(migrated_engine(), actor="cli") as uow:
            profile = service.set_seller(uow, given)
    except DomainError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(1) from None
    _print(profile)
