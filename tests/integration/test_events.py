"""Events end to end with a real HTTP peer on 127.0.0.1: hub registration, the outbox written in the business
transaction, signed deliveries, back-off, giving up, parallel workers, query filters, unregistering, the worker.

Most tests use a test-only `widget` resource (its own table in the per-test database), so they hold whatever
events the domain services emit; one test renders a real TMF629 customer and checks it against the spec.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sqlalchemy as sa

from openbss.audit import service as audit
from openbss.core.clock import FixedClock
from openbss.core.errors import NotFound
from openbss.core.events import ResourceEvent
from openbss.db import uow as uow_module
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.events import service as events
from openbss.events.model import RetryPolicy, verify_signature
from openbss.events.service import NewListener
from openbss.events.tables import event_delivery, outbox_event
from openbss.jobs import relay, schedule
from openbss.jobs.relay import DeliveryReport, deliver_due
from openbss.party import service as party
from openbss.party.schemas import customer_out
from tests.tmf_spec import spec_errors

pytest_plugins = ["tests.http_receiver"]  # the fixtures `peer` (a real HTTP receiver) and `http` (a client)

BASE_URL = "http://127.0.0.1:8000"  # the tests' settings: OPENBSS_BASE_URL unset
WIDGETS = "widgetManagement"
SECRET = "s3cret-for-tests-0123456789"


# --- a test-only resource ------------------------------------------------------------------------------------


def get_widget(uow: UnitOfWork, widget_id: uuid.UUID) -> dict:
    row = uow.conn.execute(sa.text("SELECT id, name, status FROM widget WHERE id = :id"), {"id": widget_id}).first()
    if row is None:
        raise NotFound("widget", str(widget_id))
    return dict(row._mapping)


def widget_out(w: dict, base: str) -> dict:
    return {"id": str(w["id"]), "href": f"{base}/tmf-api/{WIDGETS}/v4/widget/{w['id']}", "@type": "Widget",
            "name": w["name"], "status": w["status"]}


@pytest.fixture
def widgets(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE widget (id uuid PRIMARY KEY, name text NOT NULL, status text NOT NULL)"))
    events.register_resource(WIDGETS, "widget", get_widget, widget_out)


def make_widget(u: UnitOfWork, name: str = "w", status: str = "new") -> uuid.UUID:
    """A use case as a domain writes one: change the data, emit the event, in one unit of work."""
    wid = uuid.uuid4()
    u.conn.execute(sa.text("INSERT INTO widget VALUES (:id, :n, :s)"), {"id": wid, "n": name, "s": status})
    u.emit(ResourceEvent.created(WIDGETS, "widget", wid))
    return wid


def listen(uow, callback: str, query: str | None = None, api: str = WIDGETS, secret: str = SECRET):
    with uow() as u:
        return events.register_listener(u, NewListener(api, callback, query, secret))


def rows(engine, table):
    with engine.connect() as conn:
        return [r._mapping for r in conn.execute(sa.select(table))]


# --- emitting: the outbox is part of the business transaction --------------------------------------------


def test_an_event_is_delivered_once_signed_with_the_state_that_committed(engine, uow, clock, peer, http, widgets):
    listener = listen(uow, peer.url)
    with uow() as u:
        wid = make_widget(u, "blue", "new")
        # changed again before commit: the payload is rendered at commit time, so listeners see "active"
        u.conn.execute(sa.text("UPDATE widget SET status = 'active' WHERE id = :id"), {"id": wid})

    assert deliver_due(engine, clock=clock, http_client=http) == DeliveryReport(delivered=1)
    assert deliver_due(engine, clock=clock, http_client=http) == DeliveryReport()  # nothing is sent twice

    [request] = peer.requests
    [event] = rows(engine, outbox_event)
    assert request["path"] == "/hooks/listener/widgetCreateEvent"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["x-openbss-event-id"] == str(event["id"])
    assert request["headers"]["x-openbss-signature"].startswith("t=1790845200,v1=")  # 2026-10-01T09:00:00Z
    assert verify_signature(SECRET, request["headers"]["x-openbss-signature"], request["body"], clock.now())
    assert json.loads(request["body"]) == {
        "eventId": str(event["id"]),
        "eventTime": "2026-10-01T09:00:00Z",
        "eventType": "WidgetCreateEvent",
        "domain": WIDGETS,
        "event": {"widget": {"id": str(wid), "href": f"{BASE_URL}/tmf-api/{WIDGETS}/v4/widget/{wid}",
                             "@type": "Widget", "name": "blue", "status": "active"}},
    }
    [delivery] = rows(engine, event_delivery)
    assert (delivery["listener_id"], delivery["status"], delivery["attempts"], delivery["delivered_at"],
            delivery["next_attempt_at"], delivery["last_error"]) == (
        listener.id, "delivered", 1, clock.now(), None, None)


def test_a_rolled_back_change_leaves_no_event(engine, uow, peer, widgets):
    listen(uow, peer.url)
    with pytest.raises(RuntimeError, match="payment declined"), uow() as u:
        make_widget(u)
        raise RuntimeError("payment declined")
    assert rows(engine, outbox_event) == [] and rows(engine, event_delivery) == []


def test_an_event_nobody_can_render_fails_the_transaction(engine, uow, widgets):
    with pytest.raises(LookupError, match="no resource 'gadget' of API 'widgetManagement' is registered"), \
            uow() as u:
        make_widget(u)
        u.emit(ResourceEvent.created(WIDGETS, "gadget", uuid.uuid4()))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM widget")).scalar() == 0
    assert rows(engine, outbox_event) == []


def test_without_a_sink_emitting_fails_loudly_instead_of_losing_the_event(engine, uow, widgets, monkeypatch):
    monkeypatch.setattr(uow_module, "_before_commit", [])
    with pytest.raises(RuntimeError, match=r"1 event\(s\) emitted \(WidgetCreateEvent\) but no event sink"), \
            uow() as u:
        make_widget(u)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM widget")).scalar() == 0


def test_fan_out_follows_each_listeners_query_and_api(engine, uow, clock, peer, http, widgets):
    everything = listen(uow, peer.url + "/all")
    created = listen(uow, peer.url + "/created", "eventType=WidgetCreateEvent")
    gone = listen(uow, peer.url + "/gone", "eventType = WidgetStateChangeEvent, WidgetDeleteEvent")
    listen(uow, peer.url + "/all", api="gadgetManagement")  # same URL, another API: hears nothing of widgets

    with uow() as u:
        wid = make_widget(u, "red")
    with uow() as u:
        last = get_widget(u, wid)
        u.conn.execute(sa.text("DELETE FROM widget WHERE id = :id"), {"id": wid})
        u.emit(ResourceEvent.deleted(WIDGETS, "widget", wid, last=last))

    by_event = {}
    for e in rows(engine, outbox_event):
        by_event[e["event_type"]] = {d["listener_id"] for d in rows(engine, event_delivery) if d["event_id"] == e["id"]}
    assert by_event == {"WidgetCreateEvent": {everything.id, created.id},
                        "WidgetDeleteEvent": {everything.id, gone.id}}

    assert deliver_due(engine, clock=clock, http_client=http) == DeliveryReport(delivered=4)
    assert sorted(r["path"] for r in peer.requests) == [
        "/hooks/all/listener/widgetCreateEvent", "/hooks/all/listener/widgetDeleteEvent",
        "/hooks/created/listener/widgetCreateEvent", "/hooks/gone/listener/widgetDeleteEvent"]
    deleted = next(b for b in peer.bodies() if b["eventType"] == "WidgetDeleteEvent")
    assert deleted["event"]["widget"]["name"] == "red"  # the last representation: the row is gone


# --- delivery: retries, giving up, parallel workers ---------------------------------------------------------


def test_failures_are_retried_with_back_off_and_send_the_same_event(engine, uow, clock, peer, http, widgets):
    listen(uow, peer.url)
    with uow() as u:
        make_widget(u)
    peer.fail_next(2, status=503)
    t0 = clock.now()

    def deliver():
        return deliver_due(engine, clock=clock, http_client=http, jitter=lambda: 1.0)

    assert deliver() == DeliveryReport(retrying=1)
    [d] = rows(engine, event_delivery)
    assert (d["status"], d["attempts"], d["next_attempt_at"], d["last_attempt_at"]) == (
        "pending", 1, t0 + timedelta(seconds=10), t0)  # 10 s * 2^0
    assert d["last_error"] == 'HTTP 503: {"reason": "receiver is down"}'
    clock.advance(timedelta(seconds=9))
    assert deliver() == DeliveryReport()  # not due yet
    clock.advance(timedelta(seconds=1))
    assert deliver() == DeliveryReport(retrying=1)
    [d] = rows(engine, event_delivery)
    assert (d["attempts"], d["next_attempt_at"]) == (2, t0 + timedelta(seconds=10 + 20))  # 10 s * 2^1
    clock.advance(timedelta(seconds=20))
    assert deliver() == DeliveryReport(delivered=1)

    [d] = rows(engine, event_delivery)
    assert (d["status"], d["attempts"], d["delivered_at"], d["last_error"]) == (
        "delivered", 3, t0 + timedelta(seconds=30), None)
    assert len(peer.requests) == 3
    assert len({r["body"] for r in peer.requests}) == 1  # byte for byte the same notification each time
    assert len({r["headers"]["x-openbss-event-id"] for r in peer.requests}) == 1
    # each attempt is signed at its own time, so a receiver's replay window applies per attempt
    assert [r["headers"]["x-openbss-signature"][:12] for r in peer.requests] == [
        "t=1790845200", "t=1790845210", "t=1790845230"]


def test_a_delivery_is_given_up_after_the_last_attempt(engine, uow, clock, peer, http, widgets):
    listen(uow, peer.url)
    with uow() as u:
        make_widget(u)
    peer.fail_next(100)
    policy = RetryPolicy(max_attempts=3)
    reports = []
    for _ in range(4):
        reports.append(deliver_due(engine, clock=clock, http_client=http, policy=policy))
        clock.advance(timedelta(hours=1))
    assert reports == [DeliveryReport(retrying=1), DeliveryReport(retrying=1), DeliveryReport(failed=1),
                       DeliveryReport()]
    [d] = rows(engine, event_delivery)
    assert (d["status"], d["attempts"], d["next_attempt_at"], d["last_error"]) == (
        "failed", 3, None, 'HTTP 500: {"reason": "receiver is down"}')
    assert len(peer.requests) == 3


def test_an_unreachable_listener_is_retried(engine, uow, clock, http, widgets):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_port  # bound then closed: nothing listens there any more
    listen(uow, f"http://127.0.0.1:{port}")
    with uow() as u:
        make_widget(u)
    assert deliver_due(engine, clock=clock, http_client=http) == DeliveryReport(retrying=1)
    [d] = rows(engine, event_delivery)
    assert d["last_error"].startswith("ConnectError: ")


def test_two_workers_in_parallel_never_deliver_one_delivery_twice(engine, uow, clock, peer, widgets):
    listen(uow, peer.url)
    with uow() as u:
        for i in range(30):
            make_widget(u, f"w{i}")
    peer.delay = 0.02  # slow receiver: both workers are busy at the same time
    start = threading.Barrier(2)
    reports = [None, None]

    def worker(n):
        with httpx.Client(timeout=5.0) as client:
            start.wait()
            reports[n] = deliver_due(engine, clock=clock, http_client=client)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert reports[0].delivered > 0 and reports[1].delivered > 0
    assert reports[0].delivered + reports[1].delivered == 30
    event_ids = [r["headers"]["x-openbss-event-id"] for r in peer.requests]
    assert len(event_ids) == 30 and len(set(event_ids)) == 30
    assert {d["status"] for d in rows(engine, event_delivery)} == {"delivered"}


def test_an_event_is_queued_at_most_once_per_listener(engine, uow, peer, widgets):
    listener = listen(uow, peer.url)
    with uow() as u:
        make_widget(u)
    [d] = rows(engine, event_delivery)
    with pytest.raises(sa.exc.IntegrityError, match="pk_event_delivery"), engine.begin() as conn:
        conn.execute(sa.insert(event_delivery).values(event_id=d["event_id"], listener_id=listener.id,
                                                      created_at=d["created_at"], status="pending", attempts=0,
                                                      next_attempt_at=d["created_at"]))


# --- the hub API --------------------------------------------------------------------------------------------

HUB = "/tmf-api/customerManagement/v4/hub"


def test_hub_register_retrieve_and_delete(client, engine, peer):
    r = client.post(HUB, json={"callback": peer.url, "query": "eventType=CustomerCreateEvent"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert spec_errors("TMF629-Customer-v4.0.0", "EventSubscription", body) == []
    assert body["callback"] == peer.url and body["query"] == "eventType=CustomerCreateEvent"
    assert len(body["secret"]) == 64  # generated (256 bits, hex) and shown this once
    assert r.headers["location"] == body["href"] == f"http://testserver{HUB}/{body['id']}"

    got = client.get(f"{HUB}/{body['id']}")
    assert got.status_code == 200
    assert got.json() == {k: v for k, v in body.items() if k != "secret"}
    # a listener belongs to the API it was registered on
    assert client.get(f"/tmf-api/accountManagement/v4/hub/{body['id']}").status_code == 404

    assert client.delete(f"{HUB}/{body['id']}").status_code == 204
    assert client.get(f"{HUB}/{body['id']}").status_code == 404
    assert client.delete(f"{HUB}/{body['id']}").status_code == 404

    with unit_of_work(engine) as u:
        trail = audit.trail(u, uuid.UUID(body["id"]))
    assert [(a["action"], a["actor"], a["after"] or a["before"]) for a in trail] == [
        ("hubListener.created", "apikey:test-admin", {"api": "customerManagement", "callback": peer.url,
                                                      "query": "eventType=CustomerCreateEvent"}),
        ("hubListener.deleted", "apikey:test-admin", {"api": "customerManagement", "callback": peer.url,
                                                      "query": "eventType=CustomerCreateEvent"}),
    ]


def test_hub_keeps_a_secret_the_client_chose_and_refuses_a_second_registration(client, peer):
    r = client.post(HUB, json={"callback": peer.url, "secret": SECRET})
    assert r.status_code == 201
    assert r.json() == {"id": r.json()["id"], "href": r.json()["href"], "callback": peer.url, "query": ""}
    again = client.post(HUB, json={"callback": peer.url + "/", "query": "eventType=CustomerDeleteEvent"})
    assert again.status_code == 409
    assert again.json()["message"] == (f"callback={peer.url!r} is already registered for customerManagement events "
                                       f"as listener {r.json()['id']}; delete it first to change its query")


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"callback": "ftp://example.com/x"}, 422,
     "callback='ftp://example.com/x' must be an absolute http:// or https:// URL with a host"),
    ({"callback": "http://example.com", "query": "status=active"}, 422,
     "query='status=active' may only filter on eventType, e.g. 'eventType=CustomerCreateEvent'"),
    ({"callback": "http://example.com", "secret": "short"}, 422,
     "secret='***' must be 16 to 256 printable ASCII characters"),
    ({"query": "eventType=CustomerCreateEvent"}, 400, "callback is required"),
])
def test_hub_refuses_bad_registrations_naming_field_and_value(client, body, status, message):
    r = client.post(HUB, json=body)
    assert (r.status_code, r.json()["message"]) == (status, message)


def test_every_api_has_a_hub(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    for api in ("productCatalogManagement", "customerManagement", "accountManagement", "productOrderingManagement",
                "productInventory", "usageManagement", "customerBillManagement", "paymentManagement"):
        assert {f"/tmf-api/{api}/v4/hub", f"/tmf-api/{api}/v4/hub/{{listener_id}}"} <= paths, api


def test_a_customer_event_is_the_tmf629_notification(client, engine, uow, clock, peer, http):
    # StateChange only: whatever the customer service itself emits on create does not reach this listener.
    r = client.post(HUB, json={"callback": peer.url, "query": "eventType=CustomerStateChangeEvent"})
    secret = r.json()["secret"]
    with uow() as u:
        customer = party.create_customer(u, party.NewCustomer(name="Ada Lovelace", email="ada@example.org"))
        u.emit(ResourceEvent.state_changed("customerManagement", "customer", customer.id))
    assert deliver_due(engine, clock=clock, http_client=http) == DeliveryReport(delivered=1)

    [request] = peer.requests
    body = json.loads(request["body"])
    assert request["path"] == "/hooks/listener/customerStateChangeEvent"
    assert verify_signature(secret, request["headers"]["x-openbss-signature"], request["body"], clock.now())
    assert spec_errors("TMF629-Customer-v4.0.0", "CustomerStateChangeEvent", body) == []
    with uow() as u:
        assert body["event"] == {"customer": customer_out(party.get_customer(u, customer.id), BASE_URL)}


def test_deleting_a_listener_stops_its_deliveries(client, engine, uow, clock, peer, http, widgets):
    listener = listen(uow, peer.url)
    with uow() as u:
        make_widget(u)
    with uow() as u:
        events.delete_listener(u, WIDGETS, listener.id)
    assert deliver_due(engine, clock=clock, http_client=http) == DeliveryReport()
    assert peer.requests == [] and rows(engine, event_delivery) == []


# --- the worker -----------------------------------------------------------------------------------------------


def test_worker_once_delivers_what_is_due(engine, run_cli, uow, peer, widgets, monkeypatch):
    from openbss.cli import app

    monkeypatch.delenv("OPENBSS_BASE_URL", raising=False)  # the CLI installs the sink with the environment's
    listen(uow, peer.url)
    with unit_of_work(engine, clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC))) as u:  # due before "now"
        make_widget(u)
    result = run_cli(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    *jobs, delivered = result.output.splitlines()  # one line per periodic job, then the deliveries
    assert [line.split(":")[0] for line in jobs] == [job.name for job in schedule.SCHEDULE]
    assert "ordering.run_due: ordersCompleted 0, trialsConverted 0, termsRenewed 0, productsTerminated 0" in jobs
    assert delivered == "delivered 1, retrying 0, failed 0"
    assert len(peer.requests) == 1


def test_worker_loop_wakes_on_commit_and_stops_when_asked(engine, uow, clock, peer, widgets):
    listen(uow, peer.url)
    stop = threading.Event()
    loop = threading.Thread(target=relay.run, args=(engine,),
                            kwargs={"clock": clock, "stop": stop, "poll_seconds": 60.0})
    loop.start()
    try:
        time.sleep(0.5)  # the worker has found nothing and waits on LISTEN (for up to a minute)
        with uow() as u:
            make_widget(u)
        deadline = time.monotonic() + 10
        while not peer.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(peer.requests) == 1  # woken by the commit's NOTIFY, not by the 60 s poll
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive()
