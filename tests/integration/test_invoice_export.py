"""`openbss invoice export` (pdf, ubl, cii, facturx; by period and account; idempotent) and `openbss invoice show`."""

from __future__ import annotations

import io
import re

import pytest
from lxml import etree
from pypdf import PdfReader

from openbss.billing import service as billing
from openbss.billing.documents import facturx
from openbss.cli import app
from tests.integration.invoice_documents import billed_month, set_seller, utc

CALLS = [(utc(2026, 10, 5, 8), 95, "+493012345678")]  # 95 s at 0.0020 = 0.19


@pytest.fixture
def cli(run_cli, monkeypatch):
    monkeypatch.delenv("OPENBSS_BASE_URL", raising=False)  # the CLI installs the events sink with the environment's
    return lambda *args: run_cli(app, ["invoice", *args])


@pytest.fixture
def two_months(engine, uow, clock):
    """Ada's October invoice (INV-2026-000001) and November invoice (INV-2026-000002, billed Dec 1)."""
    set_seller(uow)
    october = billed_month(engine, uow, clock, calls=CALLS)
    clock.move_to(utc(2026, 12, 1, 6))
    with uow() as u:
        november = billing.bill_account(u, october.account_id, "2026-11")
    return october, november


@pytest.mark.parametrize(("fmt", "ext"), [("pdf", "pdf"), ("ubl", "ubl.xml"), ("cii", "cii.xml"),
                                          ("facturx", "facturx.pdf")])
def test_export_writes_one_file_per_invoice_named_by_its_number_and_again_the_same(cli, two_months, tmp_path, fmt,
                                                                                  ext):
    october, november = two_months
    out = tmp_path / "documents"
    result = cli("export", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [f"{october.number}.{ext}", f"{november.number}.{ext}"]
    assert re.search(r"files written\s*│\s*2\b", result.output), result.output
    content = (out / f"{october.number}.{ext}").read_bytes()
    if fmt in ("pdf", "facturx"):
        assert october.number in PdfReader(io.BytesIO(content)).pages[0].extract_text()
    if fmt == "facturx":
        assert etree.fromstring(facturx.embedded_xml(content)).tag.endswith("CrossIndustryInvoice")
    if fmt == "ubl":
        root = etree.fromstring(content)
        assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
        assert root.findtext("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ID") == \
            october.number
    if fmt == "cii":
        assert etree.fromstring(content).tag.endswith("CrossIndustryInvoice")
    again = cli("export", "--format", fmt, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in out.iterdir()) == [f"{october.number}.{ext}", f"{november.number}.{ext}"]
    if fmt in ("ubl", "cii"):
        assert (out / f"{october.number}.{ext}").read_bytes() == content  # the same document, rewritten


def test_export_selects_by_period_and_account(cli, two_months, tmp_path, engine, uow, clock):
    october, november = two_months
    result = cli("export", "--format", "ubl", "--period", "2026-11", "--out", str(tmp_path / "nov"))
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "nov").iterdir()] == [f"{november.number}.ubl.xml"]
    other = billed_month(engine, uow, clock, name="Blaise Pascal", msisdn="+4915100000002")  # billed for October
    result = cli("export", "--format", "cii", "--account", str(other.account_id), "--out", str(tmp_path / "blaise"))
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "blaise").iterdir()] == [f"{other.number}.cii.xml"]


def test_export_reports_invoices_it_cannot_render_and_refuses_bad_options(cli, uow, engine, clock, tmp_path):
    inv = billed_month(engine, uow, clock, calls=CALLS)  # no seller profile is set
    result = cli("export", "--format", "pdf", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert f"{inv.number}: no seller profile is set" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []
    bad = cli("export", "--format", "docx", "--out", str(tmp_path))
    assert bad.exit_code == 2 and "format='docx' must be one of pdf, ubl, cii, facturx" in bad.output
    bad = cli("export", "--format", "pdf", "--period", "2026-13", "--out", str(tmp_path))
    assert bad.exit_code == 2 and "--period='2026-13'" in bad.output


def test_show_prints_the_invoice_its_lines_and_vat(cli, two_months):
    october, _ = two_months
    result = cli("show", october.number)
    assert result.exit_code == 0, result.output
    for text in ("Ada Lovelace (ACC-000001)", "2026-11-01 / 2026-11-15", "voice usage", str(october.gross_total)):
        assert text in result.output
    missing = cli("show", "INV-1999-000001")
    assert missing.exit_code == 1 and "INV-1999-000001" in missing.output
