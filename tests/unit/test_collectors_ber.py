"""PGW-CDR (3GPP TS 32.298, BER) decoding: the generated sample, a record written by hand octet by octet,
TS 32.297 file framing, broken files, and fuzzing (no crash, every record accounted for)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from openbss.mediation.collectors import ber
from tests.data.cdr.pgw import make_sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "cdr" / "pgw" / "sample.ber"
CET, CEST = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))

# One PGW-CDR written by hand from TS 32.298 Release 15 (not by our encoder), with members billing does not
# read placed where real gateways put them: before recordOpeningTime and before the container volumes.
# Tags are context-specific; 0x80 | n primitive, 0xA0 | n constructed, n >= 31 in the 0x1F high-tag form.
OPENED = "26 10 01 10 00 00 2B 01 00"  # TimeStamp 2026-10-01 10:00:00, "+" (0x2B), offset 01:00
FIRST = "26 10 01 10 00 05 2B 01 00"  # 10:00:05 +01:00
LAST = "26 10 01 10 59 58 2B 01 00"  # 10:59:58 +01:00
REPORT = "26 10 01 11 00 00 2B 01 00"  # 11:00:00 +01:00
HAND_WRITTEN = bytes.fromhex(" ".join([
    "BF 4F 82 01 09",  # GPRSRecord pGWRecord [79] constructed, long-form length 0x0109 = 265
    "80 01 55",  # recordType [0] = 85 pGWRecord
    "83 08 62 02 91 78 56 34 12 F0",  # servedIMSI [3] TBCD 262019876543210 (F filler)
    "A4 06 80 04 CB 00 71 01",  # p-GWAddress [4] (a CHOICE: explicit) iPBinV4Address [0] 203.0.113.1
    "85 05 00 C0 00 00 01",  # chargingID [5] = 3221225473 (0xC0000001: a leading 00 keeps it positive)
    "A6 06 80 04 C6 33 64 07",  # servingNodeAddress [6] SEQUENCE OF GSNAddress: 198.51.100.7
    "87 08 69 6E 74 65 72 6E 65 74",  # accessPointNameNI [7] "internet"
    "88 02 F1 21",  # pdpPDNType [8] IETF IPv4 (not read)
    "A9 08 A0 06 80 04 0A 2D 00 05",  # servedPDPPDNAddress [9] iPAddress [0] 10.45.0.5 (not read)
    "8B 01 FF",  # dynamicAddressFlag [11] TRUE (not read)
    "8D 09", OPENED,  # recordOpeningTime [13]
    "8E 02 0E 10",  # duration [14] = 3600 s
    "8F 01 10",  # causeForRecClosing [15] = 16 volumeLimit
    "91 01 03",  # recordSequenceNumber [17] = 3: the third partial record of the session
    "92 0A 50 47 57 2D 42 45 52 2D 30 31",  # nodeID [18] "PGW-BER-01"
    "94 04 00 98 96 80",  # localSequenceNumber [20] = 10000000
    "95 01 00",  # apnSelectionMode [21] (not read)
    "96 07 91 94 71 00 00 00 90",  # servedMSISDN [22]: 0x91 international/E.164, TBCD 491700000009
    "97 02 08 00",  # chargingCharacteristics [23] (not read)
    "98 01 00",  # chChSelectionMode [24] (not read)
    "9B 03 62 F2 10",  # servingNodePLMNIdentifier [27] MCC 262 MNC 01 (not read)
    "9E 01 06",  # rATType [30] = 6 EUTRAN (not read)
    "9F 1F 02 40 00",  # mSTimeZone [31] (not read)
    "BF 22 68",  # listOfServiceData [34] SEQUENCE OF, 104 octets
    "30 4A",  # ChangeOfServiceCondition, 74 octets
    "81 01 0A",  # ratingGroup [1] = 10
    "83 02 07 D1",  # resultCode [3] = 2001 (not read)
    "85 09", FIRST,  # timeOfFirstUsage [5]
    "86 09", LAST,  # timeOfLastUsage [6]
    "88 05 00 00 00 00 80",  # serviceConditionChange [8] BIT STRING: bit 24 recordClosure
    "A9 06 81 01 09 86 01 08",  # qoSInformationNeg [9] EPCQoSInformation qCI 9, aRP 8 (not read)
    "AA 06 80 04 C6 33 64 07",  # servingNodeAddress [10] 198.51.100.7 (not read)
    "8C 03 01 E2 40",  # datavolumeFBCUplink [12] = 123456
    "8D 04 00 BC 61 4E",  # datavolumeFBCDownlink [13] = 12345678
    "8E 09", REPORT,  # timeOfReport [14]
    "30 1A",  # ChangeOfServiceCondition, 26 octets
    "81 01 14",  # ratingGroup [1] = 20
    "A9 03 81 01 08",  # qoSInformationNeg [9] qCI 8 (not read)
    "8C 01 64",  # datavolumeFBCUplink [12] = 100
    "8D 02 03 E8",  # datavolumeFBCDownlink [13] = 1000
    "8E 09", REPORT,  # timeOfReport [14]
    "BF 23 03 0A 01 02",  # servingNodeType [35] SEQUENCE OF ENUMERATED gTPSGW (not read)
    "9F 25 03 62 F2 10",  # p-GWPLMNIdentifier [37] (not read)
    "9F 26 09", OPENED,  # startTime [38] (not read)
]))  # fmt: skip


def decoded_sample():
    return ber.decode(SAMPLE.read_bytes())


def test_the_committed_sample_is_what_make_sample_writes():
    assert SAMPLE.read_bytes() == make_sample.sample()


def test_partial_records_of_one_session_are_separate_increments_opened_at_their_own_time():
    decoded = decoded_sample()
    assert decoded.rejected == []
    (l1, first), (l2, second) = decoded.records[:2]
    assert (l1, l2) == (1, 2)
    # same gateway and chargingID, recordSequenceNumber 1 then 2, localSequenceNumber 501 then 502
    assert (first.record_key, second.record_key) == ("192.0.2.10:1001:1:501", "192.0.2.10:1001:2:502")
    assert first.source == second.source == "pgw"
    assert first.service_id == second.service_id == "+4915100000001"  # TON international: "+" and E.164 digits
    assert first.usage_type == "data"
    assert first.quantity == Decimal(24500)  # RG 10: 1000 up + 20000 down, RG 20: 500 up + 3000 down
    assert second.quantity == Decimal(52000)  # 2000 up + 50000 down
    assert first.usage_date == datetime(2026, 9, 30, 23, 50, tzinfo=CEST)  # the node's local time and offset
    assert first.usage_date.astimezone(UTC) == datetime(2026, 9, 30, 21, 50, tzinfo=UTC)
    assert second.usage_date == datetime(2026, 10, 1, 0, 50, tzinfo=CEST)


def test_traffic_volumes_count_when_there_is_no_service_data_and_node_id_names_the_gateway():
    (line, record) = decoded_sample().records[2]
    assert line == 3
    assert record.record_key == "PGW-FRA-01:2002:0:503"  # no p-GWAddress: nodeID; not partial: sequence 0
    assert record.service_id == "015100000002"  # a national number (TON 2): digits only, no "+"
    assert record.quantity == Decimal(1000)  # (100 + 200) + (300 + 400)
    assert record.usage_date == datetime(2026, 10, 1, 6, 15, 30, tzinfo=timezone(timedelta(hours=-5)))


def test_a_record_without_volume_is_skipped_with_its_key():
    decoded = decoded_sample()
    assert [(s.line, s.record_key, s.reason) for s in decoded.skipped] == [
        (4, "192.0.2.10:3003:0:504", "no data volume (0 octets uplink and downlink)")
    ]
    assert len(decoded.records) == 3


def test_the_hand_written_record_decodes_by_the_standards_tags_past_the_members_not_read():
    decoded = ber.decode(HAND_WRITTEN)
    assert decoded.rejected == [] and decoded.skipped == []
    ((line, r),) = decoded.records
    assert line == 1
    assert r.record_key == "203.0.113.1:3221225473:3:10000000"  # p-GWAddress wins over nodeID
    assert r.service_id == "+491700000009"
    assert r.usage_date == datetime(2026, 10, 1, 10, 0, tzinfo=CET)
    assert r.quantity == Decimal(12_470_234)  # RG 10: 123456 + 12345678, RG 20: 100 + 1000


def test_a_record_delivered_twice_has_the_same_key_so_it_is_stored_once():
    decoded = ber.decode(HAND_WRITTEN + HAND_WRITTEN)
    (_, a), (_, b) = decoded.records
    assert a.record_key == b.record_key  # usage is unique on (source, record_key)


def cdr_file(records: list[bytes], formats: list[int] | None = None) -> bytes:
    """A TS 32.297 CDR file: the file header (release 15, so with both release extension octets) and a
    CDR header before each record (release 15: 5 octets) saying its format (1 BER, 2 unaligned PER...)."""
    fixed = bytes([0xE5, 0xE5])  # high and low release identifier 7 ("see the extension") and version 5
    fixed += bytes(4) + bytes(4)  # file opening and last append timestamps
    fixed += len(records).to_bytes(4, "big") + (42).to_bytes(4, "big")  # CDR count, file sequence number
    fixed += bytes([0]) + bytes([0xFF] * 4) + bytes(16) + bytes([0])  # closure reason, node address, lost CDRs
    fixed += bytes(2) + bytes(2) + bytes([5, 5])  # no routeing filter, no private extension, release 10 + 5
    header_length = 8 + len(fixed)
    body = b"".join(
        len(r).to_bytes(2, "big") + bytes([0xE0, f << 5 | 7, 5]) + r  # 7: TS 32.251; release 10 + 5
        for r, f in zip(records, formats or [1] * len(records), strict=True)
    )
    return (header_length + len(body)).to_bytes(4, "big") + header_length.to_bytes(4, "big") + fixed + body


def sample_records() -> list[bytes]:
    return [f.body for f in ber.frames(SAMPLE.read_bytes())]


def test_a_ts_32297_file_is_read_record_by_record_after_its_headers():
    data = cdr_file(sample_records())
    assert int.from_bytes(data[4:8], "big") == 54  # 52 fixed octets and the two release extensions
    decoded, plain = ber.decode(data), decoded_sample()
    assert decoded.records == plain.records and decoded.skipped == plain.skipped and decoded.rejected == []


def test_a_ts_32297_record_in_another_format_than_ber_is_rejected_and_the_others_read():
    decoded = ber.decode(cdr_file([HAND_WRITTEN, HAND_WRITTEN], formats=[2, 1]))
    assert [(r.line, r.reason) for r in decoded.rejected] == [(1, "data record format 2 is not BER (1)")]
    assert [n for n, _ in decoded.records] == [2]


def test_other_gprs_records_are_skipped_and_unknown_tags_rejected():
    sgw = bytes.fromhex("BF 4E 03 80 01 54")  # sGWRecord [78] with recordType 84
    other = bytes.fromhex("BF 81 10 03 80 01 00")  # context tag [144]: no GPRSRecord
    decoded = ber.decode(sgw + other + HAND_WRITTEN)
    assert [(s.line, s.reason) for s in decoded.skipped] == [
        (1, "sGWRecord [78] is not billed: data is billed from pGWRecord [79]")
    ]
    assert [(r.line, r.field, r.value, r.reason) for r in decoded.rejected] == [
        (2, "record", other.hex(), "tag [144] is not a GPRSRecord of TS 32.298")
    ]
    assert [n for n, _ in decoded.records] == [3]


def test_a_truncated_file_keeps_the_whole_records_and_rejects_the_rest_naming_its_offset():
    data = SAMPLE.read_bytes()
    starts = [f.start for f in ber.frames(data)]
    decoded = ber.decode(data[:-10])
    assert [n for n, _ in decoded.records] == [1, 2, 3]
    ((line, field, value, reason),) = [(r.line, r.field, r.value, r.reason) for r in decoded.rejected]
    assert (line, field) == (4, "record")
    assert value == data[starts[3] : starts[3] + 16].hex() + "..."
    assert reason.startswith(f"a length of {len(data) - starts[3] - 4} octets running past the end")
    assert f"at byte offset {starts[3]}: the rest of the file ({len(data) - 10 - starts[3]} octets)" in reason


def test_a_corrupted_record_in_the_middle_is_rejected_and_the_others_kept():
    data = bytearray(SAMPLE.read_bytes())
    second = list(ber.frames(bytes(data)))[1]
    at = bytes(data).index(bytes.fromhex("8D09"), second.start)  # recordOpeningTime of record 2
    data[at + 2 : at + 11] = b"yesterday"  # 9 octets still, but no TimeStamp
    decoded = ber.decode(bytes(data))
    assert [(r.line, r.field, r.value, r.reason) for r in decoded.rejected] == [
        (2, "recordOpeningTime", b"yesterday".hex(), "is not YYMMDDhhmmss, a sign and hhmm in BCD")
    ]
    assert [n for n, _ in decoded.records] == [1, 3] and [s.line for s in decoded.skipped] == [4]


def test_a_record_whose_inner_lengths_are_wrong_is_rejected_with_its_first_octets():
    broken = bytearray(HAND_WRITTEN)
    broken[5 + 1] = 0x84  # recordType's length becomes 4 length octets (55 83 08 62): far past the record
    decoded = ber.decode(bytes(broken) + HAND_WRITTEN)
    ((rejection),) = decoded.rejected
    assert (rejection.line, rejection.field, rejection.value) == (1, "record", bytes(broken[:16]).hex() + "...")
    assert rejection.reason.startswith("has a member that is not a BER TLV")
    assert [n for n, _ in decoded.records] == [2]


def test_a_record_without_msisdn_is_rejected_naming_the_imsi():
    data = bytearray(HAND_WRITTEN)
    at = data.index(bytes.fromhex("96 07 91"))
    data[at] = 0x99  # servedMSISDN [22] becomes [25], a member not read
    decoded = ber.decode(bytes(data))
    assert [(r.line, r.field, r.value, r.reason) for r in decoded.rejected] == [
        (1, "servedMSISDN", None,
         "is missing (servedIMSI 262019876543210): the record cannot be matched to a subscription")
    ]  # fmt: skip


def test_bytes_that_are_neither_records_nor_a_cdr_file_are_one_rejection():
    decoded = ber.decode(b"recordType,servedMSISDN\n85,4915100000001\n")
    ((r),) = decoded.rejected
    assert (r.line, r.field) == (1, "record")
    assert r.reason.startswith("the file starts with neither a CDR")
    assert ber.decode(b"") == ber.Decoded()


def test_tbcd_and_timestamps():
    assert ber.tbcd(bytes.fromhex("9451010000F1")) == "49151000001"  # F fills the odd last digit
    assert ber.msisdn(bytes.fromhex("91 94 51 01 00 00 F1")) == "+49151000001"
    assert ber.timestamp("t", bytes.fromhex("261231235959") + b"-" + bytes.fromhex("0330")) == datetime(
        2026, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=3, minutes=30))
    )


# -- fuzzing: whatever the bytes, decode returns, and every record of the file is accounted for --------


def assert_accounted(data: bytes) -> None:
    frames = list(ber.frames(data))
    decoded = ber.decode(data)  # must not raise
    outcomes = sorted([n for n, _ in decoded.records] + [s.line for s in decoded.skipped]
                      + [r.line for r in decoded.rejected])  # fmt: skip
    # each record (or unreadable rest) has exactly one outcome, in file order
    assert outcomes == [f.index for f in frames] == list(range(1, len(frames) + 1))
    # the records tile the file from its first record (after any TS 32.297 header) to its last octet
    if frames:
        assert frames[0].start in (0, int.from_bytes(data[4:8], "big"))
        assert all(a.end == b.start for a, b in zip(frames, frames[1:], strict=False))
        assert frames[-1].end == len(data)
    assert all(r.record_key for _, r in decoded.records)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise_and_are_all_accounted_for(data):
    assert_accounted(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_sample_files_never_raise_and_are_all_accounted_for(draw):
    data = bytearray(SAMPLE.read_bytes() + HAND_WRITTEN)
    for _ in range(draw.draw(st.integers(1, 6))):
        at = draw.draw(st.integers(0, len(data) - 1))
        action = draw.draw(st.sampled_from(["flip", "delete", "insert", "cut"]))
        if action == "flip":
            data[at] ^= 1 << draw.draw(st.integers(0, 7))
        elif action == "delete":
            del data[at]
        elif action == "insert":
            data.insert(at, draw.draw(st.integers(0, 255)))
        else:
            del data[at:]
        if not data:
            break
    assert_accounted(bytes(data))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sample_records() + [HAND_WRITTEN]), max_size=8), st.booleans())
def test_whole_records_in_any_order_decode_one_outcome_each_in_both_layouts(records, with_header):
    data = cdr_file(records) if with_header else b"".join(records)
    decoded = ber.decode(data)
    assert decoded.rejected == []
    assert len(decoded.records) + len(decoded.skipped) == len(records)
