"""The benchmarks still run (tiny sizes; their figures are read by people, not asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script, header", [("bench_score.py", "calamine"), ("bench_patch.py", "openpyxl")])
def test_benchmark_runs(script, header):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "200"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert header in lines[0] and lines[1].split()[0] == "200" and lines[1].endswith("×")
