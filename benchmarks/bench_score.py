"""Benchmark `score` on logs of 1,000 / 10,000 / 100,000 rows.

The baseline, measured in the same run on the same file, is calamine alone reading the 扣分台账
sheet (the floor no reader can beat). Figures are printed as ratios to it; the aim is ≤ 1.5× at
100,000 rows. A second table times writing the results (our patcher) against openpyxl loading and
saving the same workbook (see bench_patch.py). Usage: python benchmarks/bench_score.py [ROWS …]
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from python_calamine import CalamineWorkbook

from bench_patch import patch_figures
from common import best, make_workbook
from xlpipeline.scoring.engine import score
from xlpipeline.workbook.layout import LEDGER
from xlpipeline.scoring.ledger import read_workbook
from xlpipeline.pipeline import score_workbook

SIZES = (1_000, 10_000, 100_000)


def main(sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'rows':>8} {'calamine (s)':>13} {'read+check':>11} {'engine':>8} {'score all':>10}")
        for rows in sizes:
            source = folder / f"log{rows}.xlsx"
            make_workbook(source, rows)
            work = folder / f"work{rows}.xlsx"
            shutil.copyfile(source, work)
            floor = best(lambda: CalamineWorkbook.from_path(str(source)).get_sheet_by_name(LEDGER).to_python())
            read = best(lambda: read_workbook(source))
            rules, params, cases = read_workbook(source)
            engine = best(lambda: score(rules, params, cases))
            whole = best(lambda: score_workbook(work))
            print(f"{rows:>8} {floor:>13.3f} {read / floor:>10.2f}× {engine / floor:>7.2f}× {whole / floor:>9.2f}×")
        print()
        print(f"{'rows':>8} {'openpyxl load+save (s)':>23} {'patch':>8}")
        for rows in sizes:
            baseline, patch = patch_figures(folder / f"log{rows}.xlsx")
            print(f"{rows:>8} {baseline:>23.3f} {patch / baseline:>7.3f}×")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
