"""Collections through its doors: the API (plans, cases, promises; bad input named), `openbss dunning run`
(a table, idempotent per day), the reminder e-mail through a real SMTP peer, segment plans, and the scheduler job.

Each account is billed by `billed_month`: October's invoice INV-2026-000001, 71.40 EUR (60.00 + 19 % VAT), due
2026-11-15."""

from __future__ import annotations

from datetime import date, timedelta

from openbss.cli import app
from openbss.dunning import jobs, service
from openbss.dunning.model import DunningStep
from openbss.jobs.invoice_mail import MailReport
from openbss.jobs.schedule import SCHEDULE, run_job
from openbss.party import service as party
from openbss.payments import service as payments
from openbss.payments.service import NewPayment
from tests.integration.invoice_documents import billed_month, set_seller, utc
from tests.integration.smtp_sink import received, smtp_sink_fixture  # noqa: F401 - the SMTP peer fixture

BASE = "/openbss-api/dunning/v1"
PLAN = {"name": "Consumer EUR", "currency": "EUR", "step": [
    {"day": 7, "action": "reminder"}, {"day": 14, "action": "lateFee", "fee": {"unit": "EUR", "value": "5.00"}},
    {"day": 30, "action": "suspend"}]}


def dunning_run(engine, clock, day: date, tmp_path):
    clock.move_to(utc(day.year, day.month, day.day, 10))
    return jobs.run(engine, clock.now(), clock=clock, handover=tmp_path)


def test_plans_cases_and_promises_over_the_api(engine, uow, clock, client, tmp_path):
    inv = billed_month(engine, uow, clock)
    created = client.post(f"{BASE}/dunningPlan", json=PLAN)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert (plan["@type"], plan["lifecycleStatus"], plan["segment"]) == ("DunningPlan", "active", None)
    assert [(s["day"], s["action"], s["fee"]) for s in plan["step"]] == [
        (7, "reminder", None), (14, "lateFee", {"unit": "EUR", "value": 5.0}), (30, "suspend", None)]
    assert client.get(f"{BASE}/dunningPlan/{plan['id']}").json() == plan
    assert client.get(f"{BASE}/dunningPlan", params={"active": "true"}).headers["X-Total-Count"] == "1"

    again = client.post(f"{BASE}/dunningPlan", json={**PLAN, "name": "Other"})
    assert again.status_code == 409 and "retire it first" in again.json()["message"]
    bad = client.post(f"{BASE}/dunningPlan", json={**PLAN, "name": "Bad", "step": [
        {"day": 14, "action": "reminder"}, {"day": 7, "action": "suspend"}]})
    assert bad.status_code == 422 and bad.json()["message"].startswith("step[1].day=7 comes before")

    assert dunning_run(engine, clock, date(2026, 11, 22), tmp_path).errors == []
    [case] = client.get(f"{BASE}/dunningCase", params={"billingAccountId": str(inv.account_id)}).json()
    assert (case["state"], case["anchorDate"], case["dunningPlan"]["id"]) == ("active", "2026-11-15", plan["id"])
    assert [(a["action"], a["date"], a["overdueAmount"]) for a in case["action"]] == [
        ("reminder", "2026-11-22", {"unit": "EUR", "value": 71.4})]

    def promise(amount, day, unit="EUR"):
        return client.post(f"{BASE}/promiseToPay", json={
            "dunningCase": {"id": case["id"]}, "amount": {"unit": unit, "value": amount}, "promisedDate": day})

    for body, field in ((promise("10.00", "2026-12-01", "USD"), "amount.unit"),
                        (promise("10.001", "2026-12-01"), "amount.value"),
                        (promise("71.41", "2026-12-01"), "amount.value"),  # more than the 71.40 overdue
                        (promise("10.00", "2026-11-21"), "promisedDate")):  # before today
        assert body.status_code == 422 and body.json()["message"].startswith(field + "="), body.text
    kept = promise("71.40", "2026-11-30")
    assert kept.status_code == 201 and kept.json()["state"] == "open"
    assert promise("1.00", "2026-11-30").status_code == 409  # one open promise per case
    case = client.get(f"{BASE}/dunningCase/{case['id']}").json()
    assert (case["state"], case["stateReason"], len(case["promiseToPay"])) == ("paused", "promise", 1)

    retired = client.patch(f"{BASE}/dunningPlan/{plan['id']}", json={"lifecycleStatus": "retired"})
    assert retired.json()["lifecycleStatus"] == "retired"
    assert client.post(f"{BASE}/dunningPlan", json={**PLAN, "name": "Consumer EUR 2027"}).status_code == 201


def test_the_cli_run_prints_what_it_did_once_per_day(engine, uow, clock, run_cli, tmp_path):
    billed_month(engine, uow, clock)
    wide = {"COLUMNS": "250"}  # Rich wraps table cells to the terminal's width
    made = run_cli(app, ["dunning", "plan", "create", "Consumer EUR", "--currency", "EUR", "--step", "7:reminder",
                         "--step", "14:lateFee:5.00", "--step", "30:suspend"], env=wide)
    assert made.exit_code == 0, made.output
    assert "+14 lateFee 5.00 EUR" in made.output

    first = run_cli(app, ["dunning", "run", "--at", "2026-11-22", "--handover-dir", str(tmp_path)], env=wide)
    assert first.exit_code == 0, first.output
    assert "reminder" in first.output and "INV-2026-000001" in first.output
    assert "1 account(s) looked at, 2 thing(s) done, 0 error(s)" in first.output  # opened + reminder
    again = run_cli(app, ["dunning", "run", "--at", "2026-11-22", "--handover-dir", str(tmp_path)], env=wide)
    assert "1 account(s) looked at, 0 thing(s) done" in again.output
    assert run_cli(app, ["dunning", "run", "--at", "22.11.2026"]).exit_code == 2
    bad = run_cli(app, ["dunning", "plan", "create", "X", "--currency", "EUR", "--step", "7:email"], env=wide)
    assert bad.exit_code == 1 and "step[0].action='email' must be one of" in bad.output
    assert "reminder 2026-11-22" in run_cli(app, ["dunning", "cases", "--state", "active"], env=wide).output


def test_the_reminder_is_emailed_in_german_once(engine, uow, clock, smtp_sink, tmp_path):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)
    with uow() as u:
        service.create_plan(u, service.NewPlan("Consumer EUR", "EUR", (DunningStep(7, "reminder"),)))
    dunning_run(engine, clock, date(2026, 11, 22), tmp_path)

    def send():
        return jobs.send_due(engine, clock=clock, smtp=smtp_sink.settings, jitter=lambda: 0.0)

    assert send() == MailReport(sent=1)
    assert send() == MailReport()  # sent once
    msg = received(smtp_sink.accepted[0])
    assert msg["Subject"] == "Zahlungserinnerung: 71,40\xa0€ überfällig (Nordwind Telekom GmbH)"  # the seller of set_seller
    assert msg["To"] == "ada@example.org"
    text = msg.get_body(("plain",)).get_content()
    assert "Guten Tag Ada Lovelace," in text
    assert "INV-2026-000001, fällig am 15.11.2026: 71,40\xa0€" in text
    with uow() as u:
        [case] = service.list_cases(u, {"billingAccountId": str(inv.account_id)}, 0, 1)[0]
    assert msg["Message-ID"] == f"<dunning.{case.actions[0].id}@nordwind.example>"


def test_a_reminder_for_a_case_settled_before_it_went_out_is_skipped(engine, uow, clock, smtp_sink, tmp_path):
    set_seller(uow)
    inv = billed_month(engine, uow, clock)
    with uow() as u:
        service.create_plan(u, service.NewPlan("Consumer EUR", "EUR", (DunningStep(7, "reminder"),)))
    dunning_run(engine, clock, date(2026, 11, 22), tmp_path)
    with uow() as u:
        payments.record_payment(u, NewPayment(inv.account_id, inv.gross_total))
    dunning_run(engine, clock, date(2026, 11, 22) + timedelta(days=0), tmp_path)  # the case closes
    assert jobs.send_due(engine, clock=clock, smtp=smtp_sink.settings) == MailReport(skipped=1)
    assert smtp_sink.accepted == []


def test_a_segment_plan_wins_over_the_plan_for_every_segment(engine, uow, clock, tmp_path):
    consumer = billed_month(engine, uow, clock, name="Ada Lovelace", msisdn="+4915100000001")
    business = billed_month(engine, uow, clock, name="Nordwind GmbH", msisdn="+4915100000002")
    with uow() as u:
        party.update_customer(u, party.get_billing_account(u, business.account_id).customer_id,
                              {"segment": "business"})
        service.create_plan(u, service.NewPlan("Default EUR", "EUR", (DunningStep(7, "reminder"),)))
        service.create_plan(u, service.NewPlan("Business EUR", "EUR", (DunningStep(3, "reminder"),), "business"))
    report = dunning_run(engine, clock, date(2026, 11, 18), tmp_path)  # +3
    done = {(o.account_number, o.what) for o in report.outcomes}
    with uow() as u:
        numbers = {a: party.get_billing_account(u, a).number for a in (consumer.account_id, business.account_id)}
    assert done == {(numbers[consumer.account_id], "opened"), (numbers[business.account_id], "opened"),
                    (numbers[business.account_id], "reminder")}


def test_an_account_without_a_plan_is_reported_and_the_scheduler_runs_the_job(engine, uow, clock, tmp_path):
    billed_month(engine, uow, clock)
    clock.move_to(utc(2026, 11, 22, 10))
    [job] = [j for j in SCHEDULE if j.name == "dunning.run"]
    assert run_job(engine, job, clock=clock) == {"accounts": 1, "errors": 0, "noPlan": 1}
    with uow() as u:
        service.create_plan(u, service.NewPlan("Default EUR", "EUR", (DunningStep(7, "reminder"),)))
    assert run_job(engine, job, clock=clock) == {"accounts": 1, "errors": 0, "opened": 1, "reminder": 1}
    assert run_job(engine, job, clock=clock) == {"accounts": 1, "errors": 0}  # idempotent
