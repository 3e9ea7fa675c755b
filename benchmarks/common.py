"""What the benchmarks share: generated working workbooks and best-of-N timing."""
from __future__ import annotations

import random
import time
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook

from xlpipeline.workbook.layout import LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAMS, param_cell
from xlpipeline.rules import load_rules
from xlpipeline.create import init_workbook

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
    for label, place in zip(PARAM_RANKS, (8, 6)):
        wb[PARAMS][param_cell(label)] = place
    wb.save(path)


def best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
