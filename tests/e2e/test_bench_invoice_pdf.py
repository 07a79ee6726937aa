"""`openbss bench invoice-pdf` runs and prints its JSON line (figures are read, never asserted: no timing here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_invoice_pdf_benchmark_reports_pdf_against_html_rendering_of_the_same_documents():
    env = {**os.environ, "BENCH_DOCUMENTS": "4", "BENCH_CALL_DETAIL": "30", "BENCH_FACTURX": "2"}
    run = subprocess.run([str(Path(sys.executable).parent / "openbss"), "bench", "invoice-pdf"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["name"] == "invoice-pdf" and result["unit"] == "documents/s"
    assert result["documents"] == 4 and result["call_detail_records"] == 30 and result["facturx_documents"] == 2
    assert result["value"] > 0 and result["reference_value"] > 0 and result["mean_pdf_kb"] > 0
    assert result["ratio"] == pytest.approx(result["value"] / result["reference_value"], rel=0.05)  # rounded figures
