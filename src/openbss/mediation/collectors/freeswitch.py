"""FreeSWITCH `mod_cdr_csv` with the default template ("example" in cdr_csv.conf.xml):

    "${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}",
    "${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}",
    "${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}"

A call is usage when it was answered (`answer_stamp` is set; FreeSWITCH leaves it empty otherwise):
quantity = `billsec`, usage_date = `answer_stamp`, service_id = `caller_id_number`, record_key = `uuid`.
Unanswered calls are skipped with their hangup cause. Stamps are naive local times of the switch: see
`calls` for the `tz` option (default UTC). Extra columns after the template's (a longer site template
that starts with the default one) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

from openbss.mediation.collectors.calls import CallLayout, Decoded, decode_calls

SOURCE = "freeswitch"
COLUMNS = (
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp", "answer_stamp",
    "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid", "accountcode", "read_codec",
    "write_codec",
)  # fmt: skip


def _answered(row: dict[str, str]) -> str | None:
    if row["answer_stamp"].strip():
        return None
    return f"not answered (hangup_cause {row['hangup_cause'].strip() or '(empty)'})"


LAYOUT = CallLayout(
    columns=COLUMNS,
    record_key="uuid",
    service_id="caller_id_number",
    answer="answer_stamp",
    duration="duration",
    billsec="billsec",
    answered=_answered,
    destination="destination_number",
)


def decode(
    lines: Iterable[str], *, source: str = SOURCE, tz: str = "UTC", service_column: str = "caller_id_number"
) -> Decoded:
    return decode_calls(lines, LAYOUT, source=source, tz=tz, service_column=service_column)
