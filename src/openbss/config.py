"""Configuration from OPENBSS_* environment variables (documented in the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from openbss.core.money import DEFAULT_ROUNDING, rounding_mode


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server invoices are e-mailed through (OPENBSS_SMTP_*); port 587 with STARTTLS unless told."""

    host: str
    port: int
    sender: str  # OPENBSS_SMTP_FROM: the envelope and header sender, e.g. billing@operator.example
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line or a traceback's repr
    starttls: bool = True
    timeout: float = 30.0


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    if value.lower() not in TRUE + FALSE:
        raise ValueError(f"{name}={value!r} must be one of {', '.join(TRUE + FALSE)}")
    return value.lower() in TRUE


def _smtp(env: dict[str, str]) -> SmtpSettings | None:
    host = env.get("OPENBSS_SMTP_HOST") or None
    if host is None:
        return None
    sender = env.get("OPENBSS_SMTP_FROM") or ""
    if "@" not in sender:
        raise ValueError(f"OPENBSS_SMTP_FROM={sender!r} must be the sender's e-mail address when OPENBSS_SMTP_HOST "
                         "is set")
    port = env.get("OPENBSS_SMTP_PORT", "587")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"OPENBSS_SMTP_PORT={port!r} must be a TCP port number")
    return SmtpSettings(host=host, port=int(port), sender=sender, user=env.get("OPENBSS_SMTP_USER") or None,
                        password=env.get("OPENBSS_SMTP_PASSWORD") or None,
                        starttls=_flag(env, "OPENBSS_SMTP_STARTTLS", True))


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    rounding: str
    host: str
    port: int
    base_url: str
    log_level: str
    smtp: SmtpSettings | None = None  # None: OPENBSS_SMTP_HOST unset, invoices are not e-mailed

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
        smtp=_smtp(env),
    )
