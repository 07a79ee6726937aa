"""TMF629 Customer and TMF666 BillingAccount request and response shapes.

Fields TMF leaves to extension (currency, country, bill-cycle day, time zone of a billing account) are
plain attributes on the resource, as TMF630 allows for @type extensions.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openbss.api.tmf import RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.core.money import Money
from openbss.party.model import BillingAccount, Customer
from openbss.party.service import NewBillingAccount, NewCustomer

CUSTOMER_BASE = "/tmf-api/customerManagement/v4"
ACCOUNT_BASE = "/tmf-api/accountManagement/v4"


class ContactMediumIn(TmfIn):
    medium_type: str = Field(alias="mediumType")
    characteristic: dict[str, Any] = Field(default_factory=dict)


class CustomerCreate(TmfIn):
    name: str
    status: str = "active"
    contact_medium: list[ContactMediumIn] = Field(default_factory=list, alias="contactMedium")

    def command(self) -> NewCustomer:
        email = next(
            (m.characteristic.get("emailAddress") for m in self.contact_medium if m.medium_type == "email"), None
        )
        return NewCustomer(name=self.name, email=email, status=self.status)


class RelatedPartyIn(RefIn):
    role: str | None = None


class BillingAccountCreate(TmfIn):
    name: str
    related_party: list[RelatedPartyIn] = Field(alias="relatedParty", description="the owning customer")
    currency: str = Field(description="ISO 4217 currency the account is billed in")
    country: str = Field(description="ISO 3166-1 alpha-2 country, decides the tax rules")
    bill_cycle_day: int = Field(1, alias="billCycleDay", description="day of month 1-28 the bill cycle starts")
    time_zone: str = Field("UTC", alias="timeZone", description="IANA zone the billing periods are cut in")

    def command(self) -> NewBillingAccount:
        owners = [p for p in self.related_party if (p.referred_type or "Customer") == "Customer"]
        if len(owners) != 1:
            raise InvalidValue("relatedParty", len(owners), "must name exactly one Customer")
        return NewBillingAccount(
            customer_id=parse_id(owners[0].id, "relatedParty.id"),
            name=self.name,
            currency=self.currency,
            country=self.country,
            bill_cycle_day=self.bill_cycle_day,
            time_zone=self.time_zone,
        )


def customer_out(c: Customer, base: str) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "href": href(base, CUSTOMER_BASE, "customer", c.id),
        "@type": "Customer",
        "name": c.name,
        "status": c.status,
        # The party playing the customer role; TMF632 parties arrive with issue 3, until then the customer
        # stands for its own party.
        "engagedParty": {"id": str(c.id), "name": c.name, "@referredType": "Individual"},
        "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": c.email}}] if c.email else [],
        "validFor": {"startDateTime": ts(c.created_at)},
    }


def billing_account_out(a: BillingAccount, base: str, receivable: Money | None = None) -> dict[str, Any]:
    """`receivable` is the account's AR balance from the ledger (what it owes; negative is a credit)."""
    return {
        "id": str(a.id),
        "href": href(base, ACCOUNT_BASE, "billingAccount", a.id),
        "@type": "BillingAccount",
        "name": a.name,
        "accountType": "billing",
        "state": a.state,
        "lastModified": ts(a.created_at),
        "relatedParty": [
            {**ref_out(base, CUSTOMER_BASE, "customer", a.customer_id, "Customer", a.customer_name), "role": "owner"}
        ],
        "accountNumber": a.number,
        "currency": a.currency,
        "country": a.country,
        "billCycleDay": a.bill_cycle_day,
        "timeZone": a.time_zone,
        "accountBalance": [
            {
                "balanceType": "receivable",
                "amount": money_out(receivable or Money.zero(a.currency)),
                "validFor": {"startDateTime": ts(a.created_at)},
            }
        ],
    }
