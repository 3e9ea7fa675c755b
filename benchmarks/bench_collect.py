"""Benchmark `collect`: reading, checking (digest, visible form, engine recomputation) and rolling up
200 attachments, against python-calamine alone reading every sheet of the same 200 files (the floor),
measured in the same run. Aim: ≤ 2×. The roll-up workbook is not written (that is a template render).
Usage: python benchmarks/bench_collect.py [FILES]
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

from python_calamine import CalamineWorkbook

from common import best
from xlpipeline.outputs.collect import collect
from xlpipeline.outputs.embed import record
from xlpipeline.outputs.render import write_output
from xlpipeline.outputs.report import context
from xlpipeline.outputs.xltemplate import XlsxTemplate
from xlpipeline.resources import DEMO_WORKBOOK, TEMPLATE
from xlpipeline.scoring.engine import score
from xlpipeline.scoring.ledger import read_workbook


def attachments(folder: Path, count: int) -> list[Path]:
    """`count` filled 附件1 as `submit` writes them, each for a unit of its own."""
    rules, params, cases = read_workbook(DEMO_WORKBOOK)
    template = XlsxTemplate(TEMPLATE)
    paths = []
    for n in range(count):
        results = score(rules, replace(params, unit=f"单位{n:03}"), cases[: n % len(cases)])
        values = context(rules, results, today=date(2026, 11, 26))
        path = folder / f"附件1_单位{n:03}.xlsx"
        write_output(template, values, path, record(rules, results, values))
        paths.append(path)
    return paths


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = attachments(Path(tmp), count)

        def floor():
            for path in paths:
                book = CalamineWorkbook.from_path(str(path))
                for name in book.sheet_names:
                    book.get_sheet_by_name(name).to_python()

        def ours():
            rolled = collect([Path(tmp)], progress=False)
            assert len(rolled.units) == count and not rolled.problems

        base, mine = best(floor, 7), best(ours, 7)  # small figures on a shared machine: more tries
        print(f"{'files':>7} {'calamine alone (s)':>19} {'collect':>8}")
        print(f"{count:>7} {base:>19.3f} {mine / base:>7.2f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
