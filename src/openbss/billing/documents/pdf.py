"""Invoice PDFs: the EN 16931 document (`context.document_of`) as HTML from Jinja2 templates, printed by WeasyPrint.

What the PDF shows, in the buyer's language (`i18n`): seller and buyer blocks, number, dates and billing period,
the lines (description, service period, quantity with its unit, VAT rate, net), the VAT summary per category
and rate, totals, the amount paid and due, payment instructions (the seller's IBAN and BIC, the invoice number
as the reference), notes (the seller's invoice note, the reverse-charge wording when a VAT group is AE), and
the call detail appendix: every usage record billed on the invoice, by service id (the phone number or
line) and date, with time in the invoice's zone, destination, type, duration or volume, rating zone and
charge. A month of a heavy user is thousands of rows: the appendix is a fixed-layout table in a small size,
its cells formatted before the template runs, and capped at `call_detail_limit` records (default
CALL_DETAIL_LIMIT; 0 leaves the appendix out), the note above it saying how many are listed of how many.

Credit and debit notes print from the same template (`printable_of(..., kind=...)`): titled "Credit note" /
"Debit note" in the buyer's language, with the number and date of the invoice they correct, their lines, VAT
summary and totals as the EN 16931 document states them (a credit note's amounts positive, its type saying
credit). A debit note is payable like an invoice; a credit note says what it credits against which invoice
instead of asking for payment. Notes have no call detail (their lines name what they correct).

`pdf_variant="pdf/a-3b"` makes a PDF/A-3b file, the base of Factur-X (`facturx`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from itertools import groupby
from pathlib import Path

import jinja2
import markupsafe

from openbss.billing.documents import kinds
from openbss.billing.documents.context import InvoiceDocument
from openbss.billing.documents.i18n import Formatter, document_language
from openbss.core.money import Money, total
from openbss.db.uow import UnitOfWork
from openbss.mediation import service as mediation
from openbss.mediation.model import Usage
from openbss.party import service as party

TEMPLATES = Path(__file__).parent / "templates"
CALL_DETAIL_LIMIT = 5_000
# per kind: (title, number label, date label)
KIND_LABELS = {kinds.INVOICE: ("invoice", "invoice_number", "issue_date"),
               kinds.CREDIT_NOTE: ("credit_note", "credit_note_number", "note_date"),
               kinds.DEBIT_NOTE: ("debit_note", "debit_note_number", "note_date")}
CATEGORY_LABELS = {"S": "category_standard", "Z": "category_zero", "E": "category_exempt",
                   "AE": "category_reverse_charge", "K": "category_intra_community", "G": "category_export",
                   "O": "category_out_of_scope"}


@dataclass(frozen=True)
class PrintableInvoice:
    """Everything the PDF prints: the e-invoice document, the language, and the call detail records."""

    doc: InvoiceDocument
    language: str
    usage: tuple[Usage, ...] = ()
    usage_count: int = 0  # records billed on the invoice; more than len(usage) when the appendix is capped


@dataclass(frozen=True)
class ServiceCalls:
    """One service id's records as lines of a monospaced listing: `header` and `lines` are padded to the same
    column widths (when, destination, type, duration or volume, zone, charge; numbers right-aligned)."""

    service_id: str
    header: str
    lines: tuple[str, ...]
    count: int
    charge: Money


@dataclass(frozen=True)
class CallDetail:
    services: tuple[ServiceCalls, ...]
    shown: int
    count: int


def _paid_for_accounts(uow: UnitOfWork, account_id: uuid.UUID) -> list[uuid.UUID]:
    """The account and every account below it: usage billed on its invoice may be a child's ("parent pays")."""
    ids, level = [account_id], [account_id]
    while level:
        children = party.accounts_children(uow, level)
        level = [c.id for kids in children.values() for c in kids]
        ids += level
    return ids


def printable_of(uow: UnitOfWork, invoice_id: uuid.UUID, *, kind: str = kinds.INVOICE, language: str | None = None,
                 call_detail_limit: int = CALL_DETAIL_LIMIT) -> PrintableInvoice:
    """The document of an issued invoice with its call detail (or of a credit or debit note: `kind`, no call
    detail); `language` overrides the buyer's (`i18n.document_language`: the customer's preferred language,
    else the account's country)."""
    doc = kinds.document_for(uow, kind, invoice_id)
    if language is None:
        account = party.get_billing_account(uow, doc.invoice.account_id)
        characteristics = party.get_customer(uow, account.customer_id).characteristic if account.customer_id else []
        language = document_language(doc.buyer.address.country, characteristics)
    usage: list[Usage] = []
    count = 0
    if call_detail_limit > 0 and kind == kinds.INVOICE:
        accounts = _paid_for_accounts(uow, doc.invoice.account_id)
        usage, count = mediation.invoice_usage(uow, invoice_id, accounts, call_detail_limit)
    return PrintableInvoice(doc, language, tuple(usage), count)


def formatter(p: PrintableInvoice) -> Formatter:
    return Formatter.of(p.language, p.doc.buyer.address.country, p.doc.invoice.time_zone)


# Call detail columns: (label key, right-aligned). One text line per record in a monospaced font is what keeps
# thousands of rows fast: WeasyPrint lays a table out cell by cell, about six times slower (measured).
CALL_COLUMNS = (("date_time", False), ("destination", False), ("type", False), ("amount", True), ("zone", False),
                ("charge", True))


def _padded(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.rjust(w) if right else c.ljust(w)
                     for c, w, (_, right) in zip(cells, widths, CALL_COLUMNS, strict=True)).rstrip()


def call_detail(usage: Sequence[Usage], count: int, f: Formatter) -> CallDetail:
    """The appendix per service id (usage comes ordered by service id and date), each cell formatted here."""
    header = [f.label(key) for key, _ in CALL_COLUMNS]
    services = []
    for service_id, group in groupby(usage, key=lambda u: u.service_id):
        records = list(group)
        rows = [(f.moment(u.usage_date), u.destination or "", f.usage_type(u.usage_type),
                 f.quantity(u.quantity, u.unit), u.zone or "", f.rated_money(u.charge)) for u in records]
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
        charge = total((u.charge for u in records), records[0].charge.currency)
        services.append(ServiceCalls(service_id, _padded(header, widths), tuple(_padded(r, widths) for r in rows),
                                     len(rows), charge))
    return CallDetail(tuple(services), len(usage), count)


def notes(doc: InvoiceDocument, f: Formatter) -> list[str]:
    """The seller's notes, then what the VAT groups require the invoice to say (reverse charge, exemptions)."""
    result = list(doc.notes)
    for g in doc.vat_groups:
        if g.category == "AE":
            result.append(f.label("reverse_charge_note"))
        elif g.exemption_reason:
            result.append(f"{f.label(CATEGORY_LABELS[g.category])}: {g.exemption_reason}")
    return result


def _iban(value: str | None) -> str:
    """An IBAN printed in groups of four, as banks print it."""
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if value else ""


def _css_string(value: str) -> markupsafe.Markup:
    """A CSS string literal (page footer words go into the style sheet, where HTML escaping does not apply)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return markupsafe.Markup(f'"{escaped}"')


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["iban"] = _iban
    env.filters["css_string"] = _css_string
    return env.get_template("invoice.html.j2")


@cache
def _css() -> str:
    return (TEMPLATES / "invoice.css").read_text(encoding="utf-8")


def render_html(p: PrintableInvoice) -> str:
    """The invoice as a standalone HTML page (the PDF's source; also what a portal could show)."""
    f = formatter(p)
    calls = call_detail(p.usage, p.usage_count, f) if p.usage else None
    # The bill period as billed, not EN 16931's invoice period (widened to lines billed in advance).
    last_day = p.doc.invoice.period_end - timedelta(days=1)
    title, number_label, date_label = (f.label(key) for key in KIND_LABELS[p.doc.kind])
    return _template().render(doc=p.doc, f=f, css=_css(), notes=notes(p.doc, f), calls=calls, period_last_day=last_day,
                              vat_category=lambda code: f.label(CATEGORY_LABELS[code]), title=title,
                              number_label=number_label, date_label=date_label)


def render_pdf(p: PrintableInvoice, *, pdf_variant: str | None = None) -> bytes:
    """The invoice as PDF; `pdf_variant` as WeasyPrint names them ("pdf/a-3b" for Factur-X)."""
    from weasyprint import HTML  # imported here: loading pango takes a moment that other commands need not pay

    return HTML(string=render_html(p), base_url=str(TEMPLATES)).write_pdf(pdf_variant=pdf_variant)


def invoice_pdf(uow: UnitOfWork, invoice_id: uuid.UUID, *, kind: str = kinds.INVOICE, language: str | None = None,
                call_detail_limit: int = CALL_DETAIL_LIMIT) -> bytes:
    """The PDF of an issued invoice (or credit or debit note), in the buyer's language unless `language` is given."""
    return render_pdf(printable_of(uow, invoice_id, kind=kind, language=language,
                                   call_detail_limit=call_detail_limit))
