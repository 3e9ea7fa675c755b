"""`xlpipeline init`: the working workbook's sheets (任务清单, 扣分台账, 参数, 规则, 得分汇总, 通讯录,
实时计分), in a new workbook or added to one the user already has.

The score cells of 任务清单 and 得分汇总 are live formulas over 扣分台账 and 参数 (see
`xlpipeline.workbook.live`); the new file already carries their values for an empty log as cached results."""
from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from xlpipeline.workbook import form
from xlpipeline.ooxml.addsheets import add_sheets, missing_sheets
from xlpipeline.scoring.calendar import SOON_DAYS, departments, occurrences
from xlpipeline.scoring.engine import Params, score
from xlpipeline.errors import FileProblem
from xlpipeline.workbook.layout import (ADDRESS_BOOK, ADDRESS_COLUMNS, CALENDAR, CALENDAR_COLUMNS, DEPARTMENT_COLUMNS,
                                       DEPARTMENTS, LEDGER, LEDGER_COLUMNS, LEDGER_ROWS, PARAM_RANKS, PARAM_SATISFACTION,
                                       PARAM_UNIT, PARAM_YEAR, PARAMS, PROGRESS, RULES, SUMMARY,
                                       SUMMARY_WIDTHS, ProgressLayout, SummaryLayout, param_cell)
from xlpipeline.workbook.live import (LIVE, LiveLayout, live_headers, live_labels, live_sheet_formulas, owned_formulas,
                                      pending_row_rule)
from xlpipeline.ooxml.package import check_workbook_file
from xlpipeline.rules import Rules
from xlpipeline.ooxml.safesave import patch_file, replace_file
from xlpipeline.writeback import LiveState, form_pages, result_cells
from xlpipeline.ooxml.patch import patch_package

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER = Font(name=form.HEADER_FONT, size=11, bold=True)
BODY = Font(name=form.BODY_FONT, size=11)
WRAP = Alignment(vertical="top", wrap_text=True)


def build_workbook(rules: Rules, unit: str) -> Workbook:
    wb = Workbook()
    form.write_form(wb.active, rules)
    _ledger(wb.create_sheet(LEDGER), rules)
    _params(wb.create_sheet(PARAMS), rules, unit)
    _rules_sheet(wb.create_sheet(RULES), rules)
    _summary(wb.create_sheet(SUMMARY), rules)
    _address_book(wb.create_sheet(ADDRESS_BOOK), rules)
    _live_sheet(wb.create_sheet(LIVE), rules)
    _calendar(wb.create_sheet(CALENDAR), rules)
    _departments(wb.create_sheet(DEPARTMENTS), rules)
    _progress(wb.create_sheet(PROGRESS), rules)
    for sheet, cells in owned_formulas(rules).items():
        for ref, text in cells.items():
            wb[sheet][ref] = "=" + text
    return wb


def write_new_workbook(out, rules: Rules, unit: str) -> None:
    """The new working workbook, its formulas carrying their values for an empty log."""
    built = io.BytesIO()
    build_workbook(rules, unit).save(built)
    results = score(rules, Params(unit, rules.year), [])
    no_explanations = {item.no: "" for item in rules.items}
    patch_package(built, out, result_cells(rules, results, no_explanations, LiveState(live=True)),
                  pages=form_pages(rules))


def init_workbook(path: Path, rules: Rules, unit: str, force: bool = False) -> Path | None:
    """Write a new working workbook at `path`. Returns the backup of a file it replaced."""
    if path.suffix.lower() != ".xlsx":
        raise FileProblem(f"{path}: 新工作簿的文件名应以 .xlsx 结尾")
    if path.exists() and not force:
        raise FileProblem(f"{path}: 文件已存在；确认要覆盖请加 --force，要在其中添加工作表请加 --add")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileProblem(f"{path.parent}: 无法创建文件夹：{exc.strerror}") from None
    return replace_file(path, lambda out: write_new_workbook(out, rules, unit))  # --force keeps a backup


def add_to_workbook(path: Path, rules: Rules, unit: str) -> tuple[list[str], Path | None]:
    """Add the sheets of ours that the user's existing workbook lacks, keeping everything in it (the
    sheets it has, with what staff typed in them, included). Returns the sheets added and the
    backup; nothing is written when none is missing."""
    check_workbook_file(path)
    donor = io.BytesIO()
    write_new_workbook(donor, rules, unit)
    with open(path, "rb") as source:
        added = missing_sheets(source, donor.getvalue())
    if not added:
        return [], None
    return added, patch_file(path, lambda source, out: add_sheets(source, out, donor.getvalue()))


def _header(ws: Worksheet, row: int, titles, widths=None) -> None:
    for col, title in enumerate(titles, start=1):
        cell = ws.cell(row, col, title)
        cell.font, cell.fill = HEADER, HEADER_FILL
        if widths:
            ws.column_dimensions[cell.column_letter].width = widths[col - 1]


def _validation(ws: Worksheet, column: str, title: str, message: str, **kwargs) -> None:
    dv = DataValidation(allow_blank=True, showErrorMessage=True, showInputMessage=True,
                        errorTitle=title, error=message, promptTitle=title, prompt=message, **kwargs)
    dv.add(f"{column}2:{column}{LEDGER_ROWS + 1}")
    ws.add_data_validation(dv)


def _ledger(ws: Worksheet, rules: Rules) -> None:
    _header(ws, 1, LEDGER_COLUMNS, (12, 9, 40, 7, 12, 40, 22, 14))
    ws.freeze_panes = "A2"
    year = rules.year
    last_code_row = len(rules.codes) + 1
    _validation(ws, "A", "日期", f"请填写 {year} 年内的日期", type="date", operator="between",
                formula1=f"DATE({year},1,1)", formula2=f"DATE({year},12,31)")
    _validation(ws, "B", "指标序号", f"可不填；填写时应为 1–{len(rules.items)} 的整数，并与情形代码一致",
                type="whole", operator="between", formula1="1", formula2=str(len(rules.items)))
    _validation(ws, "C", "情形代码", "请从下拉列表选择（见“规则”表）", type="list",
                formula1=f"'{RULES}'!$A$2:$A${last_code_row}")
    _validation(ws, "D", "数量", "请填写不小于 1 的整数", type="whole", operator="greaterThanOrEqual",
                formula1="1")
    first_modifier = last_code_row + 3
    _validation(ws, "E", "减免情形", "无减免请留空；只能用于“规则”表所列的情形代码", type="list",
                formula1=f"'{RULES}'!$A${first_modifier}:$A${first_modifier + len(rules.modifiers) - 1}")
    for column in ("B", "D"):  # 指标序号 and 数量 centred: right-aligned, a printed 12 ran into the code (“1212.B”)
        ws.column_dimensions[column].alignment = Alignment(horizontal="center")
    cells, formula = pending_row_rule(rules)  # rows the live figures do not count show amber
    ws.conditional_formatting.add(cells, FormulaRule(formula=[formula], fill=PatternFill(bgColor="FFEB9C")))
    form.setup_page(ws, "1:1")


def _params(ws: Worksheet, rules: Rules, unit: str) -> None:
    _header(ws, 1, ("项目", "值", "说明"), (34, 16, 60))
    rows = [
        (PARAM_UNIT, unit, "出现在表格和文件名中"),
        (PARAM_YEAR, rules.year, "台账日期须在本年度内；决定使用哪一年的规则"),
        (PARAM_SATISFACTION, None, "0–100（如 92.5），最多两位小数；空白表示尚未测评（第17项暂不扣分）"),
        *((label, None, "不小于 1 的整数；空白表示尚未公布（第21项暂不计这一排名）") for label in PARAM_RANKS),
    ]
    for label, value, note in rows:
        row = ws[param_cell(label)].row
        for col, text in enumerate((label, value, note), start=1):
            cell = ws.cell(row, col, text)
            cell.font = BODY
            if isinstance(text, str):
                cell.data_type = "s"  # a unit name like "=cmd|…" stays text, never a formula
    checks = [(param_cell(PARAM_SATISFACTION), "decimal", "0", "100", "满意度填 0–100 之间的数，如 92.5（或 92.5%）"),
              *((param_cell(label), "whole", "1", "9999", "排名应为不小于 1 的整数") for label in PARAM_RANKS)]
    for ref, kind, low, high, message in checks:
        dv = DataValidation(type=kind, operator="between", formula1=low, formula2=high, allow_blank=True,
                            showErrorMessage=True, error=message, errorTitle=PARAMS)
        dv.add(ref)
        ws.add_data_validation(dv)
    form.setup_page(ws)


def _rules_sheet(ws: Worksheet, rules: Rules) -> None:
    """Every code, modifier, [choice] and correction, for staff to read; column A feeds the dropdowns."""
    _header(ws, 1, ("情形（下拉选项）", "情形代码", "序号", "每起分值", "该情形上限", "此项上限", "可用减免情形"),
            (60, 10, 6, 10, 12, 10, 24))
    row = 2
    for code in rules.codes.values():
        item = rules.item(code.item)
        sign = "+" if item.kind == "bonus" else "−"
        values = (code.display, code.code, code.item, f"{sign}{code.points}", code.cap, item.cap, "、".join(code.modifiers))
        for col, value in enumerate(values, start=1):
            ws.cell(row, col, value).font = BODY
        row += 1
    row += 1
    _header(ws, row, ("减免情形（下拉选项）", "系数", "说明", "适用情形代码"))
    for modifier in rules.modifiers.values():
        row += 1
        values = (modifier.name, f"×{modifier.factor}", modifier.text, "、".join(modifier.codes))
        for col, value in enumerate(values, start=1):
            ws.cell(row, col, value).font = BODY
    row += 2
    _header(ws, row, ("按参数计算的项", "说明"))
    for item in rules.items:
        if item.kind in ("survey", "rank"):
            row += 1
            ws.cell(row, 1, f"第{item.no}项").font = BODY
            ws.cell(row, 2, next(c.text for c in rules.choices if c.key == item.kind)).font = BODY
    row += 2
    _header(ws, row, ("口径选择", "本程序的读法"))
    for choice in rules.choices:
        row += 1
        ws.cell(row, 1, choice.key).font = BODY
        ws.cell(row, 2, choice.text).font = BODY
    row += 2
    _header(ws, row, ("工作日历：应完成的工作", "频次", "逾期应记", "口径选择（本程序的读法）"))
    for duty in (d for item in rules.items for d in item.duties):
        row += 1
        values = (f"第{duty.item}项 {duty.name}", duty.every + ("（不列入日历）" if duty.every == "未规定" else ""),
                  duty.code, f"[choice] {duty.choice}" if duty.choice else None)
        for col, value in enumerate(values, start=1):
            ws.cell(row, col, value).font = BODY
    row += 2
    _header(ws, row, ("原文笔误", "更正为"))
    for wrong, right in rules.corrections:
        row += 1
        ws.cell(row, 1, wrong).font = BODY
        ws.cell(row, 2, right).font = BODY
    ws.freeze_panes = "A2"
    form.setup_page(ws, "1:1")


def _address_book(ws: Worksheet, rules: Rules) -> None:
    """Who receives each 考评单位's attachment (`xlpipeline send`); one row per unit of the rules."""
    _header(ws, 1, ADDRESS_COLUMNS, (22, 14, 34, 34, 8))
    for row, unit in enumerate(rules.assessors, start=2):
        ws.cell(row, 1, unit).font = BODY
    dv = DataValidation(type="list", formula1='"是"', allow_blank=True, showInputMessage=True,
                        promptTitle="不发送", prompt="不发给该单位请填“是”")
    dv.add(f"E2:E{len(rules.assessors) + 50}")
    ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    form.setup_page(ws, "1:1")


def _calendar(ws: Worksheet, rules: Rules) -> None:
    """工作日历: every occurrence of the duties of 应完成的工作 in 考评年度, by date; staff fill in
    完成日期 and 佐证/文号 and may change 责任科室. Overdue and not done shows red, due within
    `SOON_DAYS` amber (TODAY() only in these formats: no score depends on it)."""
    _header(ws, 1, CALENDAR_COLUMNS, (8, 44, 8, 16, 12, 34, 12, 24, 24, 10))  # the longest texts on one line
    for row, o in enumerate(occurrences(rules), start=2):
        for col, value in enumerate((o.item, o.duty, o.every, o.period, o.due, o.department, None, None, None,
                                     o.code), start=1):
            ws.cell(row, col, value).font = BODY
    last = max(ws.max_row, 2) + 500  # room for rows of their own
    for column in ("E", "G"):
        ws.column_dimensions[column].number_format = "yyyy-mm-dd"  # rows staff add too
        for row in range(2, ws.max_row + 1):
            ws[f"{column}{row}"].number_format = "yyyy-mm-dd"
    ws.column_dimensions["A"].alignment = Alignment(horizontal="center")
    dv = DataValidation(type="date", operator="between", formula1=f"DATE({rules.year - 1},1,1)",
                        formula2=f"DATE({rules.year + 1},12,31)", allow_blank=True, showErrorMessage=True,
                        showInputMessage=True, errorTitle="完成日期", error=f"请填写日期，如 {rules.year}-06-28",
                        promptTitle="完成日期", prompt="完成后填写完成日期；佐证材料或文号填在右侧")
    dv.add(f"G2:G{last}")
    ws.add_data_validation(dv)
    rows = f"A2:J{last}"
    overdue = 'AND($E2<>"",$G2="",$E2<TODAY())'
    soon = f'AND($E2<>"",$G2="",$E2>=TODAY(),$E2-TODAY()<={SOON_DAYS})'
    ws.conditional_formatting.add(rows, FormulaRule(formula=[overdue], stopIfTrue=True,
                                                    fill=PatternFill(bgColor="FFC7CE"), font=Font(color="9C0006")))
    ws.conditional_formatting.add(rows, FormulaRule(formula=[soon], fill=PatternFill(bgColor="FFEB9C")))
    ws.auto_filter.ref = f"A1:J{max(ws.max_row, 2)}"
    ws.freeze_panes = "C2"
    form.setup_page(ws, "1:1")


def _progress(ws: Worksheet, rules: Rules) -> None:
    """工作进度: the counts `score` fills in from 工作日历, and a chart of them per item."""
    at = ProgressLayout(rules)
    ws["A1"] = f"工作进度（由“xlpipeline score”按{CALENDAR}填写，请勿手工修改）"
    ws["A1"].font = Font(name=form.HEADER_FONT, size=14)
    ws["A2"] = "截至"
    ws["B2"].number_format = "yyyy-mm-dd"
    for row, titles in at.headers.items():
        _header(ws, row, titles, (36, 10, 10, 12, 10))
    for item in rules.items:
        ws.cell(at.item_row(item.no), 1, item.no).font = BODY
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "各项工作完成情况（次数）"
    chart.y_axis.scaling.min = 0  # explicitly: LibreOffice would start at the smallest bar
    first, last = at.item_row(1), at.item_row(len(rules.items))
    chart.add_data(Reference(ws, min_col=2, max_col=4, min_row=at.item_header_row, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    for series, colour in zip(chart.series, ("70AD47", "A5A5A5", "C00000")):
        series.graphicalProperties.solidFill = colour
    chart.width, chart.height = 24, 11
    ws.add_chart(chart, "G4")
    ws.freeze_panes = "A3"
    form.setup_page(ws)


def _departments(ws: Worksheet, rules: Rules) -> None:
    """Who receives each 科室's reminders (`xlpipeline remind`): the 科室 named in the form's 责任科室
    first; staff add the others."""
    _header(ws, 1, DEPARTMENT_COLUMNS, (22, 14, 34, 34, 8))
    for row, name in enumerate(departments(rules), start=2):
        ws.cell(row, 1, name).font = BODY
    dv = DataValidation(type="list", formula1='"是"', allow_blank=True, showInputMessage=True,
                        promptTitle="不发送", prompt="不给该科室发提醒请填“是”")
    dv.add("E2:E200")
    ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    form.setup_page(ws, "1:1")


def _summary(ws: Worksheet, rules: Rules) -> None:
    layout = SummaryLayout(rules)
    ws["A1"] = "得分汇总（由“xlpipeline score”填写，请勿手工修改）"
    ws["A1"].font = Font(name=form.HEADER_FONT, size=14)
    ws["A2"], ws["C2"] = "单位", "考评年度"
    _header(ws, layout.item_header_row, ("序号", "考评指标", "分块", "扣分/加分"), SUMMARY_WIDTHS)
    for item in rules.items:
        row = layout.item_row(item.no)
        indicator = next(s.text for s in rules.indicators if s.first <= item.no <= s.last)
        ws.cell(row, 1, item.no)
        ws.cell(row, 2, rules.fix(indicator))
        ws.cell(row, 3, item.block)
        ws.cell(row, 4).number_format = form.BONUS_FORMAT if item.kind == "bonus" else form.SCORE_FORMAT
    _header(ws, layout.block_header_row, ("分块", "序号", "分值", "得分"))
    for block in rules.blocks:
        row = layout.block_row(block.id)
        ws.cell(row, 1, block.id)
        ws.cell(row, 2, f"{block.items[0]}–{block.items[-1]}" if len(block.items) > 1 else str(block.items[0]))
        ws.cell(row, 3, block.points).number_format = form.SCORE_FORMAT
        ws.cell(row, 4).number_format = form.SCORE_FORMAT
    for row, label in ((layout.bonus_row, "加分"), (layout.total_row, "总分"), (layout.warnings_row, "提示")):
        ws.cell(row, 1, label).font = HEADER
    ws.cell(layout.bonus_row, 4).number_format = form.SCORE_FORMAT
    ws.cell(layout.total_row, 4).number_format = form.SCORE_FORMAT
    ws.merge_cells(start_row=layout.warnings_row, start_column=2, end_row=layout.warnings_row, end_column=4)
    ws.cell(layout.warnings_row, 2).alignment = WRAP
    form.setup_page(ws)
    # the items on one page, the blocks and totals whole on the next, each page headed by the sheet's name
    ws.row_breaks.append(Break(id=layout.block_header_row - 1))
    ws.oddHeader.center.text = "&A"


def _live_sheet(ws: Worksheet, rules: Rules) -> None:
    """实时计分: the formulas behind the live figures, readable and protected, in hundredths of a point."""
    at = LiveLayout(rules)
    ws["A1"] = "实时计分（init 按规则数据生成的公式，随“扣分台账”和“参数”即时计算；金额单位：0.01 分）"
    ws["A1"].font = Font(name=form.HEADER_FONT, size=14)
    ws["A2"] = ("情形代码按原样（如 9.D）或下拉选项全文计入；其他写法、年度外日期、非整数数量、与情形不符的指标序号"
                "或减免情形计为“待核对”，以“重新计算”（xlpipeline score）结果为准。本表已保护，请勿修改。")
    widths = {at.variant_header: (34, 12, 48, 6, 12, 12, 10, 10, 14, 10, 10, 12, 12)}  # A also holds the labels
    for row, titles in live_headers(rules).items():
        _header(ws, row, titles, widths.get(row))
    totals = {f"A{row}" for row in (at.bonus_row, at.deduction_row, at.total_row)}
    for ref, value in live_labels(rules).items():
        ws[ref] = value
        if ref in totals:
            ws[ref].font = HEADER
        elif not ref.startswith("I"):
            ws[ref].font = BODY
    for ref, text in live_sheet_formulas(rules).items():
        ws[ref] = "=" + text
    ws.freeze_panes = "A2"
    ws.protection.sheet = True  # against accidental edits; no password, 审阅 → 撤销工作表保护 lifts it
    form.setup_page(ws)
