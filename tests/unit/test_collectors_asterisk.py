"""Asterisk cdr_csv decoding, on the real sample from the Asterisk testsuite and on broken lines."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from openbss.core.errors import InvalidValue
from openbss.mediation.collectors import asterisk
from openbss.mediation.collectors.calls import normalize_number

# shared/ lies beside the work tree, on developers' machines and in CI alike.
SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "cdr" / "asterisk" / "Master.csv"


def line(disposition="ANSWERED", duration="30", billsec="25", src="+49 151 1234-5678", uniqueid="1700000000.1",
         answer="2026-09-15 10:00:05"):
    return (f'"","{src}","100","default","\\"Ada\\" <{src}>","SIP/ada-0001","SIP/bob-0002","Dial","SIP/bob",'
            f'"2026-09-15 10:00:00","{answer}","2026-09-15 10:00:30",{duration},{billsec},"{disposition}",'
            f'"DOCUMENTATION","{uniqueid}",""\n')


def test_real_sample_lines_are_answered_seven_second_calls():
    with open(SAMPLE, newline="") as f:
        decoded = asterisk.decode(f, service_column="channel")  # the sample's src is empty (a console call)
    assert decoded.rejected == [] and decoded.skipped == []
    (l1, first), (l2, second) = decoded.records
    assert (l1, l2) == (1, 2)
    assert first.record_key == "1270167992.0"
    assert first.service_id == "Console/dsp"
    assert first.usage_type == "voice"
    assert first.quantity == Decimal(7)  # billsec 7 (duration 7, answered at start)
    assert first.usage_date == datetime(2010, 4, 2, 0, 26, 32, tzinfo=UTC)  # the answer time, tz default UTC
    assert second.record_key == "1270168442.0"


def test_real_sample_with_default_src_is_rejected_by_line_because_src_is_empty():
    with open(SAMPLE, newline="") as f:
        decoded = asterisk.decode(f)
    assert [(r.line, r.field, r.value, r.reason) for r in decoded.rejected] == [
        (1, "src", "", "is empty"), (2, "src", "", "is empty")
    ]


def test_answered_call_is_billsec_seconds_from_the_answer_time_in_the_switch_zone():
    decoded = asterisk.decode([line()], tz="Europe/Berlin")
    ((_, r),) = decoded.records
    assert r.service_id == "+4915112345678"  # separators removed
    assert r.quantity == Decimal(25)  # billsec, not duration (30)
    # 10:00:05 in Berlin in September is CEST, UTC+2: 08:00:05Z
    assert r.usage_date == datetime(2026, 9, 15, 10, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert r.usage_date.astimezone(UTC).hour == 8


def test_unanswered_calls_are_skipped_with_the_disposition_not_rejected():
    lines = [line("NO ANSWER", billsec="0", uniqueid="k1", answer=""), line("BUSY", billsec="0", uniqueid="k2"),
             line(uniqueid="k3")]
    decoded = asterisk.decode(lines)
    assert [(s.line, s.record_key, s.reason) for s in decoded.skipped] == [
        (1, "k1", "disposition NO ANSWER is not ANSWERED"),
        (2, "k2", "disposition BUSY is not ANSWERED"),
    ]
    assert [n for n, _ in decoded.records] == [3]
    assert decoded.rejected == []


def test_malformed_lines_are_rejected_with_line_and_reason_and_the_rest_is_kept():
    lines = [
        line(uniqueid="ok-1"),
        '"","+4915100000001","100","default"\n',  # truncated
        line(duration="thirty", uniqueid="bad-type"),
        line(duration="-5", billsec="-5", uniqueid="negative"),
        line(duration="10", billsec="25", uniqueid="billsec-over-duration"),
        line(answer="15/09/2026 10:00", uniqueid="bad-time"),
        line(uniqueid=""),
        line(uniqueid="ok-2"),
    ]
    decoded = asterisk.decode(lines)
    assert [(r.line, r.field, r.value, r.reason) for r in decoded.rejected] == [
        (2, "line", 4, "has 4 fields, 18 expected (truncated?)"),
        (3, "duration", "thirty", "is not a whole number of seconds"),
        (4, "duration", "-5", "must not be negative"),
        (5, "billsec", 25, "must not exceed duration (10)"),
        (6, "answer", "15/09/2026 10:00", "is not a time as %Y-%m-%d %H:%M:%S"),
        (7, "uniqueid", "", "is empty"),
    ]
    assert [r.record_key for _, r in decoded.records] == ["ok-1", "ok-2"]  # nothing lost: 2 + 6 = 8 lines


def test_options_are_checked():
    with pytest.raises(InvalidValue, match="tz='Mars/Olympus'"):
        asterisk.decode([], tz="Mars/Olympus")
    with pytest.raises(InvalidValue, match="service_column='msisdn'"):
        asterisk.decode([], service_column="msisdn")


@pytest.mark.parametrize(
    "raw, normalized",
    [(" +49 (151) 123-45 ", "+4915112345"), ("0049.151.12", "004915112"), ("alice@example.org", "alice@example.org"),
     ("SIP/ada-0001", "SIP/ada-0001")],
)
def test_normalize_number(raw, normalized):
    assert normalize_number(raw) == normalized
