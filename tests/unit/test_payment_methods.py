"""Pure rules of payment methods (IBAN/BIC with schwifty, mandates, card tokens), refunds' take-back and the test
gateway (declines by rule, HMAC-signed webhooks)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.payments import gateways
from openbss.payments.gateways import CollectRequest, InvalidSignature, RefundRequest, TestGateway
from openbss.payments.methods import check_details, looks_like_card_number
from openbss.payments.model import Allocation, Payment, take_back
from tests.amounts import eur

TODAY = date(2026, 10, 1)
MANDATE = {"accountNumber": "DE89 3704 0044 0532 0130 00", "mandateId": "M-1", "signatureDate": "2026-09-30"}


def test_direct_debit_is_normalized_and_its_bank_found_from_the_iban():
    d = check_details("directDebit", MANDATE, TODAY)
    assert d["accountNumber"] == "DE89370400440532013000" and d["accountNumberType"] == "IBAN"
    assert d["BIC"] == "COBADEFFXXX"  # Commerzbank, from the IBAN's bank code 37040044
    assert d["signatureDate"] == "2026-09-30T00:00:00Z"
    assert (d["mandateType"], d["mandateCategory"]) == ("recurring", "core")


@pytest.mark.parametrize("change, field, problem", [
    ({"accountNumber": "DE89370400440532013001"}, "accountNumber", "not a valid IBAN"),
    ({"accountNumber": "GB33BUKB20201555555555", "BIC": "BUKBGB22"}, "accountNumber", None),
    ({"accountNumber": "US12345678"}, "accountNumber", "not a valid IBAN"),
    ({"BIC": "COBADEXX1"}, "BIC", "not a valid BIC"),
    ({"mandateId": "M" * 36}, "mandateId", "1 to 35"),
    ({"mandateId": None}, "mandateId", "is required"),
    ({"signatureDate": "2026-10-02"}, "signatureDate", "in the future"),
    ({"signatureDate": "yesterday"}, "signatureDate", "ISO 8601"),
])
def test_direct_debit_refusals(change, field, problem):
    if field == "accountNumber" and problem is None:  # a GB IBAN is valid and in the SEPA zone: accepted
        assert check_details("directDebit", {**MANDATE, **change}, TODAY)["accountNumber"].startswith("GB33")
        return
    with pytest.raises(InvalidValue, match=problem) as e:
        check_details("directDebit", {**MANDATE, **change}, TODAY)
    assert e.value.field == field


def test_iban_outside_the_sepa_zone_is_refused():
    with pytest.raises(InvalidValue, match="outside the SEPA zone"):
        check_details("directDebit", {**MANDATE, "accountNumber": "BR1800360305000010009795493C1",
                                      "BIC": "CEFXBRSP"}, TODAY)


CARD = {"token": "tok_visa_4242", "brand": "visa", "lastFourDigits": "4242", "expirationDate": "2028-02"}


def test_card_token_expiry_becomes_the_end_of_its_month():
    assert check_details("tokenizedCard", CARD, TODAY)["expirationDate"] == "2028-02-29T23:59:59Z"  # leap year


@pytest.mark.parametrize("change, field, problem", [
    ({"lastFourDigits": "42"}, "lastFourDigits", "four digits"),
    ({"expirationDate": "2026-09"}, "expirationDate", "expired"),
    ({"token": ""}, "token", "required"),
    ({"token": "4111 1111 1111 1111"}, "token", "card number"),
    ({"cardNumber": "4242424242424242"}, "cardNumber", "card number"),
])
def test_card_refusals(change, field, problem):
    with pytest.raises(InvalidValue, match=problem) as e:
        check_details("tokenizedCard", {**CARD, **change}, TODAY)
    assert e.value.field == field
    assert "4111 1111" not in str(e.value) and "42424242" not in str(e.value)  # a PAN is never echoed


def test_bank_card_with_its_number_is_refused():
    with pytest.raises(InvalidValue, match="tokenize the card"):
        check_details("bankCard", {"cardNumber": "4111111111111111"}, TODAY)


def test_luhn():
    assert looks_like_card_number("4111-1111-1111-1111")
    assert not looks_like_card_number("4111111111111112")  # checksum wrong
    assert not looks_like_card_number("DE89370400440532013000")


def payment(amount, allocations, unallocated):
    return Payment(new_id(), new_id(), eur(amount), "bankTransfer", datetime(2026, 11, 1, tzinfo=UTC), None, None,
                   tuple(Allocation(i, eur(a)) for i, a in allocations), eur(unallocated),
                   datetime(2026, 11, 1, tzinfo=UTC))


def test_take_back_uses_the_credit_first_then_the_newest_bill():
    old, new = new_id(), new_id()
    p = payment("100.00", [(old, "50.00"), (new, "30.00")], "20.00")
    after, released = take_back(p, eur("45.00"))
    # 20.00 credit, then 45.00 - 20.00 = 25.00 from the newest bill
    assert released == (Allocation(new, eur("25.00")),)
    assert after.unallocated == eur("0") and after.refunded == eur("45.00")
    assert [a.amount for a in after.allocations] == [eur("50.00"), eur("5.00")]
    with pytest.raises(InvalidValue, match="exceeds the 55.00 EUR refundable"):
        take_back(after, eur("55.01"))


def test_gateway_registry():
    assert {"sepa", "test"} <= set(gateways.names())
    with pytest.raises(InvalidValue, match="gateway='acme'"):
        gateways.get("acme")


def test_test_gateway_declines_by_rule_and_is_deterministic():
    gw = TestGateway("s3cret")
    ref = new_id()
    ok = gw.collect(CollectRequest(ref, eur("10.00"), "tok_visa"))
    assert ok.approved and ok.reference == gw.collect(CollectRequest(ref, eur("10.00"), "tok_visa")).reference
    assert gw.collect(CollectRequest(ref, eur("10.13"), "tok_visa")) == gateways.GatewayResult(
        False, None, "51: insufficient funds")
    assert gw.collect(CollectRequest(ref, eur("10.00"), "tok_decline_1")).reason == "05: do not honor"
    assert not gw.refund(RefundRequest(new_id(), ok.reference, eur("0.13"))).approved


NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)


def test_webhook_signature_checks():
    gw = TestGateway("s3cret")
    body = json.dumps({"id": "evt_1", "type": "chargeback", "transaction": "test_ch_1", "reason": "4837"}).encode()
    t = int(NOW.timestamp())
    event = gw.verify_webhook({"openbss-signature": gateways.sign("s3cret", body, t)}, body, NOW)
    assert (event.id, event.type, event.gateway_ref, event.reason) == ("evt_1", "chargeback", "test_ch_1", "4837")
    with pytest.raises(InvalidSignature, match="does not match"):
        gw.verify_webhook({"openbss-signature": gateways.sign("wrong", body, t)}, body, NOW)
    with pytest.raises(InvalidSignature, match="does not match"):  # body changed after signing
        gw.verify_webhook({"openbss-signature": gateways.sign("s3cret", body, t)}, body + b" ", NOW)
    with pytest.raises(InvalidSignature, match="replay"):
        gw.verify_webhook({"openbss-signature": gateways.sign("s3cret", body, t - 301)}, body, NOW)
    with pytest.raises(InvalidSignature, match="missing"):
        gw.verify_webhook({}, body, NOW)
    with pytest.raises(InvalidSignature, match="no webhook secret"):
        TestGateway("").verify_webhook({"openbss-signature": gateways.sign("", body, t)}, body, NOW)
