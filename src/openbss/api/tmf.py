"""TM Forum common API shapes (TMF630): ids and hrefs, Money and references, paging and `fields`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from openbss.core.errors import InvalidValue, NotFound
from openbss.core.money import Money, check_currency

MAX_LIMIT = 1000
PAGING_PARAMS = {"offset", "limit", "fields", "sort"}


class TmfIn(BaseModel):
    """Base of request bodies: TMF clients send extension fields (@baseType, @schemaLocation...), ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class MoneyIn(TmfIn):
    unit: str = Field(description="ISO 4217 currency code")
    value: Decimal

    def money(self, field: str) -> Money:
        check_currency(self.unit, f"{field}.unit")
        return Money.of(self.value, self.unit, field=f"{field}.value")


class RefIn(TmfIn):
    id: str
    href: str | None = None
    name: str | None = None
    referred_type: str | None = Field(None, alias="@referredType")


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page(request: Request) -> Page:
    """Parse `offset` and `limit`, naming the parameter and value when either is wrong."""
    values = {}
    for name, default in (("offset", 0), ("limit", 100)):
        raw = request.query_params.get(name)
        try:
            values[name] = default if raw is None else int(raw)
        except ValueError:
            raise InvalidValue(name, raw, "must be an integer") from None
        if values[name] < 0:
            raise InvalidValue(name, raw, "must not be negative")
    return Page(values["offset"], min(values["limit"], MAX_LIMIT))


def filters(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    """Attribute filters (`?status=active`): every other query parameter must be one of `allowed`."""
    allowed = set(allowed)
    result = {}
    for name, value in request.query_params.items():
        if name in PAGING_PARAMS:
            continue
        if name not in allowed:
            raise InvalidValue(name, value, f"is not a filter here; filters are: {', '.join(sorted(allowed))}")
        result[name] = value
    return result


def select_fields(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Apply `?fields=a,b`: keep those attributes plus id, href and @type."""
    if not fields:
        return resource
    wanted = {f.strip() for f in fields.split(",") if f.strip()} | {"id", "href", "@type"}
    return {k: v for k, v in resource.items() if k in wanted}


def list_response(request: Request, items: list[dict[str, Any]], total: int) -> JSONResponse:
    fields = request.query_params.get("fields")
    body = [select_fields(i, fields) for i in items]
    return JSONResponse(
        body,
        headers={"X-Total-Count": str(total), "X-Result-Count": str(len(body))},
    )


def one_response(request: Request, item: dict[str, Any], status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(select_fields(item, request.query_params.get("fields")), status_code=status, headers=headers)


def created(item: dict[str, Any]) -> JSONResponse:
    return JSONResponse(item, status_code=201, headers={"Location": item["href"]})


def path_id(value: str, kind: str) -> uuid.UUID:
    """An id in the URL path that is not even a UUID names no resource: 404, not 400."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(kind, value) from None


def money_out(m: Money | None) -> dict[str, Any] | None:
    # JSON numbers: exact for the amounts a bill carries (Python prints the shortest round-trip form).
    return None if m is None else {"unit": m.currency, "value": float(m.amount)}


def ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def href(ctx_base: str, prefix: str, resource: str, ident: uuid.UUID) -> str:
    return f"{ctx_base}{prefix}/{resource}/{ident}"


def ref_out(base: str, prefix: str, resource: str, ident: uuid.UUID | None, type_: str, name: str | None = None):
    if ident is None:
        return None
    out = {"id": str(ident), "href": href(base, prefix, resource, ident), "@referredType": type_}
    if name is not None:
        out["name"] = name
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge-patch: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
