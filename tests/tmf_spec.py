"""Validate a response body against a definition of an official TM Forum v4 swagger spec."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

SPECS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "tmf" / "specs"


@cache
def validator(spec_file: str, definition: str) -> jsonschema.Draft4Validator:
    spec = json.loads((SPECS / f"{spec_file}.swagger.json").read_text())
    schema = {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def spec_errors(spec_file: str, definition: str, body: dict) -> list[str]:
    errors = sorted(validator(spec_file, definition).iter_errors(body), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]
