"""FreeSWITCH mod_cdr_csv decoding (default "example" template).

The sample below is written for this test (no FreeSWITCH Master.csv is in shared/): it follows the default
template's 15 columns and FreeSWITCH's stamp format, with values as a switch writes them.
"""

from datetime import UTC, datetime
from decimal import Decimal

from openbss.mediation.collectors import freeswitch

SAMPLE = """\
"Ada Lovelace","+4915100000001","+4930123456","default","2026-09-15 10:00:00","2026-09-15 10:00:04","2026-09-15 10:02:04","124","120","NORMAL_CLEARING","a1b2c3d4-0001-4f00-8000-000000000001","a1b2c3d4-0001-4f00-8000-000000000002","","PCMA","PCMA"
"Ada Lovelace","+4915100000001","+4930999999","default","2026-09-15 11:00:00","","2026-09-15 11:00:20","20","0","NO_ANSWER","a1b2c3d4-0002-4f00-8000-000000000001","","","PCMA","PCMA"
"Bob","4915100000002","1000","default","2026-09-15 12:00:00","2026-09-15 12:00:01","2026-09-15 12:00:46","46","45","NORMAL_CLEARING","a1b2c3d4-0003-4f00-8000-000000000001","","acct-7","PCMU","PCMU","extra","columns"
"Bob","4915100000002","1000","default","2026-09-15 12:00:00","2026-09-15 12:00:01"
"Eve","+4915100000003","1000","default","2026-09-15 13:00:00","2026-09-15 13:00:01","2026-09-15 13:00:11","10","-1","NORMAL_CLEARING","a1b2c3d4-0004-4f00-8000-000000000001","","","PCMU","PCMU"
"""


def test_default_template_sample():
    decoded = freeswitch.decode(SAMPLE.splitlines(keepends=True))
    assert [(n, r.record_key, r.service_id, r.quantity, r.usage_date) for n, r in decoded.records] == [
        # billsec 120 = end 10:02:04 - answer 10:00:04; duration 124 counts from the start
        (1, "a1b2c3d4-0001-4f00-8000-000000000001", "+4915100000001", Decimal(120),
         datetime(2026, 9, 15, 10, 0, 4, tzinfo=UTC)),
        # a longer site template that starts with the default one: extra columns ignored
        (3, "a1b2c3d4-0003-4f00-8000-000000000001", "4915100000002", Decimal(45),
         datetime(2026, 9, 15, 12, 0, 1, tzinfo=UTC)),
    ]
    assert all(r.usage_type == "voice" and r.source == "freeswitch" for _, r in decoded.records)
    assert [(s.line, s.reason) for s in decoded.skipped] == [(2, "not answered (hangup_cause NO_ANSWER)")]
    assert [(r.line, r.field, r.reason) for r in decoded.rejected] == [
        (4, "line", "has 6 fields, 15 expected (truncated?)"),
        (5, "billsec", "must not be negative"),
    ]


def test_service_id_column_is_an_option():
    decoded = freeswitch.decode(SAMPLE.splitlines(keepends=True)[2:3], service_column="accountcode")
    assert decoded.records[0][1].service_id == "acct-7"
