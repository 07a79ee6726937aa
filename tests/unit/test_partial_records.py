"""Pure rules of partial records: validation, the merge of a complete call, the quarantine payload, and how
each interface (CSV row, NATS message, TMF635 characteristics) reads the partial-record fields."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.mediation.model import (
    HeldCall,
    Problem,
    UsageRecord,
    incomplete_reason,
    merged_call,
    payload_record,
    record_payload,
    record_problem,
)
from openbss.mediation.schemas import UsageCreate
from openbss.mediation.service import parse_row
from openbss.mediation.stream import decode_message

NOW = datetime(2026, 10, 1, 9, tzinfo=UTC)
START = datetime(2026, 9, 30, 10, tzinfo=UTC)


def part(n, seconds=600, last=False, **changes) -> UsageRecord:
    base = {"source": "msc", "record_key": f"r-{n}", "service_id": "+4915100000001", "usage_type": "voice",
            "usage_date": START + timedelta(seconds=600 * (n - 1)), "quantity": Decimal(seconds),
            "destination": "4930123456", "part_of": "gcr-1", "part": n, "last_part": last}  # fmt: skip
    return UsageRecord(**{**base, **changes})


CALL = [part(1), part(2), part(3, 130, last=True)]


@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"part": 0}, "part", "must be a whole number from 1"),
    ({"part": True}, "part", "must be a whole number from 1"),
    ({"part": None}, "part", "is missing: a partial record of call 'gcr-1' needs its sequence number"),
    ({"part_of": None}, "partOf", "is missing: part 1 must name the call it is part of"),
    ({"part_of": " "}, "partOf", "must not be empty"),
    ({"last_part": "yes"}, "lastPart", "must be true or false"),
    ({"part_of": None, "part": None, "last_part": True}, "lastPart", "is only for a partial record (partOf)"),
])  # fmt: skip
def test_partial_record_fields_are_validated(changes, field, reason):
    problem = record_problem(part(1, **changes), NOW)
    assert (problem.field, problem.reason) == (field, reason)


def test_a_valid_part_and_a_whole_record_pass():
    assert record_problem(part(1), NOW) is None
    assert record_problem(part(1, part_of=None, part=None), NOW) is None


def test_a_complete_call_merges_in_any_order():
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        merged = merged_call([CALL[i] for i in order])
        assert merged == UsageRecord("msc", "gcr-1", "+4915100000001", "voice", START, Decimal(1330), "4930123456")


@given(st.lists(st.integers(min_value=0, max_value=3600), min_size=1, max_size=12), st.randoms())
def test_the_merged_quantity_is_the_sum_whatever_the_arrival_order(seconds, rnd: random.Random):
    parts = [part(n, s, last=n == len(seconds)) for n, s in enumerate(seconds, 1)]
    rnd.shuffle(parts)
    merged = merged_call(parts)
    assert merged.quantity == sum(seconds) and merged.usage_date == START and merged.part_of is None


def test_an_incomplete_call_is_not_merged():
    assert merged_call(CALL[:2]) is None  # no last part yet
    assert merged_call([CALL[0], CALL[2]]) is None  # part 2 missing


@pytest.mark.parametrize(("parts", "problem"), [
    ([part(1), part(2, last=True), part(3, last=True)],
     Problem("lastPart", True, "is set on parts 2, 3 of call 'gcr-1'")),
    ([part(1, last=True), part(2)], Problem("part", 2, "comes after part 1, the last part of call 'gcr-1'")),
    ([part(1), part(2, service_id="+4915100000002", last=True)],
     Problem("serviceId", "+4915100000002", "of part 2 differs from part 1's '+4915100000001': the parts of call "
             "'gcr-1' disagree")),
    ([part(1), part(2, usage_type="data", last=True)],
     Problem("usageType", "data", "of part 2 differs from part 1's 'voice': the parts of call 'gcr-1' disagree")),
    ([part(2, destination=None, last=True), part(1)],
     Problem("destination", None, "of part 2 differs from part 1's '4930123456': the parts of call 'gcr-1' "
             "disagree")),
])  # fmt: skip
def test_parts_that_cannot_be_one_call(parts, problem):
    assert merged_call(parts) == problem


def test_a_part_survives_the_quarantine_payload_and_a_whole_record_keeps_its_payload():
    assert payload_record(record_payload(CALL[2])) == CALL[2]
    assert record_payload(CALL[2])["last_part"] == "true" and record_payload(CALL[0])["part"] == "1"
    whole = part(1, part_of=None, part=None)
    assert set(record_payload(whole)) == {"source", "record_key", "service_id", "usage_type", "usage_date",
                                          "quantity", "destination"}  # fmt: skip
    assert payload_record(record_payload(whole)) == whole


def test_incomplete_reason_and_missing_parts():
    assert incomplete_reason([2, 1], None, NOW) == "incomplete: parts 1,2 of ? held since 2026-10-01T09:00:00+00:00"
    assert incomplete_reason([1, 3], 3, NOW) == "incomplete: parts 1,3 of 3 held since 2026-10-01T09:00:00+00:00"
    call = HeldCall("msc", "gcr-1", "+49", "voice", [1, 3], None, Decimal(0), NOW, NOW)
    assert call.missing == "2,4,..."
    assert HeldCall("msc", "gcr-1", "+49", "voice", [1, 4], 4, Decimal(0), NOW, NOW).missing == "2,3"


CSV = {"record_key": "r-3", "service_id": "+4915100000001", "usage_type": "voice",
       "start_time": "2026-09-30T10:20:00Z", "quantity": "130", "destination": "4930123456"}  # fmt: skip


def test_csv_partial_columns():
    assert parse_row({**CSV, "part_of": " gcr-1 ", "part": "3", "last_part": "TRUE"}, "msc") == CALL[2]
    assert parse_row({**CSV, "part_of": "gcr-1", "part": "2", "last_part": ""}, "msc").last_part is False
    assert parse_row({**CSV, "part_of": "", "part": None}, "msc").part_of is None
    assert parse_row({**CSV, "part_of": "gcr-1", "part": "3rd"}, "msc") == Problem("part", "3rd", "is not a whole number")
    assert parse_row({**CSV, "part_of": "gcr-1", "part": "3", "last_part": "yes"}, "msc") == Problem(
        "last_part", "yes", "is not true or false")


def test_nats_partial_fields():
    data = (b'{"source": "msc", "recordKey": "r-3", "serviceId": "+4915100000001", "usageType": "voice",'
            b' "usageDate": "2026-09-30T10:20:00Z", "quantity": 130, "destination": "4930123456",'
            b' "partOf": "gcr-1", "part": 3, "lastPart": true}')  # fmt: skip
    [(_, record)] = decode_message(data, sequence=5, subject="usage.msc").records
    assert record == CALL[2]


def test_tmf635_partial_characteristics():
    def body(**extra):
        chars = [{"name": "serviceId", "value": "+4915100000001"}, {"name": "quantity", "value": 130},
                 {"name": "destination", "value": "4930123456"}, {"name": "source", "value": "msc"},
                 {"name": "recordKey", "value": "r-3"}] + [{"name": k, "value": v} for k, v in extra.items()]
        return {"usageDate": "2026-09-30T10:20:00Z", "usageType": "voice", "usageCharacteristic": chars}

    assert UsageCreate.model_validate(body(partOf="gcr-1", part=3, lastPart=True)).record() == CALL[2]
    assert UsageCreate.model_validate(body(partOf="gcr-1", part="3")).record().part == 3
    with pytest.raises(InvalidValue, match="usageCharacteristic.lastPart"):
        UsageCreate.model_validate(body(partOf="gcr-1", part=3, lastPart="yes")).record()
    with pytest.raises(InvalidValue, match="usageCharacteristic.part"):
        UsageCreate.model_validate(body(partOf="gcr-1", part=2.5)).record()
