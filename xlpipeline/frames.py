"""pandas DataFrames for people who analyse the assessment in Jupyter.

    from xlpipeline.frames import log_frame, results_frame
    cases = log_frame("模范机关考评.xlsx")            # the validated 扣分台账, one row per case
    cases.groupby("department")["counted"].sum()
    city = results_frame(["收件箱/", "汇总.xlsx"])     # units × items from attachments, as `collect` reads them
    city.sort_values("rank").head()

Amounts are `decimal.Decimal` (exact, as everywhere in xlpipeline); `.astype(float)` for plotting.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Iterable

import pandas as pd

from xlpipeline.outputs.collect import collect
from xlpipeline.scoring.engine import case_points, score
from xlpipeline.scoring.ledger import read_book
from xlpipeline.workbook.book import FileBook

LOG_COLUMNS = ["row", "date", "item", "code", "label", "count", "modifier", "points", "counted", "note", "reference",
               "department"]


def log_frame(workbook: str | Path) -> pd.DataFrame:
    """The 扣分台账 of a working workbook, validated as `score` validates it (bad rows raise the same
    error), one row per case: its 台账 row, date, item, code and label, count, 减免情形, points before
    caps, what counted after them, and the free-text columns."""
    rules, params, cases = read_book(FileBook(Path(workbook)))
    results = score(rules, params, cases)
    counted = {c.case.row: c.counted for item in results.items for c in item.cases}  # a case caps left out: 0
    rows = []
    for case in cases:
        code = rules.codes[case.code]
        rows.append({"row": case.row, "date": case.date, "item": code.item, "code": case.code, "label": code.label,
                     "count": case.count, "modifier": case.modifier, "points": case_points(rules, case),
                     "counted": counted.get(case.row, Decimal(0)),
                     "note": case.note, "reference": case.reference, "department": case.department})
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


def results_frame(paths: Iterable[str | Path], assessor: str | None = None, year: int | None = None) -> pd.DataFrame:
    """Units × items from attachments (workbooks, folders, .eml, .zip, roll-ups), counted and ranked as
    `collect` does: indexed by unit, with year, total, bonus, rank, source, and one column per item
    number (its deduction; the bonus item's points added). What `collect` would list in 问题清单 is
    in `frame.attrs["problems"]`."""
    collected = collect([Path(p) for p in paths], assessor, year, progress=False)
    table = collected.units
    frame = pd.DataFrame({"unit": table.get("unit", []), "year": table.get("year", []),
                          "total": table.get("total", []), "bonus": table.get("bonus", []),
                          "rank": table.get("rank", []), "source": table.get("source", [])})
    for no in collected.scope.items:
        frame[no] = list(table[("item", no)]) if not table.empty else []
    frame = frame.set_index("unit")
    frame.attrs["problems"] = [{"file": p.file, "message": p.message, "counted": p.counted}
                               for p in collected.problems]
    return frame
