"""TMF688 hub routes, mounted under every API's base path: POST {base}/hub, GET and DELETE {base}/hub/{id}."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Depends, Response

from openbss.api import idempotency
from openbss.api.deps import Ctx, ctx
from openbss.api.routes import get_resource
from openbss.api.tmf import path_id
from openbss.events import service
from openbss.events.model import api_of
from openbss.events.schemas import HubIn, hub_out


def hub_routers(prefixes: Iterable[str]) -> list[APIRouter]:
    """One hub per TMF API base path among `prefixes` (the mounted routers'), each seeing only its API's events."""
    return [hub_router(p) for p in dict.fromkeys(p for p in prefixes if p.startswith("/tmf-api/"))]


def hub_router(prefix: str) -> APIRouter:
    api = api_of(prefix)
    router = APIRouter(prefix=prefix, tags=["TMF688 Event hub"])

    @router.post("/hub", status_code=201, summary=f"Register a listener for {api} events")
    def register_listener(body: HubIn, c: Ctx = Depends(ctx)):
        # The generated secret is shown in this response only; a secret the client chose is not echoed.
        return idempotency.create(c, body, lambda uow: hub_out(
            service.register_listener(uow, body.command(api)), c.base_url, prefix, reveal_secret=body.secret is None
        ))

    @router.get("/hub/{listener_id}", summary=f"Retrieve a listener of {api} events")
    def get_listener(listener_id: str, c: Ctx = Depends(ctx)):
        return get_resource(c, lambda uow, i: service.get_listener(uow, api, i), listener_id, "hub listener",
                            lambda listener, base: hub_out(listener, base, prefix))

    @router.delete("/hub/{listener_id}", status_code=204, summary=f"Unregister a listener of {api} events")
    def delete_listener(listener_id: str, c: Ctx = Depends(ctx)):
        with c.uow() as uow:
            service.delete_listener(uow, api, path_id(listener_id, "hub listener"))
        return Response(status_code=204)

    return router
