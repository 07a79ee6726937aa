"""Typed domain errors. The API maps them once (openbss.api.errors) to TM Forum Error JSON."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose. `status` is the HTTP status it maps to."""

    status = 400
    code = "BAD_REQUEST"
    reason = "Bad request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidValue(DomainError):
    """A field holds a value the domain refuses; the message names both."""

    status = 422
    code = "INVALID_VALUE"
    reason = "Invalid value"

    def __init__(self, field: str, value: object, problem: str):
        self.field = field
        self.value = value
        super().__init__(f"{field}={value!r} {problem}")


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    reason = "Not found"

    def __init__(self, kind: str, ident: object, field: str | None = None):
        self.kind = kind
        self.ident = ident
        self.field = field
        where = f"{field}={ident!r}: " if field else ""
        super().__init__(f"{where}no {kind} with id {ident!r}")


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state (e.g. a duplicate, a closed period)."""

    status = 409
    code = "CONFLICT"
    reason = "Conflict"


class Unauthorized(DomainError):
    status = 401
    code = "UNAUTHORIZED"
    reason = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"
    reason = "Not permitted"
