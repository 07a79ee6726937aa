"""EN 16931 and Peppol BIS 3 validation of UBL and CII documents with the official Schematron XSLTs.

The rules are the CEN validation artefacts (release 1.3.16) and the Peppol BIS Billing 3 rules
(2026.5) kept in shared/conformance (see its README), run with SaxonC-HE (`saxonche`). Each XSLT
turns a document into an SVRL report; every `svrl:failed-assert` is a `Failure` (rule id such as
BR-CO-16, flag `fatal` or `warning`, XPath location, message). A document conforms when no failure
is fatal. Peppol on UBL is the CEN rules plus the Peppol rules; there is no Peppol CII XSLT in the
2026.5 release, so CII is checked against EN 16931 only.

Compiling an XSLT takes seconds, so each is compiled once per process and kept (`_executable`);
one Saxon processor serves the whole process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from lxml import etree

from openbss.core.errors import InvalidValue

CONFORMANCE_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "conformance"
XSLT = {
    "ubl": Path("en16931/ubl/xslt/EN16931-UBL-validation.xslt"),
    "cii": Path("en16931/cii/xslt/EN16931-CII-validation.xslt"),
    "peppol-ubl": Path("peppol/PEPPOL-EN16931-UBL.xslt"),
}
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
Syntax = Literal["ubl", "cii"]

_lock = threading.Lock()  # SaxonC's processor is not documented as thread-safe: one transform at a time


@dataclass(frozen=True)
class Failure:
    id: str
    flag: str
    location: str
    text: str

    @property
    def fatal(self) -> bool:
        return self.flag == "fatal"

    def __str__(self) -> str:
        return f"[{self.id}] {self.flag} at {self.location}: {self.text}"


@cache
def _processor():
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@cache
def _executable(rules: str):
    path = CONFORMANCE_DIR / XSLT[rules]
    if not path.is_file():
        raise InvalidValue("rules", str(path), "is missing: the EN 16931 / Peppol XSLTs live in shared/conformance")
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


def rule_sets(syntax: Syntax, peppol: bool) -> tuple[str, ...]:
    if syntax not in ("ubl", "cii"):
        raise InvalidValue("syntax", syntax, "must be ubl or cii")
    return (syntax, "peppol-ubl") if peppol and syntax == "ubl" else (syntax,)


def _failures(svrl: str) -> list[Failure]:
    report = etree.fromstring(svrl.encode())
    return [Failure(fa.get("id") or "", fa.get("flag") or "", fa.get("location") or "",
                    " ".join((fa.findtext(f"{SVRL}text") or "").split()))
            for fa in report.iter(f"{SVRL}failed-assert")]


def validate(xml: bytes, syntax: Syntax, peppol: bool = False) -> list[Failure]:
    """Every failed assertion of the document against EN 16931 (and Peppol BIS 3 on UBL when `peppol`)."""
    failures: list[Failure] = []
    with _lock:
        executables = [_executable(rules) for rules in rule_sets(syntax, peppol)]
        node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
        for exe in executables:
            failures += _failures(exe.transform_to_string(xdm_node=node))
    return failures


def fatal(failures: list[Failure]) -> list[Failure]:
    return [f for f in failures if f.fatal]
