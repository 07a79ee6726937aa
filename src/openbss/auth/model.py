"""Roles and what each may do. Pure rules: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything, including API keys
    AGENT = "agent"  # care and order desk: reads and writes business resources
    READER = "reader"  # reports and dashboards: reads only


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"apikey:{self.name}"

    def may(self, method: str) -> bool:
        if self.role in (Role.ADMIN, Role.AGENT):
            return True
        return method in ("GET", "HEAD", "OPTIONS")
