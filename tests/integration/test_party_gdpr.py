"""GDPR: export everything held about one person; erase (pseudonymize) it while financial records stay."""

import json
from datetime import date

import pytest
import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.core.errors import Conflict
from openbss.party import service as party
from openbss.party.model import pseudonym
from openbss.party.service import NewBillingAccount, NewCustomer, PartyRef


@pytest.fixture
def ada(uow):
    with uow() as u:
        person = party.create_party(u, "Individual", {
            "given_name": "Ada", "family_name": "Lovelace", "birth_date": date(1815, 12, 10),
            "contact_medium": [{"mediumType": "email", "characteristic": {"emailAddress": "ada@example.org"}},
                               {"mediumType": "phone", "characteristic": {"phoneNumber": "+44 20 7946 0000"}}],
            "characteristic": [{"name": "preferredLanguage", "value": "en"}],
            "attributes": {"nationality": "GB"},
        })
        role = party.create_customer(u, NewCustomer(
            name="Ada Lovelace", email="ada@work.example",
            party=PartyRef(str(person.id), "Individual", local=True)))
        account = party.create_billing_account(u, NewBillingAccount(role.id, "Ada Lovelace home", "EUR", "DE"))
        party.create_customer(u, NewCustomer(name="Charles Babbage"))  # someone else: never exported or erased
    return person, role, account


def test_export_holds_everything_about_the_person(uow, ada):
    person, role, account = ada
    with uow() as u:
        data = party.export_party_data(u, person.id)
    assert json.loads(json.dumps(data)) == data  # ready to hand over as JSON
    assert data["exportedAt"] == "2026-10-01T09:00:00+00:00"
    assert (data["party"]["given_name"], data["party"]["birth_date"], data["party"]["attributes"]) == (
        "Ada", "1815-12-10", {"nationality": "GB"})
    assert [m["characteristic"] for m in data["party"]["contact_medium"]] == [
        {"emailAddress": "ada@example.org"}, {"phoneNumber": "+44 20 7946 0000"}]
    assert [(c["id"], c["name"], c["contact_medium"][0]["characteristic"]["emailAddress"])
            for c in data["customers"]] == [(str(role.id), "Ada Lovelace", "ada@work.example")]
    assert [(a["id"], a["number"], a["name"]) for a in data["billingAccounts"]] == [
        (str(account.id), "ACC-000001", "Ada Lovelace home")]
    assert "Babbage" not in json.dumps(data)


def test_erase_pseudonymizes_personal_data_and_keeps_ids_and_accounts(uow, engine, ada):
    person, role, account = ada
    stand_in = pseudonym(person.id)
    with uow() as u:
        erased = party.erase_party(u, person.id)
    assert erased.erased_at is not None
    with uow() as u:
        p = party.get_party(u, person.id)
        c = party.get_customer(u, role.id)
        a = party.get_billing_account(u, account.id)
        other = party.list_customers(u, {"name": "Charles Babbage"}, 0, 10)[0]
    assert (p.full_name, p.given_name, p.family_name, p.birth_date, p.attributes) == (stand_in, None, None, None, {})
    assert p.contact_medium == [{"mediumType": "email", "characteristic": {"emailAddress": stand_in}},
                                {"mediumType": "phone", "characteristic": {"phoneNumber": stand_in}}]
    assert p.characteristic == [{"name": "preferredLanguage", "value": stand_in}]
    assert (c.name, c.email, c.party.name) == (stand_in, stand_in, stand_in)
    assert (a.id, a.number, a.name, a.currency, a.state) == (account.id, "ACC-000001", stand_in, "EUR", "active")
    assert len(other) == 1  # nobody else touched

    with engine.connect() as conn:
        trail = json.dumps([dict(r._mapping) for r in conn.execute(sa.select(audit_record))], default=str)
        erasures = conn.execute(sa.select(audit_record).where(audit_record.c.action == "individual.erased")).all()
    for personal in ("Lovelace", "ada@", "1815", "+44"):
        assert personal not in trail  # the immutable audit trail never held the personal values
    assert len(erasures) == 1 and "full_name" in erasures[0].after["changed"]

    with uow() as u:  # idempotent: nothing changes, nothing more is recorded
        assert party.erase_party(u, person.id) == p
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(audit_record.c.action == "individual.erased")).scalar() == 1
    with uow() as u, pytest.raises(Conflict, match="was erased on 2026-10-01"):
        party.update_party(u, person.id, "Individual", {"given_name": "Ada"})


def test_erase_redacts_earlier_notifications_about_the_person(uow, engine):
    from openbss.events import service as events
    from openbss.events.service import NewListener
    from openbss.events.tables import outbox_event

    with uow() as u:
        for api in (party.PARTY_API, party.CUSTOMER_API):
            events.register_listener(u, NewListener(api, f"https://crm.example.com/{api}"))
        person = party.create_party(u, "Individual", {"given_name": "Grace", "family_name": "Hopper"})
        party.create_customer(u, NewCustomer(name="Grace Hopper", party=PartyRef(str(person.id), "Individual",
                                                                               local=True)))
    with engine.connect() as conn:
        before = [json.dumps(p) for p in conn.execute(sa.select(outbox_event.c.payload)).scalars()]
    assert len(before) == 2 and all("Hopper" in p for p in before)  # the create events carry the name

    with uow() as u:
        party.erase_party(u, person.id)
    with engine.connect() as conn:
        after = conn.execute(sa.select(outbox_event.c.event_type, outbox_event.c.payload)
                             .order_by(outbox_event.c.id)).all()
    assert not any("Hopper" in json.dumps(p) for _, p in after)
    assert [p.get("redacted") for _, p in after[:2]] == [True, True]  # the old ones keep only their identity
    assert [t for t, _ in after[2:]] == ["IndividualAttributeValueChangeEvent", "CustomerAttributeValueChangeEvent"]
