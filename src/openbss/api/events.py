"""Install the events sink: how each resource an event can name is read and shaped (the API's own shapes).

Events carry the resource exactly as the API shows it, so the sink uses each domain's `get_*` service
function and `*_out` shaper. Entry points (app factory, CLI, worker, tests) call `install(settings)` once.
"""

from __future__ import annotations

import uuid

from openbss.billing import service as billing
from openbss.billing.schemas import BILL_BASE, customer_bill_out
from openbss.catalog import service as catalog
from openbss.catalog.schemas import (
    CATALOG_BASE,
    catalog_out,
    category_out,
    offering_out,
    price_out,
    specification_out,
)
from openbss.charging import balances
from openbss.charging.schemas import BALANCE_BASE, adjust_out, bucket_out, topup_out
from openbss.config import Settings
from openbss.db.uow import UnitOfWork
from openbss.events import service as events
from openbss.events.model import api_of
from openbss.mediation import service as mediation
from openbss.mediation.schemas import USAGE_BASE, usage_out
from openbss.ordering import service as ordering
from openbss.ordering.schemas import INVENTORY_BASE, ORDERING_BASE, order_out, product_out
from openbss.party import service as party
from openbss.party.model import Party
from openbss.party.schemas import ACCOUNT_BASE, CUSTOMER_BASE, PARTY_BASE, billing_account_out, customer_out, party_out
from openbss.payments import method_service, refunds
from openbss.payments import service as payments
from openbss.payments.schemas import METHOD_BASE, PAYMENT_BASE, method_out, payment_out, refund_out


# TMF632 serves its two kinds of party at their own paths; an event names the one its id is.
def get_individual(uow: UnitOfWork, party_id: uuid.UUID) -> Party:
    return party.get_party(uow, party_id, "Individual")


def get_organization(uow: UnitOfWork, party_id: uuid.UUID) -> Party:
    return party.get_party(uow, party_id, "Organization")


# (API base path, resource type as the API names it, get(uow, id), shape(obj, base_url))
RESOURCES = [
    (CATALOG_BASE, "productOffering", catalog.get_offering, offering_out),
    (CATALOG_BASE, "productOfferingPrice", catalog.get_price, price_out),
    (CATALOG_BASE, "productSpecification", catalog.get_specification, specification_out),
    (CATALOG_BASE, "category", catalog.get_category, category_out),
    (CATALOG_BASE, "catalog", catalog.get_catalog, catalog_out),
    (PARTY_BASE, "individual", get_individual, party_out),
    (PARTY_BASE, "organization", get_organization, party_out),
    (CUSTOMER_BASE, "customer", party.get_customer, customer_out),
    (ACCOUNT_BASE, "billingAccount", party.get_billing_account_view, billing_account_out),
    (ORDERING_BASE, "productOrder", ordering.get_order, order_out),
    (INVENTORY_BASE, "product", ordering.get_product_view, product_out),
    (USAGE_BASE, "usage", mediation.get_usage, usage_out),
    (BILL_BASE, "customerBill", billing.get_invoice, customer_bill_out),
    (PAYMENT_BASE, "payment", payments.get_payment, payment_out),
    (PAYMENT_BASE, "refund", refunds.get_refund, refund_out),
    (METHOD_BASE, "paymentMethod", method_service.get_method, method_out),
    (BALANCE_BASE, "bucket", balances.get_bucket_view, bucket_out),
    (BALANCE_BASE, "topupBalance", balances.get_topup, topup_out),
    (BALANCE_BASE, "adjustBalance", balances.get_adjustment, adjust_out),
]


def install(settings: Settings) -> None:
    for base, resource_type, get, shape in RESOURCES:
        events.register_resource(api_of(base), resource_type, get, shape)
    events.install_sink(settings.base_url)
