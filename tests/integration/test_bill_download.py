"""TMF678 bill documents: billDocument references on customerBill, and the download routes (stored bytes, headers,
ETag, 304, a reader may download)."""

from __future__ import annotations

import hashlib
import io

import pytest
from lxml import etree
from pypdf import PdfReader

from openbss.auth.service import create_api_key
from openbss.billing import service as billing
from openbss.billing.documents import export, facturx
from openbss.core.money import Money
from tests.integration.invoice_documents import billed_month, set_seller

BILL = "/tmf-api/customerBillManagement/v4/customerBill"
DOCUMENTS = [  # (route suffix, content type, file name suffix)
    ("document.pdf", "application/pdf", ".pdf"),
    ("document.ubl.xml", "application/xml", ".ubl.xml"),
    ("document.cii.xml", "application/xml", ".cii.xml"),
    ("document.facturx.pdf", "application/pdf", ".facturx.pdf"),
]


@pytest.fixture
def invoice(engine, uow, clock):
    set_seller(uow)
    return billed_month(engine, uow, clock)


def test_customer_bill_references_its_four_documents(client, invoice):
    bill = client.get(f"{BILL}/{invoice.id}").json()
    assert [(d["name"], d["mimeType"], d["url"]) for d in bill["billDocument"]] == [
        (f"{invoice.number}{suffix}", media_type, f"http://testserver{BILL}/{invoice.id}/{route}")
        for route, media_type, suffix in DOCUMENTS
    ]
    assert {d["@type"] for d in bill["billDocument"]} == {"Attachment"}


@pytest.mark.parametrize(("route", "media_type", "suffix"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_download_serves_the_same_stored_bytes_every_time(client, invoice, route, media_type, suffix):
    first = client.get(f"{BILL}/{invoice.id}/{route}")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].split(";")[0] == media_type
    assert first.headers["content-disposition"] == f'attachment; filename="{invoice.number}{suffix}"'
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()}"'
    content = first.content
    if media_type == "application/pdf":
        assert content.startswith(b"%PDF")
        assert invoice.number in PdfReader(io.BytesIO(content)).pages[0].extract_text()
    else:
        assert invoice.number.encode() in content
        etree.fromstring(content)  # well-formed XML
    if route == "document.facturx.pdf":
        assert etree.fromstring(facturx.embedded_xml(content)).tag.endswith("CrossIndustryInvoice")

    again = client.get(f"{BILL}/{invoice.id}/{route}")
    assert again.status_code == 200
    assert again.content == content and again.headers["etag"] == first.headers["etag"]

    cached = client.get(f"{BILL}/{invoice.id}/{route}", headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""


def test_a_reader_may_download(client, invoice, uow):
    with uow() as u:
        key = create_api_key(u, "dashboard", "reader")
    response = client.get(f"{BILL}/{invoice.id}/document.pdf", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    anonymous = client.get(f"{BILL}/{invoice.id}/document.pdf", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_unknown_bill_or_format_is_not_found(client, invoice):
    missing = client.get(f"{BILL}/01900000-0000-7000-8000-000000000000/document.pdf")
    assert missing.status_code == 404 and "customerBill" in missing.json()["message"]
    unknown = client.get(f"{BILL}/{invoice.id}/document.docx")
    assert unknown.status_code == 404 and "document.docx" in unknown.json()["message"]


def test_without_a_seller_profile_the_download_is_a_conflict(client, engine, uow, clock):
    invoice = billed_month(engine, uow, clock)  # no seller profile: no legal invoice document can be written
    response = client.get(f"{BILL}/{invoice.id}/document.ubl.xml")
    assert response.status_code == 409, response.text


def test_a_payment_does_not_change_the_document_already_kept(client, invoice, engine, uow):
    before = client.get(f"{BILL}/{invoice.id}/document.ubl.xml").content
    with uow() as u:
        billing.apply_payment(u, invoice.id, Money.of("10.00", "EUR"))
    assert client.get(f"{BILL}/{invoice.id}/document.ubl.xml").content == before
    # what a fresh rendering would say instead: 10.00 prepaid (BT-113)
    assert export.render(engine, invoice.id, "ubl") != before
