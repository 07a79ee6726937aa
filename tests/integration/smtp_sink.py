"""A real SMTP peer for the e-mail tests: aiosmtpd on 127.0.0.1, keeping what it accepts (`smtp_sink_fixture`)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from openbss.config import SmtpSettings
from openbss.jobs import invoice_mail
from openbss.jobs.invoice_mail import MailReport

SENDER = "billing@nordwind.example"


class Sink:
    """An SMTP server's DATA handler: keeps every accepted message; refuses the next `refuse` ones with 451."""

    def __init__(self) -> None:
        self.accepted: list = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        self.accepted.append(envelope)
        return "250 2.0.0 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture():
    """The running sink; `settings` are the SmtpSettings that reach it. A test module imports this function to
    have the `smtp_sink` fixture."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()  # serves from a thread of its own until stopped
    sink.settings = SmtpSettings(host="127.0.0.1", port=controller.port, sender=SENDER, starttls=False)
    yield sink
    controller.stop()


def send(engine, clock, smtp, **kwargs) -> MailReport:
    return invoice_mail.send_due(engine, clock=clock, smtp=smtp, jitter=lambda: 0.0, **kwargs)


def received(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)
