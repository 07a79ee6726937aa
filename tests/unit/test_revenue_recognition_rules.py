"""The revenue schedule of charges billed in advance, and the chart of accounts: pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.ledger.model import (
    ACCOUNTS,
    AR,
    CHART,
    CHART_OF_ACCOUNTS,
    DEFERRED_REVENUE,
    REVENUE_RECURRING,
    VAT,
    CorrectionPosting,
    DeferredLine,
    InvoicePosting,
    Recognition,
)

D = Decimal
NOVEMBER = (date(2026, 11, 1), date(2026, 12, 1))  # 30 service days


def sides(entry) -> dict[str, tuple[Decimal, Decimal]]:
    return {l.gl_account: (l.debit, l.credit) for l in entry.lines}


def test_the_chart_is_data_with_a_code_name_type_and_normal_side():
    assert len({a.code for a in CHART_OF_ACCOUNTS}) == len(CHART_OF_ACCOUNTS) == len(CHART)
    assert ACCOUNTS[AR].code == "1100" and ACCOUNTS[AR].type == "asset" and ACCOUNTS[AR].normal == "debit"
    assert ACCOUNTS[DEFERRED_REVENUE].type == "liability" and ACCOUNTS[DEFERRED_REVENUE].normal == "credit"
    assert {a.type for a in CHART_OF_ACCOUNTS} == {"asset", "liability", "revenue", "expense"}
    # The normal side follows the type: assets and expenses debit, liabilities and revenue credit.
    assert all(a.normal == ("debit" if a.type in ("asset", "expense") else "credit") for a in CHART_OF_ACCOUNTS)


def test_a_month_billed_in_advance_is_earned_day_by_day():
    line = DeferredLine(new_id(), D("30.00"), *NOVEMBER)
    assert line.earned_through(date(2026, 10, 31), "EUR") == D("0.00")  # before the first day
    assert line.earned_through(date(2026, 11, 1), "EUR") == D("1.00")  # 30.00 x 1/30
    assert line.earned_through(date(2026, 11, 10), "EUR") == D("10.00")  # 30.00 x 10/30
    assert line.unearned_after(date(2026, 11, 10), "EUR") == D("20.00")  # 30.00 - 10.00
    assert line.earned_through(date(2026, 11, 30), "EUR") == D("30.00")  # the last day
    assert line.earned_through(date(2027, 3, 1), "EUR") == D("30.00")  # never more than the net


def test_days_that_do_not_divide_evenly_still_add_up_to_the_cent():
    line = DeferredLine(new_id(), D("10.00"), date(2026, 10, 1), date(2026, 11, 1))  # 31 days
    assert line.earned_through(date(2026, 10, 1), "EUR") == D("0.32")  # 10.00 / 31 = 0.3225... -> 0.32
    assert line.earned_through(date(2026, 10, 2), "EUR") == D("0.65")  # 10.00 x 2/31 = 0.645... -> 0.65
    # Cumulative rounding: the daily shares (0.32, 0.33, ...) sum to exactly 10.00 by the last day.
    assert line.earned_through(date(2026, 10, 31), "EUR") == D("10.00")


@given(net=st.decimals(min_value=-10_000, max_value=10_000, places=2), days=st.integers(1, 400),
       currency=st.sampled_from(["EUR", "JPY", "KWD"]))
def test_daily_shares_never_go_backwards_and_sum_to_the_net(net, days, currency):
    net = net.quantize(D(1).scaleb(-{"EUR": 2, "JPY": 0, "KWD": 3}[currency]))
    start = date(2026, 1, 1)
    line = DeferredLine(new_id(), net, start, start + timedelta(days=days))
    earned = [line.earned_through(start + timedelta(days=i), currency) for i in range(-1, days)]
    assert earned[0] == 0 and earned[-1] == net
    steps = [b - a for a, b in zip(earned, earned[1:], strict=False)]
    assert all((s >= 0) if net >= 0 else (s <= 0) for s in steps)
    # A credit of the same amount mirrors it exactly (half-up rounds away from zero both ways).
    mirror = DeferredLine(new_id(), -net, start, start + timedelta(days=days))
    assert all(mirror.earned_through(start + timedelta(days=i), currency) == -e
               for i, e in zip(range(-1, days), earned, strict=True))


def test_service_days_must_be_a_range():
    with pytest.raises(InvalidValue, match="service_end"):
        DeferredLine(new_id(), D("1.00"), date(2026, 11, 1), date(2026, 11, 1))


def invoice_posting(posted_at: datetime, time_zone: str = "Europe/Berlin") -> InvoicePosting:
    # Lines: October 30.00 (in arrears of its days), November 30.00 in advance, usage 2.00; VAT 11.78.
    october = DeferredLine(new_id(), D("30.00"), date(2026, 10, 1), date(2026, 11, 1))
    november = DeferredLine(new_id(), D("30.00"), *NOVEMBER)
    return InvoicePosting(new_id(), new_id(), "INV-2026-000001", posted_at, "EUR", D("60.00"), D("2.00"),
                          D("11.78"), D("73.78"), deferred=(october, november), time_zone=time_zone)


def test_an_invoice_defers_the_days_not_over_when_it_is_posted():
    posting = invoice_posting(datetime(2026, 11, 1, 6, tzinfo=UTC))  # 07:00 in Berlin on Nov 1
    assert sides(posting.entry()) == {
        AR: (D("73.78"), D(0)),
        REVENUE_RECURRING: (D(0), D("30.00")),  # October: all its days are over
        DEFERRED_REVENUE: (D(0), D("30.00")),  # November: none of its days is over
        "4100 Revenue: usage charges": (D(0), D("2.00")),
        VAT: (D(0), D("11.78")),
    }
    assert [l.net for l in posting.schedule()] == [D("30.00")]  # October needs no recognition run


def test_the_posting_day_is_the_accounts_local_date():
    # 23:30 UTC on Oct 31 is 00:30 on Nov 1 in Berlin (CET): October is over there, not yet in New York.
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert sides(invoice_posting(late).entry())[DEFERRED_REVENUE] == (D(0), D("30.00"))
    new_york = invoice_posting(late, "America/New_York")  # 19:30 on Oct 31: Oct 31 is not over
    # deferred: November 30.00 + October's last day 30.00 x 1/31 = 0.967... -> 0.97
    assert sides(new_york.entry())[DEFERRED_REVENUE] == (D(0), D("30.97"))
    assert sides(new_york.entry())[REVENUE_RECURRING] == (D(0), D("29.03"))  # 60.00 - 30.97


def test_a_credit_note_takes_its_unearned_part_out_of_deferred_revenue():
    credited = DeferredLine(new_id(), D("15.00"), *NOVEMBER)  # half of November credited
    note = CorrectionPosting("creditNote", new_id(), new_id(), "CN-2026-000001",
                             datetime(2026, 11, 16, 9, tzinfo=UTC), "EUR", D("15.00"), D(0), D("2.85"), D("17.85"),
                             deferred=(credited,), time_zone="Europe/Berlin")
    assert sides(note.entry()) == {
        AR: (D(0), D("17.85")),
        DEFERRED_REVENUE: (D("7.50"), D(0)),  # 15.00 - 15.00 x 15/30 (Nov 1-15 are over)
        REVENUE_RECURRING: (D("7.50"), D(0)),  # the 15 days already recognized
        VAT: (D("2.85"), D(0)),
    }
    assert [l.net for l in note.schedule()] == [D("-15.00")]  # what is left to recognize falls


def test_a_recognition_moves_deferred_revenue_to_revenue_and_back_when_negative():
    account = new_id()
    forward = Recognition(account, "EUR", date(2026, 11, 10), 0, D("10.00"), datetime(2026, 11, 11, tzinfo=UTC))
    assert sides(forward.entry()) == {DEFERRED_REVENUE: (D("10.00"), D(0)), REVENUE_RECURRING: (D(0), D("10.00"))}
    back = Recognition(account, "EUR", date(2026, 11, 10), 1, D("-0.60"), datetime(2026, 11, 11, tzinfo=UTC))
    assert sides(back.entry()) == {DEFERRED_REVENUE: (D(0), D("0.60")), REVENUE_RECURRING: (D("0.60"), D(0))}
    # One source per account, day and run: run 1 of the same day is another entry than run 0.
    assert forward.entry().source_id != back.entry().source_id
    assert forward.entry().source_id == Recognition(account, "EUR", date(2026, 11, 10), 0, D("1"),
                                                    datetime(2026, 11, 12, tzinfo=UTC)).entry().source_id
