"""Invoices e-mailed by the worker through a real SMTP peer (aiosmtpd on 127.0.0.1): once, localized, with the
PDF attached (and the UBL for a business), retried with back-off when the server refuses, skipped with the reason
when there is no server or no address."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from openbss.billing import bill_documents, delivery
from openbss.billing import service as billing
from openbss.billing.invoice_email import message_id
from openbss.cli import app
from openbss.config import load_settings
from openbss.events.model import RetryPolicy
from openbss.jobs import invoice_mail
from openbss.jobs.invoice_mail import MailReport
from openbss.party import service as party
from tests import factories
from tests.integration.invoice_documents import SELLER, billed_month, set_seller, utc
from tests.integration.smtp_sink import SENDER, received, send, smtp_sink_fixture  # noqa: F401 - the fixture


def stored(uow, invoice_id, fmt):
    with uow() as u:
        return bill_documents.stored_document(u, invoice_id, fmt)


def delivery_of(uow, invoice_id):
    with uow() as u:
        return delivery.get_delivery(u, invoice_id)


def test_an_issued_invoice_is_emailed_once_in_german_with_its_pdf(engine, uow, clock, smtp_sink):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)  # Ada Lovelace, DE: a German customer
    assert delivery_of(uow, inv.id).status == "pending"  # queued by the bill run, in its transaction

    assert send(engine, clock, smtp_sink.settings) == MailReport(sent=1)

    [envelope] = smtp_sink.accepted
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["ada@example.org"]
    msg = received(envelope)
    assert msg["To"] == "ada@example.org"
    assert msg["Subject"] == f"Ihre Rechnung {inv.number} von {SELLER['name']}"
    assert msg["Message-ID"] == f"<invoice.{inv.id}@nordwind.example>" == message_id(inv.id, SENDER)
    assert msg["Content-Language"] == "de"
    text = msg.get_body(("plain",)).get_content()
    assert "Guten Tag Ada Lovelace," in text
    assert f"anbei erhalten Sie Ihre Rechnung {inv.number} vom 01.11.2026" in text
    assert "für den Abrechnungszeitraum 01.10.2026 bis 31.10.2026" in text  # period [Oct 1, Nov 1): last day Oct 31
    # Mobile M 30.00 for October + 30.00 for November in advance = 60.00 net; VAT 19 % = 11.40; 71.40 due
    assert str(inv.gross_total) == "71.40 EUR"
    assert f"Bitte zahlen Sie 71,40\xa0€ bis zum {inv.due_date:%d.%m.%Y}." in text
    [attachment] = list(msg.iter_attachments())  # a consumer gets the PDF only
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{inv.number}.pdf"
    content = attachment.get_content()
    assert content.startswith(b"%PDF")
    pdf = stored(uow, inv.id, "pdf")  # the bytes sent are the ones kept, and their hash proves it
    assert content == pdf.content and hashlib.sha256(content).hexdigest() == pdf.sha256

    sent = delivery_of(uow, inv.id)
    assert (sent.status, sent.attempts, sent.recipient, sent.attachments) == ("sent", 1, "ada@example.org", ("pdf",))
    assert sent.sent_at == clock.now() and sent.message_id == msg["Message-ID"] and sent.last_error is None

    assert send(engine, clock, smtp_sink.settings) == MailReport()  # nothing is due any more
    with uow() as u:
        assert billing.bill_account(u, inv.account_id, "2026-10").id == inv.id  # billing again queues nothing
    assert send(engine, clock, smtp_sink.settings) == MailReport()
    assert len(smtp_sink.accepted) == 1


def test_a_french_business_gets_it_in_french_with_the_ubl_attached(engine, uow, clock, smtp_sink):
    set_seller(uow)
    with uow() as u:
        offer = factories.offering(u, name="Mobile Pro")
        acc = factories.account(u, "Renault SAS", country="FR", time_zone="Europe/Paris", vat_id="FR40303265045")
        factories.subscribe(u, acc.id, offer.id, "+33612345678")
    clock.move_to(utc(2026, 11, 1, 6))
    with uow() as u:
        inv = billing.bill_account(u, acc.id, "2026-10")

    assert send(engine, clock, smtp_sink.settings) == MailReport(sent=1)

    msg = received(smtp_sink.accepted[0])
    assert msg["Subject"] == f"Votre facture {inv.number} de {SELLER['name']}"
    assert "Bonjour Renault SAS," in msg.get_body(("plain",)).get_content()
    pdf, ubl = msg.iter_attachments()
    assert (pdf.get_filename(), ubl.get_filename()) == (f"{inv.number}.pdf", f"{inv.number}.ubl.xml")
    assert ubl.get_content_type() == "application/xml"
    assert ubl.get_content() == stored(uow, inv.id, "ubl").content
    assert delivery_of(uow, inv.id).attachments == ("pdf", "ubl")


def test_a_refused_email_is_retried_after_the_back_off_and_sent_once(engine, uow, clock, smtp_sink):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)
    smtp_sink.refuse = 1  # the server answers the first DATA with 451, then accepts

    assert send(engine, clock, smtp_sink.settings) == MailReport(retrying=1)
    waiting = delivery_of(uow, inv.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error.startswith("SMTP 451: 4.3.0 Mailbox temporarily unavailable")
    # MAIL_RETRY after the 1st failure: full = min(1 h, 1 min x 2^0) = 60 s; jitter 0 waits half of it, 30 s
    assert waiting.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert send(engine, clock, smtp_sink.settings) == MailReport()  # not due yet

    clock.move_to(waiting.next_attempt_at)
    assert send(engine, clock, smtp_sink.settings) == MailReport(sent=1)
    assert len(smtp_sink.accepted) == 1
    sent = delivery_of(uow, inv.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)


def test_a_crash_after_the_server_accepted_sends_again_with_the_same_message_id(engine, uow, clock, smtp_sink):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)

    def accepted_then_killed(smtp, message):
        invoice_mail.smtp_send(smtp, message)
        raise SystemExit("worker killed before its commit")  # not an error the worker catches: it rolls back

    with pytest.raises(SystemExit):
        send(engine, clock, smtp_sink.settings, transport=accepted_then_killed)
    assert delivery_of(uow, inv.id).status == "pending"  # the rollback left it due
    assert send(engine, clock, smtp_sink.settings) == MailReport(sent=1)

    first, second = (received(e) for e in smtp_sink.accepted)  # sent twice: at least once on the wire
    assert first["Message-ID"] == second["Message-ID"] == f"<invoice.{inv.id}@nordwind.example>"
    assert first.get_payload()[1].get_content() == second.get_payload()[1].get_content()  # the same stored PDF


def test_after_the_last_attempt_the_delivery_is_failed_and_listed(engine, uow, clock, smtp_sink, run_cli):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)
    smtp_sink.refuse = 5
    twice = RetryPolicy(base=timedelta(seconds=10), max_attempts=2)

    assert send(engine, clock, smtp_sink.settings, policy=twice) == MailReport(retrying=1)
    clock.advance(timedelta(seconds=5))  # 10 s x 2^0 = 10 s, jitter 0: half, 5 s
    assert send(engine, clock, smtp_sink.settings, policy=twice) == MailReport(failed=1)
    clock.advance(timedelta(days=1))
    assert send(engine, clock, smtp_sink.settings, policy=twice) == MailReport()  # given up: never tried again
    failed = delivery_of(uow, inv.id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 2, None)
    assert smtp_sink.accepted == []

    result = run_cli(app, ["invoice", "deliveries", "--state", "failed"])
    assert result.exit_code == 0, result.output
    assert inv.number in result.output and "451" in result.output
    assert "1 deliveries" in result.output
    assert run_cli(app, ["invoice", "deliveries", "--state", "lost"]).exit_code == 2


def test_no_address_or_no_smtp_server_is_skipped_with_the_reason(engine, uow, clock, smtp_sink):
    set_seller(uow)
    ada = billed_month(engine, uow, clock)
    with uow() as u:
        party.update_customer(u, party.get_billing_account(u, ada.account_id).customer_id, {"contact_medium": []})

    assert send(engine, clock, smtp_sink.settings) == MailReport(skipped=1)
    skipped = delivery_of(uow, ada.id)
    assert (skipped.status, skipped.attempts, skipped.next_attempt_at) == ("skipped", 0, None)
    assert "no e-mail address" in skipped.last_error and "mediumType 'email'" in skipped.last_error

    blaise = billed_month(engine, uow, clock, name="Blaise Pascal", msisdn="+4915100000002")
    assert send(engine, clock, None) == MailReport(skipped=1)
    assert delivery_of(uow, blaise.id).last_error == invoice_mail.NO_SMTP
    assert smtp_sink.accepted == []


def test_openbss_worker_once_sends_what_is_due(engine, uow, clock, smtp_sink, run_cli, monkeypatch):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)  # due since 2026-11-01; the worker's clock is the system's, later
    monkeypatch.delenv("OPENBSS_BASE_URL", raising=False)
    for name, value in {"OPENBSS_SMTP_HOST": "127.0.0.1", "OPENBSS_SMTP_PORT": str(smtp_sink.settings.port),
                        "OPENBSS_SMTP_FROM": SENDER, "OPENBSS_SMTP_STARTTLS": "false"}.items():
        monkeypatch.setenv(name, value)

    result = run_cli(app, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "delivered 1, retrying 0, failed 0" in result.output  # no hub listener: the one delivery is the e-mail
    [envelope] = smtp_sink.accepted
    assert envelope.rcpt_tos == ["ada@example.org"] and inv.number in received(envelope)["Subject"]


def test_smtp_settings_come_from_the_environment():
    assert load_settings({}).smtp is None
    smtp = load_settings({"OPENBSS_SMTP_HOST": "mail.example", "OPENBSS_SMTP_FROM": SENDER,
                          "OPENBSS_SMTP_USER": "billing", "OPENBSS_SMTP_PASSWORD": "s3cret"}).smtp
    assert (smtp.host, smtp.port, smtp.starttls, smtp.user, smtp.password) == ("mail.example", 587, True, "billing",
                                                                                "s3cret")
    assert "s3cret" not in repr(smtp)
    with pytest.raises(ValueError, match="OPENBSS_SMTP_FROM=''"):
        load_settings({"OPENBSS_SMTP_HOST": "mail.example"})
    with pytest.raises(ValueError, match="OPENBSS_SMTP_PORT='smtp'"):
        load_settings({"OPENBSS_SMTP_HOST": "mail.example", "OPENBSS_SMTP_FROM": SENDER, "OPENBSS_SMTP_PORT": "smtp"})
    with pytest.raises(ValueError, match="OPENBSS_SMTP_STARTTLS='maybe'"):
        load_settings({"OPENBSS_SMTP_HOST": "mail.example", "OPENBSS_SMTP_FROM": SENDER,
                       "OPENBSS_SMTP_STARTTLS": "maybe"})
