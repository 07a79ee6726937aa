"""SEPA Direct Debit by file: pain.008 export (valid against the XSD), pain.002 returns, settlement, idempotency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import etree

from openbss.billing import service as billing
from openbss.core.errors import InvalidValue
from openbss.ledger import service as ledger
from openbss.ledger.model import IN_TRANSIT
from openbss.ledger.tables import journal_line
from openbss.payments import method_service, sepa
from openbss.payments import service as payments
from openbss.payments.cli import payments_app
from openbss.payments.method_service import NewMethod
from openbss.seller import service as seller
from tests import factories
from tests.amounts import eur
from tests.integration.invoice_documents import SELLER

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
CREDITOR_ID = "DE98ZZZ09999999999"
MANDATE = {"accountNumber": "DE02 1203 0000 0000 2020 51", "mandateId": "MNDT-ADA-1", "signatureDate": "2026-09-15",
           "owner": "Ada Lovelace"}


@pytest.fixture
def mandated(uow, clock):
    """Ada pays Mobile M (30.00/month from 2026-10-01) by SEPA mandate; billed for October on 2026-11-01.
    Gross 71.40 = October 30.00 + November in advance 30.00 = 60.00 net + 19 % VAT 11.40."""
    with uow() as u:
        seller.set_seller(u, SELLER)
        account = factories.account(u)
        factories.subscribe(u, account.id, factories.offering(u).id, "+491510000077")
        method = method_service.create_method(u, NewMethod(account.id, "directDebit", "Ada's Girokonto", MANDATE,
                                                           is_preferred=True))
    clock.move_to(datetime(2026, 11, 1, 6, tzinfo=UTC))
    with uow() as u:
        invoice = billing.bill_account(u, account.id, "2026-10")
    assert invoice.gross_total == eur("71.40")
    return account, invoice, method


def export(uow, due_by, collection_date=None):
    with uow() as u:
        return sepa.export(u, due_by, sepa.creditor(u, CREDITOR_ID), collection_date)


def in_transit_balance(uow, account_id):
    with uow() as u:
        return u.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(journal_line.c.debit - journal_line.c.credit), 0))
                              .where(journal_line.c.gl_account == IN_TRANSIT,
                                     journal_line.c.account_id == account_id)).scalar()


def pain002(rejects, message_id="OBSS-X", group_status=None):
    """A pain.002.001.03 status report rejecting (end-to-end id, reason code) pairs, as banks send them."""
    txs = "".join(
        f"<TxInfAndSts><StsId>S{n}</StsId><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf></TxInfAndSts>"
        for n, (e2e, code) in enumerate(rejects)
    )
    grp = f"<GrpSts>{group_status}</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>" if group_status else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>'
        "<GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2026-11-18T08:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>{grp}"
        "</OrgnlGrpInfAndSts>"
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{message_id}-1</OrgnlPmtInfId>{txs}</OrgnlPmtInfAndSts>"
        "</CstmrPmtStsRpt></Document>"
    ).encode()


def test_export_writes_a_valid_pain008_and_puts_the_money_in_transit(uow, mandated):
    account, invoice, method = mandated
    batch = export(uow, invoice.due_date)
    assert batch is not None and batch.count == 1 and batch.total == eur("71.40")
    doc = etree.fromstring(batch.document.encode())
    schema = etree.XMLSchema(etree.parse(str(sepa.XSD)))
    assert schema.validate(doc), schema.error_log
    tx = doc.find(".//p:DrctDbtTxInf", NS)
    assert tx.find("p:InstdAmt", NS).text == "71.40" and tx.find("p:InstdAmt", NS).get("Ccy") == "EUR"
    assert tx.find(".//p:MndtId", NS).text == "MNDT-ADA-1"
    assert tx.find(".//p:DtOfSgntr", NS).text == "2026-09-15"
    assert tx.find(".//p:DbtrAcct//p:IBAN", NS).text == "DE02120300000000202051"
    assert doc.find(".//p:SeqTp", NS).text == "FRST"  # the mandate's first collection
    assert doc.find(".//p:CdtrSchmeId//p:Othr/p:Id", NS).text == CREDITOR_ID
    assert doc.find(".//p:GrpHdr/p:MsgId", NS).text == batch.message_id
    assert doc.find(".//p:GrpHdr/p:CtrlSum", NS).text == "71.40"
    (p,) = batch.payments
    assert tx.find(".//p:EndToEndId", NS).text == p.id.hex
    assert (p.status, p.in_transit, p.method, p.payment_method_id) == ("pending", True, "directDebit", method.id)
    with uow() as u:
        assert billing.get_invoice(u, invoice.id).state == "settled"  # collected: no longer open
        assert ledger.ar_balance(u, account.id) == eur("0")  # 71.40 invoiced - 71.40 collected
    assert in_transit_balance(uow, account.id) == Decimal("71.40")  # not yet on the bank statement
    # The same run again: nothing new is due, no second collection.
    assert export(uow, invoice.due_date) is None


def test_bills_not_yet_due_and_accounts_without_mandate_are_left_out(uow, mandated):
    account, invoice, _ = mandated
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")  # pays by bank transfer: no mandate
    assert export(uow, invoice.due_date - timedelta(days=1)) is None  # due one day later
    batch = export(uow, invoice.due_date)
    assert [p.account_id for p in batch.payments] == [account.id]
    assert other.id not in {p.account_id for p in batch.payments}


def test_a_return_reopens_the_bill_and_the_same_file_twice_changes_nothing(uow, clock, mandated):
    account, invoice, method = mandated
    batch = export(uow, invoice.due_date)
    (p,) = batch.payments
    report_file = pain002([(p.id.hex, "AM04")], batch.message_id)
    with uow() as u:
        report = sepa.apply_returns(u, report_file)
    assert [(r.id, r.status, r.status_reason) for r in report.returned] == [(p.id, "returned",
                                                                              "AM04: insufficient funds")]
    with uow() as u:
        inv = billing.get_invoice(u, invoice.id)
        assert (inv.state, inv.amount_paid) == ("sent", eur("0"))  # reopened in full
        assert ledger.ar_balance(u, account.id) == eur("71.40")  # owed again
        assert method_service.get_method(u, method.id).status == "active"  # insufficient funds: mandate stays
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok
    assert in_transit_balance(uow, account.id) == Decimal("0")  # 71.40 in - 71.40 returned
    with uow() as u:
        again = sepa.apply_returns(u, report_file)
    assert (again.returned, again.already) == ((), 1)
    assert in_transit_balance(uow, account.id) == Decimal("0")
    # The next run presents it again, still FRST: the first collection never went through.
    clock.move_to(clock.now() + timedelta(days=3))
    second = export(uow, invoice.due_date + timedelta(days=7))
    assert second.count == 1 and second.total == eur("71.40")
    assert etree.fromstring(second.document.encode()).find(".//p:SeqTp", NS).text == "FRST"


def test_settled_collections_make_the_next_one_recurring(uow, clock, mandated):
    account, invoice, _ = mandated
    batch = export(uow, invoice.due_date)
    with uow() as u:
        settled = sepa.settle_batch(u, batch.message_id)
    assert [(p.status, p.in_transit) for p in settled] == [("done", False)]
    assert in_transit_balance(uow, account.id) == Decimal("0")  # moved to the bank
    with uow() as u:
        assert sepa.settle_batch(u, batch.message_id)[0].status == "done"  # again: unchanged
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok
    clock.move_to(datetime(2026, 12, 1, 6, tzinfo=UTC))
    with uow() as u:
        december = billing.bill_account(u, account.id, "2026-11")
    assert december.gross_total == eur("35.70")  # December in advance 30.00 + 19 % VAT 5.70
    second = export(uow, december.due_date)
    assert etree.fromstring(second.document.encode()).find(".//p:SeqTp", NS).text == "RCUR"
    assert second.total == eur("35.70")


def test_a_mandate_return_deactivates_the_mandate(uow, clock, mandated):
    _, invoice, method = mandated
    batch = export(uow, invoice.due_date)
    with uow() as u:
        sepa.apply_returns(u, pain002([(batch.payments[0].id.hex, "MD01")], batch.message_id))
    with uow() as u:
        m = method_service.get_method(u, method.id)
    assert (m.status, m.is_preferred) == ("inactive", False)
    assert m.status_reason == "direct debit returned MD01: no valid mandate"
    clock.move_to(clock.now() + timedelta(days=3))
    assert export(uow, invoice.due_date + timedelta(days=7)) is None  # no usable mandate: nothing to collect


def test_a_rejected_group_returns_every_collection_of_the_batch(uow, mandated):
    account, invoice, _ = mandated
    batch = export(uow, invoice.due_date)
    with uow() as u:
        report = sepa.apply_returns(u, pain002([], batch.message_id, group_status="RJCT"))
    assert [(p.status, p.status_reason) for p in report.returned] == [("returned", "FF01: invalid file format")]
    with uow() as u:
        assert ledger.ar_balance(u, account.id) == eur("71.40")


@pytest.mark.parametrize("content, problem", [
    (b"<Document><unclosed></Document>", "line 1"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>', "not a pain.002"),
])
def test_malformed_return_files_are_refused(uow, mandated, content, problem):
    with pytest.raises(InvalidValue, match=problem), uow() as u:
        sepa.apply_returns(u, content)


def test_a_file_naming_an_unknown_collection_changes_nothing(uow, mandated):
    account, invoice, _ = mandated
    batch = export(uow, invoice.due_date)
    known = batch.payments[0].id.hex
    with pytest.raises(InvalidValue, match="names no direct debit collection"), uow() as u:
        sepa.apply_returns(u, pain002([(known, "AM04"), ("0" * 32, "AM04")], batch.message_id))
    with uow() as u:  # the known one was not returned either: all or nothing
        assert payments.get_payment(u, batch.payments[0].id).status == "pending"
        assert ledger.ar_balance(u, account.id) == eur("0")


def test_creditor_identifier_and_seller_account_are_checked(uow, mandated):
    with pytest.raises(InvalidValue, match="check digits"), uow() as u:
        sepa.creditor(u, "DE97ZZZ09999999999")
    with uow() as u:
        seller.set_seller(u, {"iban": None})
    with pytest.raises(InvalidValue, match="seller.iban"), uow() as u:
        sepa.creditor(u, CREDITOR_ID)


def test_collection_date_must_be_after_today(uow, clock, mandated):
    with pytest.raises(InvalidValue, match="collectionDate"):
        export(uow, date(2026, 11, 20), collection_date=clock.now().date())


def test_cli_export_and_returns(run_cli, uow, tmp_path, mandated, monkeypatch):
    account, invoice, _ = mandated
    out = tmp_path / "debits.xml"
    monkeypatch.setenv("OPENBSS_SEPA_CREDITOR_ID", CREDITOR_ID)
    r = run_cli(payments_app, ["sepa-export", "--due", invoice.due_date.isoformat(), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "71.40 EUR" in r.output
    doc = etree.parse(str(out))
    assert etree.XMLSchema(etree.parse(str(sepa.XSD))).validate(doc)
    again_out = tmp_path / "again.xml"
    r = run_cli(payments_app, ["sepa-export", "--due", invoice.due_date.isoformat(), "--out", str(again_out)])
    assert r.exit_code == 0 and "nothing new to collect" in r.output and not again_out.exists()
    e2e = doc.find(".//p:EndToEndId", NS).text
    returns = tmp_path / "pain002.xml"
    returns.write_bytes(pain002([(e2e, "AM04")], doc.find(".//p:MsgId", NS).text))
    r = run_cli(payments_app, ["sepa-returns", str(returns)])
    assert r.exit_code == 0, r.output
    assert "AM04: insufficient funds" in r.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Document>")
    r = run_cli(payments_app, ["sepa-returns", str(bad)])
    assert r.exit_code == 1 and "not well-formed" in r.output
    with uow() as u:
        assert ledger.ar_balance(u, account.id) == eur("71.40")  # returned: owed again


def test_a_bank_statement_crediting_the_batch_settles_its_collections(uow, clock, mandated):
    from openbss.reconciliation import service as reconciliation
    from tests.data.bank.render import camt, entry

    account, invoice, _ = mandated
    batch = export(uow, invoice.due_date)
    assert batch.total == eur("71.40") and in_transit_balance(uow, account.id) == Decimal("71.40")
    wrong = camt([entry("70.00", ref="B-1", remittance=[f"SEPA COLLECTION {batch.message_id}"])],
                 statement_id="STMT-SEPA-1")
    with uow() as u:
        short = reconciliation.import_statement(u, wrong)
    # 70.00 is not the 71.40 in transit: left for an agent, nothing settled.
    assert [(x.status, x.reason) for x in short.lines] == [("unmatched", "amountMismatch")]
    assert "71.40" in short.lines[0].message and in_transit_balance(uow, account.id) == Decimal("71.40")
    paid = camt([entry("71.40", ref="B-2", remittance=[f"SEPA COLLECTION {batch.message_id}"])],
                statement_id="STMT-SEPA-2")
    with uow() as u:
        result = reconciliation.import_statement(u, paid)
    assert [x.status for x in result.lines] == ["settled"] and "1 collection(s)" in result.lines[0].message
    assert in_transit_balance(uow, account.id) == Decimal("0")  # IN_TRANSIT -> BANK
    with uow() as u:
        assert billing.get_invoice(u, invoice.id).state == "settled"
        tb = ledger.trial_balance(u)
    assert tb.balanced and tb.chain_ok
