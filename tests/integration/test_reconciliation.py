"""Bank statement round trips on a real database: invoices issued through the services, the statement the
bank would send for their payment written by the test from the templates in tests/data/bank, imported,
every invoice settled; imported again, nothing changes. Then the queue and the bad inputs."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from openbss.billing import service as billing
from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money
from openbss.ledger import service as ledger
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from openbss.payments.tables import payment
from openbss.reconciliation import service
from openbss.reconciliation.model import MalformedStatement, creditor_reference
from openbss.reconciliation.tables import bank_statement, bank_statement_file, bank_statement_line
from tests import factories
from tests.amounts import eur
from tests.data.bank.render import camt, entry, mt940


@pytest.fixture
def invoices(uow, clock):
    """Three accounts (DE, Europe/Berlin) on Mobile M at 30.00/month from 2026-10-01, billed for 2026-10:
    October and November in advance, 60.00 net + 19 % VAT 11.40 = 71.40 each."""
    with uow() as u:
        offer = factories.offering(u)
        accounts = [factories.account(u, name=n) for n in ("Ada Lovelace", "Grace Hopper", "Alan Turing")]
        for i, a in enumerate(accounts):
            factories.subscribe(u, a.id, offer.id, f"+4915100000{i:02d}")
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))
    with uow() as u:
        issued = [billing.bill_account(u, a.id, "2026-10") for a in accounts]
    assert [i.gross_total for i in issued] == [eur("71.40")] * 3  # 60.00 + 11.40
    clock.move_to(datetime(2026, 11, 3, 18, tzinfo=UTC))
    return issued


def statement_file(fmt: str, lines: list[dict], **kw) -> bytes:
    """The file in `fmt` for lines given as {amount: "71.40", credit, ref, text | rf | e2e, ...}."""
    if fmt == "camt053":
        return camt([entry(l["amount"], credit=l.get("credit", True), ref=l["ref"],
                           remittance=[l["text"]] if l.get("text") else None, creditor_ref=l.get("rf"),
                           end_to_end=l.get("e2e"), name=l.get("name")) for l in lines], **kw)
    return mt940([entry(l["amount"].replace(".", ","), credit=l.get("credit", True), ref=l["ref"],
                        purpose=l.get("text") or l.get("rf"), end_to_end=l.get("e2e"), name=l.get("name"))
                  for l in lines], **{k: v.replace(".", ",") if k in ("opening", "closing") else v
                                      for k, v in kw.items()})


def invoice(uow, invoice_id):
    with uow() as u:
        return billing.get_invoice(u, invoice_id)


def counts(engine) -> dict:
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (bank_statement_file, bank_statement, bank_statement_line, payment)}


def do_import(uow, content, **kw):
    with uow() as u:
        return service.import_statement(u, content, **kw)


@pytest.mark.parametrize("fmt", ["camt053", "mt940"])
def test_round_trip_every_invoice_settled_and_a_second_import_changes_nothing(engine, uow, invoices, fmt):
    a, b, c = invoices
    content = statement_file(fmt, [
        {"amount": "71.40", "ref": "B-1", "text": f"Rechnung {a.number}", "name": "Ada Lovelace"},
        {"amount": "71.40", "ref": "B-2", "rf": creditor_reference(b.number)},  # RF.. structured reference
        {"amount": "71.40", "ref": "B-3", "e2e": c.number},  # the payer put the number in the end-to-end id
        {"amount": "2.50", "credit": False, "ref": "B-4"},  # the bank's fee: listed, not matched
    ])
    result = do_import(uow, content, file_name=f"statement.{fmt}")
    assert (result.count("matched"), result.count("unmatched"), result.count("listed")) == (3, 0, 1)
    [s] = result.statements
    # opening 1000.00 + 3 x 71.40 - 2.50 = 1211.70
    assert (s.opening, s.closing, s.line_count) == (eur("1000.00"), eur("1211.70"), 4)
    for inv, line in zip(invoices, result.lines, strict=False):
        after = invoice(uow, inv.id)
        assert (after.state, after.amount_paid) == ("settled", eur("71.40"))
        assert (line.invoice_id, line.account_id) == (inv.id, inv.account_id)
        with uow() as u:
            p = payments.get_payment(u, line.payment_id)
            assert ledger.ar_balance(u, inv.account_id) == eur("0")  # 71.40 invoiced - 71.40 paid
        assert p.amount == eur("71.40") and p.received_at == datetime(2026, 11, 3, tzinfo=UTC)
        assert p.idempotency_key.startswith("bank:") and p.external_ref == line.line.bank_ref
    with uow() as u:
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok

    before = counts(engine)
    assert before == {"bank_statement_file": 1, "bank_statement": 1, "bank_statement_line": 4, "payment": 3}
    with pytest.raises(Conflict, match="file was already imported .* as statement"):
        do_import(uow, content)
    # The same statement in other bytes (re-exported by the bank with a trailing newline): refused by its identity.
    with pytest.raises(Conflict, match=r"statement STMT-2026-11-03 \(sequence .*\) of bank account .* already imported"):
        do_import(uow, content + b"\n")
    assert counts(engine) == before
    assert [invoice(uow, i.id).amount_paid for i in invoices] == [eur("71.40")] * 3


def test_partial_and_over_payments_follow_the_payment_rules(uow, invoices):
    a, b, _ = invoices
    result = do_import(uow, statement_file("camt053", [
        {"amount": "50.00", "ref": "B-1", "text": a.number},
        {"amount": "100.00", "ref": "B-2", "text": b.number},
    ]))
    assert result.count("matched") == 2
    assert (invoice(uow, a.id).state, invoice(uow, a.id).amount_paid) == ("partiallyPaid", eur("50.00"))
    assert invoice(uow, b.id).state == "settled"
    with uow() as u:
        over = payments.get_payment(u, result.lines[1].payment_id)
        assert over.unallocated == eur("28.60")  # 100.00 - 71.40: a credit the account holds
        assert ledger.ar_balance(u, a.account_id) == eur("21.40")  # 71.40 - 50.00
        assert ledger.ar_balance(u, b.account_id) == eur("-28.60")  # 71.40 - 100.00


def test_lines_an_agent_must_see_wait_in_the_queue(uow, invoices):
    a, b, c = invoices
    with uow() as u:  # c was paid at the counter already
        payments.record_payment(u, NewPayment(c.account_id, eur("71.40"), method="cash"))
    result = do_import(uow, statement_file("camt053", [
        {"amount": "71.40", "ref": "B-1", "text": "INV-2026-000099"},
        {"amount": "71.40", "ref": "B-2", "text": "rent November"},
        {"amount": "142.80", "ref": "B-3", "text": f"{a.number} and {b.number}"},
        {"amount": "71.40", "ref": "B-4", "text": c.number},
    ]))
    queued = [(l.status, l.reason) for l in result.lines]
    assert queued == [("unmatched", "unknownReference"), ("unmatched", "unknownReference"),
                      ("unmatched", "ambiguous"), ("unmatched", "amountMismatch")]
    assert "settled" in result.lines[3].message and result.lines[3].invoice_id == c.id
    assert invoice(uow, a.id).amount_paid == invoice(uow, b.id).amount_paid == eur("0")
    with uow() as u:
        assert service.list_lines(u, {"status": "unmatched"}, 0, 10)[1] == 4


def test_a_statement_in_another_currency_is_queued_as_currency_mismatch(uow, invoices):
    a = invoices[0]
    result = do_import(uow, statement_file("mt940", [{"amount": "71.40", "ref": "B-1", "text": a.number}],
                                           currency="USD"))
    [line] = result.lines
    assert (line.status, line.reason, line.invoice_id) == ("unmatched", "currencyMismatch", a.id)
    assert line.line.amount == Money.of("71.40", "USD")
    assert invoice(uow, a.id).amount_paid == eur("0")


def test_the_agent_assigns_or_dismisses_queued_lines(uow, invoices):
    a, b, _ = invoices
    result = do_import(uow, statement_file("camt053", [
        {"amount": "71.40", "ref": "B-1", "text": "Ada's October bill"},
        {"amount": "30.00", "ref": "B-2", "text": "no idea"},
        {"amount": "71.40", "ref": "B-3", "text": "for Grace"},
    ]))
    unknown, stray, grace = (l.id for l in result.lines)
    with uow("agent-1") as u:
        done = service.assign_line(u, unknown, invoice_id=a.id)
    assert (done.status, done.resolved_by, done.reason) == ("assigned", "agent-1", "unknownReference")
    assert invoice(uow, a.id).state == "settled"
    with uow() as u:  # by account: the oldest open invoice gets it
        service.assign_line(u, grace, account_id=b.account_id)
    assert invoice(uow, b.id).state == "settled"
    with uow() as u:
        assert service.dismiss_line(u, stray, "sent to us by mistake, bank returns it").status == "dismissed"
    with uow() as u, pytest.raises(Conflict, match="is assigned: only unmatched lines"):
        service.assign_line(u, unknown, invoice_id=a.id)
    with uow() as u, pytest.raises(Conflict, match="is dismissed"):
        service.dismiss_line(u, stray, "again")
    with uow() as u, pytest.raises(InvalidValue, match="name an invoice or a billing account"):
        service.assign_line(u, stray)
    with uow() as u:
        assert service.list_lines(u, {"status": "unmatched"}, 0, 10)[1] == 0
        assert ledger.ar_balance(u, a.account_id) == eur("0")


def test_assigning_to_an_invoice_in_another_currency_is_refused_and_the_line_stays(uow, invoices):
    a = invoices[0]
    [line] = do_import(uow, statement_file("camt053", [{"amount": "71.40", "ref": "B-1", "text": a.number}],
                                           currency="USD")).lines
    with uow() as u, pytest.raises(InvalidValue, match="USD"):
        service.assign_line(u, line.id, invoice_id=a.id)
    with uow() as u:
        assert service.get_line(u, line.id).status == "unmatched"


@pytest.mark.parametrize("fmt", ["camt053", "mt940"])
def test_malformed_files_write_nothing(engine, uow, invoices, fmt):
    a = invoices[0]
    good = {"amount": "71.40", "ref": "B-1", "text": a.number}
    bad = statement_file(fmt, [good, {"amount": "1.005", "ref": "B-2", "text": "x"}], closing="1072.41")
    with pytest.raises(MalformedStatement, match="more decimals than EUR has"):
        do_import(uow, bad)
    assert counts(engine) == {"bank_statement_file": 0, "bank_statement": 0, "bank_statement_line": 0, "payment": 0}
    assert invoice(uow, a.id).amount_paid == eur("0")


def test_a_file_failing_after_some_payments_is_rolled_back_whole(engine, uow, invoices):
    a, b, _ = invoices
    first = mt940([entry("71,40", ref="B-1", purpose=a.number)], statement_id="STMT-1")
    do_import(uow, first)
    before = counts(engine)
    # A file of two statements: the first new (it would pay b), the second the one imported above.
    both = mt940([entry("71,40", ref="B-2", purpose=b.number)], statement_id="STMT-0") + first
    with pytest.raises(Conflict, match="statement STMT-1"):
        do_import(uow, both)
    assert counts(engine) == before
    assert invoice(uow, b.id).amount_paid == eur("0")
