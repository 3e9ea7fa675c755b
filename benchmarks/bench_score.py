"""Benchmark `score` on logs of 1,000 / 10,000 / 100,000 rows.

The baseline, measured in the same run on the same file, is calamine alone reading the 扣分台账
sheet (the floor no reader can beat). Figures are printed as ratios to it; the aim is ≤ 1.5× at
100,000 rows. Usage: python benchmarks/bench_score.py [ROWS …]
"""
from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from xlpipeline.engine import score
from xlpipeline.layout import LEDGER, PARAM_RANK, PARAM_SATISFACTION, PARAMS, param_cell
from xlpipeline.ledger import read_workbook
from xlpipeline.pipeline import score_workbook
from xlpipeline.rules import load_rules
from xlpipeline.workbook import init_workbook

SIZES = (1_000, 10_000, 100_000)
REPEAT = 3


def make_workbook(path: Path, rows: int) -> None:
    rules = load_rules(2026)
    init_workbook(path, rules, "市散墙办", force=True)
    wb = load_workbook(path)
    ledger = wb[LEDGER]
    rng = random.Random(rows)
    codes = list(rules.codes.values())
    start = date(2026, 1, 1)
    for n in range(rows):
        code = rng.choice(codes)
        modifier = rng.choice(code.modifiers) if code.modifiers and rng.random() < 0.3 else None
        ledger.append((start + timedelta(days=rng.randrange(365)), code.item if n % 2 else None,
                       code.display if n % 3 == 0 else code.code, rng.randint(1, 3), modifier,
                       f"第{n}条情况说明", f"文〔2026〕{n}号", "综合科"))
    wb[PARAMS][param_cell(PARAM_SATISFACTION)] = 92.5
    wb[PARAMS][param_cell(PARAM_RANK)] = 8
    wb.save(path)


def best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
