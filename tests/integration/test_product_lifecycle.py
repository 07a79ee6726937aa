"""The subscription lifecycle on TMF637 products: trial, upgrade / downgrade, suspend / resume, cancellation now
or at the end of the term with an early-termination fee, auto-renewal. Each change is a dated product event
exactly as billing will read it, and an audit record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from openbss.audit.service import trail
from openbss.ordering import service as ordering
from tests import factories
from tests.tmf_spec import spec_errors

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
PRODUCTS = "/tmf-api/productInventory/v4/product"
MERGE = {"Content-Type": "application/merge-patch+json"}
MSISDN = "+491511234567"
T0 = datetime(2026, 10, 1, 9, tzinfo=UTC)  # the clock's start: 11:00 in Berlin
FAR = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def shop(uow):
    with uow() as u:
        return factories.account(u), factories.offering(u), factories.offering(u, name="Mobile L", monthly="45.00")


def order(client, account_id, offering_id, **extra) -> dict:
    item = {"id": "1", "action": "add", "productOffering": {"id": str(offering_id)},
            "product": {"productCharacteristic": [{"name": "serviceId", "value": MSISDN}]}, **extra}
    r = client.post(ORDERS, json={"billingAccount": {"id": str(account_id)}, "productOrderItem": [item]})
    assert r.status_code == 201, r.text
    return client.get(f"{PRODUCTS}/{r.json()['productOrderItem'][0]['product']['id']}").json()


def patch(client, product_id, body, status=200) -> dict:
    r = client.patch(f"{PRODUCTS}/{product_id}", json=body, headers=MERGE)
    assert r.status_code == status, r.text
    return r.json()


def product_id(p: dict) -> uuid.UUID:
    return uuid.UUID(p["id"])


def events(uow, account_id, until=FAR):
    with uow() as u:
        return [(e.kind, e.at, e.details) for e in ordering.product_events(u, account_id, until)]


TERM_24 = {"itemTerm": [{"duration": {"amount": 24, "units": "month"}, "autoRenewal": False}],
           "earlyTerminationFee": {"unit": "EUR", "value": "150.00"}}


def test_a_trial_then_the_paid_term(client, shop, uow, clock):
    account, offer, _ = shop
    product = order(client, account.id, offer.id, trialPeriod={"amount": 14, "units": "day"}, **TERM_24)
    assert spec_errors("TMF637-ProductInventory-v4.0.0", "Product", product) == []
    # 14 local days from 1 Oct 11:00 CEST: 15 Oct 11:00 CEST; the 24-month term starts there, after the trial
    assert product["trialEndDate"] == "2026-10-15T09:00:00Z"
    assert product["productTerm"] == [{
        "name": "contract", "duration": {"amount": 24, "units": "month"},
        "validFor": {"startDateTime": "2026-10-15T09:00:00Z", "endDateTime": "2028-10-15T09:00:00Z"},
        "autoRenewal": False, "earlyTerminationFee": {"unit": "EUR", "value": 150.0}}]
    trial_end = datetime(2026, 10, 15, 9, tzinfo=UTC)
    with uow() as u:
        assert ordering.convert_due_trials(u, datetime(2026, 10, 15, 8, 59, tzinfo=UTC)) == []
        (converted,) = ordering.convert_due_trials(u, datetime(2026, 10, 16, tzinfo=UTC))
        assert ordering.convert_due_trials(u, datetime(2026, 10, 17, tzinfo=UTC)) == []  # once only
    assert str(converted.id) == product["id"]
    term = {"termMonths": 24, "termStartAt": "2026-10-15T09:00:00Z", "termEndAt": "2028-10-15T09:00:00Z",
            "autoRenew": False, "earlyTerminationFee": {"unit": "EUR", "value": "150.000000"}}
    assert events(uow, account.id) == [
        ("trial_started", T0, {"orderId": client.get(ORDERS).json()[0]["id"], "serviceId": MSISDN, "trialDays": 14,
                               "trialEndAt": "2026-10-15T09:00:00Z"}),
        ("trial_converted", trial_end, term),
    ]


def test_upgrade_on_day_10_and_downgrade_keep_the_product(client, shop, uow, clock):
    account, small, large = shop
    product = order(client, account.id, small.id)
    day10 = datetime(2026, 10, 10, 9, tzinfo=UTC)
    clock.move_to(day10)
    up = patch(client, product["id"], {"productOffering": {"id": str(large.id)}})
    assert (up["id"], up["productCharacteristic"], up["status"]) == (
        product["id"], product["productCharacteristic"], "active")
    assert up["productOffering"]["id"] == str(large.id)
    assert up["productPrice"][0]["price"]["dutyFreeAmount"] == {"unit": "EUR", "value": 45.0}
    day20 = datetime(2026, 10, 20, 9, tzinfo=UTC)
    clock.move_to(day20)
    with uow() as u:
        down = ordering.change_offering(u, product_id(product), small.id)
    assert down.offering_id == small.id
    with uow() as u:
        raw = ordering.product_events(u, account.id, FAR)
    assert [(e.kind, e.at, e.from_offering_id, e.offering_id) for e in raw] == [
        ("activated", T0, None, small.id),
        ("upgraded", day10, small.id, large.id),
        ("downgraded", day20, large.id, small.id),
    ]
    assert raw[1].details == {"fromRecurring": {"unit": "EUR", "value": "30.000000"},
                              "toRecurring": {"unit": "EUR", "value": "45.000000"}}
    with uow() as u:
        assert [e["action"] for e in trail(u, product_id(product))] == [
            "product.created", "product.upgraded", "product.downgraded"]
    # events up to a date: billing asks for what happened before its period ends
    assert [k for k, _, _ in events(uow, account.id, until=day20)] == ["activated", "upgraded"]


@pytest.mark.parametrize("charge", [False, True])
def test_suspend_and_resume(client, shop, uow, clock, charge):
    account, offer, _ = shop
    product = order(client, account.id, offer.id)
    clock.move_to(datetime(2026, 10, 5, tzinfo=UTC))
    body = {"status": "suspended", "statusReason": "lost phone"} | ({"chargeDuringSuspension": True} if charge else {})
    assert patch(client, product["id"], body)["status"] == "suspended"
    r = patch(client, product["id"], {"status": "suspended"}, status=409)
    assert r["message"] == f"product {product['id']} is suspended; it cannot become suspended"
    clock.move_to(datetime(2026, 10, 12, tzinfo=UTC))
    assert patch(client, product["id"], {"status": "active"})["status"] == "active"
    assert events(uow, account.id)[1:] == [
        ("suspended", datetime(2026, 10, 5, tzinfo=UTC), {"chargeDuringSuspension": charge, "reason": "lost phone"}),
        ("resumed", datetime(2026, 10, 12, tzinfo=UTC),
         {"suspendedAt": "2026-10-05T00:00:00Z", "chargeDuringSuspension": charge}),
    ]
    # resuming an active product is a clash with its state, named
    r = patch(client, product["id"], {"status": "active"}, status=409)
    assert r["message"] == f"product {product['id']} is active; only a suspended product can be resumed"


def test_cancel_before_the_term_ends_costs_the_fee(client, shop, uow, clock):
    account, offer, _ = shop
    product = order(client, account.id, offer.id, **TERM_24)
    cancelled_at = datetime(2027, 3, 15, 12, tzinfo=UTC)
    clock.move_to(cancelled_at)
    ended = patch(client, product["id"], {"status": "terminated", "statusReason": "moving abroad"})
    assert (ended["status"], ended["terminationDate"]) == ("terminated", "2027-03-15T12:00:00Z")
    assert events(uow, account.id)[-1] == ("cancelled", cancelled_at, {
        "when": "immediate", "reason": "moving abroad", "earlyTerminationFee": {"unit": "EUR", "value": "150.000000"},
        "termEndAt": "2028-10-01T09:00:00Z"})
    # a terminated product takes no further change
    r = patch(client, product["id"], {"productOffering": {"id": str(offer.id)}}, status=409)
    assert r["message"] == f"product {product['id']} is terminated; only an active product can change its offering"
    with uow() as u:
        assert ordering.find_active_product(u, MSISDN, datetime(2027, 3, 15, 11, 59, tzinfo=UTC)) is not None
        assert ordering.find_active_product(u, MSISDN, cancelled_at) is None


def test_cancel_at_the_end_of_the_term_is_free(client, shop, uow, clock):
    account, offer, _ = shop
    product = order(client, account.id, offer.id, **TERM_24)
    clock.move_to(datetime(2027, 3, 15, 12, tzinfo=UTC))
    pending = patch(client, product["id"], {"status": "pendingTerminate"})
    term_end = datetime(2028, 10, 1, 9, tzinfo=UTC)
    assert (pending["status"], pending["terminationDate"]) == ("pendingTerminate", "2028-10-01T09:00:00Z")
    # written now, effective at the term's end, so billing in advance sees where the product stops
    assert events(uow, account.id)[-1] == ("cancelled", term_end, {
        "when": "endOfTerm", "requestedAt": "2027-03-15T12:00:00Z", "termEndAt": "2028-10-01T09:00:00Z"})
    r = patch(client, product["id"], {"status": "terminated"}, status=409)
    assert r["message"] == f"product {product['id']} is pendingTerminate; it already ends at 2028-10-01T09:00:00Z"
    with uow() as u:
        assert ordering.terminate_due_products(u, datetime(2028, 10, 1, 8, tzinfo=UTC)) == []
        (done,) = ordering.terminate_due_products(u, term_end)
    assert (done.status, done.end_at) == ("terminated", term_end)
    with uow() as u:
        plain = factories.subscribe(u, account.id, offer.id, "+49151000")
    r = patch(client, str(plain.id), {"status": "pendingTerminate"}, status=409)
    assert r["message"] == f"product {plain.id} has no contract term; cancel it immediately instead"


def test_auto_renewal(client, shop, uow, clock):
    account, offer, _ = shop
    product = order(client, account.id, offer.id,
                    itemTerm=[{"duration": {"amount": 12, "units": "month"}, "autoRenewal": True}])
    first_end = datetime(2027, 10, 1, 9, tzinfo=UTC)
    second_end = datetime(2028, 10, 1, 9, tzinfo=UTC)
    with uow() as u:
        assert ordering.renew_due_terms(u, datetime(2027, 10, 1, 8, tzinfo=UTC)) == []
        (renewed,) = ordering.renew_due_terms(u, first_end)
        assert ordering.renew_due_terms(u, first_end) == []  # running twice renews once
    assert (renewed.term.start_at, renewed.term.end_at) == (first_end, second_end)
    assert events(uow, account.id)[-1] == ("renewed", first_end, {
        "termMonths": 12, "termStartAt": "2027-10-01T09:00:00Z", "termEndAt": "2028-10-01T09:00:00Z"})
    # a scheduler that was down for two terms catches up, one event per term
    with uow() as u:
        ordering.renew_due_terms(u, datetime(2029, 10, 2, tzinfo=UTC))
    assert [at for k, at, _ in events(uow, account.id) if k == "renewed"] == [
        first_end, second_end, datetime(2029, 10, 1, 9, tzinfo=UTC)]
    assert client.get(f"{PRODUCTS}/{product['id']}").json()["productTerm"][0]["validFor"] == {
        "startDateTime": "2029-10-01T09:00:00Z", "endDateTime": "2030-10-01T09:00:00Z"}


@pytest.mark.parametrize("body, status, message", [
    ({"status": "created"}, 422, "status='created' can be set to suspended, active, terminated, pendingTerminate"),
    ({"name": "x"}, 422, "name='x' cannot be changed; patchable: status, productOffering, chargeDuringSuspension, "
                         "statusReason"),
    ({"status": "active", "productOffering": {"id": "x"}}, 422,
     "body=['productOffering', 'status'] must change exactly one of status, productOffering"),
    ({"status": "terminated", "chargeDuringSuspension": True}, 422,
     "chargeDuringSuspension=True goes with status suspended only"),
    ({"status": 5}, 400, None),
])
def test_bad_product_patches(client, shop, body, status, message):
    account, offer, _ = shop
    product = order(client, account.id, offer.id)
    r = patch(client, product["id"], body, status=status)
    if message:
        assert r["message"] == message


def test_bad_terms_are_422(client, shop):
    account, offer, _ = shop
    for extra, message in [
        ({"itemTerm": [{"duration": {"amount": 2, "units": "year"}}]},
         "productOrderItem[0].itemTerm[0].duration.units='year' must be one of month, months"),
        ({"itemTerm": [{"duration": {"amount": 0, "units": "month"}}]},
         "productOrderItem[0].itemTerm[0].duration.amount=0 must be a positive number of months"),
        ({"trialPeriod": {"amount": 1.5, "units": "day"}}, "productOrderItem[0].trialPeriod.amount='1.5' must be a "
                                                           "whole number"),
        ({"earlyTerminationFee": {"unit": "EUR", "value": "50"}},
         "productOrderItem[0].earlyTerminationFee={'unit': 'EUR', 'value': '50'} needs an itemTerm: the fee is due "
         "when the product ends before its term"),
        (TERM_24 | {"earlyTerminationFee": {"unit": "USD", "value": "50"}},
         "productOrderItem[0].earlyTerminationFee.unit='USD' is not EUR, the currency of billing account ACC-000001"),
    ]:
        item = {"id": "1", "action": "add", "productOffering": {"id": str(offer.id)},
                "product": {"productCharacteristic": [{"name": "serviceId", "value": MSISDN}]}, **extra}
        r = client.post(ORDERS, json={"billingAccount": {"id": str(account.id)}, "productOrderItem": [item]})
        assert (r.status_code, r.json()["message"]) == (422, message)
    assert client.get(PRODUCTS).json() == []


def test_product_changes_are_tmf688_events(client, shop, engine, clock):
    import sqlalchemy as sa

    from openbss.events.tables import outbox_event

    account, small, large = shop
    product = order(client, account.id, small.id)
    patch(client, product["id"], {"productOffering": {"id": str(large.id)}})
    patch(client, product["id"], {"status": "suspended"})
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_event.c.event_type, outbox_event.c.payload)
                            .where(outbox_event.c.resource_type == "product").order_by(outbox_event.c.id)).all()
    assert [r.event_type for r in rows] == [
        "ProductCreateEvent", "ProductAttributeValueChangeEvent", "ProductStateChangeEvent"]
    shown = [r.payload["event"]["product"] for r in rows]
    assert [(p["status"], p["productOffering"]["id"]) for p in shown] == [
        ("active", str(small.id)), ("active", str(large.id)), ("suspended", str(large.id))]
    assert all(spec_errors("TMF637-ProductInventory-v4.0.0", "Product", p) == [] for p in shown)
