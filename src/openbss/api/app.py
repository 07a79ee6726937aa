"""The FastAPI application factory. Domain routers are mounted at their TM Forum v4 base paths."""

from __future__ import annotations

from importlib import import_module

import sqlalchemy as sa
from fastapi import FastAPI

from openbss import __version__
from openbss.api import errors, events
from openbss.config import Settings, load_settings
from openbss.core.clock import Clock, SystemClock
from openbss.db.engine import get_engine
from openbss.events.router import hub_routers

# Each of these packages has a router.py exporting `routers`, mounted at their TM Forum base paths.
DOMAINS_WITH_ROUTES = ("catalog", "party", "ordering", "mediation", "billing", "payments", "rating",
                       "reconciliation", "dunning",
                       "charging")

DESCRIPTION = """
openbss speaks the TM Forum Open APIs (v4). Authenticate every call with an API key:
`Authorization: Bearer obk_...` (create one with `openbss apikey create --role admin`).
Lists take `offset`, `limit`, `fields` and attribute filters and return `X-Total-Count` and
`X-Result-Count`. Create calls accept an `Idempotency-Key` header. Errors are TM Forum `Error` objects.
"""


def create_app(engine: sa.Engine | None = None, settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(title="openbss", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings)
    app.state.clock = clock or SystemClock()
    errors.install(app)
    events.install(settings)
    prefixes = []
    for domain in DOMAINS_WITH_ROUTES:
        for router in import_module(f"openbss.{domain}.router").routers:
            app.include_router(router)
            prefixes.append(router.prefix)
    # TMF688: every API takes event listeners at {base path}/hub.
    for router in hub_routers(prefixes):
        app.include_router(router)

    @app.get("/health", tags=["operations"])
    def health() -> dict:
        with app.state.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
