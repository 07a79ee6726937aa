"""Every resource the API returns validates against its definition in the official TM Forum v4 spec."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from openbss.billing import service as billing
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.tmf_spec import spec_errors

RESOURCES = [
    # (spec file, definition, list path)
    ("TMF620-ProductCatalog-v4.0.0", "ProductOffering", "/tmf-api/productCatalogManagement/v4/productOffering"),
    ("TMF620-ProductCatalog-v4.0.0", "ProductOfferingPrice",
     "/tmf-api/productCatalogManagement/v4/productOfferingPrice"),
    ("TMF620-ProductCatalog-v4.0.0", "ProductSpecification",
     "/tmf-api/productCatalogManagement/v4/productSpecification"),
    ("TMF620-ProductCatalog-v4.0.0", "Category", "/tmf-api/productCatalogManagement/v4/category"),
    ("TMF620-ProductCatalog-v4.0.0", "Catalog", "/tmf-api/productCatalogManagement/v4/catalog"),
    ("TMF632-Party-v4.0.0", "Individual", "/tmf-api/party/v4/individual"),
    ("TMF632-Party-v4.0.0", "Organization", "/tmf-api/party/v4/organization"),
    ("TMF629-Customer-v4.0.0", "Customer", "/tmf-api/customerManagement/v4/customer"),
    ("TMF666-Account-v4.0.0", "BillingAccount", "/tmf-api/accountManagement/v4/billingAccount"),
    ("TMF622-ProductOrder-v4.0.0", "ProductOrder", "/tmf-api/productOrderingManagement/v4/productOrder"),
    ("TMF637-ProductInventory-v4.0.0", "Product", "/tmf-api/productInventory/v4/product"),
    ("TMF635-UsageManagement-v4.0.0", "Usage", "/tmf-api/usageManagement/v4/usage"),
    ("TMF678-CustomerBill-v4.0.0", "CustomerBill", "/tmf-api/customerBillManagement/v4/customerBill"),
    ("TMF678-CustomerBill-v4.0.0", "AppliedCustomerBillingRate",
     "/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate"),
    ("TMF678-CustomerBill-v4.0.0", "CustomerBillOnDemand", "/tmf-api/customerBillManagement/v4/customerBillOnDemand"),
    ("TMF676-Payment-v4.0.0", "Payment", "/tmf-api/paymentManagement/v4/payment"),
]


@pytest.fixture
def billed_and_paid(client, uow, clock):
    """One customer through a whole month, and a catalog structure: the data every resource type is read from."""
    catalog = "/tmf-api/productCatalogManagement/v4"
    for path, body in [
        ("/productSpecification", {"name": "Mobile line", "lifecycleStatus": "active", "productSpecCharacteristic": [
            {"name": "msisdn", "valueType": "string", "configurable": True}]}),
        ("/category", {"name": "Mobile", "lifecycleStatus": "active"}),
        ("/catalog", {"name": "Consumer", "lifecycleStatus": "active"}),
    ]:
        assert client.post(catalog + path, json=body).status_code == 201
    assert client.post("/tmf-api/party/v4/organization",
                       json={"name": "Acme GmbH", "tradingName": "Acme", "isLegalEntity": True}).status_code == 201
    with uow() as u:
        offer = factories.offering(u)
        acc = factories.account(u)
        factories.subscribe(u, acc.id, offer.id, "+4915100000001", datetime(2026, 10, 10, tzinfo=UTC))
        clock.move_to(datetime(2026, 10, 12, 9, tzinfo=UTC))  # the call is reported after it happened
        mediation.ingest(u, [UsageRecord("switch-1", "r1", "+4915100000001", "voice",
                                         datetime(2026, 10, 12, 8, tzinfo=UTC), Decimal(300))])
    clock.move_to(datetime(2026, 11, 1, 2, tzinfo=UTC))
    with uow() as u:
        invoice = billing.bill_account(u, acc.id, "2026-10")
    r = client.post("/tmf-api/paymentManagement/v4/payment", json={
        "account": {"id": str(acc.id)}, "paymentMethod": {"@type": "bankTransfer"},
        "totalAmount": {"unit": "EUR", "value": "10.00"}, "paymentItem": [{"item": {"id": str(invoice.id)}}]})
    assert r.status_code == 201, r.text
    for account in (str(acc.id), "A0815"):  # waiting (a live subscription) and rejected (no such account)
        r = client.post("/tmf-api/customerBillManagement/v4/customerBillOnDemand",
                        json={"billingAccount": {"id": account}})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("spec_file, definition, path", RESOURCES, ids=[r[1] for r in RESOURCES])
def test_responses_validate_against_the_v4_spec(client, billed_and_paid, spec_file, definition, path):
    listed = client.get(path)
    assert listed.status_code == 200, listed.text
    assert listed.json(), f"no {definition} to validate"
    for item in listed.json():
        assert spec_errors(spec_file, definition, item) == []
        one = client.get(item["href"].replace("http://testserver", ""))
        assert one.status_code == 200 and one.json() == item
