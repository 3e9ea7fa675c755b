"""`xlpipeline collect`: the assessors' roll-up of the attachments units send them.

`collect(inputs)` reads workbooks, folders, .eml files and .zip archives (see `sources`), checks
every submission (see `submission`) and builds the city table with pandas (see `rollup`);
`write_rollup` renders it into the roll-up template (汇总, 单项统计, 问题清单, charts), with the units'
data embedded so that a roll-up can itself be collected; `Collected.to_json` is `--json`.
"""
from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from xlpipeline.errors import UserError
from xlpipeline.ooxml.customxml import add_custom_xml
from xlpipeline.ooxml.safesave import replace_file
from xlpipeline.outputs.collect.rollup import Scope, block_table, choose_year, counted, item_table, unit_table
from xlpipeline.outputs.collect.sources import Sources
from xlpipeline.outputs.collect.submission import Problem, Submission, read_source
from xlpipeline.outputs.embed import SCHEMA, rollup_part
from xlpipeline.outputs.pdf import to_pdf
from xlpipeline.outputs.report import groups
from xlpipeline.outputs.xltemplate import XlsxTemplate
from xlpipeline.progress import Progress, steps
from xlpipeline.resources import ROLLUP_TEMPLATE
from xlpipeline.rules import Rules, available_years, load_rules
from xlpipeline.scoring.engine import money


@dataclass
class Collected:
    rules: Rules
    scope: Scope
    chosen: list[Submission]
    units: pd.DataFrame      # one row per counted unit, ranked (see rollup.unit_table)
    items: pd.DataFrame      # per item of the scope
    blocks: pd.DataFrame     # per block of the scope
    problems: list[Problem]

    @property
    def not_counted(self) -> list[Problem]:
        return [p for p in self.problems if not p.counted]

    def to_json(self) -> dict:
        return {
            "year": self.rules.year, "assessor": self.scope.assessor,
            "units": [{"unit": u["unit"], "year": int(u["year"]), "total": money(u["total"]),
                       "bonus": money(u["bonus"]), "rank": int(u["rank"]),
                       "items": [{"no": no, "deduction": money(u[("item", no)])}
                                 for no in self.scope.items if self.rules.item(no).kind != "bonus"],
                       "source": u["source"]} for u in self.units.to_dict("records")],
            "problems": [{"file": p.file, "message": p.message, "counted": p.counted} for p in self.problems],
        }


def collect(inputs: list[Path], assessor: str | None = None, year: int | None = None,
            progress: Progress = True, exclude: Path | None = None) -> Collected:
    """Read, check and roll up the attachments in `inputs`; `assessor` limits the roll-up to the
    items that 考评单位 assesses; `year` defaults to the year most submissions carry; `exclude`, a
    file not to read (the roll-up about to be written, when it lies in a folder being collected)."""
    submissions: list[Submission] = []
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="xlpipeline-collect-") as scratch:
        sources = Sources(Path(scratch), exclude).expand(inputs)
        for source in steps(sources, "读取", progress):
            found, trouble = read_source(source)
            submissions += found
            problems += trouble
    rules = load_rules(year or choose_year(submissions) or max(available_years()))
    if assessor is not None and assessor not in groups(rules, "考评单位"):
        raise UserError(f"考评单位“{assessor}”不在 {rules.year} 年的任务清单中；可选："
                        + "、".join(groups(rules, "考评单位")))
    scope = Scope.of(rules, assessor)
    chosen, checks = counted(submissions, rules, scope)
    table = unit_table(chosen, rules, scope)
    return Collected(rules, scope, chosen, table, item_table(chosen, table, rules, scope),
                     block_table(table, rules, scope), problems + checks)


def write_rollup(collected: Collected, out: Path, pdf: bool = False, template: Path = ROLLUP_TEMPLATE,
                 today: date | None = None) -> Path | None:
    """The roll-up workbook at `out` (and its PDF beside it when `pdf`); returns the PDF's path. Both
    are made first in a scratch folder and replace the old ones only when both exist: a failed PDF
    leaves the previous roll-up and its PDF as they were."""
    rendered = io.BytesIO()
    XlsxTemplate(template).render(rollup_context(collected, today), rendered)
    part = rollup_part([s.embedded() for s in collected.chosen])
    content = io.BytesIO()
    add_custom_xml(io.BytesIO(rendered.getvalue()), content, part, SCHEMA)
    made = None
    if pdf:
        with tempfile.TemporaryDirectory(prefix="xlpipeline-rollup-") as scratch:
            draft = Path(scratch) / out.name
            draft.write_bytes(content.getvalue())
            made = to_pdf([draft], Path(scratch))[0].read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_file(out, lambda handle: handle.write(content.getvalue()))
    if made is None:
        return None
    replace_file(out.with_suffix(".pdf"), lambda handle: handle.write(made))
    return out.with_suffix(".pdf")


def rollup_context(collected: Collected, today: date | None = None) -> dict:
    """The roll-up template's names: year, assessor, scope_label, today, unit_count; `columns` (the
    repeated columns of 汇总: title, key), `units` (rank, unit, total, bonus, deduction, date, basis,
    source, cells: column key → amount), `items` (no, label, units, mean, max, code, code_label,
    code_units), `blocks` (block, span, points, deduction, mean), `problems` (file, message, counted)."""
    rules, scope = collected.rules, collected.scope
    columns = [{"title": f"{b}块得分", "key": f"block:{b}"} for b in scope.blocks]
    columns += [{"title": f"{no}项" + ("加分" if rules.item(no).kind == "bonus" else "扣分"), "key": f"item:{no}"}
                for no in scope.items]
    units = []
    for u in collected.units.to_dict("records"):
        values = {f"block:{b}": u[("block", b)] for b in scope.blocks}
        values.update({f"item:{no}": u[("item", no)] for no in scope.items})
        units.append({"rank": int(u["rank"]), "unit": u["unit"], "total": u["total"], "bonus": u["bonus"],
                      "deduction": u["deduction"], "date": u["report_date"], "basis": u["basis"],
                      "source": u["source"], "cells": values})
    items = [{**row, "label": f"第{row['no']}项" + ("（加分）" if row["kind"] == "bonus" else "")}
             for row in collected.items.to_dict("records")]
    return {
        "year": rules.year, "assessor": scope.assessor, "today": (today or date.today()).strftime("%Y年%m月%d日"),
        "scope_label": f"考评单位：{scope.assessor}（第{'、'.join(map(str, scope.items))}项）" if scope.assessor
        else "全部考评项目", "unit_count": len(units), "columns": columns, "units": units, "items": items,
        "blocks": collected.blocks.to_dict("records"),
        "problems": [{"file": p.file, "message": p.message, "counted": "是" if p.counted else "否"}
                     for p in collected.problems] or [{"file": "", "message": "无", "counted": ""}],
    }
