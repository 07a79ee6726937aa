"""The file format registry: each format decodes a file's bytes; options are checked before any file is read."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from openbss.core.errors import InvalidValue
from openbss.mediation.collectors.formats import FORMATS, decoder

HEADER = b"record_key,service_id,usage_type,start_time,quantity,destination\n"


def test_the_registry_names_every_collector_format():
    assert list(FORMATS) == ["asterisk", "freeswitch", "csv", "ber"]


def test_generic_csv_rows_become_records_and_unreadable_rows_rejections_by_line():
    data = "\ufeff".encode() + HEADER + (
        b"k1,+4915100000001,voice,2026-09-15T10:00:00+02:00,60,+4930123456\r\n"  # line 2
        b"k2,+4915100000001,sms,yesterday,1,\r\n"                                  # line 3: bad time
        b"k3,+4915100000001,data,2026-09-15T10:05:00Z,,\r\n"                       # line 4: no quantity
    )  # fmt: skip
    decode = decoder("csv", source="mvno-feed")
    decoded = decode(data)
    ((line, record),) = decoded.records
    assert (line, record.source, record.record_key, record.quantity, record.destination) == (
        2, "mvno-feed", "k1", Decimal(60), "+4930123456")  # fmt: skip
    assert record.usage_date == datetime(2026, 9, 15, 8, 0, tzinfo=UTC)
    assert [(r.line, r.field, r.value) for r in decoded.rejected] == [(3, "start_time", "yesterday"), (4, "quantity", "")]
    assert [raw for _, raw in decode.raw_lines(data, decoded.rejected)] == [
        "k2,+4915100000001,sms,yesterday,1,",
        "k3,+4915100000001,data,2026-09-15T10:05:00Z,,",
    ]


def test_a_csv_file_without_the_required_columns_is_refused_whole():
    with pytest.raises(InvalidValue) as err:
        decoder("csv")(b"record_key,service_id\nk1,+49151\n")
    assert err.value.field == "header" and "usage_type" in err.value.message


def test_the_switch_time_zone_applies_to_call_records():
    line = (b'"","+4915100000001","100","default","","SIP/a-1","SIP/b-2","Dial","SIP/b","2026-09-15 10:00:00",'
            b'"2026-09-15 10:00:05","2026-09-15 10:00:30",30,25,"ANSWERED","DOCUMENTATION","u-1",""\n')
    ((_, record),) = decoder("asterisk", tz="Europe/Berlin")(line).records
    assert record.usage_date == datetime(2026, 9, 15, 8, 0, 5, tzinfo=UTC)  # 10:00:05 CEST (UTC+2)
    assert record.source == "asterisk"  # the format's name by default


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("sgsn", {}, "format"),
        ("csv", {"tz": "Europe/Berlin"}, "tz"),  # csv times carry their own offset
        ("freeswitch", {"tz": "Mars/Olympus"}, "tz"),
        ("asterisk", {"source": " "}, "source"),
    ],
)
def test_bad_options_are_refused_naming_the_option(name, options, field):
    with pytest.raises(InvalidValue) as err:
        decoder(name, **options)
    assert err.value.field == field


def test_text_formats_refuse_a_file_that_is_not_utf8():
    with pytest.raises(UnicodeDecodeError):
        decoder("freeswitch")("W\xe4hlen".encode("latin-1"))


def test_a_ber_rejection_hands_its_record_to_the_quarantine_in_hex():
    from openbss.mediation.model import Rejection

    broken = bytes.fromhex("bf4f1000")  # a PGW-CDR [79] announcing 16 octets, none there
    ber = decoder("ber")
    (rejection,) = ber(broken).rejected
    assert ber.raw_lines(broken, [rejection]) == [(rejection, "bf4f1000")]
    beyond = Rejection(9, "record", None, "no such record")
    assert ber.raw_lines(broken, [beyond]) == [(beyond, "")]
