"""The validator against the shipped EN 16931 and Peppol examples: they pass (positive control), and a
mutated one fails with the named business rule (negative control)."""

from __future__ import annotations

import pytest

from openbss.billing.documents.validation import CONFORMANCE_DIR, fatal, rule_sets, validate
from openbss.core.errors import InvalidValue

EXAMPLES = CONFORMANCE_DIR / "en16931"
UBL_EXAMPLES = sorted((EXAMPLES / "ubl" / "examples").iterdir())
CII_EXAMPLES = sorted((EXAMPLES / "cii" / "examples").iterdir())


def test_all_shipped_examples_are_there():
    assert (len(UBL_EXAMPLES), len(CII_EXAMPLES)) == (19, 15)


@pytest.mark.parametrize("path", UBL_EXAMPLES, ids=lambda p: p.name)
def test_the_cen_ubl_examples_pass_en16931(path):
    assert validate(path.read_bytes(), "ubl") == []


@pytest.mark.parametrize("path", CII_EXAMPLES, ids=lambda p: p.name)
def test_the_cen_cii_examples_pass_en16931(path):
    assert validate(path.read_bytes(), "cii") == []


@pytest.mark.parametrize("name", ["BIS3_Invoice_positive.XML", "BIS3_Invoice_negativ.XML"])
def test_the_peppol_examples_pass_peppol_bis3(name):
    assert fatal(validate((EXAMPLES / "ubl" / "examples" / name).read_bytes(), "ubl", peppol=True)) == []


def test_a_cen_example_is_not_a_peppol_document():
    """The TC434 example has no Peppol customization or endpoints: the Peppol rules do fire on it."""
    ids = {f.id for f in fatal(validate((EXAMPLES / "ubl/examples/ubl-tc434-example1.xml").read_bytes(), "ubl",
                                        peppol=True))}
    assert "PEPPOL-EN16931-R004" in ids  # the CustomizationID is not Peppol's


def test_a_payable_amount_that_does_not_add_up_is_br_co_16_in_ubl():
    xml = (EXAMPLES / "ubl/examples/ubl-tc434-example1.xml").read_bytes()
    start = xml.index(b"<cbc:PayableAmount")
    mutated = xml[:start] + xml[start:].replace(xml[start:xml.index(b"</cbc:PayableAmount>", start)],
                                                b'<cbc:PayableAmount currencyID="EUR">1.00', 1)
    failures = fatal(validate(mutated, "ubl"))
    assert [f.id for f in failures] == ["BR-CO-16"]
    assert failures[0].location.endswith("[1]") and "BT-115" in failures[0].text


def test_a_due_payable_amount_that_does_not_add_up_is_br_co_16_in_cii():
    xml = (EXAMPLES / "cii/examples/CII_example1.xml").read_bytes()
    start = xml.index(b"<ram:DuePayableAmount")
    mutated = xml[:start] + xml[start:].replace(xml[start:xml.index(b"</ram:DuePayableAmount>", start)],
                                                b"<ram:DuePayableAmount>1.00", 1)
    assert [f.id for f in fatal(validate(mutated, "cii"))] == ["BR-CO-16"]


def test_rule_sets_by_syntax():
    assert rule_sets("ubl", peppol=True) == ("ubl", "peppol-ubl")
    assert rule_sets("cii", peppol=True) == ("cii",)  # no Peppol CII rules in the 2026.5 release
    with pytest.raises(InvalidValue, match="syntax='pdf'"):
        rule_sets("pdf", peppol=False)
