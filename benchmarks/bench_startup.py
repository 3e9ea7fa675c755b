"""Benchmark what a ribbon click costs: a new `xlpipeline score` process on the demo workbook.

The baseline, measured in the same run, is a bare Python process that reads the same two sheets
(扣分台账 and 参数) with python-calamine and does nothing else: interpreter start-up plus the
floor of reading. Figures are best of N wall-clock times, printed as ratios to it; the aim is ≤ 5×.
`score --dry-run` (read, check, score) and `score` (also write the results back) are both shown.
Usage: python benchmarks/bench_startup.py [REPEAT]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xlpipeline.workbook.layout import LEDGER, PARAMS
from xlpipeline.resources import DEMO_WORKBOOK

BARE = ("import sys\nfrom python_calamine import CalamineWorkbook\n"
        "book = CalamineWorkbook.from_path(sys.argv[1])\n"
        f"book.get_sheet_by_name({LEDGER!r}).to_python(); book.get_sheet_by_name({PARAMS!r}).to_python()\n")


# as installed by pip, which compiles the package: the first (unmeasured) run writes the bytecode
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def best_run(command: list[str], repeat: int) -> float:
    subprocess.run(command, check=True, capture_output=True, env=ENV)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - start)
    return min(times)


def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workbook = Path(tmp) / "演示.xlsx"
        shutil.copyfile(DEMO_WORKBOOK, workbook)
        bare = best_run([sys.executable, "-c", BARE, str(workbook)], repeat)
        score = [sys.executable, "-m", "xlpipeline", "score", str(workbook)]
        print(f"{'repeat':>6} {'bare calamine (s)':>18} {'score --dry-run':>16} {'score':>8}")
        dry = best_run(score + ["--dry-run"], repeat)
        full = best_run(score, repeat)
        print(f"{repeat:>6} {bare:>18.3f} {dry / bare:>15.1f}× {full / bare:>7.1f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
