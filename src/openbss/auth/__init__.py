"""Principals and API keys with roles; permissions are checked in one place (openbss.api.deps)."""
