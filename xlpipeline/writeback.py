"""Write-back: the cells that scoring owns in the working workbook, and the one function that
patches them into the user's file.

In a workbook with live formulas (a 实时计分 sheet) the owned figures are formulas: scoring keeps
them and stores the engine's figures as their cached values. A figure the user overwrote with a
value is reported and filled with the engine's value; our formula comes back only when asked
(`restore`). A formula the user wrote into one of our cells is left alone unless `restore`. A
实时计分 sheet that another version or rules file generated (`stale`) is never touched: restoring
our formulas over it would point them at the wrong rows.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from xlpipeline.workbook.book import Book, Grid
from xlpipeline.scoring.calendar import Occurrence, tally
from xlpipeline.scoring.engine import Results, money
from xlpipeline.scoring.explain import explanations
from xlpipeline.workbook.layout import (FORM, FORM_WIDTHS, LEDGER, PROGRESS, PROGRESS_COUNTS, SUMMARY,
                                       SUMMARY_WARNINGS_WIDTH, FormLayout, ProgressLayout, SummaryLayout)
from xlpipeline.workbook.live import LIVE, LiveLayout, live_headers, live_labels, live_sheet_formulas, owned_formulas
from xlpipeline.ooxml.parts import Formula, column_letters, same_formula, split_ref
from xlpipeline.rules import Rules
from xlpipeline.workbook.textfit import row_height
from xlpipeline.ooxml.patch import Edits, Heights, Pages

LISTED = 10  # cells named in one warning


@dataclass(frozen=True)
class LiveState:
    """What the workbook's owned formula cells hold now."""
    live: bool                       # the workbook has our live formulas (a 实时计分 sheet)
    overwritten: tuple[str, ...] = ()  # "sheet!ref" of owned formulas replaced by a value
    changed: tuple[str, ...] = ()      # ... replaced by another formula
    stale: bool = False              # 实时计分 is laid out for other rules or by another version
    outdated: bool = False           # ... laid out as this version does, with an earlier version's formulas

    def warnings(self, restore: bool) -> list[str]:
        if self.stale:
            return [f"“{LIVE}”表不是本版本按这一年度规则生成的（可能来自旧版本），实时数字可能不准，程序未改动其中的公式；"
                    "请用 xlpipeline init 新建工作簿，再把扣分台账和参数复制过去"]
        out = []
        if self.outdated:
            out.append(f"“{LIVE}”表的公式是本程序旧版本生成的：写入文件时（xlpipeline score，或本机网页的“重新计算并写入"
                       "工作簿”）自动换成本版本的公式；在 Excel、WPS 中点按钮计分时不会更换")
        if restore and (self.overwritten or self.changed):
            out.append(f"已恢复 {len(self.overwritten) + len(self.changed)} 处实时公式：{_cells(self.overwritten + self.changed)}")
            return out
        if self.overwritten:
            out.append(f"{_cells(self.overwritten)}：实时公式已被改为数值，不再随台账更新（已填入本次计分结果）；"
                       "加 --restore-formulas 可恢复公式")
        if self.changed:
            out.append(f"{_cells(self.changed)}：实时公式已被改动，程序未覆盖；加 --restore-formulas 可恢复公式")
        return out


def _cells(refs: tuple[str, ...]) -> str:
    more = f" 等 {len(refs)} 处" if len(refs) > LISTED else ""
    return "、".join(refs[:LISTED]) + more


def live_state(book: Book, rules: Rules) -> LiveState:
    found = book.formulas((FORM, SUMMARY, LIVE))
    if LIVE not in found:
        return LiveState(live=False)
    stale = not all(same_formula(found[LIVE].get(ref, ""), text) for ref, text in live_sheet_formulas(rules).items())
    outdated = stale and _laid_out_as_ours(book, rules)
    overwritten, changed = [], []
    for sheet, cells in owned_formulas(rules).items():
        for ref, text in cells.items():
            current = found.get(sheet, {}).get(ref)
            if current is None:
                overwritten.append(f"{sheet}!{ref}")
            elif not same_formula(current, text):
                changed.append(f"{sheet}!{ref}")
    return LiveState(True, tuple(overwritten), tuple(changed), stale and not outdated, outdated)


def _laid_out_as_ours(book: Book, rules: Rules) -> bool:
    """Whether 实时计分 holds this version's labels and per-case amounts in this version's cells."""
    grid = list(book.grids((LIVE,))[LIVE])
    for ref, wanted in live_labels(rules).items():
        r, c = split_ref(ref)
        found = grid[r - 1][c - 1] if r <= len(grid) and c <= len(grid[r - 1]) else ""
        if isinstance(found, float) and found.is_integer():
            found = int(found)  # calamine reads every number as a float
        if found != wanted:
            return False
    return True


def _values(rules: Rules, results: Results, texts: dict[int, str]) -> Edits:
    """Every cell value scoring writes, by sheet; amounts stay exact decimals."""
    form, summary = FormLayout(rules), SummaryLayout(rules)
    form_cells: dict = {}
    summary_cells: dict = {summary.unit_cell: results.unit, summary.year_cell: results.year}
    for item in results.items:
        form_cells[form.deduction_cell(item.no)] = item.amount
        form_cells[form.explanation_cell(item.no)] = texts[item.no]
        summary_cells[f"D{summary.item_row(item.no)}"] = item.amount
    for block in results.blocks:
        form_cells[form.block_score_cell(block.id)] = block.score
        summary_cells[f"D{summary.block_row(block.id)}"] = block.score
    form_cells[f"I{form.total_row}"] = results.deduction
    form_cells[f"J{form.total_row}"] = results.total
    form_cells[f"K{form.total_row}"] = f"各分块得分合计 {money(results.total - results.bonus)}，加分 {money(results.bonus)}"
    summary_cells[f"D{summary.bonus_row}"] = results.bonus
    summary_cells[f"D{summary.total_row}"] = results.total
    summary_cells[f"B{summary.warnings_row}"] = "\n".join(results.warnings) or "无"
    return {FORM: form_cells, SUMMARY: summary_cells}


def _live_values(rules: Rules, results: Results) -> dict[str, int]:
    """The engine's figures in hundredths, for the 实时计分 cells that hold them."""
    at = LiveLayout(rules)
    cents = {f"D{at.item_row(i.no)}": i.amount for i in results.items}
    cents.update({f"D{at.block_row(b.id)}": b.score for b in results.blocks})
    cents.update({f"D{at.bonus_row}": results.bonus, f"D{at.deduction_row}": results.deduction,
                  f"D{at.total_row}": results.total})
    return {ref: int(amount * 100) for ref, amount in cents.items()}


def result_cells(rules: Rules, results: Results, texts: dict[int, str] | None = None,
                 state: LiveState = LiveState(live=False), restore: bool = False, in_file: bool = True) -> Edits:
    """The edits scoring makes: values, or in a live workbook formulas with their cached values
    (`in_file`: written into the file itself, where an outdated 实时计分 gets this version's formulas)."""
    edits = _values(rules, results, texts or explanations(rules, results))
    if not state.live:
        return edits
    restore = restore and not state.stale
    overwritten, changed = set(state.overwritten), set(state.changed)
    for sheet, cells in owned_formulas(rules).items():
        for ref, text in cells.items():
            where = f"{sheet}!{ref}"
            if where in changed and not restore:
                del edits[sheet][ref]
            elif where not in overwritten or restore:
                edits[sheet][ref] = Formula(text, edits[sheet][ref], replace=restore)
    formulas, values = live_sheet_formulas(rules), _live_values(rules, results)
    if state.outdated and in_file:
        edits[LIVE] = {ref: Formula(text, values.get(ref), replace=True) for ref, text in formulas.items()}
        edits[LIVE].update({f"{column_letters(c)}{row}": title for row, titles in live_headers(rules).items()
                            for c, title in enumerate(titles, start=1)})
    elif not (state.stale or state.outdated):
        edits[LIVE] = {ref: Formula(formulas[ref], value) for ref, value in values.items()}
    return edits


def result_heights(rules: Rules, results: Results, texts: dict[int, str]) -> Heights:
    """Item rows of 任务清单 tall enough for their 扣分说明 (and the summary's warnings)."""
    form, summary = FormLayout(rules), SummaryLayout(rules)
    rows = {}
    for item in rules.items:
        rows[form.item_row(item.no)] = row_height(
            [(texts[item.no], FORM_WIDTHS[10]), (rules.fix(item.method), FORM_WIDTHS[2]),
             (rules.fix(item.work), FORM_WIDTHS[5])], minimum_lines=2)
    warnings = "\n".join(results.warnings)
    return {FORM: rows, SUMMARY: {summary.warnings_row: row_height([(warnings, SUMMARY_WARNINGS_WIDTH)])}}


def with_live_warnings(results: Results, state: LiveState, restore: bool) -> Results:
    pending = [pending_warning(results.pending)] if state.live and results.pending else []
    return replace(results, warnings=results.warnings + tuple(state.warnings(restore)) + tuple(pending))


def pending_warning(rows: tuple[int, ...]) -> str:
    shown = "、".join(map(str, rows[:LISTED])) + (f" 等 {len(rows)} 行" if len(rows) > LISTED else " 行")
    return (f"{LEDGER}第 {shown}（标为琥珀色）实时公式未计入（待核对：日期、数量或指标序号是文字，或情形代码、"
            "减免情形不是标准写法），本次计分已计入；按标准写法重新输入后实时数字即与计分结果一致")


def write_results(book: Book, rules: Rules, results: Results, state: LiveState | None = None,
                  restore: bool = False, also: Edits | None = None) -> Path | None:
    """Write the result cells into the workbook (`state`: read from it when not given; `also`: more
    edits of sheets scoring owns, such as 工作进度). Returns the backup's path where one was kept."""
    return book.write(*planned_write(rules, results, state or live_state(book, rules), restore, book.in_file, also))


def planned_write(rules: Rules, results: Results, state: LiveState, restore: bool = False,
                  in_file: bool = True, also: Edits | None = None) -> tuple[Edits, Heights, Pages]:
    """What writing the results means, as `Book.write` takes it: the cell edits, the row heights and
    the page spans. One plan for every engine: a file patched on disk, Excel through xlwings, and
    WPS, whose add-in applies the same plan through WPS's own object model."""
    texts = explanations(rules, results)
    edits = result_cells(rules, results, texts, state, restore, in_file) | (also or {})
    return edits, result_heights(rules, results, texts), form_pages(rules)


def progress_cells(rules: Rules, entries: list[Occurrence], today: date, sheet: Grid | None) -> Edits:
    """工作进度's counts as of `today`, where the workbook has our sheet of that name (`sheet`, its
    grid; a sheet of the user's own by that name is left alone; an empty calendar gives no counts)."""
    if not entries or sheet is None:
        return {}
    at = ProgressLayout(rules)
    grid = list(sheet)
    if any(row > len(grid) or tuple(grid[row - 1][:5]) != titles for row, titles in at.headers.items()):
        return {}
    departments, items = tally(entries, today)
    cells: dict = {at.date_cell: today}
    listed = list(departments.items())
    if len(listed) > at.departments:  # the rest share the last row
        rest = listed[at.departments - 1:]
        merged = {kind: sum(counts[kind] for _, counts in rest) for kind in PROGRESS_COUNTS[:-1]}
        listed = listed[:at.departments - 1] + [(f"其他 {len(rest)} 个科室", merged)]
    for index in range(at.departments):
        name, counts = listed[index] if index < len(listed) else ("", {})
        cells.update(_count_row(at.department_row(index), name, counts))
    for item in rules.items:
        cells.update(_count_row(at.item_row(item.no), item.no, items.get(item.no, {})))
    return {PROGRESS: cells}


def _count_row(row: int, label, counts: dict[str, int]) -> dict:
    values = [counts.get(kind) for kind in PROGRESS_COUNTS[:-1]]
    total = sum(v or 0 for v in values) if counts else None
    return dict(zip((f"{c}{row}" for c in "ABCDE"), (label or None, *values, total)))


def form_pages(rules: Rules) -> Pages:
    """任务清单 prints each block on one page where it fits (its merged 分值 and 得分 never cut)."""
    form = FormLayout(rules)
    return {FORM: [(form.item_row(b.items[0]), form.item_row(b.items[-1])) for b in rules.blocks]}
