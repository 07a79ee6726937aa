"""Pure rules of the usage pipeline: the future tolerance, the quarantine payload, the called number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from openbss.mediation.collectors import asterisk
from openbss.mediation.model import FUTURE_TOLERANCE, UsageRecord, payload_record, record_payload, record_problem

NOW = datetime(2026, 10, 1, 9, tzinfo=UTC)


def record(**changes) -> UsageRecord:
    base = {"source": "sw", "record_key": "k", "service_id": "+4915100000001", "usage_type": "voice",
            "usage_date": NOW, "quantity": Decimal(60)}  # fmt: skip
    return UsageRecord(**{**base, **changes})


def test_a_date_up_to_the_tolerance_after_intake_is_accepted_and_later_is_not():
    assert record_problem(record(usage_date=NOW + FUTURE_TOLERANCE), NOW) is None
    problem = record_problem(record(usage_date=NOW + FUTURE_TOLERANCE + timedelta(seconds=1)), NOW)
    assert (problem.field, problem.value, problem.reason) == (
        "usageDate", "2026-10-01T09:05:01+00:00", "is in the future: more than 5 minutes after intake")


@given(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])),
    st.decimals(min_value=0, max_value=10**12, places=6),
    st.one_of(st.none(), st.text(min_size=1)),
)
def test_a_quarantined_record_is_rebuilt_exactly_from_its_payload(at, quantity, destination):
    r = record(usage_date=at, quantity=quantity, destination=destination)
    rebuilt = payload_record(record_payload(r))
    assert rebuilt == r and rebuilt.usage_date.utcoffset() == at.utcoffset()


def test_a_payload_value_of_the_wrong_type_is_rebuilt_as_text_and_rejected_again():
    broken = record(usage_date="yesterday", quantity="ten")
    assert payload_record(record_payload(broken)) == broken


def test_a_call_carries_the_called_number_without_separators():
    line = ('"","+4915112345678","030 1234-567","default","","SIP/a","SIP/b","Dial","SIP/b",'
            '"2026-09-15 10:00:00","2026-09-15 10:00:05","2026-09-15 10:00:30",30,25,"ANSWERED",'
            '"DOCUMENTATION","1700000000.1",""\n')  # fmt: skip
    ((_, r),) = asterisk.decode([line]).records
    assert r.destination == "0301234567"
    ((_, blank),) = asterisk.decode([line.replace('"030 1234-567"', '""')]).records
    assert blank.destination is None
