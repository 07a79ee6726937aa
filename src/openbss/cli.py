"""The openbss command line: serve, demo, database, API keys, usage import, bill runs."""

from __future__ import annotations

import typer
from rich.console import Console

from openbss.config import load_settings

app = typer.Typer(help="openbss: OSS/BSS billing platform.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
console = Console()


def _engine():
    from openbss.db.engine import get_engine

    return get_engine(load_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (creates the embedded database on first use)."""
    from openbss.db import migrate

    engine = _engine()
    migrate.upgrade(engine)
    console.print(f"database at revision [bold]{migrate.current(engine)}[/]")


@apikey_app.command("create")
def apikey_create(
    role: str = typer.Option("admin", help="admin (everything), agent (read and write), reader (read only)"),
    name: str = typer.Option(None, help="a unique label for the key; default: '<role>-<n>'"),
) -> None:
    """Create an API key and print it once. Only its hash is stored."""
    from openbss.auth.service import create_api_key
    from openbss.db import migrate
    from openbss.db.uow import unit_of_work
    from openbss.core.ids import new_id

    engine = _engine()
    migrate.upgrade(engine)
    with unit_of_work(engine, actor="cli") as uow:
        key = create_api_key(uow, name or f"{role}-{new_id().hex[-6:]}", role)
    typer.echo(key)


@app.command()
def serve(
    host: str = typer.Option(None, help="address to bind (default OPENBSS_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default OPENBSS_PORT or 8000)"),
) -> None:
    """Serve the TM Forum API (OpenAPI docs at /docs)."""
    import uvicorn

    from openbss.api.app import create_app
    from openbss.db import migrate

    settings = load_settings()
    engine = _engine()
    migrate.upgrade(engine)
    uvicorn.run(create_app(engine=engine, settings=settings), host=host or settings.host, port=port or settings.port)


if __name__ == "__main__":
    app()
