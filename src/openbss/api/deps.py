"""Per-request context: the authenticated principal, and units of work acting as that principal.

Authentication and the role check happen here, once, for every route that depends on `ctx`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request

from openbss.auth import service as auth
from openbss.auth.model import Principal
from openbss.config import Settings
from openbss.core.clock import Clock
from openbss.core.errors import Forbidden
from openbss.db.uow import UnitOfWork, unit_of_work


@dataclass
class Ctx:
    request: Request
    principal: Principal
    engine: sa.Engine
    settings: Settings
    clock: Clock

    @contextmanager
    def uow(self) -> Iterator[UnitOfWork]:
        with unit_of_work(
            self.engine, actor=self.principal.actor, clock=self.clock, rounding=self.settings.rounding
        ) as uow:
            yield uow

    @property
    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def ctx(request: Request) -> Ctx:
    state = request.app.state
    with unit_of_work(state.engine, clock=state.clock) as uow:
        principal = auth.authenticate(uow, _token(request))
    if not principal.may(request.method):
        raise Forbidden(f"role {principal.role.value!r} may not {request.method} {request.url.path}")
    return Ctx(request, principal, state.engine, state.settings, state.clock)
