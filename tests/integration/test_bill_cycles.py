"""Bill cycles on real accounts: set through TMF666 billStructure.cycleSpecification, a bill run passing by an
account that is not due, grace days holding the run back, and the rule for changing an invoiced account's cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from openbss.billing import service as billing
from openbss.billing.batch import bill_accounts
from openbss.core.errors import Conflict
from openbss.party import service as party
from tests import factories
from tests.tmf_spec import spec_errors

ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def customer(client):
    return client.post("/tmf-api/customerManagement/v4/customer", json={"name": "Acme"}).json()


def _post(client, customer, **extra):
    body = {"name": "Acme HQ", "relatedParty": [{"id": customer["id"], "@referredType": "Customer"}],
            "currency": "EUR", "country": "DE", **extra}
    return client.post(ACCOUNTS, json=body)


def test_a_cycle_is_set_and_shown_as_a_tmf666_cycle_specification(client, customer, uow):
    spec = {"frequency": "quarterly", "alignment": "anniversary", "anchorMonth": "2026-02", "graceDays": 3}
    r = _post(client, customer, billCycleDay=15, billStructure={"cycleSpecification": spec})
    assert r.status_code == 201, r.text
    acc = r.json()
    assert spec_errors("TMF666-Account-v4.0.0", "BillingAccount", acc) == []
    assert acc["billStructure"]["cycleSpecification"] == {
        "@type": "BillingCycleSpecification", "isRef": False, "name": "quarterly, anniversary, day 15", "frequency": "quarterly",
        "billingPeriod": "quarter", "billingDateShift": 14, "alignment": "anniversary", "anchorMonth": "2026-02",
        "graceDays": 3}
    with uow() as u:
        a = party.get_billing_account(u, party.list_billing_accounts(u, {"number": acc["accountNumber"]}, 0, 1)[0][0].id)
    assert (a.bill_frequency, a.cycle_alignment, a.cycle_anchor, a.grace_days) == (
        "quarter", "anniversary", date(2026, 2, 1), 3)

    # Without one: the monthly calendar cycle every account had, anchored in the month it was created in.
    plain = _post(client, customer, name="Plain").json()["billStructure"]["cycleSpecification"]
    assert (plain["frequency"], plain["alignment"], plain["graceDays"], "anchorMonth" in plain) == (
        "monthly", "calendar", 0, False)

    # A pending account's cycle may change freely (merge-patch).
    patched = client.patch(f"{ACCOUNTS}/{acc['id']}", json={"billStructure": {"cycleSpecification": {
        "billingPeriod": "year", "graceDays": 0}}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["billStructure"]["cycleSpecification"]["frequency"] == "yearly"


@pytest.mark.parametrize(("spec", "text"), [
    ({"frequency": "fortnightly"}, "billStructure.cycleSpecification.frequency='fortnightly' must be one of month"),
    ({"alignment": "lunar"}, "billStructure.cycleSpecification.alignment='lunar' must be one of calendar"),
    ({"anchorMonth": "2026-13"}, "billStructure.cycleSpecification.anchorMonth='2026-13' must be a month"),
    ({"graceDays": 90}, "billStructure.cycleSpecification.graceDays=90 must be a number of days from 0 to 60"),
    ({"billingDateShift": 30}, "billStructure.cycleSpecification.billingDateShift=31 must be a day of the month"),
    ({"frequency": "monthly", "billingPeriod": "year"}, "billingPeriod='year' contradicts frequency 'monthly'"),
])
def test_bad_cycle_values_are_refused_with_the_field_named(client, customer, spec, text):
    r = _post(client, customer, billStructure={"cycleSpecification": spec})
    assert r.status_code == 422, r.text
    assert text in r.json()["message"]


def test_a_quarterly_account_is_not_due_between_its_quarters_and_waits_for_its_grace(uow, clock):
    with uow() as u:
        acc = factories.account(u, bill_frequency="quarter", grace_days=2)  # calendar quarters, BCD 1, Berlin
        factories.subscribe(u, acc.id, factories.offering(u).id, "+4915100000001")
    clock.move_to(utc(2027, 2, 1, 12))
    with uow() as u:
        assert billing._bill(u, acc.id, "2026-11") == ("notDue", None)  # Nov and Dec start no quarter
        assert [o.status for o in bill_accounts(u, [acc.id], "2026-12")] == ["notDue"]
    # The quarter [2026-10-01, 2027-01-01) closed at 2026-12-31T23:00Z; two grace days run to 2027-01-02T23:00Z.
    clock.move_to(utc(2027, 1, 2, 22))
    with uow() as u, pytest.raises(Conflict, match="2 grace days for late usage run until 2027-01-02T23:00"):
        billing.bill_account(u, acc.id, "2026-10")
    with uow() as u:
        outcome, = bill_accounts(u, [acc.id], "2026-10")
    assert outcome.status == "error" and "cannot be billed before then" in outcome.error
    clock.move_to(utc(2027, 1, 2, 23))
    with uow() as u:
        inv = billing.bill_account(u, acc.id, "2026-10")
    assert (inv.period_start, inv.period_end) == (date(2026, 10, 1), date(2027, 1, 1))


def test_an_invoiced_accounts_cycle_changes_only_where_its_invoiced_periods_end(uow, clock):
    clock.move_to(utc(2026, 9, 30, 22))
    with uow() as u:
        acc = factories.account(u)  # monthly, BCD 1, created in October (Berlin)
        factories.subscribe(u, acc.id, factories.offering(u).id, "+4915100000002")
    clock.move_to(utc(2026, 11, 1, 2))
    with uow() as u:
        billing.bill_account(u, acc.id, "2026-10")  # invoiced up to 2026-11-01
    with uow() as u, pytest.raises(Conflict, match="invoiced up to 2026-11-01, and the new cycle has no period "
                                                   "starting then"):
        party.update_billing_account(u, acc.id, {"bill_frequency": "quarter"})  # calendar quarters: Jan, Apr, ...
    with uow() as u:
        changed = party.update_billing_account(u, acc.id, {"bill_frequency": "quarter",
                                                           "cycle_alignment": "anniversary",
                                                           "cycle_anchor": date(2026, 11, 1)})
        assert (changed.bill_frequency, changed.cycle_anchor) == ("quarter", date(2026, 11, 1))
        party.update_billing_account(u, acc.id, {"grace_days": 5})  # grace is no cycle change: always allowed
    clock.move_to(utc(2027, 2, 10))
    with uow() as u:
        assert billing._bill(u, acc.id, "2026-12")[0] == "notDue"
        quarter = billing.bill_account(u, acc.id, "2026-11")
    assert (quarter.period_start, quarter.period_end) == (date(2026, 11, 1), date(2027, 2, 1))
