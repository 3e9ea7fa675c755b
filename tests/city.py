"""A synthetic city for `collect`: units made through the real pipeline — `init`, a typed 扣分台账
and 参数 (typed with openpyxl, as a person types in Excel), `score`, `submit`, `send --eml-dir` —
with what each unit's own `score --json` says, to check the roll-up against."""
from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from xlpipeline.cli import main
from xlpipeline.rules import load_rules
from xlpipeline.workbook.layout import ADDRESS_BOOK, LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAMS, param_cell

CODES = ("1.C", "2.A", "3.A", "4.B", "5.A", "6.A", "7.B", "8.A", "9.D", "10.B", "11.A", "13.A", "14.A", "16.A",
         "18.A", "19.A", "20.A")
PATTERNS = 20  # units i and i + 20 … type the same log: equal totals, shared ranks


@dataclass(frozen=True)
class Unit:
    name: str
    workbook: Path
    expected: dict  # its `score --json`


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def log_rows(k: int) -> list[tuple]:
    """Pattern k's 扣分台账 rows (日期, 指标序号, 情形代码, 数量); some with a bonus case."""
    rows = [(date(2026, 1 + (k + j) % 12, 1 + j), None, CODES[(k * 3 + j * 5) % len(CODES)], 1 + (k + j) % 2)
            for j in range(k % 7)]
    if k % 4 == 1:
        rows.append((date(2026, 6, 1), None, "22.B", 1))
    return rows


def type_in(path: Path, k: int, assessors: list[str]) -> None:
    wb = load_workbook(path)
    for row in log_rows(k):
        wb[LEDGER].append(row)
    wb[PARAMS][param_cell(PARAM_SATISFACTION)] = 88 + k % 10 + 0.5 * (k % 2)
    wb[PARAMS][param_cell(PARAM_RANKS[0])] = 3 + k % 5
    wb[PARAMS][param_cell(PARAM_RANKS[1])] = 4 + k % 3
    book = wb[ADDRESS_BOOK]
    for r in range(2, book.max_row + 1):
        book.cell(r, 3, f"kp{r}@example.org")
    wb.save(path)


def build_city(folder: Path, units: int = 60, submit: bool = True, send: bool = True) -> list[Unit]:
    """`units` units in `folder/units/`; their `submit` attachments in `folder/workbooks/`, their
    `send --eml-dir` messages in `folder/eml/<unit>/`."""
    rules = load_rules(2026)
    assessors = list(dict.fromkeys(a for b in rules.blocks for a in b.assessors))
    made = []
    previous = os.environ.get("XLP_MAIL_FROM")
    os.environ["XLP_MAIL_FROM"] = "zonghe@example.org"
    try:
        for i in range(units):
            name = f"市直单位{i + 1:03d}"
            path = folder / "units" / f"{name}.xlsx"
            path.parent.mkdir(parents=True, exist_ok=True)
            assert run("init", path, "--unit", name)[0] == 0
            type_in(path, i % PATTERNS, assessors)
            code, out = run("score", path, "--json")
            assert code == 0, out
            if submit:
                assert run("submit", path, "--out", folder / "workbooks" / f"{name}.xlsx")[0] == 0
            if send:
                assert run("send", path, "--eml-dir", folder / "eml" / name)[0] == 0
            made.append(Unit(name, path, json.loads(out)))
    finally:
        if previous is None:
            os.environ.pop("XLP_MAIL_FROM", None)
        else:
            os.environ["XLP_MAIL_FROM"] = previous
    return made
