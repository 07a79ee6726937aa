"""Catalog as code: the product catalog as one YAML file, imported and exported.

The file speaks TMF620's vocabulary (the attribute names of the API, see catalog/schemas.py) without ids:

    productSpecification:
    - name: Mobile line
      productSpecCharacteristic: [{name: dataAllowance, valueType: number}]
    productOffering:
    - name: Mobile M
      lifecycleStatus: active
      productSpecification: {name: Mobile line}
      productOfferingPrice:
      - {name: Monthly fee, priceType: recurring, price: {unit: EUR, value: 30.0}}
    - name: Mobile + Fibre
      isBundle: true
      bundledProductOffering: [{name: Mobile M}, {name: Fibre 100}]

References name their target (`{name: ...}`): a specification or offering earlier in the file, or one already
in the catalog. An import is all or nothing: every problem is reported with file, line, YAML path and value,
and if there is any, nothing is written. An offering whose name is already in the catalog is a problem
(imports add; changes go through the API, where lifecycle and price-version rules apply).
Exporting and importing into an empty catalog, then exporting again, gives the same text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from openbss.catalog import service
from openbss.catalog.schemas import (
    ProductOfferingIn,
    ProductSpecificationIn,
    RefIn,
    offering_attributes,
    price_attributes,
    specification_attributes,
)
from openbss.core.errors import Conflict, DomainError, InvalidValue, NotFound
from openbss.db.uow import UnitOfWork

SECTIONS = ("productSpecification", "productOffering")
_PAGE = 1000


@dataclass(frozen=True)
class ImportProblem:
    file: str
    line: int | None
    path: str
    value: Any
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or '?'}: {self.path}={self.value!r} {self.problem}"


@dataclass
class ImportReport:
    file: str
    specifications: int = 0
    offerings: int = 0
    prices: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _lines(node: yaml.Node, path: str = "") -> Iterator[tuple[str, int]]:
    """Every YAML path in the document with the (1-based) line it starts on."""
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _lines(value, f"{path}.{key.value}" if path else str(key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _lines(item, f"{path}[{i}]")


class _Locator:
    def __init__(self, file: str, node: yaml.Node | None):
        self.file = file
        self.lines = dict(_lines(node)) if node is not None else {}

    def line(self, path: str) -> int | None:
        # The deepest part of the path present in the file: a missing attribute points at its parent.
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("")

    def problem(self, path: str, value: Any, problem: str) -> ImportProblem:
        return ImportProblem(self.file, self.line(path), path, value, problem)


def _loc(prefix: str, parts: tuple[int | str, ...]) -> str:
    return prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _from_error(where: _Locator, prefix: str, exc: DomainError) -> ImportProblem:
    if isinstance(exc, InvalidValue):
        problem = exc.message.removeprefix(f"{exc.field}={exc.value!r} ")
        return where.problem(f"{prefix}.{exc.field}", exc.value, problem)
    if isinstance(exc, NotFound) and exc.field is not None:
        return where.problem(f"{prefix}.{exc.field}", exc.ident, f"names no {exc.kind}")
    return where.problem(prefix, None, exc.message)


def _validate(where: _Locator, prefix: str, schema: type[BaseModel], item: Any) -> Any:
    try:
        return schema.model_validate(item)
    except ValidationError as e:
        raise _Problems([where.problem(_loc(prefix, err["loc"]), None if err["type"] == "missing" else err.get("input"),
                                       "is required" if err["type"] == "missing" else err["msg"])
                         for err in e.errors()]) from None


class _Problems(Exception):
    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems


def _by_name(uow: UnitOfWork, kind: str, name: str) -> uuid.UUID | None:
    list_fn = {"productOffering": service.list_offerings, "productSpecification": service.list_specifications,
               "category": service.list_categories}[kind]
    items, total = list_fn(uow, {"name": name}, 0, 2)
    if total > 1:
        raise InvalidValue("name", name, f"names {total} {kind}s in the catalog; rename one")
    return items[0].id if items else None


def _resolver(uow: UnitOfWork, created: dict[tuple[str, str], uuid.UUID]) -> Callable[[str, RefIn, str], uuid.UUID]:
    def resolve(kind: str, ref: RefIn, field_: str) -> uuid.UUID:
        if ref.name is None:
            raise InvalidValue(f"{field_}.name", None, f"is required: a {kind} is referred to by name here")
        found = created.get((kind, ref.name)) or _by_name(uow, kind, ref.name)
        if found is None:
            raise InvalidValue(f"{field_}.name", ref.name, f"names no {kind} earlier in the file or in the catalog")
        return found

    return resolve


def import_yaml(uow: UnitOfWork, source: str | Path) -> ImportReport:
    """Import a catalog file (a path, or the YAML text itself). Nothing is written unless the whole file is
    valid; `report.problems` lists what is wrong."""
    if isinstance(source, Path):
        file, text = str(source), source.read_text(encoding="utf-8")
    else:
        file, text = "<text>", source
    report = ImportReport(file)
    try:
        node, data = yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        report.problems.append(ImportProblem(file, mark.line + 1 if mark else None, "", None,
                                             f"is not valid YAML: {getattr(e, 'problem', None) or e}"))
        return report
    where = _Locator(file, node)
    if not isinstance(data, dict) or set(data) - set(SECTIONS):
        unknown = sorted(set(data) - set(SECTIONS)) if isinstance(data, dict) else type(data).__name__
        report.problems.append(where.problem("", unknown, f"must be a mapping of {', '.join(SECTIONS)}"))
        return report
    try:
        with uow.savepoint():
            _import(uow, data, where, report)
            if report.problems:
                raise _Problems(report.problems)  # undoes every write of the file, and its events
    except _Problems:
        report.specifications = report.offerings = report.prices = 0
    return report


def _section(data: dict[str, Any], name: str, where: _Locator, report: ImportReport) -> list[Any]:
    items = data.get(name) or []
    if not isinstance(items, list):
        report.problems.append(where.problem(name, type(items).__name__, "must be a list"))
        return []
    return items


def _import(uow: UnitOfWork, data: dict[str, Any], where: _Locator, report: ImportReport) -> None:
    created: dict[tuple[str, str], uuid.UUID] = {}
    resolve = _resolver(uow, created)
    for i, item in enumerate(_section(data, "productSpecification", where, report)):
        prefix = f"productSpecification[{i}]"
        try:
            body = _validate(where, prefix, ProductSpecificationIn, item)
            spec = service.create_specification(uow, body.command())
        except _Problems as p:
            report.problems.extend(p.problems)
            continue
        except DomainError as e:
            report.problems.append(_from_error(where, prefix, e))
            continue
        created[("productSpecification", spec.name)] = spec.id
        report.specifications += 1
    for i, item in enumerate(_section(data, "productOffering", where, report)):
        prefix = f"productOffering[{i}]"
        try:
            body = _validate(where, prefix, ProductOfferingIn, item)
            if body.name.strip() and _by_name(uow, "productOffering", body.name.strip()):
                raise Conflict(f"productOffering {body.name.strip()!r} is already in the catalog")
            offering = service.create_offering(uow, body.command(resolve))
        except _Problems as p:
            report.problems.extend(p.problems)
            continue
        except Conflict as e:
            report.problems.append(where.problem(f"{prefix}.name", item.get("name"), e.message))
            continue
        except DomainError as e:
            report.problems.append(_from_error(where, prefix, e))
            continue
        created[("productOffering", offering.name)] = offering.id
        report.offerings += 1
        report.prices += len(offering.prices)


def _all(uow: UnitOfWork, list_fn: Callable) -> list[Any]:
    items: list[Any] = []
    while True:
        page, total = list_fn(uow, {}, len(items), _PAGE)
        items += page
        if len(items) >= total or not page:
            return items


def export_yaml(uow: UnitOfWork) -> str:
    """The whole catalog (specifications and offerings with their prices) as YAML, in creation order."""
    specs, offerings = _all(uow, service.list_specifications), _all(uow, service.list_offerings)
    names = {o.id: o.name for o in offerings} | {s.id: s.name for s in specs}

    def ref(kind: str, ident: uuid.UUID) -> dict[str, str]:
        if ident not in names:
            names[ident] = {"category": service.get_category}[kind](uow, ident).name
        return {"name": names[ident]}

    doc = {
        "productSpecification": [specification_attributes(s) for s in specs],
        "productOffering": [offering_attributes(o, ref, lambda p: price_attributes(p, ref)) for o in offerings],
    }
    return yaml.safe_dump({k: v for k, v in doc.items() if v}, sort_keys=False, allow_unicode=True, width=120)
