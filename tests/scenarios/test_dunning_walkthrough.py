"""Collections over months with the clock moved: reminder, late fee, suspension, payment and restore; a dispute that
pauses the case; a broken promise to pay; a write-off with a hand-over to a collection agency. Amounts by hand; the
late fee's debit note is validated as UBL and CII (EN 16931) by the conftest hook.

Ada (DE, bill-cycle day 1, Europe/Berlin, 19 % VAT, 14 days to pay) subscribes to "Mobile M" (30.00 EUR a month in
advance) on 2026-10-01. October's invoice INV-2026-000001, issued Nov 1: October 30.00 + November in advance 30.00
= 60.00 net, 60.00 x 0.19 = 11.40 VAT, 71.40 gross, due Nov 15. The plan: +7 reminder, +14 late fee 5.00 net,
+30 suspend (the default plan for every segment in EUR).
"""

from __future__ import annotations

from datetime import date

from openbss.billing import correction_service as corrections
from openbss.billing import disputes
from openbss.billing import service as billing
from openbss.core.money import Money
from openbss.dunning import jobs, service
from openbss.dunning.model import DunningStep
from openbss.ledger import service as ledger
from openbss.ordering import service as ordering
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from openbss.seller import service as seller
from tests import factories
from tests.amounts import eur
from tests.einvoicing import SELLER_FIELDS
from tests.scenarios.billing_steps import bill, utc

MSISDN = "+491511234700"


def plan(uow, *steps, name="Consumer EUR", segment=None):
    with uow() as u:
        return service.create_plan(u, service.NewPlan(name, "EUR", tuple(steps), segment))


STANDARD = (DunningStep(7, "reminder"), DunningStep(14, "lateFee", Money.of("5.00", "EUR")),
            DunningStep(30, "suspend"))


def overdue_october(engine, uow, clock):
    """Ada with October's invoice (71.40, due Nov 15) issued and unpaid; returns (account, product, invoice)."""
    clock.move_to(utc(2026, 10, 1, 9))
    with uow() as u:
        seller.set_seller(u, SELLER_FIELDS)
        account = factories.account(u)
        product = factories.subscribe(u, account.id, factories.offering(u).id, MSISDN)
    bill(engine, clock, "2026-10", utc(2026, 11, 1, 2))
    with uow() as u:
        [header] = billing.list_invoices(u, {"billingAccountId": str(account.id)}, 0, 10)[0]
        inv = billing.get_invoice(u, header.id)
    assert (inv.number, inv.gross_total, inv.due_date) == ("INV-2026-000001", eur("71.40"), date(2026, 11, 15))
    return account, product, inv


def run_on(engine, clock, tmp_path, day: date, hour: int = 10):
    """The dunning run at `hour` UTC on `day` (11:00 in Berlin in winter); returns [(what, amount, detail)]."""
    clock.move_to(utc(day.year, day.month, day.day, hour))
    report = jobs.run(engine, clock.now(), clock=clock, handover=tmp_path)
    assert report.errors == []
    return [(o.what, o.amount, o.detail) for o in report.outcomes]


def case_of(uow, account_id):
    with uow() as u:
        [case] = service.list_cases(u, {"billingAccountId": str(account_id)}, 0, 10)[0]
        return case


def status(uow, product_id):
    with uow() as u:
        return ordering.get_product(u, product_id).status


def ar(uow, account_id):
    with uow() as u:
        trial = ledger.trial_balance(u)
        assert trial.balanced and trial.chain_ok
        return ledger.ar_balance(u, account_id)


def test_reminder_late_fee_suspension_then_payment_restores_the_service(engine, uow, clock, tmp_path):
    account, product, inv = overdue_october(engine, uow, clock)
    plan(uow, *STANDARD)

    assert run_on(engine, clock, tmp_path, date(2026, 11, 15)) == []  # due today: not overdue yet
    assert run_on(engine, clock, tmp_path, date(2026, 11, 16)) == [
        ("opened", eur("71.40"), "plan Consumer EUR, due 2026-11-15")]  # +1: a case, nothing due yet
    assert run_on(engine, clock, tmp_path, date(2026, 11, 22)) == [
        ("reminder", eur("71.40"), "INV-2026-000001")]  # +7
    assert run_on(engine, clock, tmp_path, date(2026, 11, 22)) == []  # the same day again: nothing new
    with uow() as u:
        [action] = case_of(uow, account.id).actions
        notice = service_notice(u, action.id)
        assert (notice.status, notice.attempts) == ("pending", 0)  # queued for the mail worker

    [(what, amount, detail)] = run_on(engine, clock, tmp_path, date(2026, 11, 29))  # +14: the late fee
    assert (what, amount, detail) == ("lateFee", eur("71.40"), "debit note DN-2026-000001 (5.95 EUR)")
    with uow() as u:
        [dn] = corrections.list_debit_notes(u, {"billingAccountId": str(account.id)}, 0, 10)[0]
    assert (dn.number, dn.net_total, dn.tax_total, dn.gross_total, dn.due_date, dn.invoice_number) == (
        "DN-2026-000001", eur("5.00"), eur("0.95"), eur("5.95"), date(2026, 12, 13), "INV-2026-000001")
    # 5.00 x 0.19 = 0.95; 5.00 + 0.95 = 5.95; due Nov 29 + 14 days
    assert ar(uow, account.id) == eur("77.35")  # 71.40 + 5.95

    bill(engine, clock, "2026-11", utc(2026, 12, 1, 2))  # December in advance: 30.00 + 5.70 = 35.70, due Dec 15
    assert ar(uow, account.id) == eur("113.05")  # 77.35 + 35.70

    assert run_on(engine, clock, tmp_path, date(2026, 12, 14)) == []  # +29
    assert run_on(engine, clock, tmp_path, date(2026, 12, 15)) == [
        ("suspend", eur("77.35"), MSISDN)]  # +30; overdue 71.40 + the fee 5.95 (due Dec 13); December due today
    assert status(uow, product.id) == "suspended"
    case = case_of(uow, account.id)
    assert (case.state, [a.action for a in case.actions]) == ("active", ["reminder", "lateFee", "suspend"])

    clock.move_to(utc(2026, 12, 16, 10))
    with uow() as u:
        paid = payments.record_payment(u, NewPayment(account.id, eur("113.05")))  # 71.40 + 5.95 + 35.70
        assert paid.unallocated == eur("0")
    assert ar(uow, account.id) == eur("0")
    assert run_on(engine, clock, tmp_path, date(2026, 12, 17)) == [
        ("closed", None, "paid"), ("restored", None, f"product {product.id}")]
    assert status(uow, product.id) == "active"
    case = case_of(uow, account.id)
    assert (case.state, case.reason) == ("closed", "paid")
    assert run_on(engine, clock, tmp_path, date(2026, 12, 18)) == []  # nothing owed, no case


def service_notice(u, action_id):
    from openbss.dunning import notices

    return notices.get_notice(u, action_id)


def test_a_dispute_of_everything_overdue_pauses_the_case_and_stops_its_clock(engine, uow, clock, tmp_path):
    account, _, inv = overdue_october(engine, uow, clock)
    plan(uow, *STANDARD)
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2026, 11, 22))] == ["opened", "reminder"]

    clock.move_to(utc(2026, 11, 23, 9))
    with uow() as u:  # both lines disputed: 60.00 net + 11.40 VAT = 71.40 held, nothing collectible
        dispute = disputes.open_dispute(u, inv.id, {line.id: line.net.amount for line in inv.lines},
                                        "never received the SIM", "customer")
    assert dispute.held == eur("71.40")
    assert run_on(engine, clock, tmp_path, date(2026, 11, 23)) == [("paused", eur("71.40"), "dispute")]
    assert run_on(engine, clock, tmp_path, date(2026, 11, 29)) == []  # +14, but paused: no late fee

    clock.move_to(utc(2026, 12, 3, 9))
    with uow() as u:
        disputes.reject_dispute(u, dispute.id, "delivery confirmed by the courier")
    assert run_on(engine, clock, tmp_path, date(2026, 12, 3)) == [("resumed", eur("71.40"), "")]
    case = case_of(uow, account.id)
    assert (case.state, case.paused_days) == ("active", 10)  # paused Nov 23 to Dec 3
    # age on Dec 8: (Dec 8 - Nov 15) 23 days - 10 paused = 13: the fee (+14) is due a day later
    assert run_on(engine, clock, tmp_path, date(2026, 12, 8)) == []
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2026, 12, 9))] == ["lateFee"]


def test_a_broken_promise_resumes_the_case_and_a_kept_one_counts_the_payment(engine, uow, clock, tmp_path):
    account, _, inv = overdue_october(engine, uow, clock)
    plan(uow, *STANDARD)
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2026, 11, 22))] == ["opened", "reminder"]
    case = case_of(uow, account.id)

    clock.move_to(utc(2026, 11, 24, 9))
    with uow() as u:
        promise = service.record_promise(u, case.id, eur("71.40"), date(2026, 11, 30))
    assert (promise.state, promise.baseline) == ("open", eur("71.40"))
    assert case_of(uow, account.id).state == "paused"
    assert run_on(engine, clock, tmp_path, date(2026, 11, 29)) == []  # +14, the promise holds the fee back
    assert run_on(engine, clock, tmp_path, date(2026, 11, 30)) == []  # the promised day itself: still open

    assert run_on(engine, clock, tmp_path, date(2026, 12, 1)) == [
        ("promiseBroken", eur("71.40"), "promised by 2026-11-30"), ("resumed", eur("71.40"), "")]
    case = case_of(uow, account.id)
    assert (case.paused_days, case.promises[0].state) == (7, "broken")  # paused Nov 24 to Dec 1
    # the fee (+14) comes 7 days late: Nov 15 + 14 + 7 = Dec 6
    assert run_on(engine, clock, tmp_path, date(2026, 12, 5)) == []
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2026, 12, 6))] == ["lateFee"]

    clock.move_to(utc(2026, 12, 7, 9))  # a second promise, for part of it, kept by a payment
    with uow() as u:
        promise = service.record_promise(u, case.id, eur("40.00"), date(2026, 12, 10))
    assert promise.baseline == eur("71.40")  # the fee is not overdue yet (due Dec 20)
    with uow() as u:
        payments.record_payment(u, NewPayment(account.id, eur("40.00")))
    assert run_on(engine, clock, tmp_path, date(2026, 12, 8)) == [
        ("promiseKept", eur("40.00"), "promised by 2026-12-10"), ("resumed", eur("31.40"), "")]  # 71.40 - 40.00


def test_write_off_after_termination_and_hand_over_to_a_collection_agency(engine, uow, clock, tmp_path):
    account, product, inv = overdue_october(engine, uow, clock)
    plan(uow, DunningStep(7, "reminder"), DunningStep(30, "suspend"), DunningStep(60, "terminate"),
         DunningStep(75, "collectionAgency"), DunningStep(90, "writeOff"))
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2026, 11, 22))] == ["opened", "reminder"]
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2026, 12, 15))] == ["suspend"]
    assert [w for w, *_ in run_on(engine, clock, tmp_path, date(2027, 1, 14))] == ["terminate"]  # +60
    assert status(uow, product.id) == "terminated"

    assert run_on(engine, clock, tmp_path, date(2027, 1, 29)) == [
        ("collectionAgency", eur("71.40"), "INV-2026-000001")]  # +75
    case = case_of(uow, account.id)
    assert (tmp_path / "collection-agency-2027-01-29.csv").read_text() == (
        "handed_over_on,case_id,account_number,customer_name,currency,amount_overdue,oldest_due_date,documents\n"
        f"2027-01-29,{case.id},{account.number},Ada Lovelace,EUR,71.40,2026-11-15,INV-2026-000001\n")

    [(what, amount, _), closed] = run_on(engine, clock, tmp_path, date(2027, 2, 13))  # +90
    assert (what, amount, closed) == ("writeOff", eur("71.40"), ("closed", None, "writtenOff"))
    assert ar(uow, account.id) == eur("0")  # 71.40 - 71.40 written off to bad debt
    with uow() as u:
        bad_debt = ledger.trial_balance(u)
        assert bad_debt.balanced
        assert billing.get_invoice(u, inv.id).state == "sent"  # the customer still owes it; only the books wrote it off
    assert (case_of(uow, account.id).state, case_of(uow, account.id).reason) == ("closed", "writtenOff")
    assert run_on(engine, clock, tmp_path, date(2027, 2, 14)) == []  # written off: no new case for the same invoice
