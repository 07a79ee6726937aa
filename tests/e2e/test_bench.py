"""Benchmarks keep working (their figures are read from `openbss bench`, never asserted in tests)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_usage_import_benchmark_reports_a_ratio_against_copy():
    env = {**os.environ, "BENCH_RECORDS": "600", "BENCH_SERVICES": "30"}
    run = subprocess.run([str(Path(sys.executable).parent / "openbss"), "bench", "usage-import"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["name"] == "usage-import" and result["records"] == 600
    assert result["value"] > 0 and result["reference_value"] > 0
    assert result["ratio"] == pytest.approx(result["value"] / result["reference_value"], rel=0.01)  # from rounded figures


def test_billrun_benchmark_reports_a_ratio_against_minimal_transactions():
    env = {**os.environ, "BENCH_ACCOUNTS": "12", "BENCH_RECORDS_PER_ACCOUNT": "4"}
    run = subprocess.run([str(Path(sys.executable).parent / "openbss"), "bench", "billrun"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["name"] == "billrun" and result["accounts"] == 12
    assert result["ratio"] == pytest.approx(result["value"] / result["reference_value"], rel=0.01)  # from rounded figures


def test_charging_benchmark_answers_every_request_and_reports_a_ratio_against_pgbench():
    env = {**os.environ, "BENCH_SESSIONS": "8", "BENCH_SECONDS": "2", "BENCH_CONNECTIONS": "4",
           "BENCH_PROCESSES": "2", "BENCH_PGBENCH_SECONDS": "1"}
    run = subprocess.run([str(Path(sys.executable).parent / "openbss"), "bench", "charging"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["name"] == "charging" and result["processes"] == 2 and result["not_2001"] == 0
    assert result["answered"] > 0 and result["synchronous_commit"] == "on"
    assert result["ratio"] == pytest.approx(result["value"] / result["reference_value"], rel=0.01)  # from rounded figures
