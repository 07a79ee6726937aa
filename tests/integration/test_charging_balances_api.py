"""TMF654 balances on real PostgreSQL (issue #7 part 1): buckets, top-ups by API and by voucher, adjustments,
accumulated balances, use thresholds through the outbox, postpaid credit for hybrid plans, rollover.
Every TMF654 response is validated against the official v4 swagger."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.charging import balances, vouchers
from openbss.charging import service as charging
from openbss.charging.cli import voucher_app
from openbss.charging.service import NewBucket, ReserveRequest, add_bucket, create_group
from openbss.charging.tables import balance_bucket, charging_reservation, voucher
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money
from openbss.events.tables import outbox_event
from openbss.mediation import service as mediation
from openbss.mediation.model import UsageRecord
from tests import factories
from tests.tmf_spec import spec_errors

D = Decimal
BASE = "/tmf-api/prepayBalanceManagement/v4"
SPEC = "TMF654-PrepayBalance-v4.0.0"
NOW = datetime(2026, 10, 1, 9, tzinfo=UTC)  # the clock fixture's start


def valid(definition: str, body: dict) -> dict:
    assert spec_errors(SPEC, definition, body) == [], body
    return body


@pytest.fixture
def account(uow):
    with uow() as u:
        return factories.account(u)


def topup(client, account_id, value=None, **extra):
    body = {"partyAccount": {"id": str(account_id)}, "usageType": "monetary", **extra}
    if value is not None:
        body["amount"] = {"amount": value, "units": "EUR"}
    return client.post(f"{BASE}/topupBalance", json=body)


def set_used(u, bucket_id, used):
    """What charging.commit does to a bucket when a session spends (tests jump straight to the figure)."""
    u.conn.execute(balance_bucket.update().where(balance_bucket.c.id == bucket_id).values(used=D(used)))


def events(u, event_type):
    return [r.payload for r in u.conn.execute(
        sa.select(outbox_event.c.payload).where(outbox_event.c.event_type == event_type).order_by(outbox_event.c.id))]


# ---- top-ups by API -------------------------------------------------------------------------------------------

def test_topup_opens_a_bucket_then_tops_it_up_and_everything_validates_against_tmf654(client, uow, account):
    r = topup(client, account.id, "10.00", validFor={"endDateTime": "2027-01-01T00:00:00Z"},
              paymentMethod={"id": "card-4242"}, channel={"id": "web"})
    assert r.status_code == 201, r.text
    first = valid("TopupBalance", r.json())
    assert (first["status"], first["amount"], first["paymentMethod"]) == ("completed", {"amount": 10, "units": "EUR"},
                                                                         {"id": "card-4242"})
    bucket_id = first["bucket"]["id"]
    r = topup(client, account.id, "5.50", bucket={"id": bucket_id})
    assert r.status_code == 201, r.text
    assert valid("TopupBalance", r.json())["bucket"]["id"] == bucket_id

    bucket = valid("Bucket", client.get(f"{BASE}/bucket/{bucket_id}").json())
    # 10.00 + 5.50 = 15.50 remaining, nothing reserved or used yet
    assert bucket["remainingValue"] == {"amount": 15.5, "units": "EUR"}
    assert (bucket["usageType"], bucket["status"], bucket["isShared"]) == ("monetary", "active", False)
    assert bucket["partyAccount"]["id"] == str(account.id)
    assert bucket["validFor"]["endDateTime"] == "2027-01-01T00:00:00Z"

    listed = client.get(f"{BASE}/bucket", params={"partyAccount.id": str(account.id)})
    assert listed.headers["X-Total-Count"] == "1"
    topups = client.get(f"{BASE}/topupBalance", params={"partyAccount.id": str(account.id)})
    assert [valid("TopupBalance", t)["amount"]["amount"] for t in topups.json()] == [10, 5.5]
    assert valid("TopupBalance", client.get(topups.json()[0]["href"].replace("http://testserver", "")).json())

    acc = client.get(f"{BASE}/accumulatedBalance", params={"partyAccount.id": str(account.id)}).json()
    assert [valid("AccumulatedBalance", a)["totalBalance"] for a in acc] == [{"amount": 15.5, "units": "EUR"}]
    one = client.get(f"{BASE}/accumulatedBalance/{account.id}-EUR")
    assert one.status_code == 200 and valid("AccumulatedBalance", one.json())["id"] == f"{account.id}-EUR"

    with uow() as u:
        # each top-up: its audit record and its TopupBalanceCreateEvent, valid as the spec's notification
        created = events(u, "TopupBalanceCreateEvent")
        assert len(created) == 2 and all(valid("TopupBalanceCreateEvent", e) for e in created)
        assert u.conn.execute(sa.select(sa.func.count()).where(audit_record.c.action == "topupBalance.created")
                              ).scalar_one() == 2


def test_units_buckets_and_refusals_name_the_field(client, account, uow):
    r = client.post(f"{BASE}/topupBalance", json={"partyAccount": {"id": str(account.id)}, "usageType": "voice",
                                                  "amount": {"amount": 600, "units": "second"}})
    assert r.status_code == 201, r.text
    assert valid("TopupBalance", r.json())["amount"] == {"amount": 600, "units": "second"}
    seconds = r.json()["bucket"]["id"]
    for body, field in [
        ({"usageType": "voice", "amount": {"amount": 1.5, "units": "second"}}, "amount.amount"),  # seconds are whole
        ({"amount": {"amount": "1.234", "units": "EUR"}}, "amount.amount"),  # EUR has 2 minor units
        ({"amount": {"amount": -5, "units": "EUR"}}, "amount.amount"),
        ({"usageType": "fax", "amount": {"amount": 1, "units": "EUR"}}, "usageType"),
        ({"amount": {"amount": 5, "units": "EUR"}, "bucket": {"id": seconds}}, "usageType"),  # a seconds bucket
        ({"usageType": "monetary"}, "amount"),
    ]:
        r = client.post(f"{BASE}/topupBalance", json={"partyAccount": {"id": str(account.id)}, **body})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["message"].startswith(f"{field}="), r.json()
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
    r = topup(client, other.id, "5.00", bucket={"id": seconds})
    assert r.status_code == 422 and f"is not a bucket of partyAccount {other.id}" in r.json()["message"]
    r = topup(client, new_id(), "5.00")
    assert r.status_code == 422 and r.json()["message"].startswith("partyAccount.id=")  # a body reference


def test_idempotency_key_credits_once(client, uow, account):
    headers = {"Idempotency-Key": "topup-1"}
    body = {"partyAccount": {"id": str(account.id)}, "amount": {"amount": "20.00", "units": "EUR"}}
    first = client.post(f"{BASE}/topupBalance", json=body, headers=headers)
    again = client.post(f"{BASE}/topupBalance", json=body, headers=headers)
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json() == again.json()
    with uow() as u:
        # one bucket of 20.00, not two
        assert [b.bucket.amount for b in balances.list_buckets(u, {"partyAccount.id": str(account.id)}, 0, 10)[0]
                ] == [D("20.00")]


def test_shared_bucket_of_a_group_is_topped_up_by_a_member_and_counted_for_every_member(client, uow, account):
    with uow() as u:
        other = factories.account(u, name="Grace Hopper")
        group = create_group(u, "Family", [account.id, other.id])
        pool = add_bucket(u, NewBucket("byte", D(1_000_000_000), NOW, group_id=group))
    r = client.post(f"{BASE}/topupBalance", json={"partyAccount": {"id": str(other.id)}, "usageType": "data",
                                                  "amount": {"amount": 500_000_000, "units": "byte"},
                                                  "bucket": {"id": str(pool)}})
    assert r.status_code == 201, r.text
    bucket = valid("Bucket", client.get(f"{BASE}/bucket/{pool}").json())
    # 1 GB + 0.5 GB, shared by the family group
    assert (bucket["isShared"], bucket["remainingValue"], bucket["balanceGroup"]["name"]) == (
        True, {"amount": 1_500_000_000, "units": "byte"}, "Family")
    for member in (account.id, other.id):
        [acc] = client.get(f"{BASE}/accumulatedBalance", params={"partyAccount.id": str(member)}).json()
        assert valid("AccumulatedBalance", acc)["totalBalance"] == {"amount": 1_500_000_000, "units": "byte"}


# ---- vouchers -------------------------------------------------------------------------------------------------

@pytest.fixture
def batch(uow):
    with uow() as u:
        return vouchers.generate(u, 3, Money.of("10.00", "EUR"), date(2026, 12, 31), "autumn campaign")


def test_voucher_pays_a_topup_once_and_every_bad_pin_gets_the_same_answer(client, uow, clock, account, batch):
    (_, pin), (_, other_pin) = batch.pins[0], batch.pins[1]
    r = client.post(f"{BASE}/topupBalance", json={"partyAccount": {"id": str(account.id)},
                                                  "voucher": vouchers.format_pin(pin)})
    assert r.status_code == 201, r.text
    body = valid("TopupBalance", r.json())
    assert body["amount"] == {"amount": 10, "units": "EUR"} and pin not in r.text  # the PIN is never echoed
    refused = "voucher='***' is not a valid voucher"
    for bad in (pin, "0000000000000000", "12", other_pin[:-1] + str((int(other_pin[-1]) + 1) % 10)):
        r = client.post(f"{BASE}/topupBalance", json={"partyAccount": {"id": str(account.id)}, "voucher": bad})
        assert r.status_code == 422 and r.json()["message"].startswith(refused), r.text
        assert bad not in r.text
    # the PIN as paymentMethod (the spec's other way), with an amount that is not the voucher's: refused alike,
    # and the voucher stays unused
    r = client.post(f"{BASE}/topupBalance", json={
        "partyAccount": {"id": str(account.id)}, "amount": {"amount": 50, "units": "EUR"},
        "paymentMethod": {"id": other_pin, "@referredType": "Voucher"}})
    assert r.status_code == 422 and r.json()["message"].startswith(refused)
    clock.move_to(datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC))  # the batch was redeemable through 2026-12-31
    r = client.post(f"{BASE}/topupBalance", json={"partyAccount": {"id": str(account.id)}, "voucher": other_pin})
    assert r.status_code == 422 and r.json()["message"].startswith(refused)
    with uow() as u:
        assert [s.available for s in vouchers.batches(u)] == [2]  # 3 - 1 redeemed
        stored = " ".join(u.conn.execute(sa.select(voucher.c.pin_hash)).scalars())
        audit = str(u.conn.execute(sa.select(audit_record.c.after)).all())
        assert pin not in stored and pin not in audit and other_pin not in audit


def test_a_voucher_redeemed_twice_at_once_credits_once(engine, uow, account, batch):
    _, pin = batch.pins[2]
    barrier, outcomes = threading.Barrier(2), []

    def redeem():
        barrier.wait()
        try:
            with uow() as u:
                balances.topup(u, balances.NewTopup(account.id, voucher_pin=pin))
            outcomes.append("credited")
        except InvalidValue as e:
            outcomes.append(e.field)

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["credited", "voucher"]
    with uow() as u:
        [acc], _ = balances.list_accumulated(u, {"partyAccount.id": str(account.id)}, 0, 10)
        assert acc.remaining == D("10.00")  # one voucher of 10.00, credited once


def test_cli_writes_the_pins_once_and_redeems_one(run_cli, uow, account, tmp_path):
    out = tmp_path / "pins.csv"
    args = ["generate", "--count", "5", "--amount", "5.00", "--currency", "EUR", "--valid-until", "2027-03-31",
            "--out", str(out)]
    r = run_cli(voucher_app, args)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 5 and len({row["pin"] for row in rows}) == 5 and oct(out.stat().st_mode)[-3:] == "600"
    again = run_cli(voucher_app, args)  # never overwrites the file of PINs
    assert again.exit_code != 0 and len(list(csv.DictReader(out.open()))) == 5
    r = run_cli(voucher_app, ["redeem", "--pin", rows[0]["pin"], "--account", str(account.id)])
    assert r.exit_code == 0 and "topped up 5.00 EUR" in r.output, r.output
    r = run_cli(voucher_app, ["redeem", "--pin", rows[0]["pin"], "--account", str(account.id)])
    assert r.exit_code == 1 and "is not a valid voucher" in r.output
    r = run_cli(voucher_app, ["batches"])
    assert r.exit_code == 0 and "4" in r.output  # 5 - 1 available


# ---- adjustments ----------------------------------------------------------------------------------------------

def test_adjustments_up_and_down_but_never_below_used_plus_reserved(client, uow, account):
    with uow() as u:
        wallet = add_bucket(u, NewBucket("money", D("20.00"), NOW, account_id=account.id, currency="EUR"))
        set_used(u, wallet, "6.00")
        u.conn.execute(balance_bucket.update().where(balance_bucket.c.id == wallet).values(reserved=D("4.00")))
    r = client.post(f"{BASE}/adjustBalance", json={"bucket": {"id": str(wallet)}, "usageType": "monetary",
                                                   "amount": {"amount": "2.50", "units": "EUR"},
                                                   "reason": "goodwill for the outage"})
    assert r.status_code == 201, r.text
    assert valid("AdjustBalance", r.json())["amount"] == {"amount": 2.5, "units": "EUR"}
    # 20.00 + 2.50 = 22.50; used 6.00 + reserved 4.00 = 10.00, so at most 12.50 can come off
    r = client.post(f"{BASE}/adjustBalance", json={"bucket": {"id": str(wallet)}, "usageType": "monetary",
                                                   "amount": {"amount": "-12.51", "units": "EUR"}, "reason": "x"})
    assert r.status_code == 422
    assert r.json()["message"] == (f"amount.amount=Decimal('-12.51') would take bucket {wallet} to 9.99, below what "
                                   "is used (6.00) plus reserved (4.00); at most 12.50 can be taken off")
    r = client.post(f"{BASE}/adjustBalance", json={"bucket": {"id": str(wallet)}, "usageType": "monetary",
                                                   "amount": {"amount": "-12.50", "units": "EUR"},
                                                   "reason": "fraudulent top-up reversed"})
    assert r.status_code == 201, r.text
    # 22.50 - 12.50 = 10.00 = used + reserved: nothing free
    assert client.get(f"{BASE}/bucket/{wallet}").json()["remainingValue"] == {"amount": 0, "units": "EUR"}
    r = client.post(f"{BASE}/adjustBalance", json={"bucket": {"id": str(wallet)}, "usageType": "monetary",
                                                   "amount": {"amount": 1, "units": "EUR"}})
    assert r.status_code == 422 and r.json()["message"].startswith("reason=")
    listed = client.get(f"{BASE}/adjustBalance", params={"bucket.id": str(wallet)})
    assert [valid("AdjustBalance", a)["reason"] for a in listed.json()] == ["goodwill for the outage",
                                                                            "fraudulent top-up reversed"]
    with uow() as u:
        assert all(valid("AdjustBalanceCreateEvent", e) for e in events(u, "AdjustBalanceCreateEvent"))
        trail = u.conn.execute(sa.select(audit_record.c.before, audit_record.c.after)
                               .where(audit_record.c.action == "adjustBalance.created")
                               .order_by(audit_record.c.id)).all()
        assert [(t.before["amount"], t.after["bucketAmount"]) for t in trail] == [("20.000000", "22.500000"),
                                                                                  ("22.500000", "10.000000")]


# ---- thresholds -----------------------------------------------------------------------------------------------

def test_threshold_events_once_per_threshold_and_rearmed_by_a_topup(client, uow, account):
    with uow() as u:
        wallet = add_bucket(u, NewBucket("money", D("10.00"), NOW, account_id=account.id, currency="EUR"))
    steps = [
        ("7.99", []),  # 79.9 %: below 80
        ("8.00", [80]),  # 80 % of 10.00 = 8.00
        ("8.00", []),  # called again after the same debit: nothing new
        ("9.50", []),
        ("10.00", [100]),
    ]
    for used, expected in steps:
        with uow() as u:
            set_used(u, wallet, used)
            assert [p for _, p in balances.notify_thresholds(u, [wallet])] == expected, used
    with uow() as u:
        sent = events(u, balances.THRESHOLD_EVENT)
        assert [e["event"]["bucket"]["thresholdPercentage"] for e in sent] == [80, 100]
        assert sent[0]["event"]["bucket"]["usedValue"] == {"amount": 8, "units": "EUR"}
        assert all(spec_errors(SPEC, "Bucket", e["event"]["bucket"]) == [] for e in sent)
    # a top-up of 10.00: used 10.00 of 20.00 = 50 %, both thresholds re-armed
    assert topup(client, account.id, "10.00", bucket={"id": str(wallet)}).status_code == 201
    with uow() as u:
        set_used(u, wallet, "16.00")  # 16 / 20 = 80 %
        assert balances.notify_thresholds(u, [wallet]) == [(wallet, 80)]
    # a negative adjustment can cross one too: 16.00 of 16.00 = 100 %
    r = client.post(f"{BASE}/adjustBalance", json={"bucket": {"id": str(wallet)}, "reason": "expired promotion",
                                                   "amount": {"amount": -4, "units": "EUR"}})
    assert r.status_code == 201, r.text
    with uow() as u:
        assert [e["event"]["bucket"]["thresholdPercentage"] for e in events(u, balances.THRESHOLD_EVENT)] == [
            80, 100, 80, 100]


# ---- postpaid credit ------------------------------------------------------------------------------------------

def test_postpaid_allowance_is_the_credit_limit_less_receivable_unbilled_usage_and_holds(uow, clock):
    with uow() as u:
        acc = factories.account(u, credit_limit=Money.of("100.00", "EUR"))
        prepaid = factories.account(u, name="Grace Hopper")
        factories.subscribe(u, acc.id, factories.offering(u).id, "+4915100000001", datetime(2026, 10, 1, tzinfo=UTC))
        assert balances.postpaid_allowance(u, acc.id, "EUR") == D("100.00")  # nothing owed, used or held
        assert balances.postpaid_allowance(u, prepaid.id, "EUR") == 0  # no credit limit: no postpaid credit
        with pytest.raises(InvalidValue, match="currency='USD' is not the currency"):
            balances.postpaid_allowance(u, acc.id, "USD")
    clock.move_to(datetime(2026, 10, 12, 9, tzinfo=UTC))
    with uow() as u:
        mediation.ingest(u, [UsageRecord("switch-1", "r1", "+4915100000001", "voice",
                                         datetime(2026, 10, 12, 8, tzinfo=UTC), D(300))])
        # 300 s x 0.0020 = 0.60 rated, not billed
        assert balances.postpaid_allowance(u, acc.id, "EUR") == D("99.40")
        # a session granted 750 s on credit (no prepaid money): 750 x 0.0020 = 1.50 held against the limit
        grant = charging.reserve(u, ReserveRequest("s1", 1, "+4915100000001", "voice", 750, clock.now(), 300))
        assert grant.granted == 750
        # 100.00 - 0.60 unbilled - 1.50 held = 97.90
        assert balances.postpaid_allowance(u, acc.id, "EUR") == D("97.90")
        u.conn.execute(charging_reservation.update().values(status="expired"))
        # an expired reservation's hold no longer counts, even before it is dropped
        assert balances.postpaid_allowance(u, acc.id, "EUR") == D("99.40")
    clock.move_to(datetime(2026, 11, 1, 2, tzinfo=UTC))
    with uow() as u:
        from openbss.billing import service as billing
        from openbss.ledger import service as ledger

        invoice = billing.bill_account(u, acc.id, "2026-10")
        owed = ledger.ar_balance(u, acc.id).amount
        # the October invoice: 30.00 October + 30.00 November (in advance) + 0.60 usage = 60.60 net, 19 % VAT
        # 11.51, 72.11 gross; the usage is billed now, so it counts once, as receivable: 100.00 - 72.11 = 27.89
        assert (invoice.gross_total, owed) == (Money.of("72.11", "EUR"), D("72.11"))
        assert balances.postpaid_allowance(u, acc.id, "EUR") == D("27.89")


def test_postpaid_allowances_of_many_accounts_are_read_together_each_in_its_own_currency(uow, clock):
    from openbss.party import service as party

    with uow() as u:
        ada = factories.account(u, credit_limit=Money.of("50.00", "EUR"))
        bob = factories.account(u, name="Bob", credit_limit=Money.of("20.00", "EUR"))
        offer = factories.offering(u)
        factories.subscribe(u, ada.id, offer.id, "+4915100000001", datetime(2026, 10, 1, tzinfo=UTC))
        factories.subscribe(u, bob.id, offer.id, "+4915100000002", datetime(2026, 10, 1, tzinfo=UTC))
    clock.move_to(datetime(2026, 10, 12, 9, tzinfo=UTC))
    with uow() as u:
        mediation.ingest(u, [UsageRecord("switch-1", f"r{n}", line, "voice", datetime(2026, 10, 12, 8, tzinfo=UTC),
                                         D(seconds)) for n, (line, seconds) in enumerate(
            [("+4915100000001", 300), ("+4915100000001", 200), ("+4915100000002", 1000)])])
        accounts = party.billing_accounts(u, [ada.id, bob.id])
        # Ada: 50.00 - (300 + 200) s x 0.0020 = 49.00; Bob: 20.00 - 1000 s x 0.0020 = 18.00
        assert charging.postpaid_allowances(u, accounts) == {ada.id: D("49.00"), bob.id: D("18.00")}


# ---- rollover -------------------------------------------------------------------------------------------------

def test_rollover_carries_the_unspent_rest_once(uow, clock, account):
    end = datetime(2026, 11, 1, tzinfo=UTC)
    with uow() as u:
        minutes = add_bucket(u, NewBucket("second", D(3000), NOW, end, account_id=account.id, rollover=True))
        set_used(u, minutes, "1800")
    clock.move_to(end + timedelta(hours=1))
    with uow() as u:
        [(old, new)] = balances.roll_over(u, clock.now())
        assert balances.roll_over(u, clock.now()) == []  # once
        b = balances.get_bucket_view(u, new).bucket
        # 3000 - 1800 = 1200 s carried over, valid from the old end for as long again (30 days 15 h)
        assert (old, b.amount, b.valid_from, b.valid_to, b.rollover) == (minutes, D(1200), end,
                                                                         end + (end - NOW), False)
        assert balances.get_bucket_view(u, minutes).status == "expired"


def test_a_topup_extends_a_buckets_validity_but_never_shortens_it_nor_revives_an_expired_one(client, clock, account):
    first = topup(client, account.id, "10.00", validFor={"endDateTime": "2026-11-01T00:00:00Z"}).json()
    bucket = {"id": first["bucket"]["id"]}
    r = topup(client, account.id, "5.00", bucket=bucket, validFor={"endDateTime": "2026-12-01T00:00:00Z"})
    assert r.status_code == 201 and r.json()["validFor"]["endDateTime"] == "2026-12-01T00:00:00Z"
    r = topup(client, account.id, "5.00", bucket=bucket, validFor={"endDateTime": "2026-11-15T00:00:00Z"})
    assert r.status_code == 422 and r.json()["message"].startswith("validFor.endDateTime=")
    clock.move_to(datetime(2026, 12, 1, tzinfo=UTC))
    r = topup(client, account.id, "5.00", bucket=bucket)
    assert r.status_code == 422 and "expired at 2026-12-01" in r.json()["message"]
    assert client.get(f"{BASE}/bucket/{bucket['id']}").json()["status"] == "expired"
