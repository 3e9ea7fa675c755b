"""The official 附件1 form, built with openpyxl in two forms that share one look: the 任务清单
sheet of a new working workbook (from the rules data, score cells empty) and the jinja template
`templates/附件1_template.xlsx` that `submit` and `batch` fill. Both are our own new files, so
openpyxl writing them loses nothing.
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from xlpipeline.workbook.layout import FORM, FORM_COLUMNS, FORM_WIDTHS, FormLayout
from xlpipeline.rules import Rules
from xlpipeline.ooxml.safesave import replace_file
from xlpipeline.workbook.textfit import row_height

TITLE_FONT = "方正小标宋简体"
HEADER_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
SCORE_FORMAT = "0.00"
BONUS_FORMAT = '"+"0.00'

_thin = Side(style="thin")
GRID = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
FORM_TEXT_COLUMNS = (3, 6, 11)  # 考评办法, 应完成的工作, 扣分说明: long text, left-aligned
RED = Font(color="C00000", bold=True)


def _red_deductions(ws: Worksheet, first_row: int, last_row: int) -> None:
    """Deductions above zero show in red, in Excel and LibreOffice alike, whoever wrote the value."""
    rule = FormulaRule(formula=[f"AND(ISNUMBER(I{first_row}),I{first_row}>0)"], font=RED)
    ws.conditional_formatting.add(f"I{first_row}:I{last_row}", rule)


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


def _heading(ws: Worksheet, attachment: str, title: str, last: str, subtitle: str | None = None) -> None:
    """附件1 line, the title merged across the table, and an optional subtitle line."""
    ws["A1"] = attachment
    ws["A1"].font = Font(name=HEADER_FONT, size=14)
    ws["A2"] = title
    ws["A2"].font = Font(name=TITLE_FONT, size=20)
    ws["A2"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A2:{last}2")
    ws.row_dimensions[2].height = 36
    if subtitle:
        ws["A3"] = subtitle
        ws["A3"].font = Font(name=BODY_FONT, size=12)
        ws["A3"].alignment = Alignment(horizontal="left", vertical="center")
        ws.merge_cells(f"A3:{last}3")


def _table(ws: Worksheet, header_row: int, titles, widths, last_row: int, left_columns=()) -> None:
    """Header titles and widths, grid, official fonts, alignment, header repeated on every page."""
    for col, (title, width) in enumerate(zip(titles, widths), start=1):
        head = ws.cell(header_row, col, title)
        ws.column_dimensions[head.column_letter].width = width
    for row in ws.iter_rows(min_row=header_row, max_row=last_row, max_col=len(titles)):
        for cell in row:
            cell.border = GRID
            body = cell.row > header_row
            cell.font = Font(name=BODY_FONT, size=11) if body else Font(name=HEADER_FONT, size=12)
            cell.alignment = LEFT if body and cell.column in left_columns else CENTER
    setup_page(ws, f"{header_row}:{header_row}")
    ws.freeze_panes = ws.cell(header_row + 1, 1)


def write_form(ws: Worksheet, rules: Rules) -> FormLayout:
    """The 任务清单 sheet of a working workbook: the official form with empty score cells."""
    layout = FormLayout(rules)
    last = layout.last_column
    ws.title = FORM
    _heading(ws, rules.attachment, rules.title, last)
    _write_items(ws, rules, layout)
    _write_merged_columns(ws, rules, layout)
    total = layout.total_row
    ws.cell(total, 1, "合计")
    ws.merge_cells(start_row=total, start_column=1, end_row=total, end_column=3)
    ws.cell(total, 4, f"{rules.base_points}分")
    _table(ws, layout.header_row, FORM_COLUMNS, FORM_WIDTHS, total, left_columns=FORM_TEXT_COLUMNS)
    for no in range(1, len(rules.items) + 1):
        ws[layout.deduction_cell(no)].number_format = BONUS_FORMAT if rules.item(no).kind == "bonus" else SCORE_FORMAT
    for block in rules.blocks:
        ws[layout.block_score_cell(block.id)].number_format = SCORE_FORMAT
    ws.cell(total, 9).number_format = ws.cell(total, 10).number_format = SCORE_FORMAT
    bonus_rows = [layout.item_row(i.no) for i in rules.items if i.kind == "bonus"]
    _red_deductions(ws, layout.item_row(1), min(bonus_rows or [total]) - 1)
    ws.print_area = f"A1:{last}{total}"
    return layout


def _write_items(ws: Worksheet, rules: Rules, layout: FormLayout) -> None:
    for item in rules.items:
        row = layout.item_row(item.no)
        ws.cell(row, 1, item.no)
        ws.cell(row, 3, rules.fix(item.method))
        ws.cell(row, 6, rules.fix(item.work))
        ws.row_dimensions[row].height = row_height(
            [(rules.fix(item.method), FORM_WIDTHS[2]), (rules.fix(item.work), FORM_WIDTHS[5])], minimum_lines=2)


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


def build_template(path: Path) -> None:
    """`xlpipeline template build`: the jinja template of the filled form (附件1 and 扣分明细).
    Staff may restyle the result in Excel; `xlpipeline.outputs.report` documents the names it can use."""
    wb = Workbook()
    _template_form(wb.active)
    _template_cases(wb.create_sheet())
    replace_file(path, wb.save)  # a restyled template it replaces is kept in .xlpipeline-backup/


TEMPLATE_SHEET = "附件1"
CASES_SHEET = "扣分明细"
ITEM_MERGES = "B=item.indicator_key D=item.block E=item.block J=item.block G=item.duty_key H=item.duty_key"
ITEM_CELLS = ("{{ item.no }}", "{{ item.indicator }}", "{{ item.method }}", "{{ item.points }}",
              "{{ item.assessors }}", "{{ item.work }}", "{{ item.department }}", "{{ item.leader }}",
              "{{ item.deduction }}", "{{ item.block_score }}", "{{ item.explanation }}")
CASE_COLUMNS = ("序号", "日期", "情形代码", "情形", "数量", "减免情形", "计分", "情况说明", "依据文号", "责任科室", "台账行")
CASE_WIDTHS = (6, 12, 9, 52, 6, 12, 8, 30, 20, 12, 8)  # 情形 holds a 23-character label on one line
CASE_CELLS = ("{{ case.item }}", "{{ case.date }}", "{{ case.code }}", "{{ case.label }}", "{{ case.count }}",
              "{{ case.modifier }}", "{{ case.counted }}", "{{ case.note }}", "{{ case.reference }}",
              "{{ case.department }}", "{{ case.row }}")
SUBTITLE = ("单位：{{ unit }}　　考评年度：{{ year }} 年"
            "{% if group %}　　{{ group_label }}：{{ group }}{% endif %}")


def _template_form(ws: Worksheet) -> None:
    ws.title = TEMPLATE_SHEET
    _heading(ws, "{{ attachment }}", "{{ title }}", "K", SUBTITLE)
    for col, text in enumerate(ITEM_CELLS, start=1):
        ws.cell(5, col, text)
    ws["A5"] = f"{{%row for item in items %}}{{%merge {ITEM_MERGES} %}}{{%keep item.block %}}" + ws["A5"].value
    ws["A6"] = "{{ total_label }}"
    ws.merge_cells("A6:C6")
    ws["D6"] = "{{ points_total }}"
    ws["I6"] = "=SUM(I5:I5)"  # the bonus row shows its points as text, so the sum holds deductions only
    ws["J6"] = "{{ score_total }}"
    ws["K6"] = "{{ total_note }}"
    _table(ws, 4, FORM_COLUMNS, FORM_WIDTHS, 6, left_columns=FORM_TEXT_COLUMNS)
    for ref in ("I5", "J5", "I6", "J6"):
        ws[ref].number_format = SCORE_FORMAT
    _red_deductions(ws, 5, 5)  # the repeated row: the rule stretches over every item
    ws["A8"] = "填报单位（盖章）：{{ unit }}　　　　　　　　　　填报日期：{{ today }}"
    ws["A8"].font = Font(name=BODY_FONT, size=12)
    ws.merge_cells("A8:K8")
    ws.print_area = "A1:K8"


def _template_cases(ws: Worksheet) -> None:
    """扣分明细: the cases behind the deductions, the items scored from 参数 (17, 21) a line each,
    their 扣分合计 (the form's), then the bonus cases and their 加分合计 apart; 无扣分记录 when
    nothing was deducted. Rows whose list is empty disappear."""
    ws.title = CASES_SHEET
    _heading(ws, "{{ attachment }}", "扣分明细", "K", SUBTITLE)
    for col, text in enumerate(CASE_CELLS, start=1):
        ws.cell(5, col, text)
        ws.cell(8, col, text.replace("case.", "bonus_case."))
    ws["A5"] = "{%row for case in cases %}" + ws["A5"].value
    ws["A6"] = "{%row for line in parameter_lines %}{{ line.item }}"
    ws["B6"] = "{{ line.text }}"
    ws.merge_cells("B6:F6")
    ws["G6"] = "{{ line.amount }}"
    ws["A7"] = "扣分合计"
    ws.merge_cells("A7:F7")
    ws["G7"] = "=SUM(G5:G6)"
    ws["H7"] = "{{ nothing_deducted }}"
    ws["A8"] = "{%row for bonus_case in bonus_cases %}" + ws["A8"].value
    ws["A9"] = "{%row for amount in bonus_total %}加分合计"
    ws.merge_cells("A9:F9")
    ws["G9"] = "{{ amount }}"
    _table(ws, 4, CASE_COLUMNS, CASE_WIDTHS, 9, left_columns=(2, 4, 8))
    for row in (5, 8):
        ws.cell(row, 2).number_format = "yyyy-mm-dd"
    for row in range(5, 10):
        ws.cell(row, 7).number_format = SCORE_FORMAT
    ws.print_area = "A1:K9"
