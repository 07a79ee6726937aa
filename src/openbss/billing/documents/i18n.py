"""Invoice documents in the buyer's language: which locale, the labels, and Babel formats of dates and money.

Which locale (no language is stored on billing accounts yet):
1. the customer's TMF629 characteristic `preferredLanguage` (or `language`), e.g. "de" or "fr-FR", when it is
   one of the document languages (en, de, fr);
2. else the account's country: DE, AT, LI -> de; FR, MC, LU -> fr; anything else -> en.
Formats (dates, numbers, currency amounts) follow the language as written in the account's country when Babel
(CLDR) knows that combination (de_AT, fr_LU, en_NL, en_US), else the bare language: "1.234,56 €" in de_DE,
"1 234,56 €" in fr_FR, "€1,234.56" in en.

Labels are a small catalog per language below (the documents need a few dozen words, and a dict keeps them
reviewable side by side); a missing translation is a KeyError in the tests, never an English word on a
German invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

from openbss.core.money import Money

LANGUAGES = ("en", "de", "fr")
COUNTRY_LANGUAGE = {"DE": "de", "AT": "de", "LI": "de", "FR": "fr", "MC": "fr", "LU": "fr"}
LANGUAGE_CHARACTERISTICS = ("preferredLanguage", "language")
MEGABYTE = Decimal(1_000_000)
TERM_UNITS = ("day", "week", "month", "quarter", "year")  # recurring lines count their price's terms
QUANTITY_FORMAT = "#,##0.######"  # a prorated term keeps its 6 decimals (22/31 month = 0.709677)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice", "invoice_number": "Invoice number", "issue_date": "Invoice date",
        "due_date": "Due date", "period": "Billing period", "account": "Account", "customer_vat_id": "Your VAT ID",
        "seller_vat_id": "VAT ID", "registration": "Registration", "description": "Description",
        "service_period": "Service period", "quantity": "Quantity", "net": "Net", "vat_summary": "VAT summary",
        "vat_rate": "VAT rate", "taxable": "Taxable amount", "vat": "VAT", "net_total": "Total net",
        "vat_total": "Total VAT", "gross_total": "Total", "paid": "Amount paid", "due": "Amount due",
        "payment": "Payment", "pay_by": "Please pay {amount} by {date}.", "iban": "IBAN", "bic": "BIC",
        "reference": "Reference", "nothing_due": "Nothing is due: thank you.", "notes": "Notes",
        "account_summary": "Your account", "balance_forward": "Balance brought forward", "this_invoice": "This invoice",
        "balance_after": "Account balance",
        "call_detail": "Call detail", "service": "Service", "date_time": "Date and time",
        "destination": "Destination", "type": "Type", "amount": "Volume", "zone": "Zone", "charge": "Charge",
        "records": "{count} records, {charge}", "records_capped": "The first {shown} of {count} records are listed.",
        "page": "Page", "of": "of", "category_standard": "Standard rate", "category_reduced": "Reduced rate",
        "category_zero": "Zero rate", "category_exempt": "Exempt", "category_reverse_charge": "Reverse charge",
        "voice": "Call", "sms": "SMS", "data": "Data", "mms": "MMS", "email": "E-mail",
        "category_intra_community": "Intra-Community supply", "category_export": "Export outside the EU",
        "category_out_of_scope": "Not subject to VAT",
        "reverse_charge_note": "Reverse charge: the recipient of the services is liable for the VAT "
                               "(Article 196 of Directive 2006/112/EC).",
        "each": "", "message": "messages", "message_one": "message",
        "credit_note": "Credit note", "debit_note": "Debit note", "credit_note_number": "Credit note number",
        "debit_note_number": "Debit note number", "note_date": "Date of issue", "corrected_invoice": "Original invoice",
        "invoice_of": "{number} of {date}", "credit_total": "Total credited",
        "credited": "{amount} is credited to you against invoice {number}.",
    },
    "de": {
        "invoice": "Rechnung", "invoice_number": "Rechnungsnummer", "issue_date": "Rechnungsdatum",
        "due_date": "Fällig am", "period": "Abrechnungszeitraum", "account": "Kundenkonto",
        "customer_vat_id": "Ihre USt-IdNr.", "seller_vat_id": "USt-IdNr.", "registration": "Handelsregister",
        "description": "Beschreibung", "service_period": "Leistungszeitraum", "quantity": "Menge", "net": "Netto",
        "vat_summary": "Umsatzsteuer", "vat_rate": "Steuersatz", "taxable": "Bemessungsgrundlage", "vat": "USt.",
        "net_total": "Summe netto", "vat_total": "Summe USt.", "gross_total": "Gesamtbetrag", "paid": "Bezahlt",
        "due": "Offener Betrag", "payment": "Zahlung", "pay_by": "Bitte zahlen Sie {amount} bis zum {date}.",
        "iban": "IBAN", "bic": "BIC", "reference": "Verwendungszweck", "nothing_due": "Nichts offen: vielen Dank.",
        "account_summary": "Ihr Kundenkonto", "balance_forward": "Saldovortrag", "this_invoice": "Diese Rechnung",
        "balance_after": "Kontostand",
        "notes": "Hinweise", "call_detail": "Einzelverbindungsnachweis", "service": "Anschluss",
        "date_time": "Datum und Uhrzeit", "destination": "Ziel", "type": "Art", "amount": "Menge", "zone": "Zone",
        "charge": "Betrag", "records": "{count} Verbindungen, {charge}",
        "records_capped": "Aufgeführt sind die ersten {shown} von {count} Verbindungen.", "page": "Seite",
        "of": "von", "category_standard": "Regelsatz", "category_reduced": "Ermäßigter Satz",
        "category_zero": "Nullsatz", "category_exempt": "Steuerbefreit",
        "category_reverse_charge": "Steuerschuldnerschaft des Leistungsempfängers", "voice": "Gespräch",
        "sms": "SMS", "data": "Daten", "mms": "MMS", "email": "E-Mail",
        "category_intra_community": "Innergemeinschaftliche Lieferung", "category_export": "Ausfuhr",
        "category_out_of_scope": "Nicht steuerbar",
        "reverse_charge_note": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, "
                               "Art. 196 der Richtlinie 2006/112/EG).",
        "each": "", "message": "Nachrichten", "message_one": "Nachricht",
        # Not "Gutschrift": in German VAT law (§ 14 Abs. 2 UStG) that is a self-billed invoice, so a seller's
        # correction of its own invoice is called a Rechnungskorrektur.
        "credit_note": "Rechnungskorrektur", "debit_note": "Belastungsanzeige",
        "credit_note_number": "Nummer der Rechnungskorrektur", "debit_note_number": "Nummer der Belastungsanzeige",
        "note_date": "Ausstellungsdatum", "corrected_invoice": "Ursprungsrechnung",
        "invoice_of": "{number} vom {date}", "credit_total": "Gesamtbetrag der Korrektur",
        "credited": "{amount} werden Ihnen zur Rechnung {number} gutgeschrieben.",
    },
    "fr": {
        "invoice": "Facture", "invoice_number": "Numéro de facture", "issue_date": "Date de facture",
        "due_date": "Échéance", "period": "Période de facturation", "account": "Compte",
        "customer_vat_id": "Votre n° de TVA", "seller_vat_id": "N° de TVA", "registration": "RCS",
        "description": "Désignation", "service_period": "Période de service", "quantity": "Quantité",
        "net": "Montant HT", "vat_summary": "Récapitulatif TVA", "vat_rate": "Taux de TVA", "taxable": "Base HT",
        "vat": "TVA", "net_total": "Total HT", "vat_total": "Total TVA", "gross_total": "Total TTC",
        "paid": "Déjà payé", "due": "Reste à payer", "payment": "Paiement",
        "pay_by": "Merci de régler {amount} avant le {date}.", "iban": "IBAN", "bic": "BIC",
        "reference": "Référence", "nothing_due": "Rien à payer : merci.", "notes": "Mentions",
        "account_summary": "Votre compte", "balance_forward": "Solde reporté", "this_invoice": "Cette facture",
        "balance_after": "Solde du compte",
        "call_detail": "Détail des communications", "service": "Ligne", "date_time": "Date et heure",
        "destination": "Destination", "type": "Type", "amount": "Volume", "zone": "Zone", "charge": "Montant",
        "records": "{count} communications, {charge}",
        "records_capped": "Les {shown} premières communications sur {count} sont listées.", "page": "Page",
        "of": "sur", "category_standard": "Taux normal", "category_reduced": "Taux réduit",
        "category_zero": "Taux zéro", "category_exempt": "Exonéré", "category_reverse_charge": "Autoliquidation",
        "voice": "Appel", "sms": "SMS", "data": "Données", "mms": "MMS", "email": "E-mail",
        "category_intra_community": "Livraison intracommunautaire", "category_export": "Exportation hors UE",
        "category_out_of_scope": "Hors champ de la TVA",
        "reverse_charge_note": "Autoliquidation : la TVA est due par le preneur (article 196 de la directive "
                               "2006/112/CE).",
        "each": "", "message": "messages", "message_one": "message",
        "credit_note": "Avoir", "debit_note": "Note de débit", "credit_note_number": "Numéro d'avoir",
        "debit_note_number": "Numéro de note de débit", "note_date": "Date d'émission",
        "corrected_invoice": "Facture d'origine", "invoice_of": "{number} du {date}",
        "credit_total": "Total de l'avoir",
        "credited": "Le montant de {amount} vous est crédité au titre de la facture {number}.",
    },
}


def document_language(country: str | None, characteristics: list[dict] | None = None) -> str:
    """The language of the buyer's documents: a preferred language they gave, else their country's."""
    for c in characteristics or ():
        if c.get("name") in LANGUAGE_CHARACTERISTICS and isinstance(c.get("value"), str):
            language = c["value"].replace("_", "-").split("-")[0].lower()
            if language in LANGUAGES:
                return language
    return COUNTRY_LANGUAGE.get((country or "").upper(), "en")


@cache
def babel_locale(language: str, country: str | None) -> Locale:
    """The language as written in the country when CLDR has that (de_AT), else the bare language."""
    if country:
        try:
            return Locale.parse(f"{language}_{country.upper()}")
        except (UnknownLocaleError, ValueError):
            pass
    return Locale.parse(language)


@dataclass(frozen=True)
class Formatter:
    """Labels and Babel formats of one document's locale; templates call it as `f.money(...)` etc."""

    language: str
    locale: Locale
    time_zone: ZoneInfo

    @classmethod
    def of(cls, language: str, country: str | None, time_zone: str) -> Formatter:
        if language not in LANGUAGES:
            raise ValueError(f"language={language!r} is not one of {', '.join(LANGUAGES)}")
        return cls(language, babel_locale(language, country), ZoneInfo(time_zone))

    def label(self, key: str, **values: object) -> str:
        text = LABELS[self.language][key]
        return text.format(**values) if values else text

    def money(self, amount: Money) -> str:
        # Document amounts are rounded already; the currency's own digits (JPY none, KWD three) are CLDR's.
        return format_currency(amount.amount, amount.currency, locale=self.locale)

    def rated_money(self, amount: Money) -> str:
        """A rated amount (up to 6 decimals, a call detail row's charge) with the decimals it has, at least the
        currency's: 0.014 EUR stays "0,014 €" so the rows add up to what the invoice line billed."""
        return format_currency(amount.amount.normalize(), amount.currency, locale=self.locale,
                               decimal_quantization=False)

    def date(self, day: date) -> str:
        return format_date(day, "medium", locale=self.locale)

    def short_date(self, day: date) -> str:
        return format_date(day, "short", locale=self.locale)

    def moment(self, at: datetime) -> str:
        """An instant in the account's zone, to the second: call detail rows."""
        local = at.astimezone(self.time_zone)
        return f"{format_date(local.date(), 'short', locale=self.locale)} {local:%H:%M:%S}"

    def number(self, value: Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, rate: Decimal) -> str:
        return format_percent(rate, locale=self.locale, decimal_quantization=False)

    def quantity(self, value: Decimal, unit: str) -> str:
        """A line's or a record's quantity as a customer reads it: seconds as a duration (1:02:05), bytes in
        megabytes (10^6 bytes, as the catalog quotes data prices), terms and messages counted."""
        if unit == "second":
            minutes, seconds = divmod(int(abs(value).to_integral_value(ROUND_HALF_UP)), 60)
            hours, minutes = divmod(minutes, 60)
            sign = "-" if value < 0 else ""
            return f"{sign}{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{sign}{minutes}:{seconds:02d}"
        if unit == "byte":
            return f"{format_decimal(value / MEGABYTE, '#,##0.00', locale=self.locale)} MB"
        if unit in TERM_UNITS:  # CLDR's words and plural rules: "1 Monat", "0,709677 Monate", "0,5 mois"
            # normalized: 1.000000 stored is "1 Monat", not the plural CLDR gives a number with visible decimals
            return format_unit(value.normalize(), f"duration-{unit}", locale=self.locale, format=QUANTITY_FORMAT)
        words = LABELS[self.language].get(f"{unit}_one" if value == 1 else unit, unit)
        return f"{format_decimal(value, QUANTITY_FORMAT, locale=self.locale)} {words}".rstrip()

    def usage_type(self, usage_type: str) -> str:
        return LABELS[self.language].get(usage_type, usage_type)
