"""The official 附件1 form as an openpyxl sheet, built from the rules data.

Used for `templates/附件1_template.xlsx` and for the 任务清单 sheet of a new working workbook;
both are our own new files, so openpyxl writing them loses nothing.
"""
from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from xlpipeline.layout import FORM, FORM_COLUMNS, FORM_WIDTHS, FormLayout
from xlpipeline.rules import Rules

TITLE_FONT = "方正小标宋简体"
HEADER_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
SCORE_FORMAT = "0.00"
BONUS_FORMAT = '"+"0.00'

_thin = Side(style="thin")
GRID = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
LINE_HEIGHT = 15  # points per wrapped line of 11-point body text


def setup_page(ws: Worksheet, title_rows: str | None = None) -> None:
    """A4 landscape, fit to page width, page numbers in the footer; shared by all our sheets."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    if title_rows:
        ws.print_title_rows = title_rows


def write_form(ws: Worksheet, rules: Rules) -> FormLayout:
    layout = FormLayout(rules)
    last = layout.last_column
    ws.title = FORM
    ws["A1"] = rules.attachment
    ws["A1"].font = Font(name=HEADER_FONT, size=14)
    ws["A2"] = rules.title
    ws["A2"].font = Font(name=TITLE_FONT, size=20)
    ws["A2"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A2:{last}2")
    ws.row_dimensions[2].height = 36
    for col, (title, width) in enumerate(zip(FORM_COLUMNS, FORM_WIDTHS), start=1):
        cell = ws.cell(layout.header_row, col, title)
        cell.font = Font(name=HEADER_FONT, size=12)
        ws.column_dimensions[cell.column_letter].width = width
    _write_items(ws, rules, layout)
    _write_merged_columns(ws, rules, layout)
    total = layout.total_row
    ws.cell(total, 1, "合计")
    ws.merge_cells(start_row=total, start_column=1, end_row=total, end_column=3)
    ws.cell(total, 4, f"{rules.base_points}分")
    for row in ws.iter_rows(min_row=layout.header_row, max_row=total, max_col=len(FORM_COLUMNS)):
        for cell in row:
            cell.border = GRID
            if cell.row > layout.header_row:
                cell.font = Font(name=BODY_FONT, size=11)
            cell.alignment = LEFT if cell.column in (3, 6, 11) and cell.row != layout.header_row else CENTER
    for no in range(1, len(rules.items) + 1):
        ws[layout.deduction_cell(no)].number_format = BONUS_FORMAT if rules.item(no).kind == "bonus" else SCORE_FORMAT
    for block in rules.blocks:
        ws[layout.block_score_cell(block.id)].number_format = SCORE_FORMAT
    ws.cell(total, 9).number_format = ws.cell(total, 10).number_format = SCORE_FORMAT
    ws.freeze_panes = ws.cell(layout.header_row + 1, 1)
    setup_page(ws, f"{layout.header_row}:{layout.header_row}")
    ws.print_area = f"A1:{last}{total}"
    return layout


def _write_items(ws: Worksheet, rules: Rules, layout: FormLayout) -> None:
    for item in rules.items:
        row = layout.item_row(item.no)
        ws.cell(row, 1, item.no)
        ws.cell(row, 3, rules.fix(item.method))
        ws.cell(row, 6, rules.fix(item.work))
        ws.row_dimensions[row].height = LINE_HEIGHT * max(
            _lines(rules.fix(item.method), FORM_WIDTHS[2]), _lines(rules.fix(item.work), FORM_WIDTHS[5]), 2)


def _write_merged_columns(ws: Worksheet, rules: Rules, layout: FormLayout) -> None:
    """考评指标, 分值, 考评单位, 得分, 责任科室 and 责任领导 merge down over the rows they cover."""
    merged = [(2, s.first, s.last, rules.fix(s.text)) for s in rules.indicators]
    for block in rules.blocks:
        first, last = block.items[0], block.items[-1]
        merged += [(4, first, last, f"{block.points}分"), (5, first, last, "\n".join(block.assessors)),
                   (10, first, last, None)]
    for span in rules.responsibilities:
        merged += [(7, span.first, span.last, span.text), (8, span.first, span.last, span.extra)]
    for column, first, last, value in merged:
        top = layout.item_row(first)
        if value is not None:
            ws.cell(top, column, value)
        if last > first:
            ws.merge_cells(start_row=top, start_column=column, end_row=layout.item_row(last), end_column=column)


def _lines(text: str, width: float) -> int:
    """Estimated wrapped lines: a CJK character takes about two units of column width."""
    return sum(max(1, math.ceil(len(line) * 2 / width)) for line in text.split("\n"))


def build_template(rules: Rules, path: Path) -> None:
    """`xlpipeline template build`: the official form alone, score cells empty."""
    wb = Workbook()
    write_form(wb.active, rules)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
