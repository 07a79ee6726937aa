"""invoice-pdf: invoice PDFs with their call detail rendered on one worker (one process, one thread).

Seeds BENCH_DOCUMENTS accounts (default 200) with a mobile subscription and BENCH_CALL_DETAIL calls each
(default 100, with destinations), bills October, then times, for the same invoices already read from the
database: the PDF (WeasyPrint, `pdf.render_pdf`) and, as the reference, the HTML the PDF is printed from
(Jinja2 only, `pdf.render_html`): the ratio is the share of time that is not PDF layout. The first document is
rendered once before timing (loading fonts and pango is a one-off per worker). Further figures: reading the
documents (document_of + call detail) per second, Factur-X (PDF/A-3b + CII + embedding) per second on the
first BENCH_FACTURX documents (default 20), and the mean PDF size.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from benchmarks.harness import report, scratch_database
from openbss.api.events import install
from openbss.billing.documents import facturx, pdf
from openbss.billing.service import list_invoices, run_bill_run
from openbss.catalog.service import NewOffering, NewPrice, create_offering
from openbss.config import load_settings
from openbss.core.clock import FixedClock
from openbss.core.money import Money
from openbss.db.uow import unit_of_work
from openbss.mediation.model import UsageRecord
from openbss.mediation.service import ingest
from openbss.ordering.service import NewOrder, NewOrderItem, place_order
from openbss.party.service import NewBillingAccount, NewCustomer, create_billing_account, create_customer
from openbss.seller.service import set_seller

DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "200"))
CALLS = int(os.environ.get("BENCH_CALL_DETAIL", "100"))
FACTURX = min(int(os.environ.get("BENCH_FACTURX", "20")), DOCUMENTS)
START = datetime(2026, 9, 20, 9, tzinfo=UTC)


def seed(engine) -> None:
    eur = lambda v: Money.of(v, "EUR")  # noqa: E731
    clock = FixedClock(START)
    with unit_of_work(engine, actor="bench", clock=clock) as u:
        set_seller(u, {"name": "Bench Telecom GmbH", "vat_id": "DE136695976", "country": "DE", "city": "Berlin",
                       "iban": "DE89370400440532013000"})
        offer = create_offering(u, NewOffering("Mobile M", prices=[
            NewPrice("recurring", eur("30.00"), period="month", name="monthly fee"),
            NewPrice("usage", eur("0.0020"), usage_type="voice"),
            NewPrice("usage", eur("0.09"), usage_type="sms"),
        ]))
    for i in range(DOCUMENTS):
        msisdn = f"+49151{i:08d}"
        with unit_of_work(engine, actor="bench", clock=clock) as u:
            c = create_customer(u, NewCustomer(f"Bench {i}"))
            acc = create_billing_account(u, NewBillingAccount(c.id, f"Bench {i}", "EUR", "DE", 1, "Europe/Berlin"))
            place_order(u, NewOrder(acc.id, [NewOrderItem(offer.id, msisdn)], requested_start=START))
        # October's calls arrive once October is over: usage dated in the future of its intake is refused.
        with unit_of_work(engine, actor="bench", clock=FixedClock(datetime(2026, 11, 1, 1, tzinfo=UTC))) as u:
            ingest(u, [UsageRecord("bench", f"{i}-{n}", msisdn, ("voice", "sms")[n % 5 == 4],
                                   datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=7 * n), Decimal(20 + n * 13 % 600),
                                   f"+4930{n * 7919 % 10**7:07d}")
                       for n in range(CALLS)])


def main() -> None:
    install(load_settings())
    with scratch_database() as engine:
        seed(engine)
        summary = run_bill_run(engine, "2026-10", clock=FixedClock(datetime(2026, 11, 1, 2, tzinfo=UTC)),
                               rounding="half_up")
        assert summary.invoices_created == DOCUMENTS and not summary.errors, summary
        with unit_of_work(engine, actor="bench") as u:
            ids = [inv.id for inv in list_invoices(u, {}, 0, DOCUMENTS)[0]]
        t = time.perf_counter()
        printables = []
        for invoice_id in ids:
            with unit_of_work(engine, actor="bench") as u:
                printables.append(pdf.printable_of(u, invoice_id))
        read_rate = len(ids) / (time.perf_counter() - t)
        assert all(p.usage_count == CALLS for p in printables), "every call is billed and listed"
        pdf.render_pdf(printables[0])  # warm-up: fonts, pango
        t = time.perf_counter()
        sizes = [len(pdf.render_pdf(p)) for p in printables]
        pdf_rate = len(printables) / (time.perf_counter() - t)
        t = time.perf_counter()
        for p in printables:
            pdf.render_html(p)
        html_rate = len(printables) / (time.perf_counter() - t)
        t = time.perf_counter()
        for p in printables[:FACTURX]:
            facturx.to_facturx(p)
        facturx_rate = FACTURX / (time.perf_counter() - t) if FACTURX else 0.0
    report("invoice-pdf", "documents/s", pdf_rate, "the same documents as HTML only (Jinja2), documents/s", html_rate,
           documents=DOCUMENTS, call_detail_records=CALLS, workers=1, read_documents_per_s=round(read_rate, 1),
           facturx_documents_per_s=round(facturx_rate, 1), facturx_documents=FACTURX,
           mean_pdf_kb=round(sum(sizes) / len(sizes) / 1024, 1))


if __name__ == "__main__":
    main()
