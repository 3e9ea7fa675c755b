"""The benchmarks still run (tiny sizes; their figures are read by people, not asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import _require as require

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script, size, header", [("bench_score.py", "200", "calamine"),
                                                 ("bench_patch.py", "200", "openpyxl"),
                                                 ("bench_batch.py", "3", "XlsxWriter"),
                                                 ("bench_udf.py", "100", "warm call"),
                                                 ("bench_live.py", "50", "no formulas"),
                                                 ("bench_startup.py", "2", "bare calamine"),
                                                 ("bench_collect.py", "5", "calamine"),
                                                 ("bench_web.py", "3", "calamine")])
def test_benchmark_runs(script, size, header):
    if script == "bench_live.py":
        require("soffice", "libreoffice-calc-nogui")
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), size], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert header in lines[0] and lines[1].split()[0] == size and lines[1].endswith("×")
