"""The promises of the README, run as a new user would: the demo from an empty home, then its curl examples
against the served API. Each starts its own embedded PostgreSQL under a temporary OPENBSS_HOME."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
OPENBSS = str(Path(sys.executable).parent / "openbss")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "OPENBSS_HOME": str(work / ".openbss"), "OPENBSS_PORT": str(_free_port())}
    env.pop("OPENBSS_DATABASE_URL", None)
    result = subprocess.run(
        [OPENBSS, "demo", "--no-serve", "--reset", "--customers", "40"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )
    return work, env, result


def test_demo_prints_the_summary_and_a_balanced_ledger(demo_home):
    work, _, result = demo_home
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "ledger: balanced", result.stdout
    for figure in ("customers", "usage records", "invoices", "billed net", "tax", "paid", "outstanding AR"):
        assert figure in result.stdout
    assert re.search(r"customers\s*│\s*40\b", result.stdout), result.stdout
    assert "line " in result.stdout and "rejected" in result.stdout  # the three bad usage rows are reported
    for kind, suffix in (("PDF", ".pdf"), ("UBL", ".ubl.xml")):  # one invoice's documents, in the demo home
        path = Path(re.search(rf"invoice {kind}: (\S+)", result.stdout).group(1))
        assert path.parent == work / ".openbss" / "documents" and path.name.endswith(suffix), result.stdout
        assert path.stat().st_size > 1000


def test_every_invoice_of_the_demo_passes_the_en16931_rules(demo_home):
    """Each issued invoice rendered as UBL (Peppol BIS 3 for business buyers with an electronic address) and CII,
    checked with the official CEN (and Peppol) validation XSLT: zero fatal assertions."""
    work, env, result = demo_home
    assert result.returncode == 0
    check = subprocess.run([OPENBSS, "invoice", "validate"], cwd=work, env={**env, "COLUMNS": "200"},
                           capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
    invoices = int(re.search(r"bill documents\s*│\s*(\d+)", check.stdout).group(1))  # invoices and any notes
    assert invoices > 30 and re.search(r"fatal assertions\s*│\s*0\b", check.stdout), check.stdout


def test_readme_curl_examples_work_against_the_served_demo(demo_home):
    work, env, result = demo_home
    assert result.returncode == 0
    port = env["OPENBSS_PORT"]
    server = subprocess.Popen([OPENBSS, "serve"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        readme = (ROOT / "README.md").read_text()
        block = re.search(r"## Using the API.*?```bash\n(.*?)```", readme, re.S).group(1)
        script = "set -euo pipefail\n" + block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        run = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert '"@type":"Payment"' in run.stdout.replace(" ", ""), run.stdout
        assert "x-total-count" in run.stdout.lower()  # HTTP header names are case-insensitive
    finally:
        server.terminate()
        server.wait(timeout=30)
