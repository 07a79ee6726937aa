"""Every invoice a scenario issues must be a valid e-invoice (issue 5, "Conformance").

After each scenario test that used a database, every invoice, credit note (381) and debit note (383) in it is
rendered as UBL 2.1 and CII and
run through the EN 16931 XSLTs (plus Peppol BIS 3 on UBL when the buyer qualifies); any fatal assertion
fails that test, naming the invoice and the rules. A scenario that set no seller profile gets the test
seller (tests/einvoicing.py). The XSLTs compile once per process; the time spent is summed and printed
at the end of the run.
"""

from __future__ import annotations

import time

import pytest

from openbss.billing import correction_service as corrections
from openbss.billing import service as billing
from openbss.billing.documents.context import document_of
from openbss.db.uow import unit_of_work
from openbss.seller import service as seller
from tests.einvoicing import SELLER_FIELDS, fatal_failures

PAGE = 500
_spent = {"invoices": 0, "seconds": 0.0}


def _check_every_invoice(engine) -> dict[str, dict[str, list[str]]]:
    problems = {}
    with unit_of_work(engine, actor="einvoice-check") as u:
        if seller.find_seller(u) is None:
            seller.set_seller(u, SELLER_FIELDS)
        offset, total = 0, 1
        while offset < total:
            invoices, total = billing.list_invoices(u, {}, offset, PAGE)
            for inv in invoices:
                failures = fatal_failures(document_of(u, inv.id))
                _spent["invoices"] += 1
                if any(failures.values()):
                    problems[inv.number] = failures
            offset += PAGE
        for list_notes, document in ((corrections.list_credit_notes, corrections.credit_note_document),
                                     (corrections.list_debit_notes, corrections.debit_note_document)):
            offset, total = 0, 1
            while offset < total:
                notes, total = list_notes(u, {}, offset, PAGE)
                for note in notes:
                    failures = fatal_failures(document(u, note.id))
                    _spent["invoices"] += 1
                    if any(failures.values()):
                        problems[note.number] = failures
                offset += PAGE
    return problems


@pytest.fixture(autouse=True)
def every_invoice_is_a_valid_einvoice(request):
    engine = request.getfixturevalue("engine") if "engine" in request.fixturenames else None
    yield
    if engine is None:
        return
    started = time.perf_counter()
    problems = _check_every_invoice(engine)
    _spent["seconds"] += time.perf_counter() - started
    assert problems == {}, f"documents failing EN 16931 / Peppol: {problems}"


def pytest_terminal_summary(terminalreporter):
    if _spent["invoices"]:
        terminalreporter.write_line(f"e-invoice check: {_spent['invoices']} document(s) rendered as UBL and CII and "
                                    f"validated in {_spent['seconds']:.2f} s")
