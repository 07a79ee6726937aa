"""Pure rules of events: TMF688 queries, callback checks, signatures, back-off and event naming."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from openbss.core.errors import InvalidValue
from openbss.core.events import ResourceEvent
from openbss.events.model import (
    RetryPolicy,
    api_of,
    check_callback,
    check_secret,
    envelope,
    listener_path,
    outcome,
    parse_query,
    signature,
    verify_signature,
)

ID = uuid.UUID("01890000-0000-7000-8000-000000000001")
NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("query", "types"), [
    (None, None),
    ("", None),
    ("   ", None),
    ("eventType=CustomerCreateEvent", ("CustomerCreateEvent",)),
    ("eventType = CustomerCreateEvent", ("CustomerCreateEvent",)),
    ("eventType=CustomerCreateEvent,CustomerStateChangeEvent", ("CustomerCreateEvent", "CustomerStateChangeEvent")),
    ("eventType=CustomerCreateEvent, CustomerDeleteEvent,CustomerCreateEvent", ("CustomerCreateEvent",
                                                                               "CustomerDeleteEvent")),
    ("eventType=CustomerCreateEvent&eventType=CustomerDeleteEvent", ("CustomerCreateEvent", "CustomerDeleteEvent")),
])
def test_a_query_selects_event_types(query, types):
    assert parse_query(query) == types


@pytest.mark.parametrize(("query", "problem"), [
    ("status=active", "may only filter on eventType"),
    ("CustomerCreateEvent", "may only filter on eventType"),
    ("eventType=", "names '', which is not an event type"),
    ("eventType=customerCreateEvent", "names 'customerCreateEvent', which is not an event type"),
    ("eventType=CustomerCreateEvent&event.customer.status=active", "may only filter on eventType"),
])
def test_other_queries_are_refused_naming_the_query(query, problem):
    with pytest.raises(InvalidValue, match=problem) as err:
        parse_query(query)
    assert err.value.field == "query" and err.value.value == query


@pytest.mark.parametrize(("url", "kept"), [
    ("http://127.0.0.1:8080/hooks", "http://127.0.0.1:8080/hooks"),
    ("https://crm.example.com/tmf/", "https://crm.example.com/tmf"),
])
def test_callbacks_are_http_urls(url, kept):
    assert check_callback(url) == kept


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://example.com/x", "must be an absolute http:// or https:// URL"),
    ("/relative/path", "must be an absolute http:// or https:// URL"),
    ("http:///nohost", "must be an absolute http:// or https:// URL"),
    ("http://example.com:99999/", "is not a valid URL"),
    ("https://example.com/x?token=1", "must not have a query or fragment"),
    ("", "must be an http(s) URL"),
    ("http://e.com/" + "a" * 2048, "must be an http(s) URL of at most 2048"),
])
def test_bad_callbacks_are_refused_naming_the_url(url, problem):
    with pytest.raises(InvalidValue, match=problem.replace("(", r"\(").replace(")", r"\)")) as err:
        check_callback(url)
    assert err.value.field == "callback" and err.value.value == url


def test_a_secret_is_16_to_256_printable_ascii_characters_and_never_echoed():
    assert check_secret("s" * 16) == "s" * 16
    for bad in ("short", "s" * 257, "sécret-sécret-sécret", "tab\tinside-the-secret", None):
        with pytest.raises(InvalidValue) as err:
            check_secret(bad)
        assert err.value.value == "***"


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"eventId":"1"}'
    expected = hmac.new(b"k" * 16, b'1790845200.{"eventId":"1"}', hashlib.sha256).hexdigest()
    assert signature("k" * 16, 1790845200, body) == f"t=1790845200,v1={expected}"


def test_a_receiver_accepts_a_fresh_signature_and_refuses_tampering_replays_and_garbage():
    body, secret = b'{"a":1}', "k" * 16
    header = signature(secret, int(NOW.timestamp()), body)
    assert verify_signature(secret, header, body, NOW + timedelta(minutes=4))
    assert not verify_signature(secret, header, b'{"a":2}', NOW)
    assert not verify_signature("x" * 16, header, body, NOW)
    assert not verify_signature(secret, header, body, NOW + timedelta(minutes=6))  # a replay, too late
    assert not verify_signature(secret, "v1=abc", body, NOW)
    assert not verify_signature(secret, "t=soon,v1=abc", body, NOW)


def test_back_off_doubles_from_10_seconds_up_to_an_hour_with_equal_jitter():
    p = RetryPolicy()
    # full delay min(1 h, 10 s * 2^(n-1)); jitter 1 waits all of it, jitter 0 half of it
    assert [p.delay(n, 1.0).total_seconds() for n in (1, 2, 3, 4, 9, 10, 15)] == [
        10, 20, 40, 80, 2560, 3600, 3600]
    assert p.delay(1, 0.0) == timedelta(seconds=5)
    assert p.delay(3, 0.5) == timedelta(seconds=30)  # 40 / 2 + 40 / 2 * 0.5
    with pytest.raises(ValueError):
        p.delay(0, 0.5)
    with pytest.raises(ValueError):
        p.delay(1, 1.5)


def test_outcome_of_an_attempt():
    p = RetryPolicy(max_attempts=3)
    assert outcome(p, 0, NOW, None, 0.3).status == "delivered"
    retry = outcome(p, 1, NOW, "HTTP 503: busy", 1.0)
    assert (retry.status, retry.attempts, retry.next_attempt_at, retry.error) == (
        "pending", 2, NOW + timedelta(seconds=20), "HTTP 503: busy")
    given_up = outcome(p, 2, NOW, "HTTP 503: busy", 1.0)
    assert (given_up.status, given_up.attempts, given_up.next_attempt_at) == ("failed", 3, None)


def test_event_names_follow_tmf_v4():
    assert ResourceEvent.created("customerManagement", "customer", ID).event_type == "CustomerCreateEvent"
    assert ResourceEvent.state_changed("productOrderingManagement", "productOrder", ID).event_type == \
        "ProductOrderStateChangeEvent"
    assert ResourceEvent.attribute_changed("accountManagement", "billingAccount", ID).event_type == \
        "BillingAccountAttributeValueChangeEvent"
    assert ResourceEvent.deleted("customerManagement", "customer", ID, last=object()).event_type == \
        "CustomerDeleteEvent"
    assert listener_path("ProductOrderStateChangeEvent") == "/listener/productOrderStateChangeEvent"
    assert api_of("/tmf-api/customerManagement/v4") == "customerManagement"
    with pytest.raises(ValueError):
        api_of("/health")


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"api": "Customer Management"}, "api="),
    ({"resource_type": "Customer"}, "resource_type="),
    ({"event_type": "customerCreated"}, "event_type="),
    ({"resource_id": "42"}, "resource_id="),
    ({"event_type": "CustomerDeleteEvent"}, "needs `last`"),
])
def test_malformed_events_are_refused_when_emitted(kwargs, problem):
    args = {"api": "customerManagement", "resource_type": "customer", "event_type": "CustomerCreateEvent",
            "resource_id": ID} | kwargs
    with pytest.raises(ValueError, match=problem):
        ResourceEvent(**args)


def test_envelope_is_the_tmf688_notification():
    event = ResourceEvent.created("customerManagement", "customer", ID, correlation_id="order-7")
    assert envelope(event, ID, "2026-10-01T09:00:00Z", {"id": str(ID)}) == {
        "eventId": str(ID),
        "eventTime": "2026-10-01T09:00:00Z",
        "eventType": "CustomerCreateEvent",
        "domain": "customerManagement",
        "correlationId": "order-7",
        "event": {"customer": {"id": str(ID)}},
    }


def test_every_registered_resource_is_read_as_the_type_its_shaper_takes():
    from typing import get_type_hints

    from openbss.api.events import RESOURCES

    for base, resource_type, get, shape in RESOURCES:
        read = get_type_hints(get)["return"]
        taken = next(iter(get_type_hints(shape).values()))  # the first parameter's type
        assert read is taken, f"{resource_type} at {base}: {get.__name__} gives {read}, {shape.__name__} takes {taken}"
