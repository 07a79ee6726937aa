"""TMF688 / TMF630 hub shapes: EventSubscriptionInput in, EventSubscription out."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openbss.api.tmf import TmfIn
from openbss.events.model import Listener
from openbss.events.service import NewListener


class HubIn(TmfIn):
    callback: str = Field(description="http(s) URL; events are POSTed to {callback}/listener/{eventType}")
    query: str | None = Field(None, description="event types to receive, e.g. 'eventType=CustomerCreateEvent,"
                                                "CustomerStateChangeEvent'; empty: every event of this API")
    secret: str | None = Field(None, description="HMAC-SHA256 key for X-OpenBSS-Signature (16-256 printable "
                                                 "ASCII characters); generated and returned once when omitted")

    def command(self, api: str) -> NewListener:
        return NewListener(api=api, callback=self.callback, query=self.query, secret=self.secret)


def hub_out(listener: Listener, base: str, prefix: str, *, reveal_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(listener.id),
        "href": f"{base}{prefix}/hub/{listener.id}",
        "callback": listener.callback,
        "query": listener.query or "",
    }
    if reveal_secret:
        out["secret"] = listener.secret
    return out
