"""`openbss bench rating` runs and prints its JSON line (figures are read, never asserted: no timing here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rating_benchmark_prints_end_to_end_and_core_rates_against_references_in_the_same_run():
    env = {**os.environ, "BENCH_RECORDS": "2500", "BENCH_PREFIXES": "300", "BENCH_CHUNK": "1000",
           "BENCH_E2E_RECORDS": "3000", "BENCH_SERVICES": "200"}
    run = subprocess.run([str(Path(sys.executable).parent / "openbss"), "bench", "rating"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["name"] == "rating" and result["unit"] == "records/s"
    assert result["records"] == 2500 and result["prefixes"] == 300 and result["chunk"] == 1000
    assert result["value"] > 0 and result["reference_value"] > 0 and result["peak_rss_mib"] > 0
    assert result["ratio"] == round(result["value"] / result["reference_value"], 4)
    assert result["end_to_end_records"] == 3000 and result["core_records_per_s"] > 0
    assert result["reference_name"].startswith("postgres COPY")
