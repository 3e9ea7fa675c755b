"""Peak memory of `score --dry-run` on logs of 100,000 and 1,000,000 rows.

Each figure is the peak resident memory of a process of its own, printed as a ratio to the
baseline measured in the same run on the same file: calamine alone reading the 扣分台账 sheet into
Python lists. Logs up to 199,999 rows are read by calamine, longer ones row by row (see
xlpipeline/ooxml/cells.py); the aim is under 500 MB at a million rows.
Usage: python benchmarks/bench_memory.py [ROWS …]
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import make_workbook

SIZES = (100_000, 1_000_000)
PEAK = "import resource, sys; {}; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)"
CALAMINE = ("from python_calamine import CalamineWorkbook; "
            "CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name('扣分台账').to_python()")
SCORE = "from xlpipeline.cli import main; main(['score', sys.argv[1], '--dry-run'])"


def peak(code: str, path: Path) -> tuple[int, float]:
    """Peak memory (MB) and seconds of running `code` on `path` in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK.format(code), str(path)], capture_output=True, text=True,
                          check=True)
    return int(proc.stderr.strip().splitlines()[-1]), time.perf_counter() - start


def main(sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'rows':>9} {'calamine (MB)':>14} {'score (MB)':>11} {'ratio':>7} {'calamine (s)':>13} {'score':>7}")
        for rows in sizes:
            path = Path(tmp) / f"log{rows}.xlsx"
            make_workbook(path, rows)
            floor, floor_time = peak(CALAMINE, path)
            used, used_time = peak(SCORE, path)
            print(f"{rows:>9} {floor:>14} {used:>11} {used / floor:>6.2f}× {floor_time:>13.1f} "
                  f"{used_time / floor_time:>6.2f}×")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
