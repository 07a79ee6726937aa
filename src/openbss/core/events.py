"""Domain events as TM Forum names them (TMF688): what happened to which resource of which API.

A use case records one with `uow.emit(ResourceEvent.created("customerManagement", "customer", c.id))`. The
events sink renders it into the outbox inside the same transaction, so listeners hear of a change only if
it commits, and hear the state that committed. Pure: imports nothing else of openbss.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

# TMF v4 event types: <Resource><Create|StateChange|AttributeValueChange|Delete|...>Event
EVENT_TYPE = re.compile(r"[A-Z][A-Za-z0-9]*Event")
API_NAME = re.compile(r"[a-z][A-Za-z0-9]*")


@dataclass(frozen=True, slots=True)
class ResourceEvent:
    api: str  # the API's base-path name: "customerManagement" (/tmf-api/customerManagement/v4)
    resource_type: str  # the resource as the API names it in paths and payloads: "customer"
    event_type: str  # "CustomerCreateEvent", "CustomerStateChangeEvent", ...
    resource_id: uuid.UUID
    # Delete events carry the resource as it was (a domain object the registered shaper accepts): once the
    # transaction commits it can no longer be read.
    last: object | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        if not API_NAME.fullmatch(self.api):
            raise ValueError(f"api={self.api!r} is not a TMF API name like 'customerManagement'")
        if not API_NAME.fullmatch(self.resource_type):
            raise ValueError(f"resource_type={self.resource_type!r} is not a TMF resource name like 'customer'")
        if not EVENT_TYPE.fullmatch(self.event_type):
            raise ValueError(f"event_type={self.event_type!r} is not a TMF event type like 'CustomerCreateEvent'")
        if not isinstance(self.resource_id, uuid.UUID):
            raise ValueError(f"resource_id={self.resource_id!r} is not a UUID")
        if self.event_type.endswith("DeleteEvent") and self.last is None:
            raise ValueError(f"{self.event_type} needs `last`: a deleted resource can no longer be read")

    # The four events every TMF v4 resource API defines; other event types are built with the constructor.
    @classmethod
    def created(cls, api: str, resource_type: str, resource_id: uuid.UUID, **kw) -> ResourceEvent:
        return cls(api, resource_type, _typed(resource_type, "CreateEvent"), resource_id, **kw)

    @classmethod
    def state_changed(cls, api: str, resource_type: str, resource_id: uuid.UUID, **kw) -> ResourceEvent:
        return cls(api, resource_type, _typed(resource_type, "StateChangeEvent"), resource_id, **kw)

    @classmethod
    def attribute_changed(cls, api: str, resource_type: str, resource_id: uuid.UUID, **kw) -> ResourceEvent:
        return cls(api, resource_type, _typed(resource_type, "AttributeValueChangeEvent"), resource_id, **kw)

    @classmethod
    def deleted(cls, api: str, resource_type: str, resource_id: uuid.UUID, last: object, **kw) -> ResourceEvent:
        return cls(api, resource_type, _typed(resource_type, "DeleteEvent"), resource_id, last=last, **kw)


def _typed(resource_type: str, suffix: str) -> str:
    return resource_type[:1].upper() + resource_type[1:] + suffix
