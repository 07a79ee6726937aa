"""`openbss gdpr export` and `openbss gdpr erase`: one person's data as JSON, and its pseudonymization, from the
command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.cli import app
from openbss.events.tables import outbox_event
from openbss.party import service as party
from openbss.party.model import pseudonym
from openbss.party.service import NewBillingAccount, NewCustomer, PartyRef


@pytest.fixture
def cli(engine, run_cli, monkeypatch):
    monkeypatch.delenv("OPENBSS_BASE_URL", raising=False)  # the CLI installs the events sink with the environment's
    return lambda *args: run_cli(app, ["gdpr", *args])


@pytest.fixture
def ada(uow):
    with uow() as u:
        person = party.create_party(u, "Individual", {
            "given_name": "Ada", "family_name": "Lovelace", "birth_date": date(1815, 12, 10),
            "contact_medium": [{"mediumType": "email", "characteristic": {"emailAddress": "ada@example.org"}}],
        })
        role = party.create_customer(u, NewCustomer(name="Ada Lovelace",
                                                    party=PartyRef(str(person.id), "Individual", local=True)))
        account = party.create_billing_account(u, NewBillingAccount(role.id, "Ada Lovelace home", "EUR", "DE"))
    return person, role, account


def test_export_prints_the_persons_data_as_json(cli, ada):
    person, role, account = ada
    r = cli("export", str(person.id))
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert r.output == json.dumps(data, indent=2, ensure_ascii=False) + "\n"  # pretty-printed
    assert datetime.fromisoformat(data["exportedAt"]).date() == datetime.now(UTC).date()  # the system clock
    assert (data["party"]["id"], data["party"]["given_name"], data["party"]["birth_date"]) == (
        str(person.id), "Ada", "1815-12-10")
    assert [(c["id"], c["name"]) for c in data["customers"]] == [(str(role.id), "Ada Lovelace")]
    assert [(a["id"], a["number"], a["name"]) for a in data["billingAccounts"]] == [
        (str(account.id), "ACC-000001", "Ada Lovelace home")]


def test_export_writes_a_file_with_out(cli, ada, tmp_path, engine):
    person, _, _ = ada
    out = tmp_path / "ada.json"
    r = cli("export", str(person.id), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert r.output == f"wrote the data of party {person.id} to {out}\n"
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["party"]["family_name"] == "Lovelace"
    with engine.connect() as conn:  # the export itself is on the audit trail, by the CLI
        assert conn.execute(sa.select(audit_record.c.actor).where(
            audit_record.c.action == "individual.exported")).scalars().all() == ["cli"]


@pytest.mark.parametrize("ident, message", [
    ("not-an-id", "error: PARTY_ID='not-an-id' is not a valid id"),
    ("01a20000-0000-7000-8000-000000000000", "error: no party with id '01a20000-0000-7000-8000-000000000000'"),
])
def test_export_of_an_unknown_party_says_so(cli, ident, message):
    r = cli("export", ident)
    assert (r.exit_code, r.output.strip()) == (1, message)


def test_erase_refuses_without_yes_and_changes_nothing(cli, uow, ada):
    person, _, _ = ada
    r = cli("erase", str(person.id))
    assert r.exit_code == 2
    assert "without --yes" in r.output
    with uow() as u:
        assert party.get_party(u, person.id).given_name == "Ada"


def test_erase_pseudonymizes_and_says_what(cli, uow, engine, ada):
    person, role, account = ada
    r = cli("erase", str(person.id), "--yes")
    assert r.exit_code == 0, r.output
    stand_in = pseudonym(person.id)
    assert r.output.splitlines() == [
        f"erased individual {person.id}, now named {stand_in!r}; pseudonymized:",
        f"  individual {person.id}: names, birth date, contact media, characteristics, external references",
        f"  customer {role.id}: name, contact media, characteristics, related parties",
        "  billing account ACC-000001: name",
        "kept: ids, accounts, invoices, payments and ledger entries (financial records)",
    ]
    with uow() as u:
        p = party.get_party(u, person.id)
        assert (p.full_name, p.given_name, p.birth_date) == (stand_in, None, None)
        assert party.get_customer(u, role.id).name == stand_in
        assert party.get_billing_account(u, account.id).name == stand_in
    # Listeners holding copies of the names hear of each pseudonymized resource, showing the stand-in.
    with engine.connect() as conn:
        events = conn.execute(sa.select(outbox_event.c.event_type, outbox_event.c.resource_id, outbox_event.c.payload)
                              .where(outbox_event.c.event_type.like("%AttributeValueChangeEvent"))
                              .order_by(outbox_event.c.event_type)).all()
    assert [(e.event_type, e.resource_id) for e in events] == [
        ("BillingAccountAttributeValueChangeEvent", account.id),
        ("CustomerAttributeValueChangeEvent", role.id),
        ("IndividualAttributeValueChangeEvent", person.id),
    ]
    assert "Lovelace" not in json.dumps([e.payload for e in events])

    again = cli("erase", str(person.id), "--yes")
    assert (again.exit_code, again.output.strip()) == (
        0, f"individual {person.id} was already erased on {datetime.now(UTC).date()}; nothing changed")
