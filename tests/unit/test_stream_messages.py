"""Decoding NATS usage messages: one JSON record or an array of them; what is no record is kept whole."""

from datetime import UTC, datetime
from decimal import Decimal

from openbss.mediation.stream import decode_message

RECORD = (b'{"source": "sbc-1", "recordKey": "c-1", "serviceId": "+4915100000001", "usageType": "voice",'
          b' "usageDate": "2026-09-15T10:00:05+02:00", "quantity": 95.5, "destination": "+4930123456"}')


def test_one_record_with_exact_decimals_and_the_message_sequence_as_line():
    decoded = decode_message(RECORD, sequence=42, subject="usage.sbc-1")
    ((line, r),) = decoded.records
    assert line == 42 and decoded.unreadable == []
    assert (r.source, r.record_key, r.service_id, r.usage_type, r.destination) == (
        "sbc-1", "c-1", "+4915100000001", "voice", "+4930123456")  # fmt: skip
    assert r.usage_date == datetime(2026, 9, 15, 8, 0, 5, tzinfo=UTC)
    assert r.quantity == Decimal("95.5") and isinstance(r.quantity, Decimal)  # never through float


def test_an_array_message_and_quantities_as_integers_or_strings():
    body = (b'[{"source": "s", "recordKey": "a", "serviceId": "x", "usageType": "sms", "usageDate": "2026-09-15T10:00Z",'
            b' "quantity": 1}, {"source": "s", "recordKey": "b", "serviceId": "x", "usageType": "data",'
            b' "usageDate": "2026-09-15T10:00Z", "quantity": "1500000.000001"}]')
    decoded = decode_message(body, sequence=7, subject="usage.s")
    assert [(line, r.record_key, r.quantity) for line, r in decoded.records] == [
        (7, "a", Decimal(1)), (7, "b", Decimal("1500000.000001"))]  # fmt: skip


def test_fields_that_cannot_be_read_are_handed_on_as_sent_for_the_rules_to_name():
    body = b'{"source": "s", "recordKey": "a", "serviceId": "x", "usageType": "sms", "usageDate": "yesterday", "quantity": "lots"}'
    ((_, r),) = decode_message(body, sequence=1, subject="usage.s").records
    assert (r.usage_date, r.quantity) == ("yesterday", "lots")


def test_what_is_no_record_is_unreadable_with_its_text_and_the_subject_as_source():
    (bad,) = decode_message(b"CDR,1,2,3", sequence=9, subject="usage.sbc-1").unreadable
    assert (bad.source, bad.raw, bad.rejection.line, bad.rejection.field) == ("nats:usage.sbc-1", "CDR,1,2,3", 9, "message")
    assert bad.rejection.reason.startswith("is not JSON")
    decoded = decode_message(b'[42, {"recordKey": "k"}]', sequence=3, subject="usage.x")
    assert decoded.records == []
    assert [(u.rejection.field, u.raw) for u in decoded.unreadable] == [("message", "42"), ("source", '{"recordKey": "k"}')]
    (latin,) = decode_message("W\xe4hlen".encode("latin-1"), sequence=4, subject="usage.x").unreadable
    assert latin.rejection.reason.startswith("is not UTF-8") and latin.raw == "W\ufffdhlen"
