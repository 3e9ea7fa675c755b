"""Benchmark `batch`: 100 filled workbooks from the 附件1 template (with the results embedded, as
`batch` writes them), against XlsxWriter writing the same cell values into 100 plain workbooks (the
floor), measured in the same run. Aim: ≤ 3×.
Usage: python benchmarks/bench_batch.py [GROUPS]
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import xlsxwriter

from common import best
from xlpipeline.scoring.engine import score
from xlpipeline.scoring.explain import explanations
from xlpipeline.scoring.ledger import read_workbook
from xlpipeline.outputs.embed import record
from xlpipeline.outputs.render import write_output
from xlpipeline.outputs.report import context
from xlpipeline.resources import DEMO_WORKBOOK, TEMPLATE
from xlpipeline.outputs.xltemplate import XlsxTemplate

ITEM_FIELDS = ("no", "indicator", "method", "points", "assessors", "work", "department", "leader", "deduction",
               "block_score", "explanation")
CASE_FIELDS = ("item", "date", "code", "label", "count", "modifier", "counted", "note", "reference", "department",
               "row")


def contexts(groups: int) -> list[tuple[dict, dict]]:
    """Each group's template names, and the results `batch` embeds with them."""
    rules, params, cases = read_workbook(DEMO_WORKBOOK)
    results = score(rules, params, cases)
    numbers = [i.no for i in rules.items]
    texts = explanations(rules, results)
    found = []
    for g in range(groups):
        values = context(rules, results, numbers[g % 7:] or numbers, group=f"组{g:03}", group_label="考评单位",
                         today=date(2026, 11, 26), texts=texts)
        found.append((values, record(rules, results, values)))
    return found


def plain(values: dict, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path))
    form = wb.add_worksheet("附件1")
    for row, item in enumerate(values["items"]):
        form.write_row(row, 0, [item[f] for f in ITEM_FIELDS])
    detail = wb.add_worksheet("扣分明细")
    for row, case in enumerate(values["cases"]):
        detail.write_row(row, 0, [case[f] if case[f] is not None else "" for f in CASE_FIELDS])
    wb.close()


def main(groups: int) -> None:
    batch = contexts(groups)
    template = XlsxTemplate(TEMPLATE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def ours():
            for n, (values, data) in enumerate(batch):
                write_output(template, values, folder / f"ours{n}.xlsx", data)

        def floor():
            for n, (values, _) in enumerate(batch):
                plain(values, folder / f"plain{n}.xlsx")

        base, mine = best(floor), best(ours)
        print(f"{'groups':>7} {'XlsxWriter plain (s)':>21} {'batch':>8}")
        print(f"{groups:>7} {base:>21.3f} {mine / base:>7.2f}×")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
