"""The payment reminder e-mail: subject and plain-text body in the customer's language (en, de, fr, chosen as for
invoices: `billing.documents.i18n.document_language`), amounts and dates as the invoice PDF formats them. Pure.

The Message-ID is stable per reminder (`message_id`), so one sent again after a crash between the server's
acceptance and the worker's commit can be dropped by the receiving system as a duplicate."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from openbss.billing.documents.i18n import Formatter
from openbss.core.money import Money, total

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Payment reminder: {amount} overdue ({seller})",
        "greeting": "Dear {name},",
        "intro": "according to our records the following amounts are still unpaid after their due date:",
        "line": "{number}, due {date}: {amount}",
        "total": "Total overdue: {amount}",
        "request": "Please pay this amount now. If you have paid in the meantime, please disregard this reminder.",
        "closing": "Kind regards",
    },
    "de": {
        "subject": "Zahlungserinnerung: {amount} überfällig ({seller})",
        "greeting": "Guten Tag {name},",
        "intro": "nach unseren Unterlagen sind die folgenden Beträge nach ihrer Fälligkeit noch offen:",
        "line": "{number}, fällig am {date}: {amount}",
        "total": "Überfällig insgesamt: {amount}",
        "request": "Bitte zahlen Sie diesen Betrag umgehend. Falls Sie inzwischen gezahlt haben, betrachten Sie "
                   "diese Erinnerung bitte als gegenstandslos.",
        "closing": "Mit freundlichen Grüßen",
    },
    "fr": {
        "subject": "Rappel de paiement : {amount} en retard ({seller})",
        "greeting": "Bonjour {name},",
        "intro": "selon nos informations, les montants suivants restent impayés après leur échéance :",
        "line": "{number}, échéance le {date} : {amount}",
        "total": "Total en retard : {amount}",
        "request": "Merci de régler ce montant dès à présent. Si vous avez payé entre-temps, veuillez ne pas tenir "
                   "compte de ce rappel.",
        "closing": "Cordialement,",
    },
}


@dataclass(frozen=True)
class OverdueLine:
    number: str
    due_date: date
    amount: Money


@dataclass(frozen=True)
class Reminder:
    action_id: uuid.UUID
    customer_name: str
    seller_name: str
    language: str
    country: str | None
    time_zone: str
    lines: tuple[OverdueLine, ...]

    @property
    def total(self) -> Money:
        return total((line.amount for line in self.lines), self.lines[0].amount.currency)


def message_id(action_id: uuid.UUID, sender: str) -> str:
    return f"<dunning.{action_id}@{sender.rpartition('@')[2]}>"


def subject(r: Reminder) -> str:
    f = Formatter.of(r.language, r.country, r.time_zone)
    return LABELS[r.language]["subject"].format(amount=f.money(r.total), seller=r.seller_name)


def body(r: Reminder) -> str:
    f = Formatter.of(r.language, r.country, r.time_zone)
    labels = LABELS[r.language]
    lines = [labels["line"].format(number=line.number, date=f.date(line.due_date), amount=f.money(line.amount))
             for line in r.lines]
    return "\n".join([labels["greeting"].format(name=r.customer_name), "", labels["intro"], "",
                      *(f"  {line}" for line in lines), "", labels["total"].format(amount=f.money(r.total)), "",
                      labels["request"], "", labels["closing"], r.seller_name, ""])


def compose(r: Reminder, *, sender: str, recipient: str, at: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((r.seller_name, sender))
    msg["To"] = recipient
    msg["Subject"] = subject(r)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id(r.action_id, sender)
    msg.set_content(body(r))
    msg["Content-Language"] = r.language
    return msg


def lines_of(documents: Sequence[dict], currency: str) -> tuple[OverdueLine, ...]:
    """The reminder's lines from the documents a reminder step recorded (dunning_action.details)."""
    return tuple(OverdueLine(d["number"], date.fromisoformat(d["dueDate"]), Money.of(d["collectible"], currency))
                 for d in documents)
