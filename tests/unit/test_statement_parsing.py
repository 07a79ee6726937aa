"""Reading camt.053 and MT940 files, and the pure matching rules. Files are written by the tests from the
templates in tests/data/bank (what a bank would send), then broken on purpose where a test says so."""

import uuid
from decimal import Decimal

import pytest
from stdnum import iso11649

from openbss.core.money import Money
from openbss.reconciliation.camt import parse_camt053
from openbss.reconciliation.model import (
    AMBIGUOUS,
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    LISTED,
    MATCHED,
    UNKNOWN_REFERENCE,
    UNMATCHED,
    InvoiceFacts,
    MalformedStatement,
    StatementLine,
    creditor_reference,
    decide,
    invoice_numbers,
)
from openbss.reconciliation.service import detect_format
from openbss.reconciliation.swift import parse_mt940
from tests.amounts import eur
from tests.data.bank.render import camt, entry, mt940


def line(amount="71.40", direction="credit", **kw):
    return StatementLine(1, direction, eur(amount), kw.pop("booked", True), kw.pop("reversal", False), None, None, **kw)


# -- references --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["INV-2026-000001", "Rechnung inv-2026-000001 danke", "INV2026000001",
                                  "INV 2026 000001", "Invoice INV/2026/000001"])
def test_invoice_number_in_remittance_as_payers_write_it(text):
    assert invoice_numbers(line(remittance=text)) == ("INV-2026-000001",)


def test_creditor_reference_is_iso11649_and_names_the_invoice():
    ref = creditor_reference("INV-2026-000001")
    assert iso11649.is_valid(ref) and ref.endswith("INV2026000001")
    assert invoice_numbers(line(creditor_ref=ref)) == ("INV-2026-000001",)
    assert invoice_numbers(line(end_to_end_id="INV-2026-000007")) == ("INV-2026-000007",)


def test_no_number_is_found_where_there_is_none():
    assert invoice_numbers(line(remittance="rent November", end_to_end_id="E2E-1")) == ()
    # more digits than a number has: not an invoice number
    assert invoice_numbers(line(remittance="INV-2026-0000012")) == ()


# -- decisions ---------------------------------------------------------------------------------------------------

def facts(remaining="71.40", currency="EUR", number="INV-2026-000001"):
    rest = None if remaining is None else Money.of(remaining, currency)
    return InvoiceFacts(uuid.uuid4(), number, uuid.uuid4(), currency, "new" if rest else "settled", rest)


def test_decide_matches_exact_partial_and_over_payments():
    inv = facts()
    assert decide(line("71.40"), (inv.number,), {inv.number: inv}).status == MATCHED
    partial = decide(line("50.00"), (inv.number,), {inv.number: inv})
    assert (partial.status, partial.invoice) == (MATCHED, inv) and "part of" in partial.message
    over = decide(line("100.00"), (inv.number,), {inv.number: inv})
    assert over.status == MATCHED and "more than" in over.message


@pytest.mark.parametrize("case, expected", [
    ("no reference", UNKNOWN_REFERENCE), ("unknown number", UNKNOWN_REFERENCE), ("two invoices", AMBIGUOUS),
    ("other currency", CURRENCY_MISMATCH), ("already settled", AMOUNT_MISMATCH),
])
def test_decide_queues_what_an_agent_must_see(case, expected):
    a, b = facts(), facts(number="INV-2026-000002")
    usd = facts(currency="USD")
    settled = facts(remaining=None)
    numbers, known = {
        "no reference": ((), {}),
        "unknown number": (("INV-2026-000099",), {}),
        "two invoices": ((a.number, b.number), {a.number: a, b.number: b}),
        "other currency": ((usd.number,), {usd.number: usd}),
        "already settled": ((settled.number,), {settled.number: settled}),
    }[case]
    d = decide(line(), numbers, known)
    assert (d.status, d.reason) == (UNMATCHED, expected)


def test_debits_reversals_and_unbooked_lines_are_listed_not_matched():
    inv = facts()
    for ln in (line(direction="debit"), line(reversal=True), line(booked=False)):
        assert decide(ln, (inv.number,), {inv.number: inv}).status == LISTED


# -- camt.053 ----------------------------------------------------------------------------------------------------

def test_camt053_lines_with_their_references():
    [s] = parse_camt053(camt([
        entry("71.40", ref="B1", remittance=["INV-2026-000001"], name="Ada Lovelace", iban="DE02120300000000202051"),
        entry("2.50", credit=False, ref="B2"),
    ]))
    assert (s.format, s.statement_ref, s.sequence, s.account) == ("camt053", "STMT-2026-11-03", "42",
                                                                  "DE89370400440532013000")
    assert (s.opening, s.closing) == (eur("1000.00"), eur("1068.90"))  # 1000.00 + 71.40 - 2.50
    first, fee = s.lines
    assert (first.direction, first.amount, first.remittance, first.counterparty_name) == (
        "credit", eur("71.40"), "INV-2026-000001", "Ada Lovelace")
    assert (fee.direction, fee.amount, fee.bank_code) == ("debit", eur("2.50"), "PMNT/CCRD/CHRG")


def test_camt053_version_08_is_read_too():
    xml = camt([entry("10.00", ref="B1", remittance=["INV-2026-000003"])]).decode()
    # 001.08 differs in what this statement uses only by the namespace and the status as a code.
    xml = xml.replace("camt.053.001.02", "camt.053.001.08").replace("<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>")
    [s] = parse_camt053(xml.encode())
    assert s.lines[0].booked and invoice_numbers(s.lines[0]) == ("INV-2026-000003",)


def refused(parse, content: bytes) -> MalformedStatement:
    with pytest.raises(MalformedStatement) as e:
        parse(content)
    return e.value


def test_malformed_xml_names_the_line():
    xml = camt([entry("71.40", ref="B1")]).replace(b"</Ntry>", b"</Ntryy>")
    e = refused(parse_camt053, xml)
    assert e.line == xml.split(b"\n").index(next(l for l in xml.split(b"\n") if b"</Ntryy>" in l)) + 1
    assert "not well-formed XML" in e.message and f"line {e.line}" in e.message


def test_schema_violation_names_line_and_element():
    xml = camt([entry("71.40", ref="B1")]).replace(b"<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>",
                                                   b"<CdtDbtInd>CREDIT</CdtDbtInd>\n        <Sts>")
    e = refused(parse_camt053, xml)
    assert e.element == "Document/BkToCstmrStmt/Stmt/Ntry/CdtDbtInd"
    assert e.value == "CREDIT" and "camt.053.001.02 schema" in e.message


def test_more_decimals_than_the_currency_allows():
    xml = camt([entry("71.405", ref="B1")], closing="1071.41")
    e = refused(parse_camt053, xml)
    assert e.element == "Document/BkToCstmrStmt/Stmt/Ntry/Amt" and e.value == "71.405"
    assert "more decimals than EUR has (2)" in e.message


def test_unknown_currency_code():
    # The schema admits any three capitals; ISO 4217 does not know EUX.
    e = refused(parse_camt053, camt([entry("71.40", ref="B1", currency="EUX")]))
    assert e.value == "EUX" and "ISO 4217" in e.message


def test_balances_that_do_not_add_up_are_refused():
    e = refused(parse_camt053, camt([entry("71.40", ref="B1")], closing="1071.39"))
    # 1000.00 opening + 71.40 booked = 1071.40, not 1071.39
    assert e.value == "1071.39" and "1071.40" in e.message


def test_other_documents_are_refused():
    e = refused(parse_camt053, b'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/>')
    assert e.line == 2 and "supported version" in e.message
    with pytest.raises(MalformedStatement, match="neither camt.053 XML nor an MT940"):
        detect_format(b"date;amount\n2026-11-03;71.40\n")


def test_entities_are_not_resolved():
    # An external entity would read a local file (XXE): it is never expanded, and a DTD is refused outright.
    xml = camt([entry("71.40", ref="B1")]).replace(b"<Document", b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                                   b"\n<Document").replace(b"<MsgId>MSG-STMT-2026-11-03",
                                                                           b"<MsgId>&x;")
    with pytest.raises(MalformedStatement) as e:
        parse_camt053(xml)
    assert e.value.element == "DOCTYPE" and "root:" not in e.value.message


# -- MT940 -------------------------------------------------------------------------------------------------------

def test_mt940_lines_with_their_references():
    [s] = parse_mt940(mt940([
        entry("71,40", ref="B1", purpose="INV-2026-000001", end_to_end="E2E-1", name="Ada", iban="DE02120300000000202051"),
        entry("2,50", credit=False, ref="B2"),
    ]))
    assert (s.format, s.statement_ref, s.sequence, s.account) == ("mt940", "STMT-2026-11-03", "00042/001",
                                                                  "37040044/0532013000")
    assert (s.opening, s.closing) == (eur("1000.00"), eur("1068.90"))  # 1000.00 + 71.40 - 2.50
    paid, fee = s.lines
    assert (paid.amount, paid.remittance, paid.end_to_end_id, paid.counterparty_iban, paid.source_line) == (
        eur("71.40"), "INV-2026-000001", "E2E-1", "DE02120300000000202051", 5)
    assert (fee.direction, fee.amount, fee.source_line) == ("debit", eur("2.50"), 7)


def test_mt940_malformed_field_names_its_line():
    text = mt940([entry("71,40", ref="B1"), entry("5,00", ref="B2")]).replace(b":61:2611031103C5,00",
                                                                             b":61:26110X1103C5,00")
    e = refused(parse_mt940, text)
    assert (e.line, e.element) == (7, ":61:") and "MT940 format" in e.message


def test_mt940_decimals_missing_tags_and_balances():
    e = refused(parse_mt940, mt940([entry("71,405", ref="B1")], closing="1071,41"))
    assert (e.line, e.value) == (5, "71.405") and "more decimals" in e.message
    e = refused(parse_mt940, mt940([entry("71,40", ref="B1")]).replace(b":25:37040044/0532013000\n", b""))
    assert (e.line, e.element) == (1, ":25:") and "missing" in e.message
    e = refused(parse_mt940, mt940([entry("71,40", ref="B1")], closing="1071,00"))
    assert "1071.40" in e.message  # 1000,00 + 71,40
    e = refused(parse_mt940, b"hello\n")
    assert e.element == ":20:"


def test_amounts_are_decimal_never_float():
    [s] = parse_mt940(mt940([entry("0,10", ref="B1"), entry("0,20", ref="B2")]))
    assert sum((l.amount.amount for l in s.lines), Decimal(0)) == Decimal("0.30")


def test_a_line_in_another_currency_than_the_statement_is_refused():
    e = refused(parse_camt053, camt([entry("71.40", ref="B1"), entry("10.00", ref="B2", currency="USD")]))
    assert e.value == "USD" and "statement's currency EUR" in e.message and e.line is not None


def test_creditor_reference_written_into_free_text_is_found():
    assert invoice_numbers(line(remittance=f"SVWZ+{creditor_reference('INV-2026-000004')}")) == ("INV-2026-000004",)
    # a broken check: not an RF reference, and not a number either
    assert invoice_numbers(line(remittance="SVWZ+RF00INV2026000004")) == ()
