"""A domain never reads another domain's tables: it calls that domain's service (docs/architecture.md)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "openbss"
DOMAINS = {"party", "catalog", "ordering", "mediation", "rating", "billing", "payments", "ledger", "audit", "auth", "events"}


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


def test_no_domain_imports_another_domains_tables():
    offenders = []
    for domain in DOMAINS:
        for path in (SRC / domain).glob("*.py"):
            for module, names in _imports(path):
                parts = module.split(".")
                targets = [parts] + [parts + [n] for n in names]
                for t in targets:
                    if len(t) >= 3 and t[0] == "openbss" and t[1] in DOMAINS and t[1] != domain and t[2] == "tables":
                        offenders.append(f"{path.relative_to(SRC)} imports {'.'.join(t)}")
    assert offenders == []
