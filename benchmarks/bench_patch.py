"""Benchmark write-back: our cell patcher against openpyxl load + save of the same workbook.

openpyxl's round trip is what the patcher replaces (and it loses parts of the file besides);
figures are ratios to it, measured in the same run. Usage: python benchmarks/bench_patch.py [ROWS …]
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from common import best, make_workbook
from xlpipeline.workbook.book import FileBook
from xlpipeline.scoring.engine import score
from xlpipeline.scoring.ledger import read_workbook
from xlpipeline.writeback import write_results

SIZES = (1_000, 10_000, 100_000)


def patch_figures(source: Path) -> tuple[float, float]:
    """Seconds for openpyxl to load and save `source`, and for our patcher to write the results."""
    rules, params, cases = read_workbook(source)
    results = score(rules, params, cases)
    target = source.with_name(f"patched-{source.name}")
    shutil.copyfile(source, target)
    baseline = best(lambda: load_workbook(source).save(source.with_name("openpyxl.xlsx")))
    return baseline, best(lambda: write_results(FileBook(target), rules, results))


def main(sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'rows':>8} {'openpyxl load+save (s)':>23} {'patch':>8}")
        for rows in sizes:
            source = folder / f"log{rows}.xlsx"
            make_workbook(source, rows)
            baseline, patch = patch_figures(source)
            print(f"{rows:>8} {baseline:>23.3f} {patch / baseline:>7.3f}×")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
