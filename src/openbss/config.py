"""Configuration from OPENBSS_* environment variables (documented in the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from openbss.core.money import DEFAULT_ROUNDING, rounding_mode


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    rounding: str
    host: str
    port: int
    base_url: str
    log_level: str

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    rounding = env.get("OPENBSS_ROUNDING", DEFAULT_ROUNDING)
    rounding_mode(rounding)  # fail at start-up, naming the variable's value, not at the first invoice
    host = env.get("OPENBSS_HOST", "127.0.0.1")
    port = int(env.get("OPENBSS_PORT", "8000"))
    return Settings(
        home=Path(env.get("OPENBSS_HOME", ".openbss")).expanduser().resolve(),
        database_url=env.get("OPENBSS_DATABASE_URL") or None,
        rounding=rounding,
        host=host,
        port=port,
        base_url=env.get("OPENBSS_BASE_URL", f"http://{host}:{port}").rstrip("/"),
        log_level=env.get("OPENBSS_LOG_LEVEL", "info"),
    )
