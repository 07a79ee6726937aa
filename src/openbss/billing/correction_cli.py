"""`openbss creditnote ...` and `openbss dispute ...`: corrections of issued invoices from the terminal.

Invoices are named by number (INV-2026-000001) and their lines by line number, as printed on the invoice:

- `creditnote issue INV-... --reason TEXT [--line N=AMOUNT]... [--key KEY]`: credit each line N for the net
  AMOUNT; no --line: a full credit note of what is left. `creditnote list [--invoice INV-...]`.
- `dispute open INV-... --line N=AMOUNT... --reason TEXT [--by customer|agent]`, `dispute resolve DISPUTE_ID
  --resolution TEXT [--line N=AMOUNT]...` (agreed amounts; none: all that was disputed), `dispute reject
  DISPUTE_ID --resolution TEXT`, `dispute list [--invoice INV-...] [--state open]`.

Exit codes: 0 done, 1 refused (the message names the field and the value), 2 a bad option.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import typer
from rich.console import Console
from rich.table import Table

from openbss.db.engine import migrated_engine
from openbss.terminal import figures

creditnote_app = typer.Typer(help="Credit notes: corrections of issued invoices.", no_args_is_help=True)
dispute_app = typer.Typer(help="Disputes on invoice lines, held out of collections while open.", no_args_is_help=True)
console = Console()



def _run(actor: str, work: Callable):
    """Run `work(uow)` in one transaction; a refused request exits 1 with its message."""
    from openbss.core.errors import DomainError
    from openbss.db.uow import unit_of_work

    try:
        with unit_of_work(migrated_engine(), actor=actor) as uow:
            return work(uow)
    except DomainError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(1) from None


def _line_amounts(values: list[str]) -> dict[int, Decimal]:
    result = {}
    for value in values:
        number, _, amount = value.partition("=")
        try:
            result[int(number)] = Decimal(amount)
        except (ValueError, InvalidOperation):
            raise typer.BadParameter(f"{value!r} is not LINE=AMOUNT, e.g. 2=10.00", param_hint="--line") from None
    return result


def _by_line_no(uow, invoice_id: uuid.UUID, amounts: dict[int, Decimal]) -> dict[uuid.UUID, Decimal]:
    from openbss.billing import service as billing
    from openbss.core.errors import InvalidValue

    lines = {line.line_no: line.id for line in billing.get_invoice(uow, invoice_id).lines}
    unknown = sorted(set(amounts) - set(lines))
    if unknown:
        raise InvalidValue("--line", unknown[0], f"is not a line number of the invoice (1 to {len(lines)})")
    return {lines[n]: amount for n, amount in amounts.items()}


def _invoice_id(uow, number: str) -> uuid.UUID:
    from openbss.billing.documents.export import invoice_id_of

    return invoice_id_of(uow, number)


@creditnote_app.command("issue")
def issue(
    invoice: str = typer.Argument(..., help="the invoice number, e.g. INV-2026-000001"),
    reason: str = typer.Option(..., help="why the invoice is credited (printed on the credit note)"),
    line: list[str] = typer.Option([], help="LINE=AMOUNT: credit invoice line LINE for the net AMOUNT; repeatable"),
    key: str = typer.Option(None, help="idempotency key: the same key again returns the note already issued"),
) -> None:
    """Issue a credit note (full when no --line is given)."""
    from openbss.billing import correction_service
    from openbss.billing.corrections import LineCredit

    amounts = _line_amounts(line)

    def work(uow):
        invoice_id = _invoice_id(uow, invoice)
        requests = [LineCredit(line_id, amount=a) for line_id, a in _by_line_no(uow, invoice_id, amounts).items()]
        return correction_service.issue_credit_note(uow, invoice_id, requests or None, reason, idempotency_key=key)

    note = _run("cli", work)
    console.print(figures(f"credit note {note.number}", [
        ("invoice", note.invoice_number), ("issue date", note.issue_date.isoformat()), ("reason", note.reason),
        ("net", str(note.net_total)), ("VAT", str(note.tax_total)), ("gross", str(note.gross_total)),
        ("settles on the invoice", str(note.applied)), ("credit on the account", str(note.account_credit)),
    ]))


@creditnote_app.command("list")
def list_(invoice: str = typer.Option(None, help="only the credit notes of this invoice number")) -> None:
    """List credit notes, oldest first."""
    from openbss.billing import correction_service

    def work(uow):
        filters = {"bill.id": str(_invoice_id(uow, invoice))} if invoice else {}
        return correction_service.list_credit_notes(uow, filters, 0, 1000)[0]

    table = Table("number", "invoice", "issued", "net", "VAT", "gross", "reason")
    for n in _run("cli", work):
        table.add_row(n.number, n.invoice_number, n.issue_date.isoformat(), str(n.net_total), str(n.tax_total),
                      str(n.gross_total), n.reason)
    console.print(table)


def _print_dispute(d) -> None:
    console.print(figures(f"dispute {d.id}", [
        ("state", d.state), ("raised by", d.raised_by), ("reason", d.reason), ("held", str(d.held)),
        ("resolution", d.resolution or ""), ("credit note", str(d.credit_note_id or "")),
    ]))


@dispute_app.command("open")
def open_(
    invoice: str = typer.Argument(..., help="the invoice number"),
    line: list[str] = typer.Option(..., help="LINE=AMOUNT: the net amount disputed on invoice line LINE; repeatable"),
    reason: str = typer.Option(..., help="what the customer says"),
    by: str = typer.Option("agent", help="customer or agent"),
) -> None:
    """Open a dispute: its amount is held out of collections until it is resolved or rejected."""
    from openbss.billing import disputes

    amounts = _line_amounts(line)

    def work(uow):
        invoice_id = _invoice_id(uow, invoice)
        return disputes.open_dispute(uow, invoice_id, _by_line_no(uow, invoice_id, amounts), reason, by)

    _print_dispute(_run("cli", work))


@dispute_app.command("resolve")
def resolve(
    dispute_id: str = typer.Argument(...),
    resolution: str = typer.Option(..., help="what was decided"),
    line: list[str] = typer.Option([], help="LINE=AMOUNT agreed on invoice line LINE; none: all that was disputed"),
) -> None:
    """Resolve in the customer's favour: a credit note for the agreed amounts."""
    from openbss.billing import disputes
    from openbss.core.ids import parse_id

    amounts = _line_amounts(line)

    def work(uow):
        d = disputes.get_dispute(uow, parse_id(dispute_id, "dispute"))
        agreed = _by_line_no(uow, d.invoice_id, amounts) if amounts else None
        return disputes.resolve_dispute(uow, d.id, resolution, agreed)

    _print_dispute(_run("cli", work))


@dispute_app.command("reject")
def reject(dispute_id: str = typer.Argument(...), resolution: str = typer.Option(..., help="why")) -> None:
    """Close the dispute without credit: the held amount is collectible again."""
    from openbss.billing import disputes
    from openbss.core.ids import parse_id

    _print_dispute(_run("cli", lambda uow: disputes.reject_dispute(uow, parse_id(dispute_id, "dispute"), resolution)))


@dispute_app.command("list")
def list_disputes(invoice: str = typer.Option(None, help="only this invoice number's disputes"),
                  state: str = typer.Option(None, help="open, resolved or rejected")) -> None:
    """List disputes, oldest first."""
    from openbss.billing import disputes

    def work(uow):
        filters = {"bill.id": str(_invoice_id(uow, invoice))} if invoice else {}
        if state:
            filters["state"] = state
        return disputes.list_disputes(uow, filters, 0, 1000)[0]

    table = Table("id", "state", "raised by", "held", "reason")
    for d in _run("cli", work):
        table.add_row(str(d.id), d.state, d.raised_by, str(d.held), d.reason)
    console.print(table)
