"""Write-back: the cells that scoring owns in the working workbook, and the one function that
patches them into the user's file."""
from __future__ import annotations

from pathlib import Path

from xlpipeline.book import Book
from xlpipeline.engine import Results, money
from xlpipeline.explain import explanations
from xlpipeline.layout import FORM, FORM_WIDTHS, SUMMARY, SUMMARY_WARNINGS_WIDTH, FormLayout, SummaryLayout
from xlpipeline.rules import Rules
from xlpipeline.textfit import row_height
from xlpipeline.xlsxpatch import Edits, Heights


def result_cells(rules: Rules, results: Results, texts: dict[int, str] | None = None) -> Edits:
    """Every cell value scoring writes, by sheet; amounts stay exact decimals."""
    texts = texts or explanations(rules, results)
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


def write_results(book: Book, rules: Rules, results: Results) -> Path | None:
    """Write the result cells into the workbook. Returns the backup's path where one was kept."""
    texts = explanations(rules, results)
    return book.write(result_cells(rules, results, texts), result_heights(rules, results, texts))
