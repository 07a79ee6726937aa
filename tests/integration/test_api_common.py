"""Cross-cutting API behaviour, shown on the party resources: auth, roles, errors, paging, idempotency, audit."""

import sqlalchemy as sa

from openbss.audit.tables import audit_record
from openbss.auth.service import create_api_key
from openbss.party.tables import customer

CUSTOMERS = "/tmf-api/customerManagement/v4/customer"
ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_requests_without_a_valid_key_are_refused(client):
    assert client.get("/health").status_code == 200  # health needs no key
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer obk_nope_nope"}, {"Authorization": "Bearer x"}):
        r = client.get(CUSTOMERS, headers=headers)
        assert r.status_code == 401
        assert r.json()["@type"] == "Error" and r.json()["status"] == "401"


def test_reader_may_read_but_not_write(client, uow):
    with uow() as u:
        key = create_api_key(u, "dashboard", "reader")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(CUSTOMERS, headers=headers).status_code == 200
    r = client.post(CUSTOMERS, json={"name": "X"}, headers=headers)
    assert r.status_code == 403 and "reader" in r.json()["message"]
    assert client.get(CUSTOMERS, headers={"X-API-Key": key}).status_code == 200


def test_bad_input_is_named_and_nothing_is_written(client, engine):
    r = client.post(CUSTOMERS, content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
    r = client.post(CUSTOMERS, json={"name": 42})
    assert r.status_code == 400 and "name=42" in r.json()["message"]
    r = client.post(CUSTOMERS, json={})
    assert r.status_code == 400 and "name is required" in r.json()["message"]
    r = client.post(CUSTOMERS, json={"name": "A", "status": "dancing"})
    assert r.status_code == 422 and "status='dancing'" in r.json()["message"]
    assert _count(engine, customer) == 0

    cust = client.post(CUSTOMERS, json={"name": "Ada"}).json()
    base = {"name": "Ada main", "relatedParty": [{"id": cust["id"]}], "country": "DE", "billCycleDay": 1}
    cases = [
        ({"currency": "EURO"}, 422, "currency='EURO'"),
        ({"currency": "EUR", "country": "XX"}, 422, "country='XX'"),
        ({"currency": "EUR", "billCycleDay": 31}, 422, "billCycleDay=31"),
        ({"currency": "EUR", "timeZone": "Mars/Olympus"}, 422, "timeZone='Mars/Olympus'"),
        ({"currency": "EUR", "relatedParty": [{"id": "0192f0e0-0000-7000-8000-000000000000"}]}, 422,
         "relatedParty.id='0192f0e0-0000-7000-8000-000000000000': no customer"),
        ({"currency": "EUR", "relatedParty": [{"id": "not-a-uuid"}]}, 422, "relatedParty.id='not-a-uuid'"),
        ({"currency": "EUR", "billCycleDay": "first"}, 400, "billCycleDay='first'"),
    ]
    for change, status, text in cases:
        r = client.post(ACCOUNTS, json={**base, **change})
        assert r.status_code == status, (change, r.text)
        assert text in r.json()["message"], (change, r.text)
    assert client.get(ACCOUNTS).headers["X-Total-Count"] == "0"


def test_unknown_ids_are_404(client):
    for path in (f"{CUSTOMERS}/0192f0e0-0000-7000-8000-000000000000", f"{CUSTOMERS}/nope", f"{ACCOUNTS}/nope"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


def test_paging_headers_and_filters(client):
    for i in range(5):
        client.post(CUSTOMERS, json={"name": f"C{i}", "status": "active" if i % 2 else "inactive"})
    r = client.get(CUSTOMERS, params={"offset": 1, "limit": 2})
    assert (r.headers["X-Total-Count"], r.headers["X-Result-Count"]) == ("5", "2")
    assert [c["name"] for c in r.json()] == ["C1", "C2"]  # UUIDv7 ids keep creation order
    assert client.get(CUSTOMERS, params={"status": "active"}).headers["X-Total-Count"] == "2"
    r = client.get(CUSTOMERS, params={"colour": "red"})
    assert r.status_code == 422 and "colour='red' is not a filter" in r.json()["message"]
    assert client.get(CUSTOMERS, params={"limit": "-1"}).status_code == 422


def test_idempotency_key_replays_and_rejects_reuse(client, engine):
    h = {"Idempotency-Key": "create-ada-1"}
    first = client.post(CUSTOMERS, json={"name": "Ada"}, headers=h)
    again = client.post(CUSTOMERS, json={"name": "Ada"}, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert _count(engine, customer) == 1
    other = client.post(CUSTOMERS, json={"name": "Bob"}, headers=h)
    assert other.status_code == 409 and _count(engine, customer) == 1


def test_every_mutation_is_audited_with_the_actor(client, engine):
    cust = client.post(CUSTOMERS, json={"name": "Ada"}).json()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_record).where(audit_record.c.action == "customer.created")).all()
    assert len(rows) == 1
    assert rows[0].actor == "apikey:test-admin" and str(rows[0].entity_id) == cust["id"]
    assert rows[0].after["status"] == "active"
    assert "name" not in rows[0].after  # personal data stays out of the immutable trail (GDPR erasure)


def test_openapi_docs_list_the_tmf_paths(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/tmf-api/customerManagement/v4/customer" in paths
    assert client.get("/docs").status_code == 200
