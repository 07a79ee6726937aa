"""Asterisk `cdr_csv` (Master.csv): one line per call, no header, in this column order.

Only ANSWERED calls are usage: quantity = `billsec` (seconds from answer to hang-up), usage_date = the
`answer` time, service_id = `src` (the calling number, separators removed), record_key = `uniqueid`.
NO ANSWER, BUSY, FAILED and CONGESTION lines are reported as skipped with their disposition. Timestamps
are naive local times of the Asterisk server: see `calls` for the `tz` option (default UTC).
"""

from __future__ import annotations

from collections.abc import Iterable

from openbss.mediation.collectors.calls import CallLayout, Decoded, decode_calls

SOURCE = "asterisk"
COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
    "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield",
)  # fmt: skip


def _answered(row: dict[str, str]) -> str | None:
    disposition = row["disposition"].strip()
    return None if disposition == "ANSWERED" else f"disposition {disposition or '(empty)'} is not ANSWERED"


LAYOUT = CallLayout(
    columns=COLUMNS,
    record_key="uniqueid",
    service_id="src",
    answer="answer",
    duration="duration",
    billsec="billsec",
    answered=_answered,
    destination="dst",
)


def decode(lines: Iterable[str], *, source: str = SOURCE, tz: str = "UTC", service_column: str = "src") -> Decoded:
    """Decode Master.csv lines; `service_column` may name another column (e.g. accountcode) that carries
    the subscriber's service id on switches where `src` is not the billed party."""
    return decode_calls(lines, LAYOUT, source=source, tz=tz, service_column=service_column)
