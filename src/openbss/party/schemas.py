"""TMF632 Party, TMF629 Customer and TMF666 Account request and response shapes.

Fields TMF leaves to extension (a billing account's currency, country, bill-cycle day, time zone, payment terms,
VAT id, "parent pays"; a customer's segment) are plain attributes on the resource, as TMF630 allows.

Request models serve both create and merge-patch: `changes(body)` turns the attributes a client sent into the
model's field names, and an explicit `null` clears an attribute (RFC 7386).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from openbss.api.tmf import MoneyIn, RefIn, TmfIn, href, money_out, ref_out, ts
from openbss.billing.periods import parse_period
from openbss.core.errors import InvalidValue
from openbss.core.ids import parse_id
from openbss.core.money import Money
from openbss.db.uow import UnitOfWork
from openbss.party import service
from openbss.party.model import (
    BillingAccount,
    Customer,
    Party,
    PartyRef,
    check_bill_cycle_day,
    check_bill_frequency,
    check_cycle_alignment,
    check_grace_days,
)
from openbss.party.service import AccountDocument, BillingAccountView, NewBillingAccount, NewCustomer

PARTY_BASE = "/tmf-api/party/v4"
CUSTOMER_BASE = "/tmf-api/customerManagement/v4"
ACCOUNT_BASE = "/tmf-api/accountManagement/v4"
PARTY_RESOURCE = {"Individual": "individual", "Organization": "organization"}
FREQUENCY_NAMES = {"month": "monthly", "quarter": "quarterly", "year": "yearly"}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def changes(body: BaseModel, lists: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Model field -> value for each attribute the client sent; a `null` list attribute clears it."""
    sent = body.model_dump(exclude_unset=True, exclude=set(body.model_extra or ()))
    return {k: [] if v is None and k in lists else v for k, v in sent.items()}


class TimePeriodIn(TmfIn):
    start: datetime | None = Field(None, alias="startDateTime")
    end: datetime | None = Field(None, alias="endDateTime")


class RelatedPartyIn(RefIn):
    role: str | None = None

    def out(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


# ---- TMF632 parties ------------------------------------------------------------------------------------------

class PartyIn(TmfIn):
    # TMF632 attributes openbss keeps without acting on them arrive as extras and are stored in `attributes`.
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    KEPT: ClassVar[frozenset[str]] = frozenset()

    status: str | None = None
    contact_medium: list[dict[str, Any]] | None = Field(None, alias="contactMedium")
    characteristic: list[dict[str, Any]] | None = Field(None, alias="partyCharacteristic")
    external_reference: list[dict[str, Any]] | None = Field(None, alias="externalReference")

    def changes(self, current: Party | None = None) -> dict[str, Any]:
        result = changes(self, frozenset({"contact_medium", "characteristic", "external_reference"}))
        kept = {k: v for k, v in (self.model_extra or {}).items() if k in self.KEPT}
        if kept:
            attributes = {**(current.attributes if current else {}), **kept}
            result["attributes"] = {k: v for k, v in attributes.items() if v is not None}
        return result


class IndividualIn(PartyIn):
    KEPT: ClassVar[frozenset[str]] = frozenset({
        "aristocraticTitle", "countryOfBirth", "deathDate", "familyNamePrefix", "formattedName", "gender",
        "generation", "legalName", "location", "maritalStatus", "nationality", "placeOfBirth", "preferredGivenName",
        "creditRating", "disability", "individualIdentification", "languageAbility", "otherName", "relatedParty",
        "skill", "taxExemptionCertificate",
    })
    given_name: str | None = Field(None, alias="givenName")
    family_name: str | None = Field(None, alias="familyName")
    middle_name: str | None = Field(None, alias="middleName")
    full_name: str | None = Field(None, alias="fullName")
    title: str | None = None
    birth_date: date | None = Field(None, alias="birthDate")


class OrganizationIn(PartyIn):
    KEPT: ClassVar[frozenset[str]] = frozenset({
        "isHeadOffice", "nameType", "creditRating", "existsDuring", "organizationChildRelationship",
        "organizationIdentification", "organizationParentRelationship", "otherName", "relatedParty",
        "taxExemptionCertificate",
    })
    name: str | None = None
    trading_name: str | None = Field(None, alias="tradingName")
    organization_type: str | None = Field(None, alias="organizationType")
    is_legal_entity: bool | None = Field(None, alias="isLegalEntity")


PARTY_IN = {"Individual": IndividualIn, "Organization": OrganizationIn}


def party_out(p: Party, base: str) -> dict[str, Any]:
    common = {
        "id": str(p.id),
        "href": href(base, PARTY_BASE, PARTY_RESOURCE[p.kind], p.id),
        "@type": p.kind,
        "status": p.status,
        "contactMedium": p.contact_medium,
        "partyCharacteristic": p.characteristic,
        "externalReference": p.external_reference,
        **p.attributes,
    }
    if p.kind == "Individual":
        named = {"givenName": p.given_name, "familyName": p.family_name, "middleName": p.middle_name,
                 "fullName": p.full_name or p.display_name, "title": p.title,
                 "birthDate": p.birth_date.isoformat() if p.birth_date else None}
    else:
        named = {"name": p.name, "tradingName": p.trading_name, "organizationType": p.organization_type,
                 "isLegalEntity": p.is_legal_entity}
    return _drop_none({**common, **named})


def party_ref_out(ref: PartyRef, base: str) -> dict[str, Any]:
    link = href(base, PARTY_BASE, PARTY_RESOURCE[ref.referred_type], ref.id) if ref.local else ref.href
    return _drop_none({"id": ref.id, "href": link, "name": ref.name, "@referredType": ref.referred_type})


# ---- TMF629 customers ----------------------------------------------------------------------------------------

class EngagedPartyIn(RefIn):
    referred_type: str = Field(alias="@referredType")


class CustomerIn(TmfIn):
    name: str | None = None
    status: str | None = None
    status_reason: str | None = Field(None, alias="statusReason")
    segment: str | None = Field(None, description="customer segment (catalog eligibility, reporting)")
    engaged_party: EngagedPartyIn | None = Field(None, alias="engagedParty")
    contact_medium: list[dict[str, Any]] | None = Field(None, alias="contactMedium")
    characteristic: list[dict[str, Any]] | None = None
    related_party: list[RelatedPartyIn] | None = Field(None, alias="relatedParty")
    valid_for: TimePeriodIn | None = Field(None, alias="validFor")

    def _party(self, uow: UnitOfWork) -> PartyRef | None:
        ep = self.engaged_party
        if ep is None:
            return None
        ref = service.resolve_party(uow, ep.id, ep.referred_type, "engagedParty")
        return ref if ref.local else PartyRef(ep.id, ep.referred_type, ep.name, ep.href)

    def command(self, uow: UnitOfWork) -> NewCustomer:
        return NewCustomer(
            name=self.name, status=self.status or "active", party=self._party(uow), status_reason=self.status_reason,
            segment=self.segment, contact_medium=self.contact_medium or [], characteristic=self.characteristic or [],
            related_party=[p.out() for p in self.related_party or []],
            valid_from=self.valid_for.start if self.valid_for else None,
            valid_to=self.valid_for.end if self.valid_for else None,
        )

    def changes(self, uow: UnitOfWork) -> dict[str, Any]:
        result = changes(self, frozenset({"contact_medium", "characteristic", "related_party"}))
        if "engaged_party" in result:
            if self.engaged_party is None:
                raise InvalidValue("engagedParty", None, "is required: a customer is the role of a party")
            result["party"] = self._party(uow)
            del result["engaged_party"]
        if self.related_party is not None:
            result["related_party"] = [p.out() for p in self.related_party]
        if "valid_for" in result:
            del result["valid_for"]
            period = self.valid_for or TimePeriodIn()
            result["valid_to"] = period.end
            if period.start is not None:
                result["valid_from"] = period.start
        return result


class CustomerCreate(CustomerIn):
    name: str


def customer_out(c: Customer, base: str) -> dict[str, Any]:
    return _drop_none({
        "id": str(c.id),
        "href": href(base, CUSTOMER_BASE, "customer", c.id),
        "@type": "Customer",
        "name": c.name,
        "status": c.status,
        "statusReason": c.status_reason,
        "segment": c.segment,
        "engagedParty": party_ref_out(c.party, base),
        "contactMedium": c.contact_medium,
        "characteristic": c.characteristic,
        "relatedParty": c.related_party,
        "validFor": _drop_none({"startDateTime": ts(c.valid_from), "endDateTime": ts(c.valid_to)}),
    })


# ---- TMF666 billing accounts ---------------------------------------------------------------------------------

class AccountRelationshipIn(TmfIn):
    relationship_type: str = Field(alias="relationshipType")
    account: RefIn


class CycleSpecificationIn(TmfIn):
    """TMF666 BillingCycleSpecification given by value in billStructure.cycleSpecification. `frequency` (monthly,
    quarterly, yearly; or month, quarter, year as `billingPeriod` spells them) and `billingDateShift` (the
    bill-cycle day - 1: days from the 1st of the month) are TMF's; `alignment`, `anchorMonth` and `graceDays` are
    openbss extensions, as TMF630 allows."""

    name: str | None = None  # free text; the response names the cycle itself
    frequency: str | None = None
    billing_period: str | None = Field(None, alias="billingPeriod")
    billing_date_shift: int | None = Field(None, alias="billingDateShift")
    alignment: str | None = Field(None, description="calendar (quarters from January) or anniversary")
    anchor_month: str | None = Field(None, alias="anchorMonth", description="YYYY-MM anniversary cycles count from")
    grace_days: int | None = Field(None, alias="graceDays", description="days after a period closes for late usage")

    def values(self, bill_cycle_day: int | None) -> dict[str, Any]:
        """The account fields given, checked, with the field named as the client sent it."""
        f = "billStructure.cycleSpecification"
        result: dict[str, Any] = {}
        sent = self.model_fields_set
        given = {check_bill_frequency(v, f"{f}.{n}")
                 for n, v in (("frequency", self.frequency), ("billingPeriod", self.billing_period)) if v is not None}
        if len(given) > 1:
            raise InvalidValue(f"{f}.billingPeriod", self.billing_period, f"contradicts frequency {self.frequency!r}")
        if given:
            result["bill_frequency"] = given.pop()
        if self.billing_date_shift is not None:
            day = self.billing_date_shift + 1 if isinstance(self.billing_date_shift, int) else None
            check_bill_cycle_day(day, f"{f}.billingDateShift")
            if bill_cycle_day is not None and day != bill_cycle_day:
                raise InvalidValue(f"{f}.billingDateShift", self.billing_date_shift,
                                   f"contradicts billCycleDay {bill_cycle_day} (the shift is the day - 1)")
            result["bill_cycle_day"] = day
        if "alignment" in sent:
            result["cycle_alignment"] = check_cycle_alignment(self.alignment, f"{f}.alignment")
        if self.anchor_month is not None:
            year, month = parse_period(self.anchor_month, f"{f}.anchorMonth")
            result["cycle_anchor"] = date(year, month, 1)
        if "grace_days" in sent:
            result["grace_days"] = check_grace_days(self.grace_days, f"{f}.graceDays")
        return result


class BillStructureIn(TmfIn):
    cycle_specification: CycleSpecificationIn | None = Field(None, alias="cycleSpecification")

    def values(self, bill_cycle_day: int | None) -> dict[str, Any]:
        return self.cycle_specification.values(bill_cycle_day) if self.cycle_specification else {}


def cycle_specification_out(a: BillingAccount) -> dict[str, Any]:
    """The account's bill cycle as a TMF666 BillingCycleSpecification (by value)."""
    anniversary = a.cycle_alignment == "anniversary"
    return _drop_none({
        "@type": "BillingCycleSpecification",
        "isRef": False,  # BillingCycleSpecificationRefOrValue requires it: the cycle is given by value
        "name": f"{FREQUENCY_NAMES[a.bill_frequency]}, {a.cycle_alignment}, day {a.bill_cycle_day}",
        "frequency": FREQUENCY_NAMES[a.bill_frequency],
        "billingPeriod": a.bill_frequency,
        "billingDateShift": a.bill_cycle_day - 1,
        "alignment": a.cycle_alignment,
        "anchorMonth": f"{a.cycle_anchor:%Y-%m}" if anniversary and a.cycle_anchor else None,
        "graceDays": a.grace_days,
    })


class BillingAccountIn(TmfIn):
    name: str | None = None
    description: str | None = None
    state: str | None = None
    related_party: list[RelatedPartyIn] | None = Field(None, alias="relatedParty",
                                                       description="the owning Customer, and other parties")
    currency: str | None = Field(None, description="ISO 4217 currency the account is billed in")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 country, decides the tax rules")
    bill_cycle_day: int | None = Field(None, alias="billCycleDay", description="day of month 1-28 the cycle starts")
    time_zone: str | None = Field(None, alias="timeZone", description="IANA zone the billing periods are cut in")
    payment_terms_days: int | None = Field(None, alias="paymentTermsDays",
                                           description="days from invoice date to due date (default 14)")
    credit_limit: MoneyIn | None = Field(None, alias="creditLimit")
    vat_id: str | None = Field(None, alias="vatId", description="EU VAT identification number, e.g. DE136695976")
    tax_exemption: list[dict[str, Any]] | None = Field(None, alias="taxExemption")
    account_relationship: list[AccountRelationshipIn] | None = Field(None, alias="accountRelationship")
    bill_to_parent: bool | None = Field(None, alias="billToParent",
                                        description="'parent pays': charges go on the parent account's invoice")
    bill_structure: BillStructureIn | None = Field(None, alias="billStructure",
                                                   description="cycleSpecification: frequency, alignment, grace")

    def _owners(self, uow: UnitOfWork) -> tuple[Any, list[dict[str, Any]]]:
        """The owning customer's id, and the other related parties as they will be shown."""
        if not self.related_party:
            raise InvalidValue("relatedParty", [], "must name the account's owner")
        customers = [p for p in self.related_party if (p.referred_type or "Customer") == "Customer"]
        if len(customers) > 1:
            raise InvalidValue("relatedParty", len(customers), "must name at most one Customer")
        others = []
        for p in self.related_party:
            if (p.referred_type or "Customer") != "Customer":
                ref = service.resolve_party(uow, p.id, p.referred_type, "relatedParty")
                others.append(_drop_none({**p.out(), "name": ref.name or p.name}))
        return (parse_id(customers[0].id, "relatedParty.id") if customers else None), others

    def _parent(self) -> tuple[Any, bool]:
        """(parent id or None, whether accountRelationship was sent)."""
        if self.account_relationship is None:
            return None, False
        parents = []
        for i, r in enumerate(self.account_relationship):
            if r.relationship_type != "parent":
                raise InvalidValue(f"accountRelationship[{i}].relationshipType", r.relationship_type,
                                   "must be 'parent' (children name their parent; a parent lists them by itself)")
            parents.append(parse_id(r.account.id, f"accountRelationship[{i}].account.id"))
        if len(parents) > 1:
            raise InvalidValue("accountRelationship", len(parents), "may name one parent")
        return (parents[0] if parents else None), True

    def command(self, uow: UnitOfWork) -> NewBillingAccount:
        customer_id, others = self._owners(uow)
        parent_id, _ = self._parent()
        cycle = {"bill_cycle_day": 1 if self.bill_cycle_day is None else self.bill_cycle_day,
                 **(self.bill_structure.values(self.bill_cycle_day) if self.bill_structure else {})}
        return NewBillingAccount(
            customer_id=customer_id, name=self.name, currency=self.currency, country=self.country,
            time_zone=self.time_zone or "UTC",
            payment_terms_days=service.DEFAULT_PAYMENT_TERMS_DAYS if self.payment_terms_days is None
            else self.payment_terms_days,
            credit_limit=self.credit_limit.money("creditLimit") if self.credit_limit else None,
            vat_id=self.vat_id, tax_exemption=self.tax_exemption or [], parent_id=parent_id,
            bill_to_parent=bool(self.bill_to_parent), related_party=others, description=self.description, **cycle,
        )

    def changes(self, uow: UnitOfWork) -> dict[str, Any]:
        result = changes(self, frozenset({"tax_exemption"}))
        for required in ("bill_cycle_day", "time_zone", "payment_terms_days", "name", "state"):
            if required in result and result[required] is None:
                raise InvalidValue(type(self).model_fields[required].alias or required, None, "cannot be removed")
        if "related_party" in result:
            customer_id, others = self._owners(uow)
            result.update(customer_id=customer_id, related_party=others)
        if "credit_limit" in result:
            result["credit_limit"] = self.credit_limit.money("creditLimit") if self.credit_limit else None
        if "account_relationship" in result:
            del result["account_relationship"]
            result["parent_id"], _ = self._parent()
        if "bill_to_parent" in result:
            result["bill_to_parent"] = bool(self.bill_to_parent)
        if "bill_structure" in result:
            del result["bill_structure"]
            result.update(self.bill_structure.values(self.bill_cycle_day) if self.bill_structure else {})
        return result


class BillingAccountCreate(BillingAccountIn):
    name: str
    related_party: list[RelatedPartyIn] = Field(alias="relatedParty", description="the owning Customer, and others")


def _account_ref(base: str, a: BillingAccount) -> dict[str, Any]:
    return ref_out(base, ACCOUNT_BASE, "billingAccount", a.id, "BillingAccount", a.name)


def billing_account_out(v: BillingAccountView, base: str) -> dict[str, Any]:
    """`v.receivable` is the account's AR balance from the ledger (what it owes; negative is a credit)."""
    a, receivable, parent, children = v.account, v.receivable, v.parent, v.children
    owner = ([{**ref_out(base, CUSTOMER_BASE, "customer", a.customer_id, "Customer", a.customer_name),
               "role": "owner"}] if a.customer_id else [])
    relationships = [
        {"relationshipType": "child", "account": _account_ref(base, c), "validFor": {"startDateTime": ts(c.parent_since)}}
        for c in children
    ]
    if parent is not None:
        relationships.insert(0, {"relationshipType": "parent", "account": _account_ref(base, parent),
                                 "validFor": {"startDateTime": ts(a.parent_since)}})
    # A pending account has no currency yet, so no balance to show.
    balance = None if a.currency is None else [{
        "balanceType": "receivable",
        "amount": money_out(receivable or Money.zero(a.currency)),
        "validFor": {"startDateTime": ts(a.created_at)},
    }]
    return _drop_none({
        "id": str(a.id),
        "href": href(base, ACCOUNT_BASE, "billingAccount", a.id),
        "@type": "BillingAccount",
        "name": a.name,
        "description": a.description,
        "accountType": "billing",
        "state": a.state,
        "lastModified": ts(a.updated_at or a.created_at),
        "relatedParty": owner + a.related_party,
        "accountNumber": a.number,
        "currency": a.currency,
        "country": a.country,
        "billCycleDay": a.bill_cycle_day,
        "timeZone": a.time_zone,
        "paymentTermsDays": a.payment_terms_days,
        "creditLimit": money_out(a.credit_limit),
        "vatId": a.vat_id,
        "taxExemption": a.tax_exemption or None,
        "accountRelationship": relationships or None,
        "billToParent": a.bill_to_parent,
        "billStructure": {"cycleSpecification": cycle_specification_out(a)},
        "accountBalance": balance,
    })


# ---- other TMF666 resources ----------------------------------------------------------------------------------

# resource path -> (@type, attributes the spec requires besides name)
DOCUMENT_KINDS = {
    "partyAccount": ("PartyAccount", ("relatedParty",)),
    "settlementAccount": ("SettlementAccount", ("relatedParty",)),
    "financialAccount": ("FinancialAccount", ()),
    "billingCycleSpecification": ("BillingCycleSpecification", ()),
    "billFormat": ("BillFormat", ()),
    "billPresentationMedia": ("BillPresentationMedia", ()),
}
_SERVER_SET = {"id", "href", "@type", "lastModified"}


class DocumentIn(TmfIn):
    """Any TMF666 resource openbss keeps as sent: every attribute the client sends is stored and returned."""

    model_config = ConfigDict(extra="allow")
    name: str

    def body(self, kind: str) -> dict[str, Any]:
        return document_body(kind, self.model_dump(by_alias=True))


def document_body(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """What is stored of a TMF666 resource: everything but the attributes the server sets."""
    body = {k: v for k, v in raw.items() if k not in _SERVER_SET}
    for required in DOCUMENT_KINDS[kind][1]:
        if not body.get(required):
            raise InvalidValue(required, body.get(required), "is required")
    return body


def document_out(d: AccountDocument, base: str) -> dict[str, Any]:
    type_ = DOCUMENT_KINDS[d.kind][0]
    extra = {"lastModified": ts(d.updated_at)} if d.kind.endswith("Account") else {}
    return {**d.body, "id": str(d.id), "href": href(base, ACCOUNT_BASE, d.kind, d.id), "@type": type_, **extra}
