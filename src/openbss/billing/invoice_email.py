"""The e-mail that carries an issued invoice, credit note or debit note: subject, plain-text body in the buyer's
language, the documents attached. Pure: no I/O (the worker, `openbss.jobs.invoice_mail`, renders, sends and records).

The language is the invoice document's (`documents.i18n.document_language`), dates and amounts formatted as
on the PDF (`i18n.Formatter`); the payment sentence reuses the PDF's own labels (`pay_by`, `nothing_due`).
Subject: "Your invoice INV-2026-000001 from <seller>" / "Ihre Rechnung ..." / "Votre facture ..."; a credit
note "Your credit note CN-2026-000001 from <seller>" / "Ihre Rechnungskorrektur ..." / "Votre avoir ...", a debit
note "Your debit note ..." / "Ihre Belastungsanzeige ..." / "Votre note de débit ..." (the PDF's titles). A note's
body names the invoice it corrects; a credit note says what it credits (the PDF's `credited` sentence) instead of
asking for payment, a debit note asks for payment as an invoice does.

The Message-ID is stable per document (`message_id`): a message sent again after a crash between the SMTP
server's acceptance and the worker's commit carries the same one, so a receiving system can drop the duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from openbss.billing.documents.context import InvoiceDocument
from openbss.billing.documents.i18n import Formatter

MAIL_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Your invoice {number} from {seller}",
        "greeting": "Dear {name},",
        "attached": "please find attached your invoice {number} of {date} for the billing period {start} to {end}.",
        "closing": "Kind regards",
        "subject_creditNote": "Your credit note {number} from {seller}",
        "attached_creditNote": "please find attached your credit note {number} of {date} for invoice {invoice} of "
                               "{invoice_date}.",
        "subject_debitNote": "Your debit note {number} from {seller}",
        "attached_debitNote": "please find attached your debit note {number} of {date} for invoice {invoice} of "
                              "{invoice_date}.",
    },
    "de": {
        "subject": "Ihre Rechnung {number} von {seller}",
        "greeting": "Guten Tag {name},",
        "attached": "anbei erhalten Sie Ihre Rechnung {number} vom {date} für den Abrechnungszeitraum {start} "
                    "bis {end}.",
        "closing": "Mit freundlichen Grüßen",
        "subject_creditNote": "Ihre Rechnungskorrektur {number} von {seller}",
        "attached_creditNote": "anbei erhalten Sie Ihre Rechnungskorrektur {number} vom {date} zur Rechnung {invoice} "
                               "vom {invoice_date}.",
        "subject_debitNote": "Ihre Belastungsanzeige {number} von {seller}",
        "attached_debitNote": "anbei erhalten Sie Ihre Belastungsanzeige {number} vom {date} zur Rechnung {invoice} "
                              "vom {invoice_date}.",
    },
    "fr": {
        "subject": "Votre facture {number} de {seller}",
        "greeting": "Bonjour {name},",
        "attached": "veuillez trouver ci-joint votre facture {number} du {date} pour la période de facturation du "
                    "{start} au {end}.",
        "closing": "Cordialement,",
        "subject_creditNote": "Votre avoir {number} de {seller}",
        "attached_creditNote": "veuillez trouver ci-joint votre avoir {number} du {date} sur la facture {invoice} du "
                               "{invoice_date}.",
        "subject_debitNote": "Votre note de débit {number} de {seller}",
        "attached_debitNote": "veuillez trouver ci-joint votre note de débit {number} du {date} sur la facture "
                              "{invoice} du {invoice_date}.",
    },
}


def message_id(document_id: uuid.UUID, sender: str, kind: str = "invoice") -> str:
    """<{kind}.{id}@{the sender's domain}>: the same for every attempt at one document's e-mail."""
    return f"<{kind}.{document_id}@{sender.rpartition('@')[2]}>"


def _label(language: str, key: str, kind: str) -> str:
    return MAIL_LABELS[language][key if kind == "invoice" else f"{key}_{kind}"]


def subject(doc: InvoiceDocument, language: str) -> str:
    return _label(language, "subject", doc.kind).format(number=doc.number,
                                                        seller=doc.seller.trading_name or doc.seller.name)


def _attached(doc: InvoiceDocument, language: str, f: Formatter) -> str:
    inv = doc.invoice
    if doc.kind == "invoice":
        last_day = inv.period_end - timedelta(days=1)  # periods are half-open; the customer reads the last day
        return MAIL_LABELS[language]["attached"].format(number=doc.number, date=f.date(inv.issue_date),
                                                        start=f.date(inv.period_start), end=f.date(last_day))
    [ref] = doc.preceding  # a note corrects one invoice
    return _label(language, "attached", doc.kind).format(
        number=doc.number, date=f.date(inv.issue_date), invoice=ref.number,
        invoice_date=f.date(ref.issue_date) if ref.issue_date else "")


def body(doc: InvoiceDocument, language: str) -> str:
    f = Formatter.of(language, doc.buyer.address.country, doc.invoice.time_zone)
    labels, inv = MAIL_LABELS[language], doc.invoice
    attached = _attached(doc, language, f)
    if doc.credit_note:
        payment = f.label("credited", amount=f.money(doc.tax_inclusive), number=doc.preceding[0].number)
    elif doc.payable.amount > 0:
        payment = f.label("pay_by", amount=f.money(doc.payable), date=f.date(inv.due_date))
    else:
        payment = f.label("nothing_due")
    return "\n".join([labels["greeting"].format(name=doc.buyer.name), "", attached, payment, "",
                      labels["closing"], doc.seller.trading_name or doc.seller.name, ""])


def compose(doc: InvoiceDocument, language: str, *, sender: str, recipient: str, at: datetime,
            attachments: Sequence[tuple[str, str, bytes]]) -> EmailMessage:
    """The message; `attachments` are (file name, media type, bytes), attached in that order."""
    msg = EmailMessage()
    msg["From"] = formataddr((doc.seller.trading_name or doc.seller.name, sender))
    msg["To"] = recipient
    msg["Subject"] = subject(doc, language)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id(doc.invoice.id, sender, doc.kind)
    msg.set_content(body(doc, language))
    for file_name, media_type, content in attachments:
        maintype, _, subtype = media_type.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=file_name)
    msg["Content-Language"] = language  # last: set_content and add_attachment move Content-* headers into parts
    return msg
